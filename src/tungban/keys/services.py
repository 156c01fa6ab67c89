"""The platform signing keys (ES256, RFC 7518 §3.4) stored in the database, and the JWKS.

They sign ID tokens, consent artefacts, exchange-log and transparency-log heads. Private
keys are sealed with the platform secret key (:mod:`tungban.keys.sealing`) before they are
stored. All workers read the same keys, so rotation needs no coordination: the newest
unretired key signs, retired keys stay published for ``TUNGBAN_KEY_RETIREMENT_DAYS`` days so
that tokens they signed keep verifying.

The published JWKS is a precomputed document (issue 15): its bytes are built once per
*version* of the key ring and kept in process memory, keyed by that version. Every change to
the signing keys replaces the version in the same transaction (:func:`bump_version`; for saves
and deletes through the model the signal handlers in :mod:`.apps` do it). Django's view
(:func:`published_jwks`) reads the version from the database on every request (:func:`version`,
one indexed read), so every worker serves the new JWKS on its next request; the front
(:func:`served_jwks`, :mod:`tungban.core.front`) takes it, on PostgreSQL, from the version
pushed to the worker by ``NOTIFY`` (:mod:`.listener`, which documents the notification window
after a rotation), and reads it per request whenever the listener is not connected.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import hashlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from joserfc.jws import JWSRegistry

from . import listener
from .models import KeyRingVersion, SigningKey
from .sealing import seal, unseal

SIGNING_KEYS = "signing_keys"  # the KeyRingVersion of the published JWKS


def version(name: str = SIGNING_KEYS) -> str | None:
    """The current generation (32 hex digits) of ``name`` (:class:`~.models.KeyRingVersion`),
    or ``None`` if it has no row (then nothing may be cached for it). One query by primary key
    on ``keys_keyringversion``, raw SQL: it runs on every JWKS request."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT generation FROM keys_keyringversion WHERE name = %s", [name])
        row = cursor.fetchone()
    return row[0] if row else None


def bump_version(name: str = SIGNING_KEYS) -> None:
    """Give ``name`` a new random generation. Call it inside the transaction that changes what
    the document is built from (a change committed without it would leave every worker's
    cached copy in place); a queryset ``update()`` or raw SQL on ``oidc_signingkey`` must call
    it, model saves and deletes do through :mod:`.apps`. On PostgreSQL it also sends
    ``NOTIFY`` on :data:`.listener.CHANNEL` (delivered to every worker's listener when the
    transaction commits, never if it rolls back)."""
    generation = secrets.token_hex(16)
    if not KeyRingVersion.objects.filter(name=name).update(generation=generation):
        KeyRingVersion.objects.bulk_create([KeyRingVersion(name=name, generation=generation)], ignore_conflicts=True)
        KeyRingVersion.objects.filter(name=name).update(generation=generation)  # if another won the insert
    if connection.vendor == "postgresql":  # every worker's listener, on commit (:mod:`.listener`)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [listener.CHANNEL, f"{name} {generation}"])


@transaction.atomic  # the key and the new version commit together
def create_key() -> SigningKey:
    """Generate a new P-256 key; it becomes the active signing key."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = seal(private)
    jwk = ECKey.import_key(private.public_key())
    kid = jwk.thumbprint()
    public = {**jwk.as_dict(private=False), "kid": kid, "use": "sig", "alg": "ES256"}
    return SigningKey.objects.create(kid=kid, private_pem=pem, public_jwk=public)


@transaction.atomic
def rotate() -> SigningKey:
    """Retire the active key(s) and create a new active one (``tungban rotate_keys``)."""
    SigningKey.objects.filter(retired_at__isnull=True).update(retired_at=timezone.now())
    bump_version()
    return create_key()


#: Inside :func:`one_key`: the holder of the key read first in the block.
_pinned: contextvars.ContextVar[dict | None] = contextvars.ContextVar("tungban_keys_pinned", default=None)


@contextlib.contextmanager
def one_key() -> Iterator[None]:
    """For one operation that signs several times (an exchange signs four JWS, issue 15):
    inside the block :func:`active_key` reads the database once, and the key active then
    signs everything in the block. Per request, never longer (a context variable: each
    thread and request has its own), so workers still follow a rotation at once between
    requests; a key rotated during the block stays published, so what it signed verifies.
    Nested blocks share the outer one's key."""
    if _pinned.get() is not None:
        yield
        return
    token = _pinned.set({})
    try:
        yield
    finally:
        _pinned.reset(token)


