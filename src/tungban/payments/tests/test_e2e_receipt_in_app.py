"""The e-receipt in the app, end to end in headless Chromium at phone width (issue 18
acceptance 1's last step: "the receipt appears in the app and verifies with pdfsig"): the
resident's payment is recorded and its receipt sealed by the worker's task; the resident adds
the card "My e-receipts and refunds" to the app's panel; it shows the receipt, whose link
downloads the PDF, which poppler's ``pdfsig`` verifies against the tungban root. axe-core finds
nothing on the card, in English and in Chinese."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from tungban.payments.models_refunds import Receipt
from tungban.signing import ca
from tungban.signing.models import AuthorityRole
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import make_resident
from tungban.testing.tasks import run_queued_tasks_in_thread
from tungban.wallet import services as wallet

from .refund_helpers import department_user, paid_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
CARD = '#panel-cards li[data-kind="payments.receipts"]'


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_receipt_is_in_the_app_and_verifies_with_pdfsig(issuer, officer, e2e_browser, tmp_path, lang):
    for tool in ("pdfsig", "certutil"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    department_user(f"fehd-{lang}", "FEHD")
    resident = make_resident(officer)
    order = paid_order(35_000, payer=resident)
    run_queued_tasks_in_thread()  # the worker: the receipt is drawn and sealed
    receipt = Receipt.objects.get(order=order)

    context = e2e_browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(context, page)
    bind_web_app(page, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))

    page.click("#assistant-link")
    page.wait_for_selector('#panel-manage li[data-kind="payments.receipts"]')
    page.click('#panel-manage li[data-kind="payments.receipts"] button.add')
    page.wait_for_selector(f'{CARD}[data-state="ok"]')
    link = page.locator(f"{CARD} dd a")
    assert link.count() == 1
    assert "HK$350.00" in link.text_content()
    assert receipt.number in page.text_content(CARD)
    assert_no_violations(page, f"app: my e-receipts card ({lang})")

    href = link.get_attribute("href")
    got = page.request.get(f"{issuer}{href}")
    assert got.status == 200 and got.headers["content-type"] == "application/pdf"
    (tmp_path / "receipt.pdf").write_bytes(got.body())

    root = tmp_path / "root.pem"
    root.write_bytes(ca.certificate(AuthorityRole.ROOT).public_bytes(serialization.Encoding.PEM))
    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run(["certutil", "-d", f"sql:{nss}", "-N", "--empty-password"], check=True, timeout=60)
    subprocess.run(
        ["certutil", "-d", f"sql:{nss}", "-A", "-n", "root", "-t", "C,C,C", "-i", str(root)], check=True, timeout=60
    )
    out = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{nss}", str(tmp_path / "receipt.pdf")], capture_output=True, text=True, timeout=60
    )
    text = out.stdout + out.stderr
    assert "Signature is Valid" in text and "Certificate is Trusted" in text, text
    assert errors == []
