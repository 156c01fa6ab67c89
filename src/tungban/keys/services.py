"""The platform signing keys (ES256, RFC 7518 §3.4) stored in the database, and the JWKS.

They sign ID tokens, consent artefacts, exchange-log and transparency-log heads. Private
keys are sealed with the platform secret key (:mod:`tungban.keys.sealing`) before they are
stored. All workers read the same keys, so rotation needs no coordination: the newest
unretired key signs, retired keys stay published for ``TUNGBAN_KEY_RETIREMENT_DAYS`` days so
that tokens they signed keep verifying.
"""

from __future__ import annotations

import datetime as dt
import functools

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import connection, transaction
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


def active_key() -> tuple[str, ECKey]:
    """``(kid, private ECKey)`` of the newest unretired key; creates one if none exists.

    The database decides which key is active on every call, so all workers follow a
    rotation at once; only the decrypted key for a given ``kid`` (immutable) is kept.
    """
    # Raw SQL (table oidc_signingkey): called for every ID token, and Django's query
    # compiler cost more than the read (issue 15). The kid is the key's JWK thumbprint, so a
    # kid names one key for ever: its decrypted key is kept, its sealed PEM read only once.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT kid FROM oidc_signingkey WHERE retired_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1"
        )
        row = cursor.fetchone()
    if row is None:
        key = create_key()
        kid, pem = key.kid, key.private_pem
    else:
        kid, pem = row[0], None
    found = _by_kid.get(kid)
    if found is None:
        if pem is None:
            pem = SigningKey.objects.filter(kid=kid).values_list("private_pem", flat=True).get()
        found = _by_kid[kid] = _decrypted(kid, bytes(pem))
    return kid, found


_by_kid: dict[str, ECKey] = {}  # kid (JWK thumbprint, RFC 7638) -> decrypted key: immutable


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