#: The active signing key's ``kid`` (table ``oidc_signingkey``: the newest unretired key) as a
#: parenthesised scalar subquery, ``NULL`` when there is none. :func:`active_key` runs it on its
#: own; a caller that reads its own rows on the request's path may add it to its select list
#: and hand the answer to :func:`use_kid` (issue 15: an ID token then costs no read of its own).
ACTIVE_KID_SQL = "(SELECT kid FROM oidc_signingkey WHERE retired_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1)"


def active_key() -> tuple[str, ECKey]:
    """``(kid, private ECKey)`` of the newest unretired key; creates one if none exists.

    The database decides which key is active on every call, so all workers follow a
    rotation at once; only the decrypted key for a given ``kid`` (immutable) is kept. Inside
    :func:`one_key`, the first call's answer (or the ``kid`` given to :func:`use_kid`) is
    the block's.
    """
    pinned = _pinned.get()
    if pinned:
        return pinned["key"]
    # Raw SQL (table oidc_signingkey): called for every ID token, and Django's query
    # compiler cost more than the read (issue 15).
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {ACTIVE_KID_SQL}")  # noqa: S608 - a constant
        kid = cursor.fetchone()[0]
    if kid is None:
        key = create_key()
        found = _key_for(key.kid, key.private_pem)
        kid = key.kid
    else:
        found = _key_for(kid)
    if pinned is not None:
        pinned["key"] = (kid, found)
    return kid, found


def use_kid(kid: str | None) -> None:
    """Inside :func:`one_key`: sign the rest of the block with the key ``kid``, which the
    caller read as the active one in this request's own statement (:data:`ACTIVE_KID_SQL`),
    so that :func:`active_key` reads nothing. Nothing when ``kid`` is ``None`` (no key yet:
    :func:`active_key` creates one), outside a block, or when the block already has its key.
    A key rotated after the read stays published, so what it signs verifies (as in
    :func:`one_key`)."""
    pinned = _pinned.get()
    if kid is None or pinned is None or pinned:
        return
    pinned["key"] = (kid, _key_for(kid))


def _key_for(kid: str, pem: bytes | None = None) -> ECKey:
    """The decrypted key ``kid``. The kid is the key's JWK thumbprint, so a kid names one key
    for ever: its decrypted key is kept, its sealed PEM read (``oidc_signingkey``) only once."""
    found = _by_kid.get(kid)
    if found is None:
        if pem is None:
            pem = SigningKey.objects.filter(kid=kid).values_list("private_pem", flat=True).get()
        found = _by_kid[kid] = _decrypted(kid, bytes(pem))
    return found


_by_kid: dict[str, ECKey] = {}  # kid (JWK thumbprint, RFC 7638) -> decrypted key: immutable


def sign_jwt(claims: dict, typ: str) -> str:
    """A compact JWS (RFC 7515; ES256) over ``claims`` with the active platform key, its
    ``kid`` and the explicit ``typ`` (RFC 8725 §3.11), e.g. ``"JWT"`` for ID tokens,
    ``"consent+jwt"``; verifiable with :func:`public_jwks`."""
    kid, key = active_key()
    return jwt.encode({"alg": "ES256", "kid": kid, "typ": typ}, claims, key, registry=ES256)


#: What joserfc builds on every call given ``algorithms=["ES256"]`` (``construct_registry``: the
#: algorithms allowed, nothing else), built once and only read (issue 15, twelfth round: ~7 µs a
#: call): the platform's signatures (:func:`sign_jwt`) and the verifier's ES256 checks
#: (``credentials.services.sdjwt_check``).
ES256 = JWSRegistry(algorithms=["ES256"])


@functools.lru_cache(maxsize=8)
def _decrypted(kid: str, pem: bytes) -> ECKey:
    return ECKey.import_key(unseal(pem), {"kid": kid})


