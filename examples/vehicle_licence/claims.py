"""Turn claims released by tungban into values for the renewal form.

Everything here is pure (no Flask, no network) so it can be unit-tested on its own.
Any claim may be missing: the resident can untick optional fields before releasing them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: Form inputs that can be pre-filled from tungban claims, in display order.
CLAIM_FIELDS = (
    "name_en",
    "name_zh",
    "hkid",
    "birthdate",
    "gender",
    "address",
    "phone",
    "email",
    "billing_address",
)

#: Inputs that only exist on the form (never released by tungban).
FORM_ONLY_FIELDS = ("registration_mark", "period")

#: Every input on the renewal form, in display order. The names double as HTML ids.
FORM_FIELDS = CLAIM_FIELDS + FORM_ONLY_FIELDS

#: Accepted values of the gender select box.
GENDERS = ("male", "female", "other")

_GENDER_ALIASES = {
    "male": "male",
    "m": "male",
    "female": "female",
    "f": "female",
    "other": "other",
    "x": "other",
}

_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Order in which the parts of an OIDC address object are joined when it has no
# ``formatted`` member (OIDC Core §5.1.1).
_ADDRESS_PARTS = ("street_address", "locality", "region", "postal_code", "country")


def _text(value: Any) -> str:
    """Return ``value`` as a stripped string, or "" for anything that is not text."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def format_address(value: Any) -> str:
    """Render an OIDC address claim as multi-line text for a textarea.

    ``value`` may be an OIDC address object (``formatted``, ``street_address``,
    ``locality``, ``region``, ``postal_code``, ``country``) or a plain string.
    The ``formatted`` member wins when present; otherwise the other members are
    joined one per line. Returns "" when nothing usable is present.
    """
    if isinstance(value, str):
        return value.strip()
    if not isinstance(value, Mapping):
        return ""
    formatted = _text(value.get("formatted"))
    if formatted:
        return formatted.replace("\r\n", "\n")
    parts = [_text(value.get(key)) for key in _ADDRESS_PARTS]
    return "\n".join(part for part in parts if part)


def _chinese_name(claims: Mapping[str, Any]) -> str:
    """Return the Chinese name: ``name#zh-Hant`` first, then any other ``name#zh*``."""
    preferred = _text(claims.get("name#zh-Hant"))
    if preferred:
        return preferred
    keys = sorted(key for key in claims if isinstance(key, str))
    for prefix in ("name#zh-hant", "name#zh"):
        for key in keys:
            if key.lower().startswith(prefix):
                value = _text(claims.get(key))
                if value:
                    return value
    return ""


def _english_name(claims: Mapping[str, Any]) -> str:
    """Return ``name``, or ``family_name given_name`` (Hong Kong order) when absent."""
    name = _text(claims.get("name"))
    if name:
        return name
    family = _text(claims.get("family_name"))
    given = _text(claims.get("given_name"))
    return " ".join(part for part in (family, given) if part)


def _gender(value: Any) -> str:
    """Map a gender claim onto the select box values, or "" when unrecognised."""
    return _GENDER_ALIASES.get(_text(value).lower(), "")


def _birthdate(value: Any) -> str:
    """Keep a birthdate only when it is a full ``YYYY-MM-DD`` date (OIDC allows partial)."""
    text = _text(value)
    if _FULL_DATE.match(text) and not text.startswith("0000"):
        return text
    return ""


def claims_to_form(claims: Mapping[str, Any] | None) -> dict[str, str]:
    """Map released claims (userinfo or form-data JSON) onto the renewal form inputs.

    Returns a dict with one string per entry of :data:`CLAIM_FIELDS`; a field whose
    claim was not released (or is unusable) maps to "". Form-only inputs
    (registration mark, licence period) are not included.

    >>> claims_to_form({"name": "CHAN Tai Man", "hkid": "A123456(3)"})["hkid"]
    'A123456(3)'
    """
    claims = claims or {}
    return {
        "name_en": _english_name(claims),
        "name_zh": _chinese_name(claims),
        "hkid": _text(claims.get("hkid")),
        "birthdate": _birthdate(claims.get("birthdate")),
        "gender": _gender(claims.get("gender")),
        "address": format_address(claims.get("address")),
        "phone": _text(claims.get("phone_number")),
        "email": _text(claims.get("email")),
        "billing_address": format_address(claims.get("billing_address")),
    }


def prefilled_fields(form_values: Mapping[str, str]) -> set[str]:
    """Return the names of the fields that :func:`claims_to_form` actually filled."""
    return {name for name in CLAIM_FIELDS if form_values.get(name)}
