"""Hong Kong Business Registration numbers (商業登記號碼).

A Business Registration number (BRN) is the first 8 digits of the Business Registration
Certificate number that the Inland Revenue Department's Business Registration Office assigns
(the certificate number reads ``12345678-000-MM-YY-X``: BRN, branch number, expiry month and
year, a final character). Since 27 December 2023 the Companies Registry uses the BRN as every
company's Unique Business Identifier (UBI); a company without a BRN gets a *dummy* BRN, its old
Companies Registry number behind its alphabetic prefix padded with zeros to 8 characters
(``C0012345`` for a local company, ``F0001234`` for a registered non-Hong Kong company).

Source: 1823, "What is the Unique Business Identifier ("UBI") of my company / entity?"
(Companies Registry, https://www.1823.gov.hk/en/faq/what-is-the-unique-business-identifier-ubi-of-my-company-entity).
No published source gives the BRN a check digit, so none is checked here: a well-formed number
is confirmed only by finding it on the register.
"""

from __future__ import annotations

import re

from . import errors

_BRN = re.compile(r"^(?:[0-9]{8}|[A-Z]{1,2}[0-9]{6,7})$")


def normalize(raw: str) -> str:
    """The BRN ``raw`` in canonical form: 8 characters, digits (or a dummy BRN's letters and
    digits), e.g. ``"21812345"``. Spaces are dropped; a whole certificate number
    (``21812345-000-09-26-1``) gives its first 8 digits.

    :raises DomainError: ``br_number_format`` (400) for anything else.
    """
    text = re.sub(r"\s+", "", str(raw or "")).upper()
    head, sep, _rest = text.partition("-")
    if sep and re.fullmatch(r"[0-9]{8}-[0-9]{3}-[0-9]{2}-[0-9]{2}-[0-9A-Z]", text):
        text = head
    if len(text) != 8 or not _BRN.match(text):
        raise errors.BrNumberFormat()
    return text


#: ETSI EN 319 412-1 §5.1.4: "NTR" (national trade register) + ISO 3166 country code + "-".
IDENTIFIER_PREFIX = "NTRHK-"


def organisation_identifier(br_number: str) -> str:
    """The ``organizationIdentifier`` of the company's seal certificate, e.g. ``NTRHK-21812345``
    (ETSI EN 319 412-1 §5.1.4 semantics: the Business Registration number is Hong Kong's trade
    register identifier)."""
    return IDENTIFIER_PREFIX + br_number
