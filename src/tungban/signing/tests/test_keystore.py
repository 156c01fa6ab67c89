"""The keystores: PKCS#11 (SoftHSM2) keeps private keys inside the token; the software
fallback is chosen only when PKCS#11 is unavailable, and says so in the logs."""

import logging
import shutil

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tungban.signing import keystore


@pytest.fixture
def fresh_keystore(monkeypatch):
    monkeypatch.setattr(keystore, "_keystore", None)
    yield
    keystore._keystore = None


@pytest.mark.skipif(not shutil.which("softhsm2-util"), reason="softhsm2 not installed (apt-get install softhsm2)")
def test_pkcs11_keys_are_generated_in_the_token_and_cannot_be_extracted(fresh_keystore, settings):
    from pkcs11 import Attribute, ObjectClass

    store = keystore.get_keystore()
    assert store.kind == "pkcs11"
    key = store.generate("tungban-test-key")
    assert isinstance(key.public_key, ec.EllipticCurvePublicKey) and key.public_key.curve.name == "secp256r1"
    assert key.sealed_private is None  # nothing of the private key leaves the token
    private = store.session().get_key(object_class=ObjectClass.PRIVATE_KEY, label="tungban-test-key")
    assert private[Attribute.SENSITIVE] and not private[Attribute.EXTRACTABLE]

    class Credential:
        key_label = "tungban-test-key"

    store.destroy(Credential())
    assert not list(store.session().get_objects({Attribute.LABEL: "tungban-test-key"}))


def test_software_fallback_is_logged(fresh_keystore, settings, caplog):
    settings.TUNGBAN_PKCS11_MODULE = "/nonexistent/libpkcs11.so"
    with caplog.at_level(logging.WARNING, logger="tungban.signing.keystore"):
        store = keystore.get_keystore()
    assert store.kind == "software"
    assert "SOFTWARE keystore" in caplog.text and "No PKCS#11 module" in caplog.text
    key = store.generate("x")
    assert b"ENCRYPTED PRIVATE KEY" in key.sealed_private  # encrypted at rest


def test_requiring_pkcs11_without_a_module_is_an_error(fresh_keystore, settings):
    from tungban.core.errors import DomainError

    settings.TUNGBAN_KEYSTORE = "pkcs11"
    settings.TUNGBAN_PKCS11_MODULE = "/nonexistent/libpkcs11.so"
    with pytest.raises(DomainError) as err:
        keystore.get_keystore()
    assert err.value.code == "keystore_unavailable"


def test_an_unusable_pkcs11_token_is_an_error_not_a_silent_fallback(fresh_keystore, settings, tmp_path):
    """Every worker must keep keys in the HSM: a token that cannot be opened is refused."""
    from tungban.core.errors import DomainError

    if not shutil.which("softhsm2-util"):
        pytest.skip("softhsm2 not installed")
    settings.TUNGBAN_PKCS11_TOKEN = "no-such-token"
    settings.TUNGBAN_PKCS11_PIN = "1234"
    with pytest.raises(DomainError) as err:
        keystore.get_keystore()
    assert err.value.code == "keystore_unavailable" and keystore._keystore is None
