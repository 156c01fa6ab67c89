"""The scheme's report pages in headless Chromium at phone width, in English and Chinese
(issue 20, part F): a Cyberport officer logs in (password and TOTP), reads the KPI dashboard
(the charts load as images, each with its table), the standard reports, drafts and submits the
annual report (seed 000 §21; frozen afterwards), reviews a progress report; the grantee's
director submits a progress report. axe-core finds nothing on any of these pages."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command

from tungban.eservices.models import Department, DepartmentOfficer
from tungban.subsidy.models import Award
from tungban.subsidy.models_progress import AnnualReport, ProgressReport, ProgressReportState
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT
from tungban.testing.factories import make_resident, staff_login_page, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
REGISTER = Path(__file__).resolve().parents[4] / "examples" / "providers" / "cr_register.json"
BRN = "21812345"


def _page(browser, lang):
    ctx = browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


def _cyberport_officer(name):
    Department.objects.get_or_create(
        code="CYBERPORT", defaults={"name_en": "Cyberport", "name_zh": "數碼港", "source_path": "-"}
    )
    user = staff_user("none", username=name)
    DepartmentOfficer.objects.create(user=user, department_id="CYBERPORT", role="officer")
    return user


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_pages(issuer, e2e_browser, lang):
    call_command("seed_subsidy", "--seed", "6", stdout=io.StringIO())
    user = _cyberport_officer(f"cyberport-{lang}")
    page, errors = _page(e2e_browser, lang)
    staff_login_page(page, issuer, user, "/staff/subsidy/reports/")

    # the dashboard: every chart loads as an image and has its table
    for name in ("utilisation", "categories", "times", "amounts"):
        image = page.locator(f"#chart-{name} img")
        page.wait_for_function(f"document.querySelector('#chart-{name} img').naturalWidth > 0")
        assert image.get_attribute("alt")
        assert page.locator(f"#{name}-table tbody tr").count() > 0
    assert_no_violations(page, f"KPI dashboard ({lang})")

    page.click("a[href='/staff/subsidy/reports/standard/']")
    page.wait_for_selector("#report-projects")
    assert page.locator("#projects-table tbody tr").count() == Award.objects.count()
    assert_no_violations(page, f"standard reports ({lang})")

    page.goto(f"{issuer}/staff/subsidy/reports/annual/")
    assert_no_violations(page, f"annual reports ({lang})")
    page.goto(f"{issuer}/staff/subsidy/reports/annual/2025-26/")
    page.wait_for_selector("#draft")
    page.fill("#id_security_audit_en", "Independent audit done.")
    page.fill("#id_security_audit_zh", "獨立審計已完成。")
    page.click("#annual-texts button[type=submit]")
    page.wait_for_selector("[role=status]")
    assert_no_violations(page, f"annual report draft ({lang})")
    page.click("#annual-submit button[type=submit]")
    page.wait_for_selector("#frozen")
    report = AnnualReport.objects.get(fiscal_year="2025-26")
    assert page.text_content("#pdf-sha256").strip() == report.pdf_sha256
    assert page.locator("#annual-submit").count() == 0
    assert_no_violations(page, f"annual report frozen ({lang})")

    item = ProgressReport.objects.filter(state=ProgressReportState.SUBMITTED).first()
    page.goto(f"{issuer}/staff/subsidy/reports/progress/")
    page.click(f"a[href='/staff/subsidy/reports/progress/{item.public_id}/']")
    page.wait_for_selector("#review-form")
    page.select_option("#id_decision", "return")
    page.click("#review-form button[type=submit]")
    page.wait_for_selector(".error")
    assert_no_violations(page, f"progress review with an error ({lang})")
    page.select_option("#id_decision", "accept")
    page.click("#review-form button[type=submit]")
    page.wait_for_url(f"{issuer}/staff/subsidy/reports/progress/")
    item.refresh_from_db()
    assert item.state == ProgressReportState.ACCEPTED
    assert_no_violations(page, f"progress reports awaiting review ({lang})")
    assert not errors


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_grantee_progress_pages(issuer, e2e_browser, officer, lang, settings, tmp_path):
    from tungban.corpid import services as corpid
    from tungban.credentials import catalogue as credential_catalogue
    from tungban.eservices import login
    from tungban.eservices import services as eservices

    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"
    credential_catalogue.register_bundled()
    eservices.load_catalogue()
    call_command("seed_subsidy", "--seed", "6", stdout=io.StringIO())
    corpid.load_register(REGISTER)
    boss = make_resident(officer, hkid="A1234563")
    corpid.bootstrap(boss, BRN)
    award = Award.objects.order_by("decided_at").first()
    award.application.br_number = BRN
    award.application.save()
    item = award.progress_reports.order_by("-sequence").first()
    ProgressReport.objects.filter(pk=item.pk).update(state=ProgressReportState.DUE)

    # the portal's session, as its login leaves it (the login itself is the e-services' e2e tests')
    session = SessionStore()
    session[login.SESSION_KEY] = {"resident": str(boss.public_id), "sub": "sub-for-tests"}
    session.save()
    page, errors = _page(e2e_browser, lang)
    page.context.add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": issuer}]
    )
    page.goto(f"{issuer}/subsidy/grants/{award.public_id}/reports/")
    page.wait_for_selector("#progress-reports")
    assert_no_violations(page, f"grantee's progress reports ({lang})")
    page.goto(f"{issuer}/subsidy/grants/{award.public_id}/reports/{item.sequence}/")
    page.fill("#id_progress", "")
    page.click("#progress-form button[type=submit]")  # nothing described: refused
    page.wait_for_selector("#id_progress_error")
    assert_no_violations(page, f"progress report with an error ({lang})")
    page.fill("#id_progress", "Fine-tuning finished; evaluation under way.")
    page.fill("#id_talents", "6")
    page.click("#progress-form button[type=submit]")
    page.wait_for_url(f"{issuer}/subsidy/grants/{award.public_id}/reports/")
    item.refresh_from_db()
    assert item.state == ProgressReportState.SUBMITTED and item.talents == 6
    assert not errors
