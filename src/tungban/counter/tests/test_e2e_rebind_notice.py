"""Issue 13 item 1 in Chromium: an officer asks for a re-binding at the counter pages, a
supervisor approves it in another browser and sees no code, the officer who asked issues the
code (shown once, to them); the resident's bound web app shows the notice when it next opens
(once) and lists it in the history, and the code binds a new phone."""

from __future__ import annotations

import pytest

from tungban.counter.models import RebindRequest
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import staff_login_page, staff_user
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _context(browser, **kw):
    context = browser.new_context(locale="en-GB", **kw)
    context.set_default_timeout(TIMEOUT)
    return context


def test_two_officer_rebind_through_the_pages_and_the_old_phone_is_told(issuer, resident, officer, e2e_browser):
    phone_ctx = _context(e2e_browser, viewport={"width": 390, "height": 844})
    phone = phone_ctx.new_page()
    errors = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(phone_ctx, phone)
    bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))
    resident_path = f"/staff/residents/{resident.public_id}"

    # The officer with the resident asks for a re-binding: reason and the document checked.
    counter_ctx = _context(e2e_browser)
    counter = counter_ctx.new_page()
    staff_login_page(counter, issuer, officer, resident_path)
    counter.wait_for_selector("#rebind-form")
    assert counter.locator("form[action$='/activation']").count() == 0  # no single-officer code
    counter.fill("#id_reason", "Phone lost on the MTR")
    counter.select_option("#id_document_type", "hkid_card")
    counter.fill("#id_document_reference", "4563")
    counter.check("#id_checked")
    counter.click("#rebind-submit")
    counter.wait_for_selector(".rebind-request[data-status=pending]")
    request = RebindRequest.objects.get(resident=resident)

    # A supervisor at another counter approves it and sees no code.
    supervisor_ctx = _context(e2e_browser)
    supervisor = supervisor_ctx.new_page()
    staff_login_page(supervisor, issuer, staff_user("counter_supervisor"), "/staff/")
    supervisor.click(f"#pending-rebinds a[href$='{resident_path}#rebind']")
    supervisor.click(f"#approve-rebind-{request.pk}")
    supervisor.wait_for_selector(f"#rebind-request-{request.pk}[data-status=approved]")
    assert supervisor.locator("#activation-code").count() == 0
    assert supervisor.locator(f"#issue-rebind-code-{request.pk}").count() == 0

    # The officer who asked issues the code, shown once.
    counter.goto(f"{issuer}{resident_path}")
    counter.click(f"#issue-rebind-code-{request.pk}")
    code = counter.text_content("#activation-code").strip()
    assert len(code) == 8
    counter.goto(f"{issuer}{resident_path}")
    counter.wait_for_selector(f"#rebind-request-{request.pk}[data-status=issued]")
    assert counter.locator(f"#issue-rebind-code-{request.pk}").count() == 0

    # The still-bound phone is told on its next open, once, and keeps it in the history.
    phone.goto(f"{issuer}/app/")
    phone.wait_for_selector("#history li[data-kind=notice]")
    assert "new activation code" in phone.text_content("#alert")
    assert "new activation code" in phone.text_content("#history li[data-kind=notice]")
    phone.reload()
    phone.wait_for_selector("#history li[data-kind=notice]")
    assert phone.text_content("#alert").strip() == ""  # told once
    assert not errors, errors

    # The code binds the resident's new phone.
    new_ctx = _context(e2e_browser, viewport={"width": 390, "height": 844})
    new_phone = new_ctx.new_page()
    add_virtual_authenticator(new_ctx, new_phone)
    bind_web_app(new_phone, issuer, resident.hkid, code)
    for context in (phone_ctx, counter_ctx, supervisor_ctx, new_ctx):
        context.close()
