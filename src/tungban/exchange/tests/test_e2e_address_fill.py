"""Acceptance 4 of the exchange gateway, end to end in headless Chromium (填表通): a resident
logs in to the sample service (the Transport Department's vehicle-licence renewal), presses
"Fill my address from the Water Supplies Department", approves the data-sharing consent in
the web app (passkey), and the form shows the address the Water Supplies Department's
system (a separate provider process) supplied through the gateway, marked as such. The
resident then finds the exchange in the app's history. A declined consent first leaves the
address as it was, with a clear message.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from examples.vehicle_licence.address import PURPOSES
from tungban.exchange.models import Consent, ExchangeRecord
from tungban.testing.browser import (
    TIMEOUT,
    add_virtual_authenticator,
    approval_url,
    bind_web_app,
    decide_in_app,
)
from tungban.testing.browser import sample_service as e2e_sample_service
from tungban.testing.factories import make_resident
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PURPOSE = PURPOSES["en"]  # the service asks in the page's language: English here

PHONE = {"width": 390, "height": 844}
TAI_MAN = "A1234563"  # in the demo providers' records
WSD = "wsd.registered-address.v1"
APPROVE_LINK = r"/app/approve/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def shots(tmp_path) -> Path:
    path = Path(os.environ.get("TUNGBAN_E2E_SCREENSHOTS", tmp_path))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def sample_service(issuer, providers):
    """The WSD provider process, and the sample service as the data user "td"."""
    providers("wsd")
    with e2e_sample_service(issuer, "vehicle-licence-cdeg-e2e", cdeg=True, VL_SIGNING_POLL_SECONDS=1) as base:
        yield base


def _context(browser, **kw):
    ctx = browser.new_context(locale="en-GB", **kw)
    ctx.set_default_timeout(TIMEOUT)
    return ctx


def _ask_for_address(desktop, issuer: str) -> str:
    """Press the form's address button; returns the approval link the service shows."""
    desktop.bring_to_front()
    desktop.click("#fill-address-wsd")
    desktop.wait_for_selector("#address-pending #open-app")
    link = desktop.get_attribute("#open-app", "href")
    assert re.fullmatch(re.escape(issuer) + APPROVE_LINK, link), link
    return link


