"""Acceptance 2, end to end in headless Chromium: an officer registers a resident at the
counter, the resident binds the web app, opens the sample online service, logs in through
the app (QR / same-device link), approves a subset of e-ME fields, and sees exactly those
fields pre-filled in the service's form."""

from __future__ import annotations

import pytest

from tungban.testing.browser import (
    TIMEOUT,
    add_virtual_authenticator,
    approval_url,
    bind_web_app,
    decide_in_app,
)
from tungban.testing.browser import sample_service as e2e_sample_service
from tungban.testing.factories import staff_login_page, staff_user, valid_hkid

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sample_service(issuer):
    with e2e_sample_service(issuer, "vehicle-licence-e2e") as base:
        yield base


@pytest.fixture
def browser(e2e_browser):
    return e2e_browser


def _context(browser, **kw):
    ctx = browser.new_context(locale="en-GB", **kw)
    ctx.set_default_timeout(TIMEOUT)
    return ctx


def test_register_bind_login_and_prefill_exactly_approved_fields(issuer, sample_service, browser, django_user_model):
    officer = staff_user("counter_officer", username="counter1", password="counter-pass-123")
    hkid = valid_hkid("C")

    # 1. Officer at the counter registers the resident after checking the card.
    counter = _context(browser).new_page()
    staff_login_page(counter, issuer, officer, "/staff/residents/new", password="counter-pass-123")
    counter.wait_for_selector("#id_hkid")
    counter.fill("#id_hkid", f"{hkid[:-1]}({hkid[-1]})")
    counter.fill("#id_family_name_en", "Chan")
    counter.fill("#id_given_name_en", "Siu Ming")
    counter.fill("#id_name_zh", "陳小明")
    counter.fill("#id_date_of_birth", "1975-08-09")
    counter.select_option("#id_gender", "male")
    counter.fill("#id_residential_address", "Flat 5C, 22 Queen's Road East\nWan Chai")
    counter.fill("#id_phone", "+852 6123 4567")
    counter.fill("#id_email", "siuming@example.hk")
    counter.check("#id_card_checked")
    counter.click("#register-submit")
    code = counter.text_content("#activation-code").strip()
    assert len(code) == 8

    # 2. The resident binds the web app on the phone (device key + passkey).
    phone_ctx = _context(browser, viewport={"width": 390, "height": 844})
    phone = phone_ctx.new_page()
    add_virtual_authenticator(phone_ctx, phone)
    bind_web_app(phone, issuer, hkid, code)

    # 3. On a computer, the resident opens the sample service and logs in with tungban.
    desktop = _context(browser, viewport={"width": 1280, "height": 800}).new_page()
    desktop.goto(f"{sample_service}/?lang=en")
    desktop.click("#login")
    desktop.wait_for_selector("#open-app")
    desktop.wait_for_selector(".qr svg")  # drawn by the page's script once it has loaded
    assert desktop.locator(".qr svg").count() == 1  # the QR code the phone scans, drawn in the browser
    assert desktop.locator(".qr svg title").text_content() == "QR code to scan with the tungban app"
    assert desktop.locator(".qr svg path, .qr svg rect").count() > 0
    link = approval_url(desktop)

    # 4. The app shows the service and each field; the resident unticks the optional ones
    #    they do not want to share and approves with the passkey.
    heading = decide_in_app(
        phone, link, "approve", untick=["gender", "address", "phone_number", "email", "billing_address"]
    )
    assert heading

    # 5. The desktop page continues by itself to the service, whose form holds exactly
    #    the approved fields.
    desktop.bring_to_front()
    desktop.wait_for_selector("#registration_mark", timeout=TIMEOUT)
    value = lambda field_id: desktop.input_value(f"#{field_id}")  # noqa: E731
    assert value("name_en") == "Siu Ming CHAN"
    assert value("name_zh") == "陳小明"
    assert value("hkid") == f"{hkid[:-1]}({hkid[-1]})"
    assert value("birthdate") == "1975-08-09"
    for withheld in ("address", "phone", "email", "billing_address"):
        assert value(withheld) == "", withheld
    assert desktop.locator("#gender").input_value() in ("", None)
    assert desktop.text_content("#acr").strip().endswith("plus")

    # 6. The app's history shows the release.
    phone.goto(f"{issuer}/app/")
    phone.wait_for_selector("#history li")
    history = phone.text_content("#history")
    assert "Vehicle Licence Renewal" in history or "車輛牌照續期" in history
