"""Pluggable identity proofing for self-registration from the app (issue #2, path b).

A proofer is a callable ``proofer(claimed: dict) -> None`` that raises
:class:`~tungban.core.errors.DomainError` (code ``proofing_failed``) when the claimed
identity cannot be confirmed. ``claimed`` holds ``hkid`` (canonical), ``family_name_en``,
``given_name_en``, ``date_of_birth`` (``datetime.date``) and ``gender``. Settings name the
proofer to use (``TUNGBAN_IDENTITY_PROOFER``); a deployment can plug in a document-and-face
check instead of the default register look-up.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from . import errors
from .models import PopulationRecord


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


class PopulationRegisterProofer:
    """Default proofer: the claimed HKID, English name and date of birth must match the
    seeded population register exactly (case and spacing aside). No biometrics."""

    def __call__(self, claimed: dict) -> None:
        record = PopulationRecord.objects.filter(hkid=claimed["hkid"]).first()
        if (
            record is None
            or not _same(record.family_name_en, claimed["family_name_en"])
            or not _same(record.given_name_en, claimed["given_name_en"])
            or record.date_of_birth != claimed["date_of_birth"]
        ):
            # One message for every mismatch, so the register cannot be probed field by field.
            raise errors.ProofingFailed()


def get_proofer():
    """The configured proofer instance (``settings.TUNGBAN_IDENTITY_PROOFER``)."""
    return import_string(settings.TUNGBAN_IDENTITY_PROOFER)()
