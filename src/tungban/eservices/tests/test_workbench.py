"""The officers' workbench (issue 17, "Officer workbench" and "Bad input"): queues, search,
pledge timers in working days with Hong Kong general holidays, bulk actions with a result per
item, and the pages: another department's officer is refused (403 for the department's pages,
404 for its cases), a transition not allowed and missing reasons are clear errors in the
officer's language, the same approver cannot approve twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tungban.eservices import services
from tungban.eservices.models import ApplicationEvent, InformationRequest, Service, State
from tungban.eservices.services import calendar, workbench
from tungban.eservices.tests.helpers import department_user
from tungban.eservices.tests.staffing import submitted_senior_cards
from tungban.testing.factories import login_staff


@pytest.fixture
def fehd_officer(db):
    return department_user("fehd-officer", "FEHD", "approver")


def test_working_days_skip_weekends_and_the_bundled_hong_kong_holidays(settings):
    assert calendar.holidays(), "the bundled 1823 holidays are read by default"
    # Lunar New Year 2026: Tue 17 - Thu 19 February are general holidays.
    assert not calendar.is_working_day(dt.date(2026, 2, 17))
    assert calendar.add_working_days(dt.date(2026, 2, 16), 1) == dt.date(2026, 2, 20)
    # Christmas 2026: Fri 25 (holiday), Sat 26 (holiday), Sun 27 → Mon 28.
    assert calendar.add_working_days(dt.date(2026, 12, 24), 1) == dt.date(2026, 12, 28)
    assert calendar.working_days_between(dt.date(2026, 2, 16), dt.date(2026, 2, 20)) == 1
    assert calendar.working_days_between(dt.date(2026, 2, 20), dt.date(2026, 2, 16)) == -1
    settings.TUNGBAN_ESERVICES_HOLIDAYS = ""
    assert calendar.add_working_days(dt.date(2026, 2, 16), 1) == dt.date(2026, 2, 17)


def test_queues_search_and_pledge_timers(catalogue, resident, swd_officer, swd_approver):
    a, b, c = submitted_senior_cards(resident, 3)
    assert {x.reference for x in workbench.queue("SWD", "new")} == {a.reference, b.reference, c.reference}
    services.assign(b, swd_officer)
    services.request_information(c, swd_officer, "More please.", "請補充。")
    counts = workbench.queue_counts("SWD")
    assert counts["new"] == 1 and counts["in_review"] == 1 and counts["information_requested"] == 1
    assert workbench.queue_counts("FEHD")["new"] == 0

    # Overdue: the pledge's due date has passed (working days counted from today).
    today = a.pledge_due + dt.timedelta(days=10)
    assert [x.reference for x in workbench.queue("SWD", "overdue", today=today)][0] == a.reference
    timer = workbench.pledge_timer(a, today)
    assert timer.overdue and timer.days_left == -calendar.working_days_between(a.pledge_due, today)
    fresh = workbench.pledge_timer(a, timezone.localdate(a.submitted_at))  # Hong Kong's date, not UTC's
    assert fresh.days_left == Service.objects.get(slug="senior-citizen-card").pledge_working_days

    assert [x.reference for x in workbench.search("SWD", reference=a.reference)] == [a.reference]
    assert {x.reference for x in workbench.search("SWD", state=State.IN_REVIEW)} == {b.reference}
    day = timezone.localdate(a.submitted_at)
    assert len(workbench.search("SWD", submitted_from=day, submitted_to=day)) == 3
    assert workbench.search("SWD", submitted_to=day - dt.timedelta(days=1)) == []
    assert workbench.search("FEHD", reference=a.reference) == []


def test_bulk_actions_report_each_item_and_keep_the_good_ones(catalogue, resident, swd_approver, fehd_officer):
    a, b = submitted_senior_cards(resident, 2)
    services.reject(b, swd_approver, "Duplicate.", "重複申請。")
    results = workbench.bulk(
        swd_approver, "SWD", "approve", [a.reference, b.reference, "SWD-0000-0000X"], reason_en="", reason_zh=""
    )
    by_ref = {r.reference: r for r in results}
    assert by_ref[a.reference].ok
    assert not by_ref[b.reference].ok and by_ref[b.reference].code == "transition_not_allowed"
    assert by_ref["SWD-0000-0000X"].code == "application_unknown"
    a.refresh_from_db()
    assert a.state in (State.APPROVED, State.LICENCE_ISSUED)
    # Another department's officer: every item is unknown to them, nothing changes.
    (c,) = submitted_senior_cards(resident, 1)
    results = workbench.bulk(
        fehd_officer, "FEHD", "request_information", [c.reference], message_en="x", message_zh="乙"
    )
    assert [(r.ok, r.code) for r in results] == [(False, "application_unknown")]
    c.refresh_from_db()
    assert c.state == State.SUBMITTED and not InformationRequest.objects.filter(application=c).exists()


def test_bulk_request_information_needs_both_languages(catalogue, resident, swd_officer):
    (a,) = submitted_senior_cards(resident, 1)
    results = workbench.bulk(swd_officer, "SWD", "request_information", [a.reference], message_en="Only English")
    assert results[0].code == "message_required"
    a.refresh_from_db()
    assert a.state == State.SUBMITTED  # nothing partial: not even taken into review


# --- the pages ---
def test_queue_page_lists_the_department_and_refuses_other_departments(
    client, catalogue, resident, swd_officer, fehd_officer
):
    (a,) = submitted_senior_cards(resident, 1)
    login_staff(client, swd_officer)
    resp = client.get("/staff/eservices/", HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 302 and resp["Location"] == "/staff/eservices/SWD/"
    page = client.get("/staff/eservices/SWD/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert a.reference in page and "working days left" in page
    resp = client.get("/staff/eservices/FEHD/", HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 403 and "You are not an officer of FEHD" in resp.content.decode()

    login_staff(client, fehd_officer)
    resp = client.get(f"/staff/eservices/cases/{a.reference}/", HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert resp.status_code == 404
    missing = client.get("/staff/eservices/cases/SWD-0000-0000X/")
    assert missing.status_code == 404  # the same answer as for an application that does not exist
    resp = client.post(f"/staff/eservices/cases/{a.reference}/approve", {"ap-text_en": "ok", "ap-text_zh": "好"})
    assert resp.status_code == 404
    a.refresh_from_db()
    assert a.state == State.SUBMITTED


def test_staff_without_a_department_and_anonymous_users(client, catalogue):
    from tungban.testing.factories import staff_user

    resp = client.get("/staff/eservices/SWD/")
    assert resp.status_code == 302 and "/admin/login/" in resp["Location"]
    login_staff(client, staff_user("counter_officer"))
    resp = client.get("/staff/eservices/", HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 403 and "not an officer of any department" in resp.content.decode()


def test_case_page_request_information_then_approve(client, catalogue, resident, swd_approver):
    (a,) = submitted_senior_cards(resident, 1)
    login_staff(client, swd_approver)
    page = client.get(f"/staff/eservices/cases/{a.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "CHAN" in page and "Request information" in page

    # Missing Chinese: a clear error in the officer's language, nothing stored.
    resp = client.post(
        f"/staff/eservices/cases/{a.reference}/request_information",
        {"ri-text_en": "Send a photo."},
        HTTP_ACCEPT_LANGUAGE="zh-hant",
    )
    assert resp.status_code == 422
    assert "請以英文及中文" in resp.content.decode()
    assert not InformationRequest.objects.filter(application=a).exists()

    resp = client.post(
        f"/staff/eservices/cases/{a.reference}/request_information",
        {"ri-text_en": "Send a photo.", "ri-text_zh": "請上載相片。"},
    )
    assert resp.status_code == 302
    a.refresh_from_db()
    assert a.state == State.INFORMATION_REQUESTED and a.assigned_to == swd_approver

    # Approving while the resident has not answered: not allowed from this state.
    resp = client.post(f"/staff/eservices/cases/{a.reference}/approve", {}, HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 409 and "Information requested" in resp.content.decode()

    services.respond_to_information(a, resident, "Here it is.")
    resp = client.post(f"/staff/eservices/cases/{a.reference}/approve", {"ap-text_en": "", "ap-text_zh": ""})
    assert resp.status_code == 302
    a.refresh_from_db()
    assert a.state in (State.APPROVED, State.LICENCE_ISSUED)
    assert (
        ApplicationEvent.objects.filter(application=a, action="approved", actor_id=swd_approver.username).count() == 1
    )
    # Approving again: refused, still one approval.
    resp = client.post(f"/staff/eservices/cases/{a.reference}/approve", {}, HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 409 and "This cannot be done to an application that is" in resp.content.decode()
    assert ApplicationEvent.objects.filter(application=a, action="approved").count() == 1


def test_reject_needs_reasons_in_both_languages(client, catalogue, resident, swd_officer):
    (a,) = submitted_senior_cards(resident, 1)
    login_staff(client, swd_officer)
    resp = client.post(
        f"/staff/eservices/cases/{a.reference}/reject", {"rj-text_zh": "不符合資格。"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert resp.status_code == 422 and "Give the reason in English and in Chinese." in resp.content.decode()
    a.refresh_from_db()
    assert a.state == State.SUBMITTED
    # An officer (not an approver) cannot approve.
    resp = client.post(f"/staff/eservices/cases/{a.reference}/approve", {}, HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 403 and "Only an approver of SWD" in resp.content.decode()


def test_second_approval_by_another_approver_only(client, catalogue, resident, swd_approver):
    Service.objects.filter(slug="senior-citizen-card").update(second_approval=True)
    other = department_user("swd-approver-2", "SWD", "approver")
    (a,) = submitted_senior_cards(resident, 1)
    login_staff(client, swd_approver)
    client.post(f"/staff/eservices/cases/{a.reference}/approve", {})
    a.refresh_from_db()
    assert a.state == State.IN_REVIEW and a.first_approved_by == swd_approver
    assert [x.reference for x in workbench.queue("SWD", "second_approval")] == [a.reference]
    resp = client.post(f"/staff/eservices/cases/{a.reference}/approve", {}, HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 403 and "you gave the first one" in resp.content.decode()
    a.refresh_from_db()
    assert a.state == State.IN_REVIEW
    login_staff(client, other)
    client.post(f"/staff/eservices/cases/{a.reference}/approve", {})
    a.refresh_from_db()
    assert a.state in (State.APPROVED, State.LICENCE_ISSUED)


def test_bulk_page_shows_a_result_per_item(client, catalogue, resident, swd_officer):
    a, b = submitted_senior_cards(resident, 2)
    services.reject(b, swd_officer, "No.", "不。")
    login_staff(client, swd_officer)
    resp = client.post(
        "/staff/eservices/SWD/bulk",
        {"action": "assign", "references": [a.reference, b.reference], "assignee": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    body = resp.content.decode()
    assert resp.status_code == 200 and "1 of 2 done." in body
    assert f'data-reference="{b.reference}" data-ok="no"' in body
    a.refresh_from_db()
    assert a.state == State.IN_REVIEW and a.assigned_to == swd_officer


def test_search_form_refuses_a_reversed_date_range(client, catalogue, resident, swd_officer):
    login_staff(client, swd_officer)
    resp = client.get(
        "/staff/eservices/SWD/",
        {"search": "1", "submitted_from": "2026-12-05", "submitted_to": "2026-12-01"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert resp.status_code == 200 and "The end of the range is before its start." in resp.content.decode()


def test_take_and_assign_on_the_case_page(client, catalogue, resident, swd_officer, fehd_officer):
    colleague = department_user("swd-colleague", "SWD", "officer")
    (a,) = submitted_senior_cards(resident, 1)
    login_staff(client, swd_officer)
    assert client.post(f"/staff/eservices/cases/{a.reference}/take").status_code == 302
    a.refresh_from_db()
    assert a.state == State.IN_REVIEW and a.assigned_to == swd_officer
    client.post(f"/staff/eservices/cases/{a.reference}/assign", {"assignee": colleague.username})
    a.refresh_from_db()
    assert a.assigned_to == colleague
    # Recorded, but the resident's history shows no officer's name: the assignee is on the
    # application (assigned_to), not in the event's reason.
    event = ApplicationEvent.objects.get(application=a, action="assigned")
    assert event.actor_id == swd_officer.username and event.reason_en == "" and event.reason_zh == ""
    # Someone of another department cannot be given the case.
    resp = client.post(
        f"/staff/eservices/cases/{a.reference}/assign",
        {"assignee": fehd_officer.username},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "fehd-officer is not an officer of SWD." in resp.content.decode()
    a.refresh_from_db()
    assert a.assigned_to == colleague
    assert client.post(f"/staff/eservices/cases/{a.reference}/unknown-action").status_code == 404