def test_address_filled_through_the_gateway_and_shown_in_history(issuer, officer, sample_service, e2e_browser, shots):
    resident = make_resident(officer, hkid=TAI_MAN)

    # 1. The resident binds the web app on the phone (device key + passkey).
    phone_ctx = _context(e2e_browser, viewport=PHONE)
    phone = phone_ctx.new_page()
    phone_errors: list[str] = []
    phone.on("pageerror", lambda exc: phone_errors.append(str(exc)))
    add_virtual_authenticator(phone_ctx, phone)
    bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))

    # 2. On a computer: log in to the sample service with tungban, approve in the app.
    desktop = _context(e2e_browser, viewport={"width": 1280, "height": 900}).new_page()
    desktop.goto(f"{sample_service}/?lang=en")
    desktop.click("#login")
    desktop.wait_for_selector("#open-app")
    assert decide_in_app(phone, approval_url(desktop), "approve")
    desktop.bring_to_front()
    desktop.wait_for_selector("#registration_mark", timeout=TIMEOUT)
    assert desktop.input_value("#name_en") == "Tai Man CHAN"
    e_me_address = desktop.input_value("#address")
    assert e_me_address.startswith("Flat 3B, 18 Nathan Road")  # from the login (e-ME)
    assert desktop.text_content("#fill-address-wsd").strip() == "Fill my address from the Water Supplies Department"
    desktop.fill("#registration_mark", "AB1234")

    # 3. First the resident declines: nothing is shared, the form says so, the address stays.
    link = _ask_for_address(desktop, issuer)
    heading = desktop.text_content("#address-heading")
    assert "Approve in your tungban app" in heading and "請在通辦 app 批准" in heading
    desktop.wait_for_selector(".qr svg")  # drawn by the page's script once it has loaded
    assert desktop.locator(".qr svg").count() == 1
    assert desktop.text_content("#address-purpose").strip() == PURPOSE
    decide_in_app(phone, link, "decline")
    desktop.bring_to_front()
    desktop.wait_for_selector("#address-fill-error", timeout=TIMEOUT)
    message = desktop.text_content("#address-fill-error")
    assert "You declined in the app" in message and "你已在 app 拒絕提供地址" in message
    assert desktop.get_attribute("#address-fill-error", "data-status") == "declined"
    assert desktop.input_value("#address") == e_me_address
    assert desktop.input_value("#registration_mark") == "AB1234"  # what was typed is kept
    assert desktop.locator("#address[readonly], #address[disabled]").count() == 0
    assert Consent.objects.get().status == "declined"

    # 4. Again, and this time the resident approves the consent in the app.
    link = _ask_for_address(desktop, issuer)
    desktop.screenshot(path=str(shots / "address-approve-in-app.png"), full_page=True)
    phone.bring_to_front()
    phone.goto(link)
    phone.wait_for_selector("#screen-approve:not([hidden])")
    assert phone.text_content("#request-service").strip() == "Transport Department"
    assert phone.text_content("#consent-data-provider").strip() == "Water Supplies Department"
    assert phone.text_content("#consent-purpose").strip() == PURPOSE
    phone.click("#approve-button")
    phone.wait_for_selector("#result:not([hidden])")
    assert phone.text_content("#result-heading").strip() == "Consent given"

    # 5. The service's page notices by itself, obtains the address once, and the form shows it.
    desktop.bring_to_front()
    desktop.wait_for_selector("#address-source", timeout=TIMEOUT)
    address = desktop.input_value("#address")
    assert address == "Flat 12A, 8 Nathan Road\nTsim Sha Tsui\nYau Tsim Mong, Kowloon", address
    note = desktop.text_content("#address-source").strip()
    assert note == "Supplied by the Water Supplies Department through the Consented Data Exchange Gateway"
    assert desktop.get_attribute("#address", "aria-describedby") == "address-source"
    assert desktop.input_value("#registration_mark") == "AB1234"
    assert desktop.locator("#address-fill-error").count() == 0
    desktop.screenshot(path=str(shots / "address-filled.png"), full_page=True)

    consent = Consent.objects.exclude(status="declined").get()
    assert consent.effective_status() == "exhausted"  # max_uses 1: used once, right away
    assert (consent.consumer_id, consent.product_id, consent.purpose, consent.uses, consent.max_uses) == (
        "td",
        WSD,
        PURPOSE,
        1,
        1,
    )
    [record] = ExchangeRecord.objects.all()
    assert record.outcome == "delivered" and record.consent_id == consent.id and record.resident_id == resident.id
    assert desktop.get_attribute("#address-source", "data-exchange-id") == str(record.id)

    # 6. Enter in a text box submits the application (not the address button).
    desktop.select_option("#period", "12")
    desktop.focus("#registration_mark")
    desktop.keyboard.press("Enter")
    desktop.wait_for_selector("#reference", timeout=TIMEOUT)

    # 7. The app's history: the Transport Department received the address from the WSD.
    phone.goto(f"{issuer}/app/")
    phone.wait_for_selector("#history li[data-kind=exchange]")
    entries = phone.locator("#history li[data-kind=exchange]")
    assert entries.count() == 1
    entry = entries.first
    assert entry.get_attribute("data-outcome") == "delivered"
    assert entry.get_attribute("data-exchange-id") == str(record.id)
    text = entry.text_content()
    for part in ("Transport Department", "Water Supplies Department", "Delivered"):
        assert part in text, (part, text)
    phone.locator("#history").scroll_into_view_if_needed()
    phone.screenshot(path=str(shots / "address-history.png"), full_page=True)
    assert not phone_errors, phone_errors
