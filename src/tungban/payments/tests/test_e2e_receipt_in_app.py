"""The e-receipt in the app, end to end in headless Chromium at phone width (issue 18
acceptance 1's last step: "the receipt appears in the app and verifies with pdfsig"): the
resident's payment is recorded and its receipt sealed by the worker's task; the resident adds
the card "My e-receipts and refunds" to the app's panel; it shows the receipt, whose link
downloads the PDF, which poppler's ``pdfsig`` verifies against the tungban root. axe-core finds
nothing on the card, in English and in Chinese. The whole flow from the application to this
receipt is in ``test_e2e_fps_payment.py``."""

from __future__ import annotations

import pytest

from tungban.payments.models_refunds import Receipt
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import make_resident
from tungban.testing.tasks import run_queued_tasks_in_thread
from tungban.wallet import services as wallet

from .receipt_checks import CARD, download_pdf, pdfsig_against_root, require_poppler, show_receipts_card
from .refund_helpers import department_user, paid_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_receipt_is_in_the_app_and_verifies_with_pdfsig(issuer, officer, e2e_browser, tmp_path, lang):
    require_poppler()
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

    link = show_receipts_card(page)
    assert link.count() == 1
    assert "HK$350.00" in link.text_content()
    assert receipt.number in page.text_content(CARD)
    assert_no_violations(page, f"app: my e-receipts card ({lang})")

    download_pdf(page, f"{issuer}{link.get_attribute('href')}", tmp_path / "receipt.pdf")
    text = pdfsig_against_root(tmp_path / "receipt.pdf", tmp_path)
    assert "Signature is Valid" in text and "Certificate is Trusted" in text, text
    assert errors == []
