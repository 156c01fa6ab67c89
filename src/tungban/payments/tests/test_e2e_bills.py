"""Bills in the app end to end in headless Chromium (issue 18, "Bills in the app"): a department
posts a bill through the payments API; the resident opens "My bills" in the app, sees it with
what is due and when, opens it and pays by FPS — the dynamic QR code and the bank-app link
shown — the bank tells the platform (its signed payment notification), and the app shows the
bill paid without the resident doing anything. Both languages, a phone's width, axe-core,
200 % zoom. Screenshots go to ``$TUNGBAN_E2E_SCREENSHOTS`` when set."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tungban.payments import fps
from tungban.payments.models import Bill, PaymentOrder
from tungban.payments.tests.departments import call, payment_system
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import make_resident
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def bank(issuer, settings):
    """The demo FPS participant bank (examples/bank) as its own process, notifying the live server."""
    from examples.bank.launch import bank_output, start_bank, stop_bank

    proc, url = start_bank(
        f"{issuer}/api/v1/payments/bank/notifications",
        secret=settings.TUNGBAN_PAYMENTS_BANK_SECRET,
        payee_proxy=settings.TUNGBAN_PAYMENTS_FPS_PROXY,
    )
    settings.TUNGBAN_PAYMENTS_BANK_URL = url
    yield url
    print(bank_output(proc))  # shown when the test fails
    with contextlib.suppress(Exception):
        stop_bank(proc)


@pytest.mark.parametrize("locale", ["en-GB", "zh-HK"])
def test_the_app_lists_a_bill_and_pays_it_by_fps(issuer, bank, officer, e2e_browser, tmp_path, locale):
    rvd = payment_system(issuer, "RVD", name_en="Rating and Valuation Department", name_zh="差餉物業估價署")
    resident = make_resident(officer)
    today = timezone.localdate()
    posted = call(
        rvd,
        "POST",
        "/bills",
        {
            "bill_number": "RV-E2E-0001",
            "payer": {"hkid": resident.hkid},
            "account": "1-234-56789",
            "description": {"en": "Rates, quarter ending March 2027", "zh": "差餉（2027年3月止季度）"},
            "amount": 123456,
            "bill_date": str(today),
            "due_date": str(today + dt.timedelta(days=30)),
        },
        key=f"e2e-{uuid.uuid4()}",
    )
    assert posted.status_code == 201, posted.text
    bill_id = posted.json()["bill_id"]
    en = locale.startswith("en")
    tag = "en" if en else "zh"
    shots = Path(os.environ.get("TUNGBAN_E2E_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)

    context = e2e_browser.new_context(locale=locale, viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(context, page)
    bind_web_app(page, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))

    # The list: what is due, and by when.
    page.click("#bills-link")
    page.wait_for_selector("#screen-bills:not([hidden])")
    item = page.locator(f'#bills li[data-bill-id="{bill_id}"]')
    item.wait_for()
    assert item.get_attribute("data-state") == "open"
    text = item.text_content()
    assert "HK$1,234.56" in text
    assert ("Rates, quarter ending March 2027" if en else "差餉（2027年3月止季度）") in text
    assert ("Rating and Valuation Department" if en else "差餉物業估價署") in text
    assert_no_violations(page, f"the app's bills ({locale}, 390 px)")
    page.screenshot(path=str(shots / f"bills-{tag}-390.png"), full_page=True)

    # One bill, paid by FPS.
    item.locator("a").click()
    page.wait_for_selector('#screen-bill:not([hidden])[data-state="open"]')
    page.click("#bill-pay")
    page.wait_for_selector("#bill-fps:not([hidden])")
    link = page.get_attribute("#bill-bank-link", "href")
    payload = parse_qs(urlsplit(link).query)["qr"][0]
    qr = fps.decode(payload)
    order = PaymentOrder.objects.get(reference=qr.bill_number)
    assert order.amount_cents == 123456 and str(order.bill.pk) == bill_id
    assert page.get_attribute("#bill-qr", "src").startswith("data:image/svg+xml")
    assert order.reference in page.get_attribute("#bill-qr", "alt").replace(" ", "")
    assert_no_violations(page, f"paying a bill by FPS ({locale}, 390 px)")
    page.screenshot(path=str(shots / f"bill-pay-{tag}-390.png"), full_page=True)

    # The resident scans the QR code with their banking app on another device (here: the demo
    # bank's page in another browser), and confirms there; this screen is left alone.
    other = e2e_browser.new_context(locale=locale)
    other.set_default_timeout(TIMEOUT)
    banking = other.new_page()
    banking.goto(link)
    banking.wait_for_selector("#payment")
    assert order.reference in banking.text_content("#reference").replace(" ", "")
    banking.click("#confirm")
    banking.wait_for_selector("#paid")
    other.close()
    page.wait_for_selector('#screen-bill[data-state="paid"] #bill-paid:not([hidden])')  # the screen saw it by itself
    expect(page.locator("#bill-fps")).to_be_hidden(timeout=TIMEOUT)
    assert ("Paid on" if en else "已於") in page.text_content("#bill-paid")
    assert_no_violations(page, f"a paid bill ({locale}, 390 px)")
    page.screenshot(path=str(shots / f"bill-paid-{tag}-390.png"), full_page=True)

    page.click("#bill-back")
    page.wait_for_selector(f'#bills li[data-bill-id="{bill_id}"][data-state="paid"]')
    page.set_viewport_size({"width": 195, "height": 422})  # 200% zoom
    wide = page.evaluate(
        "[...document.querySelectorAll('#screen-bills *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.id || e.className || e.tagName)"
    )
    assert not wide, wide
    context.close()
    assert not errors, errors
    assert Bill.objects.get(pk=bill_id).order.state == "success"