@dataclass(frozen=True, slots=True)
class Document:
    """Response bytes: ``body``, its strong ``etag`` (``"<32 hex digits of SHA-256(body)>"``,
    RFC 9110 §8.8.3) and ``content_type``; what :func:`tungban.core.documents.respond`
    serves (``keys`` imports no other app, so it has its own)."""

    body: bytes
    etag: str
    content_type: str = "application/json"

    @classmethod
    def of_json(cls, data) -> Document:
        """The bytes :class:`django.http.JsonResponse` writes for ``data``."""
        body = json.dumps(data, cls=DjangoJSONEncoder).encode()
        return cls(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


@dataclass(frozen=True, slots=True)
class _Published:
    document: Document
    until: dt.datetime | None  # when the oldest retired key in it leaves the JWKS (the clock alone)


_published: dict[tuple[str, int], _Published] = {}  # (generation, retirement days) -> JWKS


def published_jwks() -> Document:
    """The published JWKS (RFC 7517 §5: active keys and keys retired less than
    ``TUNGBAN_KEY_RETIREMENT_DAYS`` days ago, newest first) as response bytes with a strong
    ETag; creates a key if none is active.

    One query when this process already built the JWKS of the current :func:`version`: the
    answer is kept under ``(generation, retirement days)`` until the oldest retired key in it
    reaches the end of its retirement, a moment every worker computes alike from the database.
    Otherwise the keys are read (and a version row made if it is missing) and the answer is
    kept only if the version did not change while they were read."""
    generation = version()
    cache_key = (generation, settings.TUNGBAN_KEY_RETIREMENT_DAYS)
    entry = _published.get(cache_key)
    if entry is not None and (entry.until is None or timezone.now() < entry.until):
        return entry.document
    days = settings.TUNGBAN_KEY_RETIREMENT_DAYS
    cutoff = timezone.now() - dt.timedelta(days=days)
    published = list(
        SigningKey.objects.filter(Q(retired_at__isnull=True) | Q(retired_at__gte=cutoff))
        .order_by("-created_at", "-id")
        .values_list("public_jwk", "retired_at")
    )  # one round trip
    if not any(retired is None for _jwk, retired in published):
        create_key()  # a new version: built afresh below
        return published_jwks()
    entry = _Published(
        Document.of_json({"keys": [jwk for jwk, _retired in published]}),
        min((retired + dt.timedelta(days=days) for _jwk, retired in published if retired), default=None),
    )
    if generation is None:
        with transaction.atomic():
            bump_version()  # the row was missing (e.g. a flushed database): cache from now on
    elif version() == generation:  # no change committed while the keys were read
        if len(_published) >= 8:
            _published.clear()  # old generations are never asked for again
        _published[cache_key] = entry
    return entry.document


_postgresql: bool | None = None  # the default database's vendor, read once


def served_jwks() -> Document | None:
    """The published JWKS if this process already built it for the current version, without
    building anything; ``None`` otherwise (then serve :func:`published_jwks` through Django,
    which builds and keeps it). For :mod:`tungban.core.front` (issue 15).

    The version: on PostgreSQL the one pushed to this process (:mod:`.listener`, no query;
    started here on first use in each process); while the listener is not connected,
    ``None`` (Django's path reads it per request, as before). On another database (SQLite,
    development and tests), read per request (:func:`version`, one in-process query) on this
    thread's connection, which stays open (autocommit: no lock held) until the next Django
    request in the thread closes it as usual (``CONN_MAX_AGE``); a fault raises, and the front
    lets Django answer."""
    global _postgresql
    if _postgresql is None:
        _postgresql = connection.vendor == "postgresql"
    if _postgresql:
        listener.ensure_started()
        generation = listener.generation(SIGNING_KEYS)
        if generation is None:
            return None
    else:
        generation = version()
    entry = _published.get((generation, settings.TUNGBAN_KEY_RETIREMENT_DAYS))
    if entry is None or (entry.until is not None and timezone.now() >= entry.until):
        return None
    return entry.document


def public_jwks() -> dict:
    """The published JWKS (RFC 7517 §5) as a new dict: :func:`published_jwks`."""
    return json.loads(published_jwks().body)


def every_public_jwk() -> dict:
    """Every platform key ever made, retired or not, as a JWKS: for checking old signed
    records (e.g. transparency-log tree heads) after their key left the published JWKS."""
    return {"keys": list(SigningKey.objects.order_by("created_at", "id").values_list("public_jwk", flat=True))}


#: :func:`version` as a scalar SQL expression (table ``keys_keyringversion``; one parameter,
#: the name), for a caller that reads it in the same statement as its own tables, with
#: :data:`ACTIVE_KID_SQL` (認證易's online check, issue 15).
VERSION_SQL = "(SELECT generation FROM keys_keyringversion WHERE name = %s)"

_every: dict[str, dict] = {}  # key-ring generation -> every_public_jwk() at that generation


def every_public_jwk_at(generation: str | None) -> dict:
    """:func:`every_public_jwk` when the key ring's :func:`version` is ``generation`` (read
    by the caller, e.g. with ``VERSION_SQL``): kept per generation, since every change to
    the keys gives a new one in its own transaction (so every worker follows it at once);
    read (two statements) when this process has not seen ``generation``, or without one."""
    found = _every.get(generation) if generation else None
    if found is not None:
        return {"keys": list(found["keys"])}
    every = every_public_jwk()
    if generation and version() == generation:  # no change committed while the keys were read
        if len(_every) >= 8:
            _every.clear()  # old generations are never asked for again
        _every[generation] = every
    return {"keys": list(every["keys"])}


def public_keyset() -> KeySet:
    return KeySet.import_key_set(public_jwks())
