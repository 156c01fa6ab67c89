"""e-ME: the resident's form-filling profile, and how it maps to OpenID Connect claims.

Mapping (documented for integrators in docs/integrators.md). Standard claims and scopes are
from OpenID Connect Core 1.0 §5.1 and §5.4; ``hkid`` and ``billing_address`` are tungban
scopes and claims of the same names; ``name#zh-Hant`` is the Chinese name as a
language-tagged claim (OIDC Core §5.2).

=================  ===================================================================
scope              claims
=================  ===================================================================
``profile``        ``name``, ``family_name``, ``given_name``, ``name#zh-Hant``,
                   ``gender``, ``birthdate``
``hkid``           ``hkid``
``address``        ``address`` (residential address, OIDC address object)
``billing_address`` ``billing_address`` (same shape; serves as address proof)
``phone``          ``phone_number``, ``phone_number_verified``
``email``          ``email``, ``email_verified``
=================  ===================================================================
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from tungban.core.fields import EncryptedDateField, EncryptedTextField, decrypt

from .models import Resident


def _address(text: str) -> dict | None:
    if not text:
        return None
    lines = [line.strip() for line in text.replace("\r", "").split("\n") if line.strip()]
    return {
        "formatted": ", ".join(lines),
        "street_address": "\n".join(lines[:-1]) if len(lines) > 1 else lines[0],
        "locality": lines[-1] if len(lines) > 1 else "",
        "region": "",
        "country": "HK",
    }


@dataclass(frozen=True)
class Claim:
    """One e-ME field as an OIDC claim."""

    name: str
    scope: str
    label: object  # lazy translated label shown in the app
    value: Callable[[Resident], object]


CLAIMS: dict[str, Claim] = {
    c.name: c
    for c in [
        Claim("name", "profile", _("Name in English"), lambda r: f"{r.given_name_en} {r.family_name_en.upper()}"),
        Claim("name#zh-Hant", "profile", _("Name in Chinese"), lambda r: r.name_zh or None),
        Claim("hkid", "hkid", _("HKID number"), lambda r: r.hkid_display),
        Claim("gender", "profile", _("Gender"), lambda r: r.gender),
        Claim("birthdate", "profile", _("Date of birth"), lambda r: r.date_of_birth.isoformat()),
        Claim("address", "address", _("Residential address"), lambda r: _address(r.residential_address)),
        Claim("phone_number", "phone", _("Phone number"), lambda r: r.phone or None),
        Claim("email", "email", _("Email address"), lambda r: r.email or None),
        Claim(
            "billing_address",
            "billing_address",
            _("Billing address (address proof)"),
            lambda r: _address(r.billing_address),
        ),
    ]
}

#: For each claim defined here, the :class:`Resident` column whose emptiness decides whether
#: :func:`values` gives the claim (``None``: it always has a value, or reading it fails), so
#: that SQL can tell the released claims without decrypting: an encrypted value is the empty
#: string exactly when its text is (:func:`tungban.core.fields.encrypt`). Issue 15: userinfo
#: records its release in the statement that reads the token; Python checks the guess
#: (``tungban.oidc.fastrelease``).
PRESENCE: dict[str, str | None] = {
    "name": None,
    "name#zh-Hant": Resident._meta.get_field("name_zh").column,
    "hkid": None,
    "gender": Resident._meta.get_field("gender").column,
    "birthdate": None,
    "address": Resident._meta.get_field("residential_address").column,
    "phone_number": Resident._meta.get_field("phone").column,
    "email": Resident._meta.get_field("email").column,
    "billing_address": Resident._meta.get_field("billing_address").column,
}

#: For each claim defined here, the :class:`Resident` attributes :func:`values` reads to give
#: it (its companions included: ``name`` gives ``family_name`` and ``given_name``), so that a
#: hot path reads only those columns (:func:`release_attnames`; issue 15, fourth round: the
#: statement of ``tungban.oidc.fastrelease`` carries 11 of the row's 21 columns).
READS: dict[str, tuple[str, ...]] = {
    "name": ("given_name_en", "family_name_en"),
    "name#zh-Hant": ("name_zh",),
    "hkid": ("hkid",),
    "gender": ("gender",),
    "birthdate": ("date_of_birth",),
    "address": ("residential_address",),
    "phone_number": ("phone",),
    "email": ("email",),
    "billing_address": ("billing_address",),
}

SCOPES: dict[str, list[str]] = {}
for _claim in CLAIMS.values():
    SCOPES.setdefault(_claim.scope, []).append(_claim.name)

#: The claims defined here, whose values read only a resident's own columns (other apps'
#: claims may read anything): :class:`StoredResident` can give these.
_OWN_CLAIMS: dict[str, Claim] = dict(CLAIMS)


def register(claim: Claim) -> Claim:
    """Add an app's claim to the catalogue, so the app can show its label and value and the
    OpenID Provider can release it (apps call it through ``tungban.oidc.scopes.register`` in
    ``AppConfig.ready()``). Registering the same claim again is a no-op.

    :raises ValueError: another claim of that name is already in the catalogue.
    """
    known = CLAIMS.get(claim.name)
    if known is not None and known != claim:
        raise ValueError(f"Claim {claim.name!r} is already in the catalogue (scope {known.scope!r})")
    CLAIMS[claim.name] = claim
    if claim.name not in SCOPES.setdefault(claim.scope, []):
        SCOPES[claim.scope].append(claim.name)
    return claim


def claims_for_scopes(scopes: list[str] | set[str]) -> list[str]:
    """e-ME claim names the given scopes ask for, in catalogue order."""
    return [name for name, claim in CLAIMS.items() if claim.scope in scopes]


def label(name: str) -> str:
    """Translated label of a claim for the app's approval screen."""
    return str(CLAIMS[name].label)


