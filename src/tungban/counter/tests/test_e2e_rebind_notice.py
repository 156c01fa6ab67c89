"""Issue 13 item 1 in Chromium: after two officers approve a re-binding, the resident's bound
web app shows the notice when it next opens (once) and lists it in the history."""

from __future__ import annotations

import pytest

from tungban.counter import services
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import staff_user
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_bound_web_app_shows_the_rebind_notice_once_and_in_history(issuer, resident, officer, e2e_browser):
    context = e2e_browser.new_context(locale="en-GB", viewport={"width": 390, "height": 844})
    context.set_default_timeout(TIMEOUT)
    phone = context.new_page()
    errors = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(context, phone)
    bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))

    request = services.request_rebind(
        resident, officer, reason="phone lost", document_type="hkid_card", document_reference="4563"
    )
    services.approve_rebind(request.pk, staff_user("counter_supervisor"))
    services.issue_rebind_code(request.pk, officer)  # by the officer who asked, not the supervisor

    phone.goto(f"{issuer}/app/")
    phone.wait_for_selector("#history li[data-kind=notice]")
    assert "new activation code" in phone.text_content("#alert")
    assert "new activation code" in phone.text_content("#history li[data-kind=notice]")
    phone.reload()
    phone.wait_for_selector("#history li[data-kind=notice]")
    assert phone.text_content("#alert").strip() == ""  # told once
    assert not errors, errors
    context.close()
