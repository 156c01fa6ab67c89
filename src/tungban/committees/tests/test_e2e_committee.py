"""A committee meeting in headless Chromium at phone width (issue 20, part E): two members, one
of the subject's own organisation (recused when the item was put on the agenda: anchor study
§3.2, seed 000 §12). The conflicted member sees "recused" and no scoring form; the other scores
the four criteria (seed 000 §13) and sees the weighted score; the chair (in Chinese) is refused
a decision without Chinese reasons, then approves with reasons and terms, closes the meeting
and opens the minutes. axe-core finds nothing on any page, in English and in Chinese."""

from __future__ import annotations

import pytest

from tungban.committees import services
from tungban.committees.models import AgendaItem, Minutes
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT
from tungban.testing.factories import staff_login_page

from .conftest import add_member

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _page(browser, lang="en"):
    ctx = browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


def test_conflicted_member_recused_other_scores_chair_decides(kind, committee, meeting, live_server, e2e_browser):
    base = live_server.url
    chair = add_member(committee, role="chair", brn="20000000", name="Chair Person")
    committee.members.filter(role="chair").exclude(pk=chair.pk).update(role="member")
    conflicted = add_member(committee, brn="12345678", name="Conflicted member")
    other = add_member(committee, brn="87654321", name="Other member")
    kind.proposal("p1", brns=["12345678"], cap=1000)
    item = services.add_item(meeting, kind.KIND, "p1")
    services.open_meeting(meeting, actor=chair.user)
    item_path = f"/staff/committees/items/{item.pk}/"

    # The conflicted member: "recused", no scoring form, no scores.
    page, errors = _page(e2e_browser)
    staff_login_page(page, base, conflicted.user, item_path)
    assert "You are recused from this item" in page.text_content("#recused")
    assert page.locator("#score-form").count() == 0 and page.locator("#scores").count() == 0
    assert_no_violations(page, "item, recused member (en, 390 px)")
    page.goto(f"{base}/staff/committees/meetings/{meeting.pk}/")
    assert "recused" in page.text_content(f'#agenda tr[data-item="{item.pk}"]')
    assert_no_violations(page, "agenda (en, 390 px)")
    page.goto(f"{base}/staff/committees/declarations/")
    assert_no_violations(page, "declarations (en, 390 px)")
    assert errors == []

    # The other member scores the four criteria.
    page, errors = _page(e2e_browser)
    staff_login_page(page, base, other.user, item_path)
    page.fill("#id_score-c_a", "11")  # the browser refuses it before sending (max 10); the server too (test_pages)
    assert page.eval_on_selector("#id_score-c_a", "e => e.validity.rangeOverflow") is True
    for code, value in zip("abcd", ("8", "6", "7", "9"), strict=True):
        page.fill(f"#id_score-c_{code}", value)
    page.click("#save-scores")
    page.wait_for_function("document.querySelector('#weighted-score').textContent.trim() === '7.550'")
    assert page.locator("#decision-form").count() == 0
    assert_no_violations(page, "item after scoring (en, 390 px)")
    assert errors == []

    # The chair, in Chinese: reasons in both languages are required, then the approval.
    page, errors = _page(e2e_browser, "zh")
    staff_login_page(page, base, chair.user, item_path)
    # The chair has not scored it: the others' scores stay hidden until they do (or it is decided).
    assert page.locator("#decision-weighted-score").count() == 0 and page.locator("#scores-hidden").count() == 1
    page.check("#id_decision-outcome_0")  # approve
    page.fill("#id_decision-reasons_en", "Strong fit with the Blueprint's strategic industries.")
    page.fill("#id_terms-amount", "900")
    page.click("#record-decision")
    page.wait_for_selector("#action-error")
    assert "請以英文及中文說明決定的理由。" in page.text_content("#action-error")
    assert AgendaItem.objects.get(pk=item.pk).outcome == ""
    assert_no_violations(page, "decision refused (zh, 390 px)")
    page.check("#id_decision-outcome_0")
    page.fill("#id_decision-reasons_zh", "項目切合創科藍圖的策略產業。")
    page.fill("#id_terms-amount", "900")
    page.click("#record-decision")
    page.wait_for_selector('#item-state[data-state="approve"]')
    assert kind.DECIDED == [
        (
            "p1",
            "approve",
            {"amount": 900},
            "Strong fit with the Blueprint's strategic industries.",
            "項目切合創科藍圖的策略產業。",
        )
    ]
    assert_no_violations(page, "decided item (zh, 390 px)")

    page.goto(f"{base}/staff/committees/")
    assert page.locator("#meeting-form").count() == 1
    assert_no_violations(page, "meetings with the planning form (zh, 390 px)")
    page.goto(f"{base}/staff/committees/meetings/{meeting.pk}/")
    page.click("#close-meeting")
    page.wait_for_selector('#meeting-state[data-state="closed"]')
    page.click("#minutes-link")
    page.wait_for_selector("#minutes-digest")
    assert page.text_content("#minutes-digest").strip() == Minutes.objects.get(meeting=meeting).digest
    assert "Conflicted member" in page.text_content(".minutes-recused")
    assert_no_violations(page, "minutes (zh, 390 px)")
    assert errors == []
