"""A department's payment paid by card end to end in headless Chromium (issue 18: "Card/wallet
payments go through a pluggable PSP adapter with a mock PSP"): the department creates a payment
through the API and sends the payer to its ``next_url``; the payment page offers "Card / Apple
Pay / Google Pay" beside the FPS QR code; a declined card brings the payer back with nothing
taken and the FPS code still there; a good card pays it, and the page says so, with the way back
to the department. Both languages, a phone's width, axe-core on the platform's pages and the
mock provider's."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tungban.payments.constants import Method, OrderState
from tungban.payments.models import PaymentOrder
from tungban.payments.tests.departments import new_payment, payment_system
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("locale", ["en-GB", "zh-HK"])
def test_a_declined_card_then_a_good_one(issuer, e2e_browser, settings, locale):
    settings.TUNGBAN_PAYMENTS_PSP = "mock"
    settings.TUNGBAN_PAYMENTS_MOCK_PSP_WEBHOOKS = "never"  # the return alone must be enough
    fehd = payment_system(issuer, "FEHD")
    made = new_payment(fehd, amount=35000, reference=f"HWK-{uuid.uuid4().hex[:6]}")
    assert made.status_code == 201, made.text
    next_url = made.json()["_links"]["next_url"]["href"]
    en = locale.startswith("en")

    context = e2e_browser.new_context(locale=locale, viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(next_url)
    page.wait_for_selector("#fps-qr")
    page.wait_for_selector("#pay-card")
    assert_no_violations(page, f"the payment page with the card option ({locale})")

    page.click("#pay-card")
    page.wait_for_selector("#card-number")
    assert "HK$350" in page.text_content("#psp-amount")
    assert_no_violations(page, f"the mock card provider's page ({locale})")
    page.fill("#card-number", "4000 0000 0000 0002")
    page.click("#psp-pay-card")
    page.wait_for_selector("#card-notice")
    assert ("declined" if en else "被拒") in page.text_content("#card-notice")
    expect(page.locator("#fps-qr")).to_be_visible(timeout=TIMEOUT)  # FPS still offered: nothing was taken
    assert_no_violations(page, f"the payment page after a declined card ({locale})")
    assert PaymentOrder.objects.get(pk=made.json()["payment_id"]).state == OrderState.AWAITING_TRANSFER

    page.click("#pay-card")
    page.wait_for_selector("#card-number")
    page.fill("#card-number", "4242 4242 4242 4242")
    page.click("#psp-pay-card")
    page.wait_for_selector("#payment-received")
    assert page.get_attribute("#continue", "href") == "https://fehd.example/done"
    order = PaymentOrder.objects.get(pk=made.json()["payment_id"])
    assert order.state == OrderState.SUCCESS and order.method == Method.CARD
    context.close()
    assert not errors, errors
