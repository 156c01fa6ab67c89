"""The 1823 pages in headless Chromium at phone width, in English and in Chinese (and the form
without JavaScript): a person who is not logged in finds the matter, sends the form with
mistakes (each error next to its field, in the page's language), corrects them, keeps the
tracking code, follows the case in another browser, reads the department's closure and reopens
the case. axe-core finds nothing on any page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tungban.hotline.models import Case
from tungban.hotline.services import cases
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_submit_track_read_closure_and_reopen(issuer, e2e_browser, hotline, hyd_officer, lang):
    js = True
    locale = "en-GB" if lang == "en" else "zh-HK"
    ctx = e2e_browser.new_context(locale=locale, viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{issuer}/1823/")
    assert_no_violations(page, f"1823 home ({lang})")
    _fits(page)
    page.click("#new-case")
    page.fill("#q", "街燈" if lang == "zh" else "street light")
    page.click("#type-search button[type=submit]")
    page.wait_for_url(re.compile(r".*q=.*"))
    assert page.locator(".type-item").count() == 1
    assert_no_violations(page, f"1823 choose ({lang})")
    page.click(".type-item a")
    page.wait_for_selector("#case-form")
    # an enhancement: only with JavaScript (shown by the page's script: waited for, not raced)
    use_location = expect(page.locator("#use-location"))
    if js:
        use_location.to_be_visible(timeout=TIMEOUT)
    else:
        use_location.to_be_hidden(timeout=TIMEOUT)
    assert_no_violations(page, f"1823 form ({lang})")
    _fits(page)

    page.fill("#description", "The lamp outside 12 Hennessy Road is dark.")
    page.fill("#contact_email", "not-an-email")
    page.click("#submit-case")
    page.wait_for_selector("#error-summary")
    expect(page.locator("#attr-lamp_post-error")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("#contact_email-error")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("#address-error")).to_be_visible(timeout=TIMEOUT)
    text = page.text_content("#attr-lamp_post-error")
    assert ("燈柱編號" in text) if lang == "zh" else ("Lamp post number" in text)
    if lang == "zh":
        assert "e-mail" not in page.text_content("#contact_email-error")
    assert_no_violations(page, f"1823 form with errors ({lang})")
    _fits(page)
    assert Case.objects.count() == 0

    page.fill("#attr-lamp_post", "E1234")
    page.check("input[name='attribute[fault]'][value=out]")
    page.fill("#address", "12 Hennessy Road")
    page.select_option("#district", "wan-chai")
    page.fill("#contact_email", "")
    page.click("#submit-case")
    page.wait_for_selector("#tracking-code")
    reference = page.text_content("#reference").strip()
    code = page.text_content("#tracking-code").strip()
    assert_no_violations(page, f"1823 submitted ({lang})")
    _fits(page)

    case = Case.objects.get(reference=reference)
    cases.accept(case, hyd_officer)
    cases.close(case, hyd_officer, "We repaired the lamp.")

    other = e2e_browser.new_context(locale=locale, viewport=PHONE)
    other.set_default_timeout(TIMEOUT)
    p2 = other.new_page()
    p2.goto(f"{issuer}/1823/track/")
    assert_no_violations(p2, f"1823 track ({lang})")
    p2.fill("#reference", reference)
    p2.fill("#tracking_code", code)
    p2.click("#track-submit")
    p2.wait_for_selector("#closure-reply")
    assert p2.text_content("#closure-reply").strip() == "We repaired the lamp."
    assert p2.get_attribute("#state-words", "data-state") == "closed"
    assert_no_violations(p2, f"1823 case closed ({lang})")
    _fits(p2)
    p2.click("#reopen")
    p2.wait_for_selector("#reason-error")
    assert_no_violations(p2, f"1823 reopen error ({lang})")
    p2.fill("#reason", "It is dark again.")
    p2.click("#reopen")
    p2.wait_for_selector("#reopened-note")
    assert p2.get_attribute("#state-words", "data-state") == "accepted"
    case.refresh_from_db()
    assert case.reopened_count == 1
    assert errors == []
    other.close()
    ctx.close()


def test_the_form_works_without_javascript(issuer, e2e_browser, hotline):
    """No script: the location button stays hidden, the form is sent and answered by the
    server alone (axe needs a script, so it runs in the test above)."""
    ctx = e2e_browser.new_context(locale="zh-HK", viewport=PHONE, java_script_enabled=False)
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    page.goto(f"{issuer}/1823/new/?type=street-light-fault")
    expect(page.locator("#use-location")).to_be_hidden(timeout=TIMEOUT)
    page.fill("#description", "街燈不亮。")
    page.click("#submit-case")
    page.wait_for_selector("#attr-lamp_post-error")
    assert "燈柱編號" in page.text_content("#attr-lamp_post-error")
    page.fill("#attr-lamp_post", "E1234")
    page.check("input[name='attribute[fault]'][value=out]")
    page.fill("#address", "軒尼詩道12號")
    page.click("#submit-case")
    page.wait_for_selector("#tracking-code")
    assert Case.objects.filter(reference=page.text_content("#reference").strip()).exists()
    ctx.close()
