"""Encryption at rest for personal data, and keyed hashes to look it up (issue 13 item 10).

**Encryption**: :class:`EncryptedTextField` stores each value as ``"a1:" +
base64url(nonce ‖ ciphertext ‖ tag)``: AES-256-GCM (NIST SP 800-38D), the ``cryptography``
library's AEAD ``AESGCM``, with a fresh random 96-bit nonce per value (far fewer than the
2^32 encryptions per key that SP 800-38D §8.3 allows for random nonces). The keys are
``settings.TUNGBAN_FIELD_ENCRYPTION_KEYS`` (32 random bytes, base64url, each): the first
encrypts, every key is tried to decrypt, so a key is rotated by putting a new one first and
running ``tungban reencrypt_fields`` (:func:`rotate`) before the old one is dropped. A value
that no key opens (or that was altered) raises :class:`UnreadableValue`: never served as
if it were the data. The empty string is stored as itself (an empty address is no secret).

Why AES-GCM and this small format rather than Fernet or a field package: Fernet (tried
first) costs about 11 µs per value in Python and doubles the size of short values, which
made seeding 3.3 million residents several times slower; django-fernet-encrypted-fields
derives its keys from ``SECRET_KEY`` (rotating the session key would strand the data) and
returns the ciphertext as the value when decryption fails. The cryptography is the
library's; this module only frames it and maps Django's field hooks onto it.

**Look-ups**: an encrypted column cannot be searched. :func:`lookup_hash` is HMAC-SHA256
(RFC 2104, truncated to 128 bits as §5 allows) under ``settings.TUNGBAN_LOOKUP_HASH_KEY`` of
the canonical value, stored in an indexed column beside it (:class:`LookupHashField`, e.g.
``Resident.hkid_hash``). Without the key the hashes cannot be tested against guesses (an
HKID number has only about 10^9 values). Encrypted fields refuse every query lookup but
``isnull``, so a forgotten ``filter(hkid=…)`` fails loudly.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import models

PREFIX = "a1:"  #: format version: AES-256-GCM, 12-byte nonce first, tag last
_NONCE = 12
_URLSAFE = bytes.maketrans(b"-_", b"+/")  # base64url → base64 (RFC 4648 §5)


class UnreadableValue(Exception):
    """An encrypted value that no configured key opens, or that was altered."""


@functools.cache
def _aeads(keys: tuple[str, ...]) -> tuple[AESGCM, ...]:
    if not keys:
        raise ValueError("settings.TUNGBAN_FIELD_ENCRYPTION_KEYS is empty")
    return tuple(AESGCM(base64.urlsafe_b64decode(k)) for k in keys)


def _keys() -> tuple[AESGCM, ...]:
    return _aeads(tuple(settings.TUNGBAN_FIELD_ENCRYPTION_KEYS))


def generate_key() -> str:
    """A new key for ``TUNGBAN_FIELD_ENCRYPTION_KEYS``: 32 random bytes, base64url."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def encrypt(text: str) -> str:
    """``text`` encrypted under the current (first) key, as ASCII; ``""`` stays ``""``."""
    if not text:
        return ""
    nonce = os.urandom(_NONCE)
    sealed = _keys()[0].encrypt(nonce, text.encode(), None)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def decrypt(token: str) -> str:
    """The text in an encrypted value; ``""`` stays ``""``.

    :raises UnreadableValue: not an encrypted value, altered, or no configured key opens it."""
    if not token:
        return ""
    if not token.startswith(PREFIX):
        raise UnreadableValue("not an encrypted value")
    try:
        # base64.urlsafe_b64decode's own steps (non-strict, as it is), without its Python
        # wrappers: half of a short value's decryption time (issue 15, fourth round)
        raw = binascii.a2b_base64(token[len(PREFIX) :].encode("ascii").translate(_URLSAFE))
    except ValueError:  # binascii.Error, UnicodeEncodeError
        raise UnreadableValue("not an encrypted value") from None
    if len(raw) < _NONCE + 16:  # no room for a nonce and a tag (AESGCM would raise ValueError)
        raise UnreadableValue("not an encrypted value")
    for aead in _keys():
        try:
            return aead.decrypt(raw[:_NONCE], raw[_NONCE:], None).decode()
        except InvalidTag:
            continue
    raise UnreadableValue("no configured key opens this value")


