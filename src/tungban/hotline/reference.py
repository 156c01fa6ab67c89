"""1823 case references and tracking codes.

A reference is ``1823-YY-XXXXXXXX``: the two-digit year of submission and eight Crockford
base-32 characters, seven random and the Luhn mod 32 check character of
:mod:`tungban.eservices.reference` (one mistyped character or a swap of two neighbours is
caught before a look-up). It is Open311's ``service_request_id``. ~35 bits of randomness: a
reference alone never opens a case (:func:`tungban.hotline.services.cases.case_for` also asks
for the login or the tracking code).

A tracking code is what a person who was not logged in keeps to follow the case: ten
Crockford base-32 characters shown once as ``XXXXX-XXXXX`` (50 bits); only its keyed digest
(:func:`tungban.core.fields.lookup_hash`, bound to the reference) is stored.
"""

from __future__ import annotations

import re
import secrets

from tungban.core.fields import lookup_hash
from tungban.eservices.reference import ALPHABET, check_character

PREFIX = "1823"
_SHAPE = re.compile(r"^1823-([0-9]{2})-([0-9A-HJKMNP-TV-Z]{8})$")
#: Crockford's decoding of characters people confuse: I and L are 1, O is 0.
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_reference(year: int) -> str:
    """A fresh reference for a case submitted in ``year`` (e.g. ``1823-26-7KQ2M9XC``)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(7))
    return f"{PREFIX}-{year % 100:02d}-{body}{check_character(body)}"


def normalise(reference: str) -> str:
    """``reference`` upper-cased, spaces dropped, Crockford's confusable letters decoded."""
    text = re.sub(r"\s+", "", reference or "").upper()
    head, sep, body = text.rpartition("-")
    return f"{head}{sep}{body.translate(_CONFUSABLE)}" if sep else text


def is_valid(reference: str) -> bool:
    """Whether ``reference`` (after :func:`normalise`) has the shape and its check character."""
    match = _SHAPE.match(normalise(reference))
    return bool(match) and check_character(match.group(2)[:7]) == match.group(2)[7]


def new_tracking_code() -> str:
    """A fresh tracking code, ``XXXXX-XXXXX`` (Crockford base-32)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(10))
    return f"{body[:5]}-{body[5:]}"


def tracking_digest(reference: str, code: str) -> str:
    """The stored digest of ``code`` for the case ``reference`` (keyed HMAC, 32 hex digits);
    the code is compared without hyphens or spaces, upper-cased, confusables decoded."""
    canonical = re.sub(r"[\s-]+", "", code or "").upper().translate(_CONFUSABLE)
    return lookup_hash(f"hotline-tracking:{normalise(reference)}:{canonical}")
