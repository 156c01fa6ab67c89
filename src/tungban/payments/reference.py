"""Payment orders' bill references: ``TB`` + 12 random digits + two check digits of ISO 7064
Mod 97-10 (``python-stdnum``'s :mod:`stdnum.iso7064.mod_97_10`, the IBAN's check), 16
characters — within the FPS bill number's 25 (EMV QRCPS MPM, data object ``62``-``01``). A
payer who types it at a static QR code or a counter gets a typo caught before it is
matched: Mod 97-10 detects every single-character error and every swap of two adjacent
characters."""

from __future__ import annotations

import re
import secrets

from stdnum.iso7064 import mod_97_10

PREFIX = "TB"
DIGITS = 12
LENGTH = len(PREFIX) + DIGITS + 2
_SHAPE = re.compile(rf"^{PREFIX}[0-9]{{{DIGITS + 2}}}$")


def new_reference() -> str:
    """A fresh random reference (uniqueness is the database's constraint; callers retry)."""
    body = PREFIX + "".join(secrets.choice("0123456789") for _ in range(DIGITS))
    return body + mod_97_10.calc_check_digits(body)


def normalise(text: str) -> str:
    """``text`` as stored: upper case, without spaces or hyphens (as a payer may type it)."""
    return re.sub(r"[\s-]", "", text or "").upper()


def is_valid(text: str) -> bool:
    """Whether ``text`` (normalised) has the shape of a reference and its check digits agree."""
    ref = normalise(text)
    return bool(_SHAPE.match(ref)) and mod_97_10.is_valid(ref)


def grouped(reference: str) -> str:
    """The reference in groups of four, for reading aloud and typing (``TB12 3456 7890 1234``)."""
    return " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))
