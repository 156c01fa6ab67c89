"""A verifier code end to end (issue 13 item 12), in headless Chromium: the checker asks
認證易 for a code, the resident types it into the app before showing the QR code, and the
checker's check says the proof was made for that code; the same proof checked again is
refused as a replay."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from tungban.credentials.models import Issuer
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import make_resident
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _kb_nonce(presentation: str) -> str:
    payload = presentation.rsplit("~", 1)[1].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["nonce"]


def test_the_holder_presents_for_the_checkers_code(issuer, officer, bundled, e2e_browser):
    from tungban.credentials import services

    Issuer.objects.get(id="swd").officers.add(officer)
    resident = make_resident(officer, date_of_birth=dt.date(1950, 3, 2))
    phone_ctx = e2e_browser.new_context(locale="en-GB", viewport={"width": 390, "height": 844})
    phone_ctx.set_default_timeout(TIMEOUT)
    phone = phone_ctx.new_page()
    add_virtual_authenticator(phone_ctx, phone)
    bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))
    card = services.issue(
        services.get_type("senior-citizen-card"), resident, {"card_number": "SC12345678"}, issued_by="officer:test"
    )

    checker_ctx = e2e_browser.new_context(locale="en-GB")
    checker_ctx.set_default_timeout(TIMEOUT)
    checker = checker_ctx.new_page()
    checker.goto(f"{issuer}/verify/")
    checker.click("#get-code")
    code = checker.text_content("#verifier-code").strip()
    assert len(code) == 9 and code[4] == "-"

    phone.goto(f"{issuer}/app/#credentials/{card.id}/present")
    phone.wait_for_selector("#screen-present:not([hidden])")
    phone.fill("#present-nonce", code.lower())  # as typed
    phone.click("#present-submit")
    phone.wait_for_selector("#presentation:not([hidden])")
    presentation = phone.input_value("#presentation-text")
    assert _kb_nonce(presentation) == code.replace("-", "")

    checker.fill("#credential", presentation)
    checker.click("#verify-submit")
    checker.wait_for_selector("#verification")
    assert checker.get_attribute("#verification", "data-valid") == "true", checker.text_content("#verification")
    assert checker.get_attribute("#verdict-nonce", "data-nonce") == "verifier_code"

    checker.goto(f"{issuer}/verify/")
    checker.fill("#credential", presentation)
    checker.click("#verify-submit")
    checker.wait_for_selector("#verification")
    assert checker.get_attribute("#verification", "data-valid") == "false"
    assert checker.query_selector('#problems [data-code="presentation_replayed"]') is not None
    phone_ctx.close()
    checker_ctx.close()
