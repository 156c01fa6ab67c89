"""The claims of a new credential: the holder's identity claims (the type's ``holder_claims``,
e.g. ``age_over_65``, computed on the Hong Kong date, :data:`HKT`) plus the officer's or
CSV's inputs, coerced from strings and checked against the type's JSON Schema (Draft
2020-12) and minimum age; schema errors become messages in the user's language, naming the
claim by its display label.
"""

from __future__ import annotations

import datetime as dt

import jsonschema
from django.utils import timezone
from django.utils.translation import gettext

from tungban.identity import services as identity
from tungban.identity.models import Resident

from .. import errors as credential_errors
from ..models import CredentialType

HKT = dt.timezone(dt.timedelta(hours=8))


def input_claims(ctype: CredentialType) -> list[str]:
    """Claims an officer (or a CSV column) supplies: the schema's properties that are not
    filled from the holder's identity, in display order."""
    order = [c["name"] for c in (ctype.display or {}).get("claims", [])]
    props = list(ctype.schema.get("properties", {}))
    names = [n for n in order if n in props] + [n for n in props if n not in order]
    return [n for n in names if n not in (ctype.holder_claims or {})]


def _holder_value(resident: Resident, attribute: str, at: dt.date):
    if attribute.startswith("age_over_"):
        return identity.age_on(resident.date_of_birth, at) >= int(attribute.removeprefix("age_over_"))
    value = getattr(resident, attribute)
    return value.isoformat() if isinstance(value, dt.date) else value


def _coerce(ctype: CredentialType, name: str, raw):
    """A CSV/form string → the JSON type the schema asks for (integer, number, boolean)."""
    spec = ctype.schema.get("properties", {}).get(name, {})
    if not isinstance(raw, str):
        return raw
    raw = raw.strip()
    kind = spec.get("type")
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw  # the schema check reports it
    if kind == "boolean" and raw.lower() in ("true", "false", "yes", "no", "1", "0"):
        return raw.lower() in ("true", "yes", "1")
    return raw


_FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


def claims_validator(ctype: CredentialType) -> jsonschema.Draft202012Validator:
    """A JSON Schema validator for ``ctype``'s claims (build once, reuse for many rows)."""
    return jsonschema.Draft202012Validator(ctype.schema, format_checker=_FORMAT_CHECKER)


def prepare_claims(
    ctype: CredentialType,
    holder: Resident,
    inputs: dict,
    *,
    at: dt.date | None = None,
    validator: jsonschema.Draft202012Validator | None = None,
) -> dict:
    """The claims of a new credential: the holder's identity claims (``holder_claims``)
    plus ``inputs`` (coerced from strings), checked against the type's JSON Schema and age.

    :raises DomainError: ``holder_not_active`` (suspended account), ``holder_too_young``
        (``min_age``), ``claims_invalid`` (schema; ``field`` names the claim).
    """
    at = at or timezone.now().astimezone(HKT).date()
    if holder.status != "active":
        raise credential_errors.HolderNotActive()
    if ctype.min_age and identity.age_on(holder.date_of_birth, at) < ctype.min_age:
        raise credential_errors.HolderTooYoung(age=ctype.min_age)
    claims = {name: _holder_value(holder, attr, at) for name, attr in (ctype.holder_claims or {}).items()}
    claims = {k: v for k, v in claims.items() if v not in ("", None)}
    unknown = sorted(set(inputs) - set(input_claims(ctype)))
    if unknown:
        raise credential_errors.ClaimsInvalid(name=unknown[0], field=unknown[0])
    for name, raw in inputs.items():
        if raw not in ("", None):
            claims[name] = _coerce(ctype, name, raw)
    validator = validator or claims_validator(ctype)
    error = next(iter(sorted(validator.iter_errors(claims), key=lambda e: list(e.path))), None)
    if error is not None:
        name, message = _schema_problem(ctype, error)
        raise credential_errors.ClaimsInvalid(message, field=name)
    return claims


def claim_label(ctype: CredentialType, name: str) -> str:
    """The claim's label in the active language (from the display template), else its name."""
    from django.utils.translation import get_language

    zh = (get_language() or "").startswith("zh")
    for c in (ctype.display or {}).get("claims", []):
        if c["name"] == name:
            return c["label_zh"] if zh else c["label_en"]
    return name


def _schema_problem(ctype: CredentialType, error: jsonschema.ValidationError) -> tuple[str | None, str]:
    """``(claim name or None, message in the user's language)`` for a JSON Schema error."""
    name = str(error.path[0]) if error.path else None
    spec = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    if kind == "required":
        name = next((n for n in error.validator_value if n not in error.instance), None)
        return name, gettext("“%(label)s” is required.") % {"label": claim_label(ctype, name)}
    if kind == "anyOf":
        options = [
            claim_label(ctype, branch["required"][0]) for branch in error.validator_value if branch.get("required")
        ]
        return None, gettext("Give at least one of: %(names)s.") % {"names": "、".join(options)}
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(spec.get("properties", {})))
        return (extra[0] if extra else None), gettext("Unknown claim “%(name)s”.") % {
            "name": extra[0] if extra else "?"
        }
    label = claim_label(ctype, name) if name else ctype.name_en
    if kind == "enum":
        return name, gettext("“%(label)s” must be one of: %(values)s.") % {
            "label": label,
            "values": ", ".join(map(str, error.validator_value)),
        }
    if kind == "format" and error.validator_value == "date":
        return name, gettext("“%(label)s” must be a date, e.g. 2026-11-21.") % {"label": label}
    if kind == "pattern":
        hint = spec.get("description") or error.validator_value
        return name, gettext("“%(label)s” is not in the right form (%(hint)s).") % {"label": label, "hint": hint}
    if kind in ("minLength", "maxLength"):
        return name, gettext("“%(label)s” must be %(min)s to %(max)s characters long.") % {
            "label": label,
            "min": spec.get("minLength", 1),
            "max": spec.get("maxLength", "…"),
        }
    if kind in ("minimum", "maximum", "type"):
        if spec.get("type") in ("integer", "number"):
            return name, gettext("“%(label)s” must be a number from %(min)s to %(max)s.") % {
                "label": label,
                "min": spec.get("minimum", "…"),
                "max": spec.get("maximum", "…"),
            }
    if kind == "const":
        return name, gettext("“%(label)s” does not meet the conditions for this credential.") % {"label": label}
    return name, gettext("“%(label)s” is not valid.") % {"label": label}
