"""The departmental data catalogue in headless Chromium at phone width, in English and in
Chinese: a data officer writes an entry with a bad attributes line (refused in the page's
language, nothing stored), corrects it, tries to propose a personal-data entry as open data
(refused) and keeps it internal; the Departmental Data Officer approves it and sees the
progress dashboard; an officer of another department finds it by a Chinese word but has no
way to change it. axe-core finds nothing on any page."""

from __future__ import annotations

import pytest

from tungban.opendata.constants import Disposition, Role
from tungban.opendata.models import CatalogueEntry, DataOfficer, Organization
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT
from tungban.testing.factories import staff_login_page, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
TEXT = {
    "en": {"bad": "Line 2: write four parts", "personal": "contains personal data"},
    "zh": {"bad": "第2行", "personal": "此數據載有個人資料"},
}


@pytest.fixture
def epd_officer(db):
    org = Organization.objects.create(
        name="hk-epd", title_en="Environmental Protection Department", title_zh="環境保護署"
    )
    user = staff_user("none", username="epd-data-officer")
    DataOfficer.objects.create(user=user, organization=org, role=Role.DATA_OFFICER)
    return user


def _page(browser, lang):
    ctx = browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


def _fits(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_officer_catalogues_ddo_approves_other_department_reads(
    lang,
    live_server,
    e2e_browser,
    officer,
    ddo,
    org,
    epd_officer,
    groups,
):
    base = live_server.url
    page, errors = _page(e2e_browser, lang)
    staff_login_page(page, base, officer, "/staff/data/catalogue/new/")
    assert_no_violations(page, f"new entry ({lang})")
    _fits(page)
    page.fill("#id_title_en", "Driving licence holders")
    page.fill("#id_title_zh", "駕駛執照持有人")
    page.select_option("#id_data_type", "tabular")
    page.fill("#id_scope_en", "Every holder of a full or learner driving licence.")
    page.fill("#id_scope_zh", "所有正式及學習駕駛執照持有人。")
    page.fill("#id_attributes", "licence_no | string | Licence number | 執照號碼\nbroken")
    page.check("#id_personal_data")
    page.fill("#id_owner", "Licensing Division")
    page.click("#entry-save")
    page.wait_for_selector("#entry-form .error")
    assert TEXT[lang]["bad"] in page.text_content("#entry-form")
    assert_no_violations(page, f"new entry refused ({lang})")
    assert not CatalogueEntry.objects.exists()
    page.fill(
        "#id_attributes", "licence_no | string | Licence number | 執照號碼\nexpiry | date | Expiry date | 屆滿日期"
    )
    page.click("#entry-save")
    page.wait_for_selector("#attributes")
    assert_no_violations(page, f"entry ({lang})")
    _fits(page)
    entry = CatalogueEntry.objects.get()
    assert entry.attributes[1]["description_zh"] == "屆滿日期"

    page.click("#propose-open")
    page.fill("#id_name", "driving-licence-holders")
    page.click("#action-submit")
    page.wait_for_selector("#action-form .error")
    assert TEXT[lang]["personal"] in page.text_content("#action-form")
    assert_no_violations(page, f"propose refused ({lang})")
    page.goto(f"{base}/staff/data/catalogue/{entry.pk}/internal/")
    page.fill("#id_reason_en", "Personal data of licence holders (PDPO).")
    page.fill("#id_reason_zh", "執照持有人的個人資料（私隱條例）。")
    page.click("#action-submit")
    page.wait_for_selector("#disposition")
    entry.refresh_from_db()
    assert entry.disposition == Disposition.INTERNAL
    assert page.locator("#approve-entry").count() == 0
    assert errors == []

    # The DDO approves and reads the dashboard.
    page, errors = _page(e2e_browser, lang)
    staff_login_page(page, base, ddo, f"/staff/data/catalogue/{entry.pk}/")
    page.click("#approve-entry")
    page.wait_for_selector("#messages")
    entry.refresh_from_db()
    assert entry.ddo_approved_by == ddo
    page.goto(f"{base}/staff/data/catalogue/progress/")
    assert page.text_content('#progress tr[data-organization="hk-td"] td[data-col="approved"]') == "1"
    assert_no_violations(page, f"progress ({lang})")
    assert errors == []

    # Another department's officer finds it by a Chinese word, and cannot change it.
    page, errors = _page(e2e_browser, lang)
    staff_login_page(page, base, epd_officer, "/staff/data/catalogue/")
    page.fill("#id_q", "駕駛")
    page.click("#catalogue-search button[type=submit]")
    page.wait_for_selector(f'#entries tr[data-entry="{entry.pk}"]')
    assert_no_violations(page, f"search ({lang})")
    _fits(page)
    page.click(f'#entries tr[data-entry="{entry.pk}"] a')
    page.wait_for_selector("#attributes")
    assert page.locator("#edit-entry").count() == 0
    assert errors == []
