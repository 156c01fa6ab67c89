"""System checks of e-Payment's settings (``manage.py check``, run at start-up and by every
management command, the server and the worker)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core import checks

from . import fps


def merchant_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """``payments.E001`` / ``payments.E002`` when ``TUNGBAN_PAYMENTS_MERCHANT_NAME`` /
    ``TUNGBAN_PAYMENTS_MERCHANT_CITY`` is not printable ASCII: the FPS QR code's data objects
    ``59`` and ``60`` are ASCII only (EMVCo MPM, :mod:`tungban.payments.fps`), so every payment
    page would fail to draw its code (a 500) — refused at start-up instead."""
    found = []
    for setting, code, data_object in (
        ("TUNGBAN_PAYMENTS_MERCHANT_NAME", "payments.E001", fps.NAME),
        ("TUNGBAN_PAYMENTS_MERCHANT_CITY", "payments.E002", fps.CITY),
    ):
        value = getattr(settings, setting, "")
        if not isinstance(value, str) or not fps.encodable(value):
            found.append(
                checks.Error(
                    f"{setting} ({value!r}) has characters other than printable ASCII: the FPS QR code "
                    f"(data object {data_object}) cannot carry them, so no payment page could show its code.",
                    hint=f"Set {setting} in English: letters, digits, spaces and punctuation (printable ASCII).",
                    id=code,
                )
            )
    return found


def bank_keys(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """``payments.E003`` when the bank's two HMAC keys are the same: one key per direction
    (``TUNGBAN_PAYMENTS_BANK_SECRET`` bank → platform, ``..._BANK_REQUEST_SECRET`` platform →
    bank; review finding 14), so whoever holds one side's key cannot sign the other side's
    messages."""
    notify = getattr(settings, "TUNGBAN_PAYMENTS_BANK_SECRET", "")
    request = getattr(settings, "TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET", "")
    if notify and notify == request:
        return [
            checks.Error(
                "TUNGBAN_PAYMENTS_BANK_SECRET and TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET are the same key: "
                "the bank's notifications and the platform's statement requests must be signed with different keys.",
                hint="Give TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET its own random value and tell the bank.",
                id="payments.E003",
            )
        ]
    return []


#: The statement versions the bank sends (the demo bank's, :mod:`examples.bank.camt`).
EXPECTED_SCHEMAS = ("camt.053.001.08", "camt.054.001.08")


def camt_schemas(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """``payments.E004`` when ``TUNGBAN_PAYMENTS_CAMT_XSD_DIR`` is set but is not a folder: a
    typo would silently turn the official-schema check off (:mod:`tungban.payments.camt`)."""
    folder = getattr(settings, "TUNGBAN_PAYMENTS_CAMT_XSD_DIR", "")
    if folder and not Path(folder).is_dir():
        return [
            checks.Error(
                f"TUNGBAN_PAYMENTS_CAMT_XSD_DIR ({folder!r}) is not a folder: no statement would be checked "
                "against the official ISO 20022 schemas.",
                hint="Point it at the folder holding camt.053.001.08.xsd (etc.), or leave it empty.",
                id="payments.E004",
            )
        ]
    return []


def camt_schemas_deploy(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """``payments.W001`` (``check --deploy``): the official camt schemas of the versions the bank
    sends are not in ``TUNGBAN_PAYMENTS_CAMT_XSD_DIR``, so statements get the structural checks
    only. Off by default because the XSDs are not shipped (docs/payments-reconciliation.md)."""
    folder = getattr(settings, "TUNGBAN_PAYMENTS_CAMT_XSD_DIR", "")
    missing = [v for v in EXPECTED_SCHEMAS if not (folder and (Path(folder) / f"{v}.xsd").is_file())]
    if not missing:
        return []
    return [
        checks.Warning(
            f"Bank statements are checked structurally only: no official schema for {', '.join(missing)} "
            "in TUNGBAN_PAYMENTS_CAMT_XSD_DIR.",
            hint="Download the ISO 20022 XSDs of the versions your bank sends (iso20022.org) into a folder "
            "and set TUNGBAN_PAYMENTS_CAMT_XSD_DIR to it.",
            id="payments.W001",
        )
    ]
