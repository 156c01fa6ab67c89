"""The public catalogue in headless Chromium at phone width, in English and in Chinese: a
resident searches in Chinese, filters to the cross-boundary services, opens a service that is
not online here (how to apply, fees, documents), then finds the services fully online here
and follows "Apply online" to the service's start page. axe-core finds nothing on any page.
"""

from __future__ import annotations

import re

import pytest

from tungban.credentials import catalogue as credential_catalogue
from tungban.eservices import services
from tungban.payments.services import load_fees
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def catalogue_ready(issuer, settings, tmp_path):
    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"
    credential_catalogue.register_bundled()
    load_fees()  # the fee schedule (issue 18), as `tungban setup` loads it
    services.load_catalogue()
    return issuer


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_search_filter_read_and_apply_at_phone_width(catalogue_ready, e2e_browser, lang):
    issuer = catalogue_ready
    ctx = e2e_browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{issuer}/services/")
    assert_no_violations(page, f"e-services catalogue ({lang})")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling

    # A Chinese substring, whatever the page's language.
    page.fill("#q", "護照")
    page.click("#catalogue-search button[type=submit]")
    page.wait_for_url(re.compile(r".*q=.*"))
    assert page.locator(".service-item").count() == 1
    assert page.get_attribute(".service-item", "data-slug") == "hksar-passport"

    # The cross-boundary filter, then a service that is not online here.
    page.fill("#q", "")
    page.check("input[name=cross_boundary]")
    page.click("#catalogue-search button[type=submit]")
    page.wait_for_url(re.compile(r".*cross_boundary=1.*"))
    assert page.locator(".service-item").count() >= 10
    assert_no_violations(page, f"e-services catalogue filtered ({lang})")
    page.goto(f"{issuer}/services/driving-licence-renewal/")
    assert page.locator("#apply-online").count() == 0
    assert page.get_attribute("#department-page", "href") == "https://www.td.gov.hk"
    assert "HK$900" in page.text_content("#fees")
    assert ("深圳" if lang == "zh" else "Shenzhen") in page.text_content("#cross-boundary")
    assert_no_violations(page, f"e-services service not online ({lang})")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The services fully online here; "Apply online" leads to the service's start page.
    page.goto(f"{issuer}/services/")
    page.check("input[name=online]")
    page.click("#catalogue-search button[type=submit]")
    page.wait_for_url(re.compile(r".*online=1.*"))
    assert sorted(page.locator(".service-item").evaluate_all("els => els.map(e => e.dataset.slug)")) == [
        "ai-subsidy-scheme",  # the AI Subsidy Scheme (issue 20), online for organisations through CorpID
        "certificate-of-resident-status-company",
        "fire-service-installation-certificate",
        "senior-citizen-card",
        "temporary-hawker-licence",
    ]
    page.click(".service-item[data-slug=senior-citizen-card] h3 a")
    page.wait_for_selector("#apply-online")
    assert page.text_content("#service-name").strip() == (
        "申請長者咭" if lang == "zh" else "Senior Citizen Card application"
    )
    assert_no_violations(page, f"e-services service online ({lang})")
    page.click("#apply-online")
    page.wait_for_url(re.compile(r".*/services/senior-citizen-card/apply$"))
    page.wait_for_selector("#start")
    assert errors == []
    ctx.close()
