import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tungban.keys.sealing import seal, unseal


def _public(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_seal_is_encrypted_pkcs8_and_unseals_to_the_same_key(settings):
    key = ec.generate_private_key(ec.SECP256R1())
    sealed = seal(key)
    assert sealed.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert _public(unseal(memoryview(sealed))) == _public(key)  # BinaryField hands out memoryview


def test_values_sealed_before_the_key_ring_existed_still_unseal(settings):
    # The exact code the OIDC key ring, the signing keystore and the credential issuers used.
    key = ec.generate_private_key(ec.SECP256R1())
    legacy = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(settings.SECRET_KEY.encode()),
    )
    assert _public(unseal(legacy)) == _public(key)


def test_another_secret_key_cannot_unseal(settings):
    sealed = seal(ec.generate_private_key(ec.SECP256R1()))
    settings.SECRET_KEY = "a-different-secret-key"
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(ValueError):
        unseal(sealed)


def test_secret_key_rotation_through_fallbacks(settings):
    key = ec.generate_private_key(ec.SECP256R1())
    old = settings.SECRET_KEY
    sealed_old = seal(key)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "the-new-secret-key", [old]
    assert _public(unseal(sealed_old)) == _public(key)
    sealed_new = seal(key)
    settings.SECRET_KEY_FALLBACKS = []
    assert _public(unseal(sealed_new)) == _public(key)  # new seals use the new key only
    with pytest.raises(ValueError):
        unseal(sealed_old)
