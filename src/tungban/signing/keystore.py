"""Where residents' signing keys live.

:class:`Pkcs11KeyStore` keeps them in a PKCS#11 token (python-pkcs11): generated inside the
token as ECDSA P-256 (secp256r1) keys marked sensitive and non-extractable, so the private
key never leaves it. SoftHSM2 is the default module; a real HSM replaces it by setting
``TUNGBAN_PKCS11_MODULE``, ``TUNGBAN_PKCS11_TOKEN`` and ``TUNGBAN_PKCS11_PIN``. SoftHSM2's
token is created on first use under ``var/softhsm``; its serial and random PIN are kept in
``var/pkcs11-token``.

:class:`SoftwareKeyStore` is the fallback when no PKCS#11 module is installed: keys are
PKCS#8 PEM sealed with the platform secret key (:mod:`tungban.keys.sealing`), in the
database. Choosing it is logged as a warning.

Both hand out pyHanko signers (:class:`pyhanko.sign.signers.Signer`), so CMS and PDF
signatures are built by pyHanko, never by us.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import secrets
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

from tungban.core.errors import DomainError
from tungban.keys.sealing import seal, unseal

from . import errors

log = logging.getLogger(__name__)


@dataclass
class GeneratedKey:
    """A new key: its keystore label, the public key, and (software only) the sealed private key."""

    label: str
    public_key: ec.EllipticCurvePublicKey
    sealed_private: bytes | None = None


def asn1_private_key(private_key) -> asn1_keys.PrivateKeyInfo:
    der = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return asn1_keys.PrivateKeyInfo.load(der)


class SoftwareKeyStore:
    kind = "software"

    def generate(self, label: str) -> GeneratedKey:
        private = ec.generate_private_key(ec.SECP256R1())
        return GeneratedKey(label=label, public_key=private.public_key(), sealed_private=seal(private))

    def signer(self, credential, cert: asn1_x509.Certificate, chain: list[asn1_x509.Certificate]):
        from pyhanko.sign.signers import SimpleSigner
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        key = asn1_private_key(unseal(credential.software_key_pem))
        return SimpleSigner(
            signing_cert=cert,
            signing_key=key,
            cert_registry=SimpleCertificateStore.from_certs(chain),
            embed_roots=False,
        )

    def destroy(self, credential) -> None:
        credential.software_key_pem = None

    def labels(self, prefix: str) -> set[str]:
        """Nothing lives outside the database: the sealed key is in the credential's row."""
        return set()

    def destroy_label(self, label: str) -> None:
        pass


class Pkcs11KeyStore:
    kind = "pkcs11"

    def __init__(self, module: str, token_label: str, pin: str, token_serial: str | None = None):
        import pkcs11

        self._pkcs11 = pkcs11
        self._lib = pkcs11.lib(module)
        self._token = {"token_label": token_label}
        if token_serial:
            self._token["token_serial"] = token_serial.encode()
        self._pin = pin
        self._local = threading.local()

    def session(self):
        """This thread's logged-in session (PKCS#11 sessions are per thread of use)."""
        session = getattr(self._local, "session", None)
        if session is None:
            token = self._lib.get_token(**self._token)
            try:
                session = token.open(rw=True, user_pin=self._pin)
            except self._pkcs11.exceptions.UserAlreadyLoggedIn:
                # PKCS#11 login is per process: another thread's session already logged in.
                session = token.open(rw=True)
            self._local.session = session
        return session

    def _retrying(self, fn):
        try:
            return fn(self.session())
        except self._pkcs11.exceptions.PKCS11Error:
            # The token may have been reset or the session closed: open a fresh one once.
            self._local.session = None
            return fn(self.session())

    def generate(self, label: str) -> GeneratedKey:
        from pkcs11 import Attribute, KeyType
        from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

        def gen(session):
            params = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
            )
            public, _ = params.generate_keypair(
                store=True,
                label=label,
                id=label.encode(),
                private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True},
            )
            return encode_ec_public_key(public)

        der = self._retrying(gen)
        return GeneratedKey(label=label, public_key=serialization.load_der_public_key(der))

    def signer(self, credential, cert: asn1_x509.Certificate, chain: list[asn1_x509.Certificate]):
        from pyhanko.sign.pkcs11 import PKCS11Signer

        # SoftHSM2 implements raw CKM_ECDSA only, so pyHanko hashes and the token signs.
        return PKCS11Signer(
            self.session(),
            key_label=credential.key_label,
            signing_cert=cert,
            ca_chain=chain,
            embed_roots=False,
            use_raw_mechanism=True,
        )

    def destroy(self, credential) -> None:
        """Destroy the private key (after revocation nothing may sign with it again)."""
        self.destroy_label(credential.key_label)

    def destroy_label(self, label: str) -> None:
        """Destroy the private and public key objects labelled ``label`` (none: nothing to do)."""
        from pkcs11 import Attribute, ObjectClass

        def destroy(session):
            for obj in session.get_objects({Attribute.LABEL: label}):
                if obj.object_class in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
                    obj.destroy()

        self._retrying(destroy)

    def labels(self, prefix: str) -> set[str]:
        """Labels starting with ``prefix`` of the token's private and public key objects (for
        :func:`tungban.keys.token.sweep`; reads every key object's label)."""
        from pkcs11 import Attribute, ObjectClass

        def read(session):
            found = set()
            for cls in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
                for obj in session.get_objects({Attribute.CLASS: cls}):
                    label = obj[Attribute.LABEL]
                    if label.startswith(prefix):
                        found.add(label)
            return found

        return self._retrying(read)


