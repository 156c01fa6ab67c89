"""The assistant's page in headless Chromium at phone width, in English and Chinese, with and
without JavaScript: a resident asks, the answer (quoted, with its source link) is added to the
live region; an ambiguous question offers choices and a choice is answered; an out-of-scope one
offers 1823 with the conversation. axe-core finds nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tungban.credentials import catalogue as credential_catalogue
from tungban.eservices import services as eservices
from tungban.hotline.models import Faq
from tungban.hotline.services import faqs
from tungban.payments.services import load_fees
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def ready(issuer, settings, tmp_path):
    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"
    credential_catalogue.register_bundled()
    load_fees()
    eservices.load_catalogue()
    faqs.load()
    return issuer


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_ask_with_javascript_at_phone_width(ready, e2e_browser, lang):
    ctx = e2e_browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{ready}/assistant/")
    assert page.get_attribute("#log", "aria-live") == "polite"
    assert_no_violations(page, f"assistant ({lang})")

    faq = Faq.objects.get(slug="scc-photo")
    question = "what kind of photo for the senior citizen card" if lang == "en" else "長者咭要上載咩相"
    page.fill("#question", question)
    page.click("#send")
    answer = page.locator("#log li[data-kind=answer]").last
    answer.wait_for()
    assert page.url.endswith("/assistant/") or "?c=" in page.url  # no page load: the script answered
    expected = faq.answer_en if lang == "en" else faq.answer_zh
    assert answer.locator("blockquote").inner_text().strip() == expected
    assert answer.locator(".source a").get_attribute("href") == faq.source_url
    assert page.input_value("#question") == ""

    # ambiguous: choices, then one of them
    page.fill("#question", "licence" if lang == "en" else "牌照")
    page.click("#send")
    clarify = page.locator("#log li[data-kind=clarify]").last
    clarify.wait_for()
    choices = clarify.locator("button.choice")
    assert choices.count() >= 2
    first = choices.first.inner_text()
    choices.first.click()
    page.locator("#log li[data-kind=answer]").nth(1).wait_for()
    last = page.locator("#log li[data-kind=answer]").last
    assert last.locator(".source a").inner_text() == first

    # out of scope: 1823 with this conversation
    page.fill("#question", "What's the weather tomorrow?" if lang == "en" else "聽日天氣點")
    page.click("#send")
    refused = page.locator("#log li[data-kind=refuse]").last
    refused.wait_for()
    href = refused.locator("a.handoff").get_attribute("href")
    assert re.fullmatch(r"/1823/new/\?conversation=[0-9a-f-]{36}", href)

    # empty: the error is said, nothing sent
    page.fill("#question", "")
    page.click("#send")
    expect(page.locator("#error")).to_be_visible(timeout=TIMEOUT)
    assert_no_violations(page, f"assistant after answers ({lang})")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # the conversation is the page's: reloading shows it
    page.reload()
    assert page.locator("#log li[data-kind=answer]").count() == 2
    assert errors == []
    # the page's own error state (server-rendered): a conversation that is not theirs
    page.goto(f"{ready}/assistant/?c=00000000-0000-4000-8000-000000000000")
    expect(page.locator("#error")).to_be_visible(timeout=TIMEOUT)
    assert_no_violations(page, f"assistant error ({lang})")
    ctx.close()


def test_ask_without_javascript(ready, e2e_browser):
    ctx = e2e_browser.new_context(locale="zh-HK", viewport=PHONE, java_script_enabled=False)
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    page.goto(f"{ready}/assistant/")
    page.fill("#question", "怎么保存草稿")  # Simplified Chinese
    page.click("#send")
    page.wait_for_url(re.compile(r".*\?c=[0-9a-f-]{36}#turn-\d+$"))
    faq = Faq.objects.get(slug="eform-save-draft")
    answer = page.locator("#log li[data-kind=answer]").last
    assert answer.locator("blockquote").inner_text().strip() == faq.answer_zh
    page.fill("#question", "牌照")
    page.click("#send")
    page.wait_for_url(re.compile(r".*#turn-\d+$"))
    page.locator("#log li[data-kind=clarify] button.choice").first.click()
    page.wait_for_load_state()
    assert page.locator("#log li[data-kind=answer]").count() == 2
    page.fill("#question", "")
    page.click("#send")
    assert "請先輸入問題。" in page.locator("#error").inner_text()
    ctx.close()  # (axe needs JavaScript: the same page's error state is checked in the test above)
