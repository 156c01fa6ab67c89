"""Pluggable identity proofing for self-registration from the app (issue #2, path b).

A proofer is a callable ``proofer(claimed: dict) -> None`` that raises
:class:`~tungban.core.errors.DomainError` (code ``proofing_failed``) when the claimed
identity cannot be confirmed. ``claimed`` holds ``hkid`` (canonical), ``family_name_en``,
``given_name_en``, ``date_of_birth`` (``datetime.date``), ``gender`` and, for a claimant aged
11-17, ``guardian``: ``{"name", "hkid" (canonical), "relationship"}`` (else ``None``),
whose consent must be checked too (issue 13 item 2). Settings name the
proofer to use (``TUNGBAN_IDENTITY_PROOFER``); a deployment can plug in a document-and-face
check instead of the default register look-up.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from . import errors
from .models import PopulationRecord


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _name_tokens(text: str) -> list[str]:
    return sorted(text.replace(",", " ").casefold().split())


def _age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


ADULT_AGE = 18


class PopulationRegisterProofer:
    """Default proofer: the claimed HKID, English name and date of birth must match the
    seeded population register exactly (case and spacing aside). No biometrics.

    For a minor (``claimed["guardian"]`` given) the parent or guardian must be in the register
    too, aged 18 or over, not the claimant, and the name given for them must be the
    register's English name (surname and given names in any order, case, spacing and commas
    aside). The register holds no family links, so the relationship itself is recorded as
    stated, not checked. Every mismatch, the guardian's included, raises the one
    ``proofing_failed``, so the register cannot be probed field by field; attempts are
    limited per HKID and per client (``proofing``, ``proofing_hkid`` in
    :mod:`tungban.core.ratelimit`).
    """

    def __call__(self, claimed: dict) -> None:
        record = PopulationRecord.objects.by_hkid(claimed["hkid"]).first()
        if (
            record is None
            or not _same(record.family_name_en, claimed["family_name_en"])
            or not _same(record.given_name_en, claimed["given_name_en"])
            or record.date_of_birth != claimed["date_of_birth"]
        ):
            # One message for every mismatch, so the register cannot be probed field by field.
            raise errors.ProofingFailed()
        guardian = claimed.get("guardian")
        if guardian is not None and not self._guardian_confirmed(guardian, claimed["hkid"]):
            raise errors.ProofingFailed()

    @staticmethod
    def _guardian_confirmed(guardian: dict, claimant_hkid: str) -> bool:
        if guardian["hkid"] == claimant_hkid:
            return False
        record = PopulationRecord.objects.by_hkid(guardian["hkid"]).first()
        return (
            record is not None
            and _age_on(record.date_of_birth, timezone.localdate()) >= ADULT_AGE
            and _name_tokens(guardian["name"]) == _name_tokens(f"{record.family_name_en} {record.given_name_en}")
        )


def get_proofer():
    """The configured proofer instance (``settings.TUNGBAN_IDENTITY_PROOFER``)."""
    return import_string(settings.TUNGBAN_IDENTITY_PROOFER)()
