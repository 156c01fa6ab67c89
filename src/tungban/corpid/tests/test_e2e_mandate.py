"""CorpID end to end in headless Chromium at phone width (issue 19, first wave): a director sets
up the company's CorpID on the administrators' page and offers a mandate to an employee by HKID
number; the employee adds "Companies I act for" to the app's personal assistant, opens the
offer from the card and accepts it in the app (passkey and device signature); the card then
shows the mandate in force, and so does the administrators' page. axe-core finds nothing, in
English and in Chinese. (The director's portal login is set in the session: the portal's own
tests log in through the app.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import expect

from tungban.corpid import services
from tungban.corpid.models import Mandate
from tungban.eservices import login
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import make_resident
from tungban.wallet import services as wallet

from .conftest import REGISTER, TAI_MAN_BRN

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
CARD = '#panel-cards li[data-kind="corpid.companies"]'


def _no_overflow(page, what: str) -> None:
    wide = page.evaluate(
        "[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(e => e.id || e.className || e.tagName)"
    )
    assert not wide, f"{what}: wider than the phone: {wide}"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_director_grants_and_the_employee_accepts_in_the_app(issuer, officer, e2e_browser, tmp_path, lang):
    services.load_register(REGISTER)
    director = make_resident(officer, hkid="A1234563")
    employee = make_resident(
        officer, hkid="G123456A", family_name_en="WONG", given_name_en="Siu Ling", name_zh="黃小玲"
    )
    locale = "en-GB" if lang == "en" else "zh-HK"
    shots = Path(os.environ.get("TUNGBAN_E2E_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []

    # The director, logged in to the portal.
    boss = e2e_browser.new_context(locale=locale, viewport=PHONE)
    boss.set_default_timeout(TIMEOUT)
    session = SessionStore()
    session[login.SESSION_KEY] = {"resident": str(director.public_id), "sub": "e2e"}
    session.create()
    boss.add_cookies([{"name": "tungban_session", "value": session.session_key, "url": issuer}])
    page = boss.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{issuer}/business/")
    assert_no_violations(page, f"CorpID: companies I act for, none yet ({lang})")
    page.fill("#br_number", "2181234")  # 7 digits: refused, nothing stored
    page.click("#set-up")
    page.wait_for_selector("#br_number-error")
    assert ("8 digits" if lang == "en" else "8位數字") in page.text_content("#br_number-error")
    assert page.get_attribute("#br_number", "aria-invalid") == "true"
    assert_no_violations(page, f"CorpID: a wrong BR number ({lang})")
    page.fill("#br_number", TAI_MAN_BRN)
    page.click("#set-up")
    page.wait_for_url(f"{issuer}/business/{TAI_MAN_BRN}/")
    assert page.text_content("h1") == (
        "Tai Man Demo Trading Company Limited" if lang == "en" else "大文示範貿易有限公司"
    )
    page.fill("#holder_hkid", employee.hkid)
    page.select_option("#role", "user")
    page.fill("#services", "*")
    page.check('input[name=actions][value="pay"]')
    page.click("#grant")
    page.wait_for_selector('#mandates li[data-state="offered"]')
    assert_no_violations(page, f"CorpID: the administrators' page with an offer ({lang})")
    _no_overflow(page, "the administrators' page")
    page.screenshot(path=str(shots / f"corpid-admin-offered-{lang}-390.png"), full_page=True)
    mandate = Mandate.objects.get(holder=employee)
    assert (mandate.actions, mandate.state) == (["view", "apply", "pay"], "offered")

    # The employee, in the app.
    staff = e2e_browser.new_context(locale=locale, viewport=PHONE)
    staff.set_default_timeout(TIMEOUT)
    app = staff.new_page()
    app.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(staff, app)
    bind_web_app(app, issuer, employee.hkid, wallet.issue_activation_code(employee, officer))
    app.click("#assistant-link")
    app.wait_for_selector('#panel-manage li[data-kind="corpid.companies"]')
    app.click('#panel-manage li[data-kind="corpid.companies"] button.add')
    app.wait_for_selector(f'{CARD}[data-state="ok"]')
    card = app.locator(CARD)
    assert ("Waiting for your answer" if lang == "en" else "等待你回覆") in card.text_content()
    assert_no_violations(app, f"app: Companies I act for, an offer waiting ({lang})")
    card.locator("button.card-action").click()
    app.wait_for_selector("#screen-approve:not([hidden])")
    # The app shows the mandate's terms (the device signature covers their digest).
    terms = app.text_content("#request-details")
    assert ("User" if lang == "en" else "使用者") in terms and TAI_MAN_BRN in terms
    assert ("View, Apply, Pay" if lang == "en" else "查閱、申請、繳費") in terms
    assert app.text_content("#request-details-title") == (
        "Accept this mandate to act for the company?" if lang == "en" else "接受此代表公司行事的授權？"
    )
    expect(app.locator("#claims-set")).to_be_hidden(timeout=TIMEOUT)
    assert_no_violations(app, f"app: accepting a mandate ({lang})")
    app.screenshot(path=str(shots / f"corpid-app-approve-{lang}-390.png"), full_page=True)
    app.click("#approve-button")
    app.wait_for_selector("#result:not([hidden])")
    mandate.refresh_from_db()
    assert mandate.state == "active"

    app.goto(f"{issuer}/app/#assistant")
    app.wait_for_selector(f'{CARD}[data-state="ok"]')
    app.wait_for_function(
        f"() => document.querySelector('{CARD}').textContent.includes('{'In force' if lang == 'en' else '有效'}')"
    )
    assert card.locator("button.card-action").count() == 0
    assert_no_violations(app, f"app: Companies I act for, in force ({lang})")
    app.screenshot(path=str(shots / f"corpid-app-in-force-{lang}-390.png"), full_page=True)
    assert services.authority(employee, TAI_MAN_BRN, "any-service", "pay") == mandate

    # The administrators' page shows it in force, and the audit trail who did what.
    page.reload()
    row = page.locator(f'#mandates li[data-mandate="{mandate.public_id}"]')
    assert row.get_attribute("data-in-force") == "yes"
    assert ("In force" if lang == "en" else "有效") in row.locator(".mandate-state").text_content()
    trail = page.text_content("#events")
    assert ("Accepted the mandate in the app" if lang == "en" else "在應用程式內接受了授權") in trail
    assert_no_violations(page, f"CorpID: the administrators' page, mandate in force ({lang})")
    page.screenshot(path=str(shots / f"corpid-admin-in-force-{lang}-390.png"), full_page=True)
    boss.close()
    staff.close()
    assert not errors, errors
