"""Issue 22, acceptance 4, end to end in headless Chromium at phone width, in English and in
Chinese: a resident logged in to the portal searches in Chinese and finds the service; asks the
assistant a question the platform's pages answer (a quoted answer with its source link) and one
they do not (the hand-off); follows the hand-off to 1823, picks the matter and submits the case
with the conversation's transcript; the department's case officer logs in (password and TOTP),
accepts and closes the case with a reply; the resident opens the app's "My 1823 cases" card,
reads the closure on the case's page and reopens it. axe-core finds nothing on any page."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore

from tungban.credentials import catalogue as credential_catalogue
from tungban.eservices import login
from tungban.eservices import services as eservices
from tungban.hotline.constants import CaseState, Channel
from tungban.hotline.models import Case
from tungban.hotline.services import faqs
from tungban.payments.services import load_fees
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import make_resident, staff_login_page
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
CARD = '#panel-cards li[data-kind="hotline.cases"]'
TEXT = {
    "en": {
        "search": "長者卡",  # the resident searches in Chinese on the English page too
        "answered": "How many working days does the senior citizen card take?",
        "unanswered": "The refuse outside my building has not been collected for three days",
        "matter": "refuse",
        "description": "Refuse bags piled up at the entrance of 8 Fa Yuen Street since Monday.",
        "reply": "Our team cleared the refuse on 4 December and will collect daily.",
        "reason": "The bags are back and nobody has come for two days.",
    },
    "zh": {
        "search": "長者卡",
        "answered": "長者咭要等幾多個工作天",
        "unanswered": "我住嘅大廈門口啲垃圾三日都冇人收",
        "matter": "垃圾",
        "description": "花園街8號入口由星期一開始堆滿垃圾袋。",
        "reply": "我們已於12月4日清理垃圾，並會每日收集。",
        "reason": "垃圾袋又再堆積，兩日都沒有人來收。",
    },
}


def _check(page, what: str) -> None:
    assert_no_violations(page, what)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], what


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_search_ask_hand_off_close_and_reopen_from_the_app(issuer, officer, e2e_browser, hotline, fehd_officer, lang):
    credential_catalogue.register_bundled()
    load_fees()
    eservices.load_catalogue()  # services and forms, indexed for search
    faqs.load()  # the 1823 FAQ, indexed for search and the assistant
    text = TEXT[lang]
    resident = make_resident(officer)

    ctx = e2e_browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(ctx, page)
    bind_web_app(page, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))
    session = SessionStore()  # logged in to the e-services portal (its login flow has its own tests)
    session[login.SESSION_KEY] = {"resident": str(resident.public_id), "sub": "e2e-1823"}
    session.create()
    ctx.add_cookies([{"name": "tungban_session", "value": session.session_key, "url": issuer}])

    # 1. Search in Chinese: the senior citizen card is found, with what the resident can do.
    page.goto(f"{issuer}/search/")
    page.fill("#q", text["search"])
    page.click("#search-button")
    page.wait_for_selector("#results-heading")
    top3 = page.locator("ol.s-results > li").evaluate_all("els => els.slice(0, 3).map(e => e.dataset.ref)")
    assert "senior-citizen-card" in top3, top3
    _check(page, f"search results ({lang})")

    # 2. The assistant answers from the platform's content, quoted with its source ...
    page.goto(f"{issuer}/assistant/")
    _check(page, f"assistant ({lang})")
    page.fill("#question", text["answered"])
    page.click("#send")
    answer = page.locator('#log li.turn.assistant[data-kind="answer"]').last
    answer.wait_for()
    source = answer.locator("p.source a").first
    assert source.get_attribute("href").startswith("/services/senior-citizen-card/")
    assert answer.locator("blockquote, .quote").first.inner_text().strip()
    # ... and offers 1823 for what the content does not cover.
    page.fill("#question", text["unanswered"])
    page.click("#send")
    offer = page.locator('#log li.turn.assistant[data-kind="handoff"], #log li.turn.assistant[data-kind="refuse"]')
    offer.first.wait_for()
    assert offer.first.locator("blockquote").count() == 0  # no answer invented
    _check(page, f"assistant with an answer and a hand-off ({lang})")
    offer.first.locator("a.handoff").click()

    # 3. The hand-off: pick the matter, describe it, submit with the transcript.
    page.wait_for_url(lambda url: "/1823/new/" in url and "conversation=" in url)
    page.fill("#q", text["matter"])
    page.click("#type-search button[type=submit]")
    page.wait_for_selector('.type-item[data-code="refuse-collection"]')
    page.click('.type-item[data-code="refuse-collection"] a')
    page.wait_for_selector("#case-form")
    _check(page, f"1823 form from the hand-off ({lang})")
    page.fill("#description", text["description"])
    page.click("#submit-case")
    page.wait_for_selector("#reference")
    reference = page.text_content("#reference").strip()
    _check(page, f"1823 submitted ({lang})")
    case = Case.objects.get(reference=reference)
    assert case.resident_id == resident.pk and case.channel == Channel.ASSISTANT
    assert text["unanswered"] in case.transcript and text["answered"] in case.transcript
    assert case.department_id == "FEHD" and case.state == CaseState.ASSIGNED

    # 4. The department's case officer accepts and closes it with a reply.
    staff = e2e_browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    staff.set_default_timeout(TIMEOUT)
    desk = staff.new_page()
    staff_login_page(desk, issuer, fehd_officer, "/staff/1823/")
    desk.click(f"#waiting a:text('{reference}')")
    desk.wait_for_selector("#case-state[data-state=assigned]")
    assert text["unanswered"] in desk.inner_text("body")  # the transcript reaches the department
    desk.click("#accept")
    desk.wait_for_selector("#case-state[data-state=accepted]")
    desk.fill("#id_close-text", text["reply"])
    desk.click("#close")
    desk.wait_for_selector("#case-state[data-state=closed]")
    staff.close()

    # 5. In the app: the card shows the case closed; its page has the reply; the resident reopens.
    page.goto(f"{issuer}/app/")
    page.click("#assistant-link")
    page.wait_for_selector('#panel-manage li[data-kind="hotline.cases"]')
    page.click('#panel-manage li[data-kind="hotline.cases"] button.add')
    page.wait_for_selector(f'{CARD}[data-state="ok"]')
    link = page.locator(f"{CARD} dt:has-text('{reference}') + dd a")
    assert link.count() == 1
    status = link.inner_text()  # the closure date and the way to the reply
    assert status.startswith("Closed on" if lang == "en" else "已於"), status
    _check(page, f"app: my 1823 cases ({lang})")
    link.click()
    page.wait_for_selector("#closure-reply")
    assert page.text_content("#closure-reply").strip() == text["reply"]
    assert page.get_attribute("#state-words", "data-state") == "closed"
    _check(page, f"1823 case closed ({lang})")
    page.fill("#reason", text["reason"])
    page.click("#reopen")
    page.wait_for_selector("#reopened-note")
    assert page.get_attribute("#state-words", "data-state") == "accepted"
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED and case.reopened_count == 1 and case.department_id == "FEHD"
    assert errors == []
    ctx.close()