def encrypt_bytes(data: bytes) -> bytes:
    """``data`` encrypted under the current (first) key: ``b"a1:"`` + nonce ‖ ciphertext ‖ tag
    (the text format's bytes before base64, for binary columns); ``b""`` stays ``b""``."""
    if not data:
        return b""
    nonce = os.urandom(_NONCE)
    return PREFIX.encode() + nonce + _keys()[0].encrypt(nonce, bytes(data), None)


def decrypt_bytes(sealed: bytes) -> bytes:
    """The bytes in a value of :func:`encrypt_bytes`; ``b""`` stays ``b""``.

    :raises UnreadableValue: not an encrypted value, altered, or no configured key opens it."""
    sealed = bytes(sealed or b"")
    if not sealed:
        return b""
    head = len(PREFIX)
    if not sealed.startswith(PREFIX.encode()) or len(sealed) < head + _NONCE + 16:
        raise UnreadableValue("not an encrypted value")
    for aead in _keys():
        try:
            return aead.decrypt(sealed[head : head + _NONCE], sealed[head + _NONCE :], None)
        except InvalidTag:
            continue
    raise UnreadableValue("no configured key opens this value")


def is_encrypted(value: str | None) -> bool:
    """Whether ``value`` is an encrypted value that a configured key opens."""
    try:
        decrypt(value or "")
    except UnreadableValue:
        return False
    return bool(value)


def rotate(token: str) -> str:
    """The value re-encrypted under the current (first) key."""
    return encrypt(decrypt(token))


def lookup_hash(canonical: str) -> str:
    """HMAC-SHA256 of ``canonical`` under ``settings.TUNGBAN_LOOKUP_HASH_KEY``, first 128
    bits, 32 hex digits."""
    return hmac.digest(settings.TUNGBAN_LOOKUP_HASH_KEY.encode(), canonical.encode(), hashlib.sha256)[:16].hex()


class EncryptedTextField(models.TextField):
    """A text column whose values are stored encrypted (:func:`encrypt`); Python sees text.

    Length rules belong to the domain (the stored value is about 1.33 × the UTF-8 text plus
    41 characters). Only ``isnull`` lookups are allowed: search through a :func:`lookup_hash`
    column instead."""

    def from_db_value(self, value, expression, connection):
        return value if value is None else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value is None else encrypt(value)

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            return None  # Django raises FieldError: "Unsupported lookup"
        return super().get_lookup(lookup_name)


class EncryptedBinaryField(models.BinaryField):
    """A binary column whose values are stored encrypted (:func:`encrypt_bytes`); Python sees
    ``bytes``. For documents holding personal data (a refund file naming payers, a receipt).
    Only ``isnull`` lookups are allowed."""

    def from_db_value(self, value, expression, connection):
        return value if value is None else decrypt_bytes(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value is None else encrypt_bytes(bytes(value))

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)


class EncryptedDateField(EncryptedTextField):
    """A date stored encrypted (its ISO 8601 text, :func:`encrypt`); Python sees ``datetime.date``."""

    def from_db_value(self, value, expression, connection):
        text = super().from_db_value(value, expression, connection)
        return dt.date.fromisoformat(text) if text else None

    def to_python(self, value):
        if isinstance(value, str) and value:
            return dt.date.fromisoformat(value)
        return value

    def get_prep_value(self, value):
        value = self.to_python(value)
        return None if value is None else encrypt(value.isoformat())


class LookupHashField(models.CharField):
    """The :func:`lookup_hash` of another field's value (``source``), computed whenever the
    row is saved or bulk-created (``pre_save``), 32 hex digits. Index it (``unique=True``
    for identifiers). ``QuerySet.update()`` of the source must set it too."""

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.setdefault("max_length", 64)  # room for a longer hash later
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = lookup_hash(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value
