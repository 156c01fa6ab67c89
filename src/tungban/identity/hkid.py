"""Hong Kong Identity Card (HKID) numbers: parsing, the check digit, formatting.

An HKID number is one or two capital letters, six digits and a check digit (0-9 or A),
usually printed as ``A123456(3)``. The check digit makes the weighted sum of all
characters divisible by 11 (the Immigration Department's published algorithm):

* letters count as A=10 … Z=35; a one-letter prefix is padded on the left with a space,
  which counts as 36;
* the eight prefix/digit positions are weighted 9, 8, 7, 6, 5, 4, 3, 2;
* check digit = (11 - sum mod 11) mod 11, written ``A`` when it is 10.
"""

from __future__ import annotations

import re

from . import errors

_PATTERN = re.compile(r"^([A-Z]{1,2})([0-9]{6})\(?([0-9A])\)?$")


def _char_value(ch: str) -> int:
    if ch == " ":
        return 36
    if ch.isdigit():
        return int(ch)
    return ord(ch) - ord("A") + 10


def check_digit(prefix: str, digits: str) -> str:
    """The check digit for ``prefix`` (1-2 letters) and ``digits`` (6 digits): ``"0"``-``"9"`` or ``"A"``."""
    body = prefix.rjust(2, " ") + digits
    total = sum(_char_value(ch) * weight for ch, weight in zip(body, range(9, 1, -1), strict=True))
    value = (11 - total % 11) % 11
    return "A" if value == 10 else str(value)


def normalize(raw: str) -> str:
    """Validate an HKID number and return it in canonical form, e.g. ``"A1234563"``.

    Accepts ``A123456(3)``, ``a123456 3``, ``AB9876543`` and similar spellings.

    :raises DomainError: ``hkid_format`` when the shape is wrong, ``hkid_check_digit``
        when the check digit does not match.
    """
    text = re.sub(r"\s+", "", (raw or "")).upper()
    match = _PATTERN.match(text)
    if not match:
        raise errors.HkidFormat()
    prefix, digits, given = match.groups()
    if check_digit(prefix, digits) != given:
        raise errors.HkidCheckDigit()
    return f"{prefix}{digits}{given}"


def display(canonical: str) -> str:
    """``"A1234563"`` → ``"A123456(3)"``."""
    return f"{canonical[:-1]}({canonical[-1]})"


def masked(canonical: str) -> str:
    """A form safe to show on screens and logs: ``"A123456(3)"`` → ``"A123***(*)"``."""
    body = canonical[:-1]
    return f"{body[:-3]}***(*)"
