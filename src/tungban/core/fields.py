"""Encryption at rest for personal data, and keyed hashes to look it up (issue 13 item 10).

**Encryption**: :class:`EncryptedTextField` stores each value as a Fernet token (the
``cryptography`` library: AES-128-CBC with HMAC-SHA256, a fresh IV per value; Fernet spec)
under the keys of ``settings.TUNGBAN_FIELD_ENCRYPTION_KEYS``: the first encrypts, every key
decrypts (``MultiFernet``), so a key is rotated by putting a new one first and running
``tungban reencrypt_fields`` (:func:`rotate`) before the old one is dropped. A value that no
key opens raises :class:`cryptography.fernet.InvalidToken`: never served as if it were the
data. The empty string is stored as itself (an empty address is not a secret).

Why not a field package such as django-fernet-encrypted-fields: it derives its keys from
``SECRET_KEY`` (rotating the session key would strand the data) and returns the ciphertext
as the value when decryption fails. This module only maps Django's field hooks onto
``MultiFernet``; the cryptography is the library's.

**Look-ups**: an encrypted column cannot be searched. :func:`lookup_hash` is HMAC-SHA256
(RFC 2104) under ``settings.TUNGBAN_LOOKUP_HASH_KEY`` of the canonical value, stored in an
indexed column beside it (e.g. ``Resident.hkid_hash``). Without the key the hashes cannot be
tested against guesses (an HKID number has only about 10^9 values). Encrypted fields refuse
every query lookup but ``isnull``, so a forgotten ``filter(hkid=…)`` fails loudly.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import models


@functools.cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ValueError("settings.TUNGBAN_FIELD_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(k) for k in keys])


def fernet() -> MultiFernet:
    """The ``MultiFernet`` of ``settings.TUNGBAN_FIELD_ENCRYPTION_KEYS`` (first key encrypts)."""
    return _fernet(tuple(settings.TUNGBAN_FIELD_ENCRYPTION_KEYS))


@functools.cache
def _current(key: str) -> Fernet:
    return Fernet(key)


def current_fernet() -> Fernet:
    """The ``Fernet`` of the current (first) key: what :func:`encrypt` uses, for bulk code."""
    return _current(settings.TUNGBAN_FIELD_ENCRYPTION_KEYS[0])


def encrypt(text: str) -> str:
    """``text`` as a Fernet token (ASCII); ``""`` stays ``""``."""
    return fernet().encrypt(text.encode()).decode("ascii") if text else ""


def decrypt(token: str) -> str:
    """The text in a Fernet token; ``""`` stays ``""``.

    :raises cryptography.fernet.InvalidToken: no configured key opens it (or it was altered)."""
    return fernet().decrypt(token.encode("ascii")).decode() if token else ""


def rotate(token: str) -> str:
    """The token re-encrypted under the current (first) key (``MultiFernet.rotate``)."""
    return fernet().rotate(token.encode("ascii")).decode("ascii") if token else ""


def lookup_hash(canonical: str) -> str:
    """HMAC-SHA256 of ``canonical`` under ``settings.TUNGBAN_LOOKUP_HASH_KEY``, 64 hex digits."""
    return hmac.digest(settings.TUNGBAN_LOOKUP_HASH_KEY.encode(), canonical.encode(), hashlib.sha256).hex()


class EncryptedTextField(models.TextField):
    """A text column whose values are stored encrypted (:func:`encrypt`); Python sees text.

    Length rules belong to the domain (the stored token is about 1.4 × the text plus 60
    characters). Only ``isnull`` lookups are allowed: search through a :func:`lookup_hash`
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


class LookupHashField(models.CharField):
    """The :func:`lookup_hash` of another field's value (``source``), computed whenever the
    row is saved or bulk-created (``pre_save``), 64 hex digits. Index it (``unique=True``
    for identifiers). ``QuerySet.update()`` of the source must set it too."""

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.setdefault("max_length", 64)
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
