"""Validation of the submitted renewal form (pure functions, no Flask)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from .claims import FORM_FIELDS, GENDERS

#: Inputs that must not be empty.
REQUIRED_FIELDS = ("name_en", "hkid", "birthdate", "address", "registration_mark", "period")

#: Licence periods offered, in months.
PERIODS = ("4", "12")

# Hong Kong ordinary registration marks: two letters, then 1-4 digits without a leading
# zero (e.g. AB1234). Personalised marks are out of scope for this demo.
REGISTRATION_MARK = re.compile(r"^[A-Z]{2}[1-9][0-9]{0,3}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{6,19}$")


def normalise_registration_mark(value: str) -> str:
    """Upper-case a registration mark and drop spaces, e.g. ``"ab 1234"`` -> ``"AB1234"``."""
    return re.sub(r"\s+", "", value or "").upper()


def validate_form(data: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Check a submitted renewal form.

    ``data`` is any mapping of input name to value (e.g. ``request.form``).
    Returns ``(values, errors)``: ``values`` holds every form input as a stripped
    string (registration mark normalised), ``errors`` maps an input name to a message
    key of :mod:`examples.vehicle_licence.i18n` (empty when the form is valid).
    """
    values = {name: str(data.get(name, "") or "").strip() for name in FORM_FIELDS}
    values["registration_mark"] = normalise_registration_mark(values["registration_mark"])
    errors: dict[str, str] = {}

    for name in REQUIRED_FIELDS:
        if not values[name]:
            errors[name] = "err_required"

    if values["registration_mark"] and not REGISTRATION_MARK.match(values["registration_mark"]):
        errors["registration_mark"] = "err_registration_mark"
    if values["period"] and values["period"] not in PERIODS:
        errors["period"] = "err_period"
    if values["gender"] and values["gender"] not in GENDERS:
        errors["gender"] = "err_gender"
    if values["birthdate"]:
        try:
            if not _DATE.match(values["birthdate"]):
                raise ValueError(values["birthdate"])
            born = dt.date.fromisoformat(values["birthdate"])
        except ValueError:
            errors["birthdate"] = "err_birthdate"
        else:
            if born > dt.date.today() or born.year < 1900:
                errors["birthdate"] = "err_birthdate"
    if values["email"] and not _EMAIL.match(values["email"]):
        errors["email"] = "err_email"
    if values["phone"] and not _PHONE.match(values["phone"]):
        errors["phone"] = "err_phone"
    return values, errors
