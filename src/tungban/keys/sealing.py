"""Private keys sealed at rest: the one "PEM encrypted with the secret key" helper.

A sealed key is a PKCS#8 PEM document (RFC 5958 ``EncryptedPrivateKeyInfo``, ``-----BEGIN
ENCRYPTED PRIVATE KEY-----``) encrypted by ``cryptography``'s ``BestAvailableEncryption``
(PBES2, RFC 8018: PBKDF2-HMAC-SHA256 and AES-256-CBC) under the platform secret key
(``settings.SECRET_KEY``). The format is the one the platform key ring, the signing CA and
software keystore, and the credential issuers' keys have always stored, so every value
already in the database unseals unchanged.

Rotating ``SECRET_KEY``: put the old value in ``SECRET_KEY_FALLBACKS`` (as for Django's
signed cookies); :func:`unseal` tries it after the current key, and the next :func:`seal`
uses the new one.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from django.conf import settings


def _passwords() -> list[bytes]:
    return [key.encode() for key in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))]


def seal(private_key: PrivateKeyTypes) -> bytes:
    """``private_key`` (any ``cryptography`` private key) as an encrypted PKCS#8 PEM (bytes)."""
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_passwords()[0]),
    )


def unseal(pem: bytes | memoryview) -> PrivateKeyTypes:
    """The private key in a PEM made by :func:`seal` (a ``memoryview`` from a
    ``BinaryField`` is accepted).

    :raises ValueError: the PEM is malformed, or no key in ``SECRET_KEY`` and
        ``SECRET_KEY_FALLBACKS`` decrypts it.
    """
    data = bytes(pem)
    passwords = _passwords()
    for password in passwords[:-1]:
        try:
            return serialization.load_pem_private_key(data, password=password)
        except ValueError:
            continue
    return serialization.load_pem_private_key(data, password=passwords[-1])
