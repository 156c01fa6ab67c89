"""The committees' staff pages (issue 20, part E) through Django's test client: members only,
the recused member sees "recused" and no scoring form nor scores, bad input is refused with a
message in the member's language and nothing stored, minutes as HTML and PDF once closed."""

from __future__ import annotations

import hashlib

import pytest

from tungban.committees import services
from tungban.committees.models import AgendaItem, Declaration, Member, Score
from tungban.subsidy.tests.rulebook import covers
from tungban.testing.factories import login_staff, staff_user

from .conftest import add_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(kind, committee, meeting):
    chair = add_member(committee, role="chair", brn="20000000", name="Chair Person")
    Member.objects.filter(committee=committee, role="chair").exclude(pk=chair.pk).update(role="member")
    conflicted = add_member(committee, brn="12345678", name="Conflicted member")
    other = add_member(committee, brn="87654321", name="Other member")
    kind.proposal("p1", brns=["12345678"], cap=1000)
    item = services.add_item(meeting, kind.KIND, "p1")
    services.open_meeting(meeting, actor=chair.user)
    return chair, conflicted, other, item


def _client(client, member, lang="en"):
    login_staff(client, member.user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hant" if lang == "zh" else "en"
    return client


def test_non_members_get_403_and_anonymous_the_login(client, setup):
    item = setup[3]
    assert client.get("/staff/committees/").status_code == 302
    login_staff(client, staff_user("none"))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.get(f"/staff/committees/items/{item.pk}/")
    assert response.status_code == 403
    assert "not a member of any committee" in response.content.decode()


def test_meeting_page_lists_the_agenda(client, setup):
    chair, conflicted, other, item = setup
    body = _client(client, conflicted).get(f"/staff/committees/meetings/{item.meeting_id}/").content.decode()
    assert "Proposal p1" in body and "recused" in body
    assert 'id="committees-home-link"' in body  # the staff header's way back (counter's header)
    body = _client(client, chair, "zh").get("/staff/committees/").content.decode()
    assert "2026-B1" in body and "委員會會議" in body


@covers("B08")
def test_recused_member_sees_recused_and_no_scoring_form(client, setup):
    """Seed 000 §12: the recused member sees no scoring form and cannot score."""
    chair, conflicted, other, item = setup
    services.score(item, other.user, "a", 9)
    body = _client(client, conflicted).get(f"/staff/committees/items/{item.pk}/").content.decode()
    assert 'id="recused"' in body
    assert 'id="score-form"' not in body and 'id="scores"' not in body and 'id="decision-form"' not in body
    response = client.post(f"/staff/committees/items/{item.pk}/score", {f"score-c_{c}": "5" for c in "abcd"})
    assert response.status_code == 403
    assert "recused" in response.content.decode()
    assert not Score.objects.filter(member=conflicted).exists()


def test_member_scores_through_the_form_and_bad_scores_are_refused(client, setup):
    chair, conflicted, other, item = setup
    c = _client(client, other)
    body = c.get(f"/staff/committees/items/{item.pk}/").content.decode()
    assert 'id="score-form"' in body and 'id="decision-form"' not in body
    response = c.post(
        f"/staff/committees/items/{item.pk}/score",
        {"score-c_a": "11", "score-c_b": "5", "score-c_c": "5", "score-c_d": "5"},
    )
    assert response.status_code == 400
    assert not Score.objects.exists()
    response = c.post(
        f"/staff/committees/items/{item.pk}/score",
        {"score-c_a": "8", "score-c_b": "6", "score-c_c": "7", "score-c_d": "9"},
    )
    assert response.status_code == 302
    assert sorted(Score.objects.filter(member=other).values_list("value", flat=True)) == [6, 7, 8, 9]
    body = c.get(f"/staff/committees/items/{item.pk}/").content.decode()
    assert 'id="weighted-score">7.550<' in body


@covers("B09")
def test_decision_without_chinese_reasons_is_refused_in_the_members_language(client, setup, kind):
    """Seed 000 §13: a decision without reasons in both languages is refused."""
    chair, conflicted, other, item = setup
    c = _client(client, chair, "zh")
    body = c.get(f"/staff/committees/items/{item.pk}/").content.decode()
    assert 'id="decision-form"' in body and 'name="terms-amount"' in body and 'value="1000"' in body
    response = c.post(
        f"/staff/committees/items/{item.pk}/decide",
        {"decision-outcome": "reject", "decision-reasons_en": "Weak.", "decision-reasons_zh": ""},
    )
    assert response.status_code == 400
    assert "請以英文及中文說明決定的理由。" in response.content.decode()
    assert AgendaItem.objects.get(pk=item.pk).outcome == "" and kind.DECIDED == []
    response = c.post(
        f"/staff/committees/items/{item.pk}/decide",
        {
            "decision-outcome": "approve",
            "decision-reasons_en": "Strong.",
            "decision-reasons_zh": "優秀。",
            "terms-amount": "800",
        },
    )
    assert response.status_code == 302
    assert kind.DECIDED == [("p1", "approve", {"amount": 800}, "Strong.", "優秀。")]


def test_declarations_page_records_and_recuses(client, setup):
    chair, conflicted, other, item = setup
    c = _client(client, other)
    assert c.get("/staff/committees/declarations/").status_code == 200
    response = c.post(
        "/staff/committees/declarations/",
        {"committee": str(other.committee_id), "organisation_brn": "1234", "nature": "equity", "severity": "real"},
    )
    assert response.status_code == 400 and not Declaration.objects.exists()
    response = c.post(
        "/staff/committees/declarations/",
        {
            "committee": str(other.committee_id),
            "organisation_brn": "12345678",
            "organisation_name": "Company",
            "nature": "equity",
            "severity": "real",
            "details": "200 shares",
        },
    )
    assert response.status_code == 302
    assert services.is_recused(item, other)
    assert Declaration.objects.get(member=other).details == "200 shares"


def test_minutes_html_and_pdf_after_close(client, setup):
    chair, conflicted, other, item = setup
    c = _client(client, chair)
    assert c.get(f"/staff/committees/meetings/{item.meeting_id}/minutes/").status_code == 404
    services.decide(
        item, outcome="defer", terms=None, reasons_en="More data.", reasons_zh="需要更多資料。", actor=chair.user
    )
    assert c.post(f"/staff/committees/meetings/{item.meeting_id}/close").status_code == 302
    body = c.get(f"/staff/committees/meetings/{item.meeting_id}/minutes/").content.decode()
    assert "Conflicted member" in body and "More data." in body
    pdf = c.get(f"/staff/committees/meetings/{item.meeting_id}/minutes.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() in body
    response = c.post(
        f"/staff/committees/items/{item.pk}/decide",
        {"decision-outcome": "reject", "decision-reasons_en": "a", "decision-reasons_zh": "甲"},
    )
    assert response.status_code == 409
    assert "The meeting is closed" in response.content.decode()


def test_member_declares_on_the_item_page_and_the_chair_dismisses_an_apparent_conflict(client, setup):
    chair, conflicted, other, item = setup
    c = _client(client, other)
    response = c.post(
        f"/staff/committees/items/{item.pk}/declare",
        {"declare-nature": "gifts", "declare-severity": "apparent", "declare-details": "A conference dinner."},
    )
    assert response.status_code == 302 and services.is_recused(item, other)
    body = c.get(f"/staff/committees/items/{item.pk}/").content.decode()
    assert 'id="recused"' in body and 'id="score-form"' not in body
    apparent = services.conflict_of(item, other)
    real = services.conflict_of(item, conflicted)
    c = _client(client, chair)
    body = c.get(f"/staff/committees/items/{item.pk}/").content.decode()
    assert f'id="dismiss-{apparent.pk}"' in body and f'id="dismiss-{real.pk}"' not in body
    response = c.post(
        f"/staff/committees/conflicts/{real.pk}/dismiss", {"dismiss-reasons_en": "x", "dismiss-reasons_zh": "甲"}
    )
    assert response.status_code == 409 and services.is_recused(item, conflicted)
    response = c.post(f"/staff/committees/conflicts/{apparent.pk}/dismiss", {"dismiss-reasons_en": "Trivial."})
    assert response.status_code == 400 and services.is_recused(item, other)
    response = c.post(
        f"/staff/committees/conflicts/{apparent.pk}/dismiss",
        {"dismiss-reasons_en": "Trivial.", "dismiss-reasons_zh": "微不足道。"},
    )
    assert response.status_code == 302 and not services.is_recused(item, other)


def test_chair_plans_a_meeting_a_member_cannot(client, setup):
    from tungban.committees.models import Meeting

    chair, conflicted, other, item = setup
    c = _client(client, other)
    assert 'id="meeting-form"' not in c.get("/staff/committees/").content.decode()
    response = c.post("/staff/committees/", {"batch_label": "2027-B1", "held_on": "2027-03-01", "quorum": "3"})
    assert response.status_code == 403 and not Meeting.objects.filter(batch_label="2027-B1").exists()
    c = _client(client, chair)
    response = c.post("/staff/committees/", {"batch_label": "2027-B1", "held_on": "not a date", "quorum": "3"})
    assert response.status_code == 400 and not Meeting.objects.filter(batch_label="2027-B1").exists()
    response = c.post("/staff/committees/", {"batch_label": "2027-B1", "held_on": "2027-03-01", "quorum": "4"})
    meeting = Meeting.objects.get(batch_label="2027-B1")
    assert response.status_code == 302 and response["Location"] == f"/staff/committees/meetings/{meeting.pk}/"
    assert (meeting.state, meeting.quorum, meeting.committee_id) == ("planned", 4, chair.committee_id)
    assert services.meeting_for_batch("2027-B1") == meeting


def test_the_item_page_hides_the_others_scores_until_the_member_scored(client, setup):
    """seed 000 §13: each member scores on their own judgement; the page shows the others'
    scores and the weighted score once the member scored it (or it is decided)."""
    chair, conflicted, other, item = setup
    for code, value in zip("abcd", (8, 6, 7, 9), strict=True):
        services.score(item, other.user, code, value)
    late = add_member(item.meeting.committee, brn="33334444", name="Late member")
    body = _client(client, late).get(f"/staff/committees/items/{item.pk}/").content.decode()
    assert 'id="scores-hidden"' in body and 'id="scores"' not in body and "7.550" not in body
    assert 'id="score-form"' in body
    page = _client(client, late).get(f"/staff/committees/meetings/{item.meeting_id}/").content.decode()
    assert "7.550" not in page
    client.post(f"/staff/committees/items/{item.pk}/score", {f"score-c_{c}": "5" for c in "abcd"})
    body = _client(client, late).get(f"/staff/committees/items/{item.pk}/").content.decode()
    assert 'id="scores"' in body and "Other member" in body and 'id="scores-hidden"' not in body
    body = _client(client, late, "zh").get(f"/staff/committees/items/{item.pk}/").content.decode()
    assert "評分" in body
