"""Shared steps of the e2e tests that end on the e-receipt (issue 18 acceptance 1's last step:
"the receipt appears in the app and verifies with pdfsig"): open the app's card "My e-receipts
and refunds", download the receipt's PDF through its link, and check the seal with poppler's
``pdfsig`` against an NSS database trusting only the tungban root (the platform does not use
poppler), and read the text back with ``pdftotext``."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from tungban.signing import ca
from tungban.signing.models import AuthorityRole

#: The receipts card on the app's panel.
CARD = '#panel-cards li[data-kind="payments.receipts"]'


def require_poppler() -> None:
    """Skip the test when ``pdfsig``, ``pdftotext`` or ``certutil`` is missing (Debian:
    poppler-utils, libnss3-tools)."""
    for tool in ("pdfsig", "pdftotext", "certutil"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


def show_receipts_card(page):
    """In the app (``page`` bound with a passkey): add the card "My e-receipts and refunds" to
    the panel and wait for it to show its items; returns the locator of its receipt links."""
    page.click("#assistant-link")
    page.wait_for_selector('#panel-manage li[data-kind="payments.receipts"]')
    page.click('#panel-manage li[data-kind="payments.receipts"] button.add')
    page.wait_for_selector(f'{CARD}[data-state="ok"]')
    return page.locator(f"{CARD} dd a")


def download_pdf(page, url: str, path) -> bytes:
    """GET ``url`` with the page's cookies; asserts a 200 PDF, writes it to ``path``."""
    got = page.request.get(url)
    assert got.status == 200 and got.headers["content-type"] == "application/pdf", got.status
    path.write_bytes(got.body())
    return path.read_bytes()


def pdfsig_against_root(pdf_path, tmp_path) -> str:
    """``pdfsig``'s report on ``pdf_path`` with an NSS database (made in ``tmp_path``) that
    trusts only the tungban root certificate."""
    root = tmp_path / "root.pem"
    root.write_bytes(ca.certificate(AuthorityRole.ROOT).public_bytes(serialization.Encoding.PEM))
    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run(["certutil", "-d", f"sql:{nss}", "-N", "--empty-password"], check=True, timeout=60)
    subprocess.run(
        ["certutil", "-d", f"sql:{nss}", "-A", "-n", "root", "-t", "C,C,C", "-i", str(root)], check=True, timeout=60
    )
    out = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(pdf_path)], capture_output=True, text=True, timeout=60)
    return out.stdout + out.stderr


def pdf_text(pdf_path) -> str:
    """The PDF's text as ``pdftotext -layout`` reads it."""
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf_path), "-"], check=True, capture_output=True, text=True, timeout=60
    ).stdout
