"""The 1823 desk in headless Chromium at phone width, in English and in Chinese: a Highways
Department case officer logs in (password and TOTP), opens the queue, accepts a street-light
case, replies, tries to close without a reply (refused in their language), closes it; the
coordinator opens the escalated queue and the KPI dashboard. axe-core finds nothing on any page,
and no page scrolls sideways."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tungban.hotline.constants import CaseState
from tungban.hotline.models import Case
from tungban.hotline.services import cases
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT
from tungban.testing.factories import staff_login_page

from .conftest import PNG, lamp_case

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
TEXT = {
    "en": {"refused": "Write the reply to the person"},
    "zh": {"refused": "請填寫給市民的回覆"},
}


def _page(browser, lang):
    ctx = browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


def _check(page, what):
    assert_no_violations(page, what)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], what


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_officer_accepts_replies_closes_and_coordinator_decides(
    issuer, hotline, hyd_officer, coordinator, e2e_browser, lang
):
    case, _ = lamp_case(attachments=[("lamp.png", PNG)], contact={"name": "Chan Tai Man", "phone": "9123 4567"})
    stuck, _ = lamp_case(description="Another dark lamp nobody took.")
    Case.objects.filter(pk=stuck.pk).update(accept_due_at=timezone.now() - dt.timedelta(minutes=1))
    assert cases.escalate_due() == {"hotline.Case": 1}

    page, errors = _page(e2e_browser, lang)
    staff_login_page(page, issuer, hyd_officer, "/staff/1823/")
    _check(page, f"1823 queue ({lang})")
    page.click(f"#waiting a:text('{case.reference}')")
    page.wait_for_selector("#case-state[data-state=assigned]")
    _check(page, f"1823 case, assigned ({lang})")
    page.click("#accept")
    page.wait_for_selector("#case-state[data-state=accepted]")
    page.fill("#id_reply-text", "Our contractor will repair the lamp tomorrow.")
    page.click("#reply")
    page.wait_for_selector("#history tr[data-kind=replied]")
    page.click("#close")
    page.wait_for_selector("#action-error")
    assert TEXT[lang]["refused"] in page.inner_text("#action-error")
    _check(page, f"1823 case, refused closure ({lang})")
    page.fill("#id_close-text", "The lamp was repaired.")
    page.click("#close")
    page.wait_for_selector("#case-state[data-state=closed]")
    assert Case.objects.get(pk=case.pk).state == CaseState.CLOSED
    page.goto(f"{issuer}/staff/1823/kpi/")
    _check(page, f"1823 KPI ({lang})")
    assert page.locator("#kpi tr[data-department=HYD]").count() == 1
    page.context.close()

    page, errors2 = _page(e2e_browser, lang)
    staff_login_page(page, issuer, coordinator, "/staff/1823/coordinator/")
    _check(page, f"1823 coordinator ({lang})")
    page.click(f"#escalated a:text('{stuck.reference}')")
    page.wait_for_selector("#lead-form")
    _check(page, f"1823 case, escalated ({lang})")
    page.select_option("#id_lead-department", "HYD")
    page.fill("#id_lead-decided_by", "Deputy Chief Secretary for Administration, meeting of 3 March 2026")
    page.click("#lead")
    page.wait_for_selector("#case-state[data-state=accepted]")
    assert Case.objects.get(pk=stuck.pk).lead_decided_by.startswith("Deputy Chief Secretary")
    page.context.close()
    assert errors == [] and errors2 == []
