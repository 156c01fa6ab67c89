"""The issuers' signing keys: P-256 (ES256) keys whose private part is stored sealed
(:mod:`tungban.keys.sealing`: a PKCS#8 PEM encrypted under ``SECRET_KEY``). Creation,
rotation (retired keys stay published, so the credentials they signed keep verifying) and
the cached decrypted active key that signs credentials (:mod:`.issuance`) and status list
tokens (:mod:`.status`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from django.db import transaction
from django.utils import timezone
from joserfc.jwk import ECKey
from jwcrypto.jwk import JWK

from tungban.keys.sealing import seal, unseal

from ..models import Issuer, IssuerKey


def create_issuer_key(issuer: Issuer) -> IssuerKey:
    """Generate a new P-256 key for ``issuer``; it becomes the active key."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = seal(private)
    public = ECKey.import_key(private.public_key())
    kid = public.thumbprint()
    jwk = {**public.as_dict(private=False), "kid": kid, "use": "sig", "alg": "ES256"}
    return IssuerKey.objects.create(issuer=issuer, kid=kid, private_pem=pem, public_jwk=jwk)


@transaction.atomic
def rotate_issuer_key(issuer: Issuer) -> IssuerKey:
    """Retire ``issuer``'s active key(s) and create a new one. Retired keys stay published
    (credentials they signed keep verifying)."""
    issuer.keys.filter(retired_at__isnull=True).update(retired_at=timezone.now())
    return create_issuer_key(issuer)


@dataclass(frozen=True)
class _SigningKey:
    kid: str
    jwcrypto: JWK
    joserfc: ECKey


@functools.lru_cache(maxsize=32)
def _decrypted(kid: str, pem: bytes) -> _SigningKey:
    private = unseal(pem)
    return _SigningKey(kid, JWK.from_pyca(private), ECKey.import_key(private, {"kid": kid}))


def _signing_key(issuer: Issuer) -> _SigningKey:
    key = issuer.keys.filter(retired_at__isnull=True).order_by("-created_at", "-id").only("kid", "private_pem").first()
    if key is None:
        key = create_issuer_key(issuer)
    return _decrypted(key.kid, bytes(key.private_pem))


def ensure_issuer_key(issuer: Issuer) -> None:
    """Give ``issuer`` a signing key if it has none (at set-up, not on a public request)."""
    if not issuer.keys.exists():
        create_issuer_key(issuer)
