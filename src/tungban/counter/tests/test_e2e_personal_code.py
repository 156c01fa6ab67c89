"""Issue 16 acceptance 2 (personal code, 個人碼), end to end in headless Chromium: the resident
opens "My personal code" in the web app (bound with a passkey), chooses the registration
counter and to show the English name; the officer's page at the counter checks the code
(offline: the platform's published keys only) and shows the name and the resident's
identifier for that counter only; the same code is refused a second time; another verifier's
code is refused. axe-core reports no violations on either page, which fit 390 px and
200% zoom (195 CSS px) without sideways scrolling, in both languages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import make_resident, staff_login_page
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def shots(tmp_path) -> Path:
    path = Path(os.environ.get("TUNGBAN_E2E_SCREENSHOTS", tmp_path))
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_resident_shows_personal_code_and_officer_verifies(issuer, officer, e2e_browser, shots):
    resident = make_resident(officer, name_zh="陳大文")
    phone_ctx = e2e_browser.new_context(locale="en-GB", viewport=PHONE)
    phone_ctx.set_default_timeout(TIMEOUT)
    phone = phone_ctx.new_page()
    errors: list[str] = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(phone_ctx, phone)
    bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))

    # 1. The resident opens the personal code from the home screen and picks the counter.
    phone.click("#personal-code-link")
    phone.wait_for_selector("#screen-personal-code:not([hidden])")
    phone.wait_for_selector("#pc-verifier option[value=counter]", state="attached")
    phone.select_option("#pc-verifier", "counter")
    assert not phone.is_checked("#pc-claim-name")  # nothing pre-ticked
    phone.check("#pc-claim-name")
    phone.click("#pc-submit")
    phone.wait_for_selector("#pc-code:not([hidden])")
    phone.wait_for_function("() => document.getElementById('pc-qr').naturalWidth > 0")
    code = phone.input_value("#pc-text")
    assert phone.get_attribute("#pc-qr", "src").startswith("data:image/svg+xml")
    assert len(code) <= 1300, len(code)  # a small QR (test_personal_code.py::test_the_qr_is_small)
    assert "counter" in phone.text_content("#pc-shows").lower()
    assert_no_violations(phone, "the app's personal code (en-GB, 390 px)")
    phone.screenshot(path=str(shots / "personal-code-1-app.png"), full_page=True)

    # 2. The officer's page checks it: valid, the name, an identifier for this counter.
    office_ctx = e2e_browser.new_context(locale="en-GB", viewport=PHONE)
    office_ctx.set_default_timeout(TIMEOUT)
    office = office_ctx.new_page()
    staff_login_page(office, issuer, officer, "/staff/personal-code")
    assert_no_violations(office, "the officer's personal-code check (en, 390 px)")
    office.fill("#credential", code)
    office.click("#verify-submit")
    office.wait_for_selector("#pc-result")
    assert office.get_attribute("#pc-result", "data-valid") == "true", office.text_content("#pc-result")
    assert office.text_content('#pc-claims dd[data-claim="name"]').strip() == resident.name_en
    assert office.query_selector('#pc-claims dd[data-claim="name_zh"]') is None  # not chosen
    sub = office.text_content("#pc-sub").strip()
    assert len(sub) >= 16 and resident.hkid not in office.text_content("body")
    assert_no_violations(office, "the officer's personal-code result (en, 390 px)")
    office.screenshot(path=str(shots / "personal-code-2-officer.png"), full_page=True)

    # 3. The same code again is refused (a copy), and a code for another verifier too.
    office.fill("#credential", code)
    office.click("#verify-submit")
    office.wait_for_selector('#pc-result[data-valid="false"] li[data-code="presentation_replayed"]')
    phone.select_option("#pc-verifier", "hkpl")
    phone.wait_for_function(f"() => document.getElementById('pc-text').value !== {code!r}")
    phone.wait_for_selector("#pc-code:not([hidden])")
    other = phone.input_value("#pc-text")
    office.fill("#credential", other)
    office.click("#verify-submit")
    office.wait_for_selector('#pc-result[data-valid="false"] li[data-code="wrong_verifier"]')

    # 4. Phone-friendly at 200% zoom (half the CSS width) and in Chinese, on both pages.
    narrow = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
    for page, name in ((phone, "personal-code-3-app-zoom200.png"), (office, "personal-code-4-officer-zoom200.png")):
        page.set_viewport_size({"width": 195, "height": 422})
        wide = page.evaluate(
            "() => Array.from(document.querySelectorAll('body *')).filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).map((e) => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5)"
        )
        assert page.evaluate(narrow), (name, wide)
        page.screenshot(path=str(shots / name), full_page=True)
    office.context.add_cookies([{"name": "tungban_language", "value": "zh-hant", "url": issuer}])
    office.set_viewport_size(PHONE)
    office.goto(f"{issuer}/staff/personal-code")
    assert "核對個人碼" in office.text_content("h1")
    assert_no_violations(office, "the officer's personal-code check (zh-hant, 390 px)")
    office.screenshot(path=str(shots / "personal-code-5-officer-zh.png"), full_page=True)
    phone_ctx.add_cookies([{"name": "tungban_language", "value": "zh-hant", "url": issuer}])
    phone.set_viewport_size(PHONE)
    phone.goto(f"{issuer}/app/#personal-code")
    phone.reload()  # the same address: a full load in Chinese
    phone.wait_for_selector("#screen-personal-code:not([hidden])")
    assert "我的個人碼" in phone.text_content("#pc-title")
    phone.check("#pc-claim-name_zh")
    phone.click("#pc-submit")
    phone.wait_for_selector("#pc-code:not([hidden])")
    assert "陳大文" in phone.text_content("#pc-shows")
    assert_no_violations(phone, "the app's personal code (zh-hant, 390 px)")
    phone.screenshot(path=str(shots / "personal-code-6-app-zh.png"), full_page=True)
    assert errors == []
