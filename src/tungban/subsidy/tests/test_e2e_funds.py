"""The fund's page and the grant's page in headless Chromium at phone width (issue 20, part A):
the funder releases a year's compute funds and is refused a virement beyond what is available;
the grantee signs the agreement. axe-core finds nothing, in English and in Chinese."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from tungban.eservices import login
from tungban.eservices.models import Department
from tungban.eservices.tests.helpers import department_user
from tungban.subsidy.models import FundRelease
from tungban.subsidy.services import awards, scheme
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT
from tungban.testing.factories import staff_login_page

from .conftest import make_application, terms

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _page(browser, lang="en"):
    ctx = browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


def test_funder_releases_and_a_bad_virement_is_refused(issuer, e2e_browser):
    scheme.load_scheme(release_started=True, today=dt.date(2024, 4, 1))
    Department.objects.get_or_create(
        code="DPO", defaults={"name_en": "Digital Policy Office", "name_zh": "數字政策辦公室", "source_path": "t"}
    )
    officer = department_user("dpo-e2e", "DPO")
    page, errors = _page(e2e_browser)
    staff_login_page(page, issuer, officer, "/staff/subsidy/funds/?fy=2025-26")
    assert page.text_content("#line-compute .available").strip() == "0.00"
    assert_no_violations(page, "the fund (en)")
    page.click("#release-compute button")
    page.wait_for_selector(".messages li")
    assert page.text_content("#line-compute .available").strip() == "857,000,000.00"
    assert FundRelease.objects.get(fiscal_year="2025-26", line="compute").state == "released"
    page.select_option("#from_line", "ecosystem")
    page.select_option("#to_line", "compute")
    page.fill("#v-amount", "99000000")
    page.fill("#v-requested", "DPO memo 7")
    page.fill("#v-reason-en", "promotion")
    page.fill("#v-reason-zh", "宣傳")
    page.click("#virement-form button")
    page.wait_for_selector(".messages li.error")
    assert "cannot move more" in page.text_content(".messages li.error")
    assert_no_violations(page, "the fund with an error (en)")
    zh, zh_errors = _page(e2e_browser, "zh")
    staff_login_page(zh, issuer, officer, "/staff/subsidy/funds/?fy=2025-26")
    zh.wait_for_selector("h1")
    assert "撥款" in zh.text_content("h1")
    assert_no_violations(zh, "the fund (zh)")
    assert errors == [] and zh_errors == []


def test_grantee_signs_the_agreement(issuer, e2e_browser, officer, monkeypatch):
    from tungban.corpid import services as corpid
    from tungban.testing.factories import make_resident

    from .conftest import BRN, REGISTER

    monkeypatch.setattr(awards, "compute_services", lambda: None)
    scheme.load_scheme(release_started=True, today=dt.date(2024, 4, 1))
    corpid.load_register(REGISTER)
    director = make_resident(officer, hkid="A1234563")
    corpid.bootstrap(director, BRN)
    award = awards.make_award(make_application(), terms(), decided_at=timezone.now(), actor="chair")
    session = SessionStore()
    session[login.SESSION_KEY] = {"resident": str(director.public_id), "sub": "sub-e2e"}
    session.save()
    for lang in ("en", "zh"):
        page, errors = _page(e2e_browser, lang)
        page.context.add_cookies(
            [{"name": django_settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": issuer}]
        )
        page.goto(f"{issuer}/subsidy/grants/{award.public_id}/")
        page.wait_for_selector("#terms")
        assert_no_violations(page, f"the grant ({lang})")
        assert errors == []
    page.click("#sign")
    page.wait_for_selector("#agreement")
    award.refresh_from_db()
    assert award.state == "active"
    assert_no_violations(page, "the grant, signed (zh)")


def test_cyberport_keeps_the_price_book_on_a_phone(issuer, e2e_browser):
    scheme.load_scheme(release_started=True, today=dt.date(2024, 4, 1))
    Department.objects.get_or_create(
        code="CYBERPORT", defaults={"name_en": "Cyberport", "name_zh": "數碼港", "source_path": "t"}
    )
    officer = department_user("cp-e2e", "CYBERPORT")
    page, errors = _page(e2e_browser, "zh")
    staff_login_page(page, issuer, officer, "/staff/subsidy/funds/")
    page.fill("#cm-h800", "2025-01")
    page.fill("#cn-h800", "0")
    page.click("#capacity-form-h800 button")
    page.wait_for_selector(".messages li")
    assert_no_violations(page, "the fund, Cyberport's forms (zh)")
    assert errors == []