# --- SoftHSM2 set-up --------------------------------------------------------------------------


def _softhsm_paths() -> tuple[Path, Path, Path]:
    var = Path(settings.VAR_DIR)
    return Path(os.environ["SOFTHSM2_CONF"]), var / "softhsm" / "tokens", var / "pkcs11-token"


def _softhsm_serials(conf: Path) -> set[str]:
    out = subprocess.run(
        ["softhsm2-util", "--show-slots"],
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
        capture_output=True,
        text=True,
    ).stdout
    return set(re.findall(r"Serial number:\s+([0-9a-f]+)", out))


def ensure_softhsm_token() -> tuple[str, str]:
    """Create SoftHSM2's configuration and a token labelled ``TUNGBAN_PKCS11_TOKEN`` if
    there is none yet, with random PINs. ``var/pkcs11-token`` (mode 0600) keeps the token's
    serial number and user PIN. Returns ``(serial, pin)``.

    :raises DomainError: ``keystore_unavailable`` when ``softhsm2-util`` fails.
    """
    conf, tokens, token_file = _softhsm_paths()
    tokens.mkdir(parents=True, exist_ok=True)
    with open(tokens.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several workers may start at once
        if not conf.exists():
            conf.write_text(
                f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
            )
        before = _softhsm_serials(conf)
        if token_file.exists():
            serial, pin = token_file.read_text().split()
            if serial in before:
                return serial, pin
        pin = secrets.token_hex(16)
        result = subprocess.run(
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                settings.TUNGBAN_PKCS11_TOKEN,
                "--so-pin",
                secrets.token_hex(16),
                "--pin",
                pin,
            ],
            env={**os.environ, "SOFTHSM2_CONF": str(conf)},
            capture_output=True,
            text=True,
        )
        created = _softhsm_serials(conf) - before
        if result.returncode != 0 or len(created) != 1:
            raise errors.KeystoreUnavailable(f"softhsm2-util failed: {result.stderr.strip()}")
        serial = created.pop()
        token_file.touch(mode=0o600)
        token_file.write_text(f"{serial} {pin}\n")
        log.info("Created SoftHSM2 token %r (serial %s) in %s", settings.TUNGBAN_PKCS11_TOKEN, serial, tokens)
        return serial, pin


_lock = threading.Lock()
_keystore = None


def get_keystore():
    """The configured keystore (``TUNGBAN_KEYSTORE``: ``pkcs11``, ``software`` or ``auto``).

    ``auto`` means PKCS#11 when the module file exists, else software: a fact of the host,
    so every worker on it decides the same way. Once a PKCS#11 module is chosen, failing to
    open it is an error (tried again on the next call), never a silent switch to software.
    One per process: it holds the loaded library and per-thread sessions, no data.

    :raises DomainError: ``keystore_unavailable`` (503) when the PKCS#11 token cannot be used.
    """
    global _keystore
    with _lock:
        if _keystore is None:
            _keystore = _open_keystore()  # a failure raises and is not cached
        return _keystore


def _open_keystore():
    choice = settings.TUNGBAN_KEYSTORE
    module = settings.TUNGBAN_PKCS11_MODULE
    if choice == "pkcs11" or (choice == "auto" and module and Path(module).exists()):
        try:
            pin, serial = settings.TUNGBAN_PKCS11_PIN, None
            if not pin and module.endswith("libsofthsm2.so") and shutil.which("softhsm2-util"):
                serial, pin = ensure_softhsm_token()
            store = Pkcs11KeyStore(module, settings.TUNGBAN_PKCS11_TOKEN, pin, serial)
            store.session()
        except DomainError:
            raise
        except Exception as exc:  # noqa: BLE001 - the module, token or PIN is unusable
            log.error("PKCS#11 keystore unusable (%s)", exc)
            raise errors.KeystoreUnavailable() from exc
        log.info("Signing keys in PKCS#11 token %r (%s)", settings.TUNGBAN_PKCS11_TOKEN, module)
        return store
    if choice == "software":
        log.warning(
            "TUNGBAN_KEYSTORE=software: signing keys use the SOFTWARE keystore (encrypted at rest in the database)."
        )
    else:
        log.warning(
            "No PKCS#11 module at %s: signing keys use the SOFTWARE keystore (encrypted at rest in the "
            "database). Install softhsm2 or configure an HSM (TUNGBAN_PKCS11_MODULE) for production.",
            module,
        )
    return SoftwareKeyStore()


def for_credential(credential):
    """The keystore that holds ``credential``'s key (it may differ from today's choice)."""
    store = get_keystore()
    if store.kind == credential.keystore:
        return store
    if credential.keystore == SoftwareKeyStore.kind:
        return SoftwareKeyStore()
    raise errors.KeystoreUnavailable("The PKCS#11 keystore holding this key is unavailable.")
