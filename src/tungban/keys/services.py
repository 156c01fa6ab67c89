"""The platform signing keys (ES256, RFC 7518 §3.4) stored in the database, and the JWKS.

They sign ID tokens, consent artefacts, exchange-log and transparency-log heads. Private
keys are sealed with the platform secret key (:mod:`tungban.keys.sealing`) before they are
stored. All workers read the same keys, so rotation needs no coordination: the newest
unretired key signs, retired keys stay published for ``TUNGBAN_KEY_RETIREMENT_DAYS`` days so
that tokens they signed keep verifying.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
from collections.abc import Iterator

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from .models import SigningKey
from .sealing import seal, unseal


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


def active_key() -> tuple[str, ECKey]:
    """``(kid, private ECKey)`` of the newest unretired key; creates one if none exists.

    The database decides which key is active on every call, so all workers follow a
    rotation at once; only the decrypted key for a given ``kid`` (immutable) is kept. Inside
    :func:`one_key`, the first call's answer is the block's.
    """
    pinned = _pinned.get()
    if pinned:
        return pinned["key"]
    key = (
        SigningKey.objects.filter(retired_at__isnull=True)
        .order_by("-created_at", "-id")
        .only("kid", "private_pem")
        .first()
        or create_key()
    )
    found = key.kid, _decrypted(key.kid, bytes(key.private_pem))
    if pinned is not None:
        pinned["key"] = found
    return found


def sign_jwt(claims: dict, typ: str) -> str:
    """A compact JWS (RFC 7515; ES256) over ``claims`` with the active platform key, its
    ``kid`` and the explicit ``typ`` (RFC 8725 §3.11), e.g. ``"JWT"`` for ID tokens,
    ``"consent+jwt"``; verifiable with :func:`public_jwks`."""
    kid, key = active_key()
    return jwt.encode({"alg": "ES256", "kid": kid, "typ": typ}, claims, key, ["ES256"])


@functools.lru_cache(maxsize=8)
def _decrypted(kid: str, pem: bytes) -> ECKey:
    return ECKey.import_key(unseal(pem), {"kid": kid})


def public_jwks() -> dict:
    """The published JWKS (RFC 7517 §5): active keys and recently retired ones."""
    cutoff = timezone.now() - dt.timedelta(days=settings.TUNGBAN_KEY_RETIREMENT_DAYS)
    published = list(
        SigningKey.objects.filter(Q(retired_at__isnull=True) | Q(retired_at__gte=cutoff))
        .order_by("-created_at", "-id")
        .values_list("public_jwk", "retired_at")
    )  # one round trip: the JWKS is fetched by every relying party (bench/oidc.py)
    if not any(retired is None for _jwk, retired in published):
        create_key()
        return public_jwks()
    return {"keys": [jwk for jwk, _retired in published]}


def every_public_jwk() -> dict:
    """Every platform key ever made, retired or not, as a JWKS: for checking old signed
    records (e.g. transparency-log tree heads) after their key left the published JWKS."""
    return {"keys": list(SigningKey.objects.order_by("created_at", "id").values_list("public_jwk", flat=True))}


def public_keyset() -> KeySet:
    return KeySet.import_key_set(public_jwks())
