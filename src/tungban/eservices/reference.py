"""Public application references: ``<DEPT>-XXXX-XXXXC``, eight random Crockford base-32
characters (no I, L, O, U: nothing to misread over the phone) and a check character ``C``.

The check character is Luhn mod N (N = 32) over the eight characters, so any single mistyped
character and any swap of two neighbours is caught before a look-up (the Luhn mod N
algorithm; Crockford, "Base 32", https://www.crockford.com/base32.html). ~40 bits of
randomness: unguessable enough for a reference that is never an access key by itself
(pages and APIs also check who asks).
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_N = len(ALPHABET)
_SHAPE = re.compile(r"^([A-Z]{2,10})-([0-9A-HJKMNP-TV-Z]{4})-([0-9A-HJKMNP-TV-Z]{5})$")


def check_character(body: str) -> str:
    """Luhn mod 32 check character of ``body`` (Crockford base-32 characters)."""
    factor, total = 2, 0
    for ch in reversed(body):
        addend = factor * ALPHABET.index(ch)
        factor = 1 if factor == 2 else 2
        total += addend // _N + addend % _N
    return ALPHABET[(_N - total % _N) % _N]


def new_reference(department_code: str) -> str:
    """A fresh reference for an application to ``department_code`` (e.g. ``SWD-4K7P-2M9XQ``)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{department_code}-{body[:4]}-{body[4:]}{check_character(body)}"


def is_valid(reference: str) -> bool:
    """Whether ``reference`` has the shape and a matching check character (upper-cased first)."""
    match = _SHAPE.match((reference or "").strip().upper())
    if not match:
        return False
    body = match.group(2) + match.group(3)[:4]
    return check_character(body) == match.group(3)[4]
