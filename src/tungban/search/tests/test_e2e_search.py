"""The one search in headless Chromium at phone width, in English and in Chinese: a resident
searches with a typo, sees "Showing results for …", filters to one kind with the checkboxes
(no JavaScript needed), opens a result's action; a search that finds nothing offers the
assistant and 1823; a search editor adds and removes a best bet. axe-core finds nothing on any
page."""

from __future__ import annotations

import re

import pytest

from tungban.credentials import catalogue as credential_catalogue
from tungban.eservices import services as eservices
from tungban.search.models import BestBet, SearchEditor
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT
from tungban.testing.factories import staff_login_page, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def indexed(issuer, settings, tmp_path):
    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"
    credential_catalogue.register_bundled()
    eservices.load_catalogue()  # its search source indexes services, forms and field help
    return issuer


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_search_correct_filter_and_act_at_phone_width(indexed, e2e_browser, lang):
    issuer = indexed
    ctx = e2e_browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    page.goto(f"{issuer}/search/")
    assert_no_violations(page, f"search ({lang})")
    page.fill("#q", "senoir citizen card")
    page.click("#search-button")
    page.wait_for_url(re.compile(r".*q=.*"))
    assert page.locator("#corrected").count() == 1
    assert page.get_attribute(".s-result >> nth=0", "data-ref") == "senior-citizen-card"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_no_violations(page, f"search results ({lang})")

    page.click("#filters summary")
    page.check("#kind-form")
    page.click("#filter-button")
    page.wait_for_url(re.compile(r".*kind=form.*"))
    kinds = {page.get_attribute(f".s-result >> nth={i}", "data-kind") for i in range(page.locator(".s-result").count())}
    assert kinds == {"form"}
    assert_no_violations(page, f"search filtered ({lang})")
    page.click(".s-result >> nth=0 >> a[data-action=apply]")
    page.wait_for_url(re.compile(r".*/services/senior-citizen-card/apply.*|.*login.*"))

    page.goto(f"{issuer}/search/?q=qqqzzzxx")
    assert page.locator("#no-results a[href='/assistant/']").count() == 1
    assert page.locator("#no-results a[href='/1823/new/']").count() == 1
    assert_no_violations(page, f"search empty ({lang})")
    ctx.close()


def test_search_editor_adds_and_removes_a_best_bet(indexed, e2e_browser):
    issuer = indexed
    editor = staff_user("counter_officer", username="search-editor")
    SearchEditor.objects.create(user=editor)
    ctx = e2e_browser.new_context(locale="zh-HK", viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    staff_login_page(page, issuer, editor, "/staff/search/best-bets/")
    assert_no_violations(page, "best bets")
    page.fill("#bb-query", "長者")
    page.select_option("#bb-kind", "service")
    page.fill("#bb-ref", "no-such-service")
    page.click("#add-button")
    assert "沒有這個搜尋結果" in page.inner_text("#form-error")
    assert_no_violations(page, "best bets error")
    page.fill("#bb-ref", "senior-citizen-card")
    page.click("#add-button")
    page.wait_for_selector("#bets")
    assert BestBet.objects.filter(query="長者").count() == 1
    page.goto(f"{issuer}/search/?q=長者")
    assert page.get_attribute(".s-best", "data-ref") == "senior-citizen-card"
    page.goto(f"{issuer}/staff/search/best-bets/")
    page.click("#bets button")
    page.wait_for_selector("#no-bets")
    assert not BestBet.objects.exists()
    ctx.close()