def values(resident: Resident, names: list[str] | set[str]) -> dict:
    """The released claim values of ``resident`` for ``names`` (unknown names are ignored,
    empty profile fields are left out). Companion claims (``family_name``,
    ``email_verified`` …) are added with their claim."""
    out: dict = {}
    for name in CLAIMS:
        if name not in names:
            continue
        value = CLAIMS[name].value(resident)
        if value in (None, ""):
            continue
        out[name] = value
        if name == "name":
            out["family_name"] = resident.family_name_en.upper()
            out["given_name"] = resident.given_name_en
        elif name == "phone_number":
            out["phone_number_verified"] = False
        elif name == "email":
            out["email_verified"] = False
    return out


@functools.cache
def _column_readers() -> dict[str, tuple[str, Callable[[object], object]]]:
    """``{attribute: (column, stored value → Python value)}`` for every concrete column of
    :class:`Resident`: decryption (AES-GCM, :func:`tungban.core.fields.decrypt`) for its
    encrypted fields, the stored value itself for the others. Built once from the model's
    ``_meta`` (immutable for the life of the process)."""

    def date(stored):
        text = decrypt(stored) if stored else ""
        return dt.date.fromisoformat(text) if text else None

    def text(stored):
        return stored if stored is None else decrypt(stored)

    readers = {}
    for field in Resident._meta.concrete_fields:
        if isinstance(field, EncryptedDateField):
            readers[field.attname] = (field.column, date)
        elif isinstance(field, EncryptedTextField):
            readers[field.attname] = (field.column, text)
        else:
            readers[field.attname] = (field.column, None)
    return readers


@functools.cache
def release_attnames() -> tuple[str, ...]:
    """The :class:`Resident` attributes a release of any claim defined here reads
    (:data:`READS`), and ``status`` (:attr:`StoredResident.is_active`), in model order: what a
    :class:`StoredResident` given to :func:`values` needs, e.g. ``("hkid", "family_name_en",
    …, "status", …)``."""
    wanted = {attname for attnames in READS.values() for attname in attnames} | {"status"}
    return tuple(attname for attname in _column_readers() if attname in wanted)


def columns_of(attnames: Iterable[str]) -> list[str]:
    """The database columns of the :class:`Resident` attributes ``attnames``, in that order."""
    readers = _column_readers()
    return [readers[attname][0] for attname in attnames]


def stored_columns() -> list[str]:
    """The database columns of a resident that :class:`StoredResident` reads (the table is
    ``Resident._meta.db_table``), in a fixed order, e.g. ``["id", "public_id", "hkid", …]``."""
    return [column for column, _read in _column_readers().values()]


class StoredResident:
    """A resident as read by raw SQL (issue 15: userinfo in one query): the stored values of
    :func:`stored_columns`, in that order (or of the attributes ``attnames``, e.g.
    :func:`release_attnames`: then reading any other attribute raises ``AttributeError``,
    never a wrong value), and each field as on :class:`Resident` when read,
    an encrypted one decrypted only then (about 2 µs a field; the AES-GCM ciphers are built
    once, :func:`tungban.core.fields._aeads`). ``name_en``, ``hkid_display``,
    ``hkid_masked`` and ``is_active`` are :class:`Resident`'s own properties.

    Read-only; no relation is reachable from it (:func:`own_claims_only`).
    """

    name_en = Resident.name_en
    hkid_display = Resident.hkid_display
    hkid_masked = Resident.hkid_masked
    is_active = Resident.is_active

    def __init__(self, stored: Iterable[object], attnames: Iterable[str] | None = None):
        self._stored = dict(zip(_column_readers() if attnames is None else attnames, stored, strict=True))

    def __getattr__(self, name: str):
        try:
            value = self._stored[name]
        except KeyError:
            raise AttributeError(name) from None
        read = _column_readers()[name][1]
        if read is not None:
            value = read(value)
        setattr(self, name, value)  # decrypt once
        return value


def own_claims_only(names: Iterable[str]) -> bool:
    """Whether every known claim of ``names`` is one defined in this module (unknown names
    are ignored, as :func:`values` does), so that :func:`values` of a
    :class:`StoredResident` gives what it gives for the :class:`Resident`."""
    return all(CLAIMS[name] is _OWN_CLAIMS.get(name) for name in names if name in CLAIMS)


def preview(resident: Resident, name: str) -> str:
    """Short human-readable form of one field's value for the approval screen."""
    value = values(resident, [name]).get(name)
    if isinstance(value, dict):
        return value.get("formatted", "")
    return "" if value is None else str(value)
