"""The web app's binding screen after too many wrong activation codes (issue 16 item 2), in
headless Chromium at phone width: the resident is told the code is locked and to ask the
counter for a new code, in the app's language; a new code from the counter binds, and
spaces typed inside it are ignored."""

from __future__ import annotations

import pytest

from tungban.testing.browser import TIMEOUT, add_virtual_authenticator
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def _submit(page, hkid: str, code: str) -> str:
    page.evaluate("() => { document.getElementById('alert').textContent = ''; }")
    page.fill("#bind-hkid", hkid)
    page.fill("#bind-code", code)
    page.click("#bind-submit")
    page.wait_for_function(
        "() => !document.getElementById('screen-home').hidden || document.getElementById('alert').textContent.trim()",
        timeout=TIMEOUT,
    )
    return page.text_content("#alert").strip()


@pytest.mark.parametrize(
    "locale, locked_words",
    [("en-GB", ("locked", "counter", "new code")), ("zh-HK", ("鎖定", "櫃位", "新的啟動碼"))],
)
def test_the_app_says_the_code_is_locked_and_a_new_code_binds(
    issuer, resident, officer, e2e_browser, locale, locked_words
):
    context = e2e_browser.new_context(locale=locale, viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    add_virtual_authenticator(context, page)
    try:
        wallet.issue_activation_code(resident, officer)
        page.goto(f"{issuer}/app/")
        page.wait_for_selector("#screen-bind:not([hidden])")
        for _ in range(5):
            assert _submit(page, resident.hkid, "WRONG123")
        message = _submit(page, resident.hkid, "WRONG123")
        assert all(word in message for word in locked_words), message
        code = wallet.issue_activation_code(resident, officer)
        assert _submit(page, resident.hkid, f"{code[:4]} {code[4:]}") == ""  # grouped as read out
        page.wait_for_selector("#profile dd[data-field=hkid]:not(:empty)")
    finally:
        context.close()
