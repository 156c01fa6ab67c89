"""The officers' workbench in headless Chromium at phone width (issue 17): an SWD approver logs
in (password and TOTP), opens the queue, takes the new application, asks the resident for more
information, sees the answer, approves; the e-licence is issued. axe-core finds nothing on the
workbench, the case, the bulk result, the reports and the webhook log, in English and in
Chinese."""

from __future__ import annotations

import pytest

from tungban.credentials import catalogue as credential_catalogue
from tungban.eservices import services
from tungban.eservices.models import ApplicationEvent, State
from tungban.eservices.tests.helpers import department_user
from tungban.eservices.tests.staffing import (
    approve_on_page,
    open_case_from_queue,
    request_information_on_page,
    submitted_senior_cards,
)
from tungban.payments.services import load_fees
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT
from tungban.testing.factories import make_resident, staff_login_page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def ready(issuer, settings, tmp_path):
    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"
    credential_catalogue.register_bundled()
    load_fees()  # the fee schedule (issue 18), as `tungban setup` loads it
    services.load_catalogue()
    return issuer


def _page(browser, lang="en"):
    ctx = browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


def test_queue_request_information_then_approve(ready, officer, e2e_browser):
    issuer = ready
    resident = make_resident(officer)
    (app,) = submitted_senior_cards(resident, 1)
    approver = department_user("swd-approver-e2e", "SWD", "approver")
    page, errors = _page(e2e_browser)
    staff_login_page(page, issuer, approver, "/staff/eservices/SWD/")
    row = page.locator(f'#queue tr[data-reference="{app.reference}"]')
    assert "working days left" in row.text_content()
    assert page.text_content("#eservices-home-link").strip() == "e-Services workbench"
    row.locator("a").click()
    page.wait_for_url(f"{issuer}/staff/eservices/cases/{app.reference}/")
    assert page.get_attribute("#case-state", "data-state") == "submitted"

    # The request needs both languages: the Chinese is missing, the page says so.
    page.fill("#id_ri-text_en", "Please upload a photo taken in the last six months.")
    page.click("#request-information")
    page.wait_for_selector("#action-error")
    assert "Write the request in English and in Chinese." in page.text_content("#action-error")
    assert_no_violations(page, "case with an error (en)")
    request_information_on_page(
        page, "Please upload a photo taken in the last six months.", "請上載最近六個月內拍攝的相片。"
    )

    services.respond_to_information(services.get_application(app.reference), resident, "Uploaded at the counter.")
    open_case_from_queue(page, issuer, "SWD", app.reference, queue="in_review")
    assert "Uploaded at the counter." in page.text_content("#info-title + .card")
    approve_on_page(page)
    assert ApplicationEvent.objects.filter(application__reference=app.reference, action="approved").count() == 1
    assert services.get_application(app.reference).state == State.LICENCE_ISSUED
    assert errors == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_workbench_pages_have_no_accessibility_violations(ready, officer, e2e_browser, lang):
    issuer = ready
    resident = make_resident(officer)
    a, b, c = submitted_senior_cards(resident, 3)
    approver = department_user(f"swd-a11y-{lang}", "SWD", "approver")
    services.request_information(c, approver, "More please.", "請補充。")
    services.respond_to_information(c, resident, "Here.")
    services.approve(c, approver)
    page, errors = _page(e2e_browser, lang)
    staff_login_page(page, issuer, approver, "/staff/eservices/SWD/")
    assert_no_violations(page, f"queues ({lang})")
    page.click("#queue-overdue")
    page.wait_for_selector("#queue-empty")
    assert_no_violations(page, f"empty queue ({lang})")
    page.goto(f"{issuer}/staff/eservices/SWD/?search=1&state=licence_issued")
    page.wait_for_selector("#search-results")
    assert_no_violations(page, f"search results ({lang})")
    page.goto(f"{issuer}/staff/eservices/SWD/?queue=new")
    page.check(f"#pick-{a.reference}")
    page.check(f"#pick-{b.reference}")
    page.select_option("#id_action", "assign")
    page.click("#bulk-submit")
    page.wait_for_selector("#bulk-results")
    assert_no_violations(page, f"bulk results ({lang})")
    page.goto(f"{issuer}/staff/eservices/cases/{c.reference}/")
    assert_no_violations(page, f"decided case ({lang})")
    page.goto(f"{issuer}/staff/eservices/cases/{a.reference}/")
    assert_no_violations(page, f"case in review ({lang})")
    page.goto(f"{issuer}/staff/eservices/SWD/reports/")
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert_no_violations(page, f"reports ({lang})")
    page.goto(f"{issuer}/staff/eservices/SWD/webhooks/")
    assert_no_violations(page, f"webhook log ({lang})")
    page.goto(f"{issuer}/staff/eservices/FEHD/")
    assert_no_violations(page, f"another department refused ({lang})")
    assert errors == []
