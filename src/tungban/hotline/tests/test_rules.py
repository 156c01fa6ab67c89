"""Routing, declining, transfers, escalation, the lead department, pledges, reminders, closure
and reopening — each rule and each refusal (nothing stored on refusal)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tungban.hotline import errors
from tungban.hotline.constants import CaseState, EventKind
from tungban.hotline.models import Case, CaseEvent
from tungban.hotline.services import cases, pledges, routing

from .conftest import lamp_case, officer_of


def _tree(district="wan-chai", **kw):
    return cases.submit(
        case_type="tree-safety",
        kind="complaint",
        description="A branch is cracked.",
        language="zh-hant",
        channel="web",
        district=district,
        **kw,
    )


def _count():
    return CaseEvent.objects.count()


# --- routing and declining -------------------------------------------------------------------------


def test_first_matching_rule_else_case_type_department(hotline):
    assert routing.candidates(hotline["tree"], "sha-tin") == ["HYD", "LCSD"]
    assert routing.candidates(hotline["tree"], "wan-chai") == ["LCSD"]
    assert _tree("sha-tin")[0].department_id == "HYD"
    assert _tree("wan-chai")[0].department_id == "LCSD"


def test_inactive_rule_and_rule_for_any_case_type(hotline):
    from tungban.hotline.models import RoutingRule

    RoutingRule.objects.update(active=False)
    assert _tree("sha-tin")[0].department_id == "LCSD"
    RoutingRule.objects.create(case_type=None, district="islands", department_id="FEHD", priority=5)
    assert routing.candidates(hotline["lamp"], "islands") == ["FEHD", "HYD"]


def test_decline_sends_to_next_candidate_then_escalates(hotline, hyd_officer, lcsd_officer):
    case, _ = _tree("sha-tin")
    case = cases.decline(case, hyd_officer, "Not on a road: it is in the park.")
    assert case.state == CaseState.ASSIGNED and case.department_id == "LCSD"
    declined = case.events.get(kind=EventKind.DECLINED)
    assert declined.public is False and declined.department_id == "HYD"
    case = cases.decline(case, lcsd_officer, "Private land.")
    assert case.state == CaseState.ESCALATED and case.department_id is None
    assert case.events.filter(kind=EventKind.ESCALATED).count() == 1


def test_decline_refusals(hotline, hyd_officer, lcsd_officer):
    case, _ = _tree("sha-tin")
    n = _count()
    with pytest.raises(errors.ReasonRequired):
        cases.decline(case, hyd_officer, " ")
    with pytest.raises(errors.MessageTooLong):
        cases.decline(case, hyd_officer, "x" * 5001)
    with pytest.raises(errors.OtherDepartment):
        cases.decline(case, lcsd_officer, "Not ours")
    cases.accept(case, hyd_officer)
    n = _count()
    with pytest.raises(errors.TransitionNotAllowed):
        cases.decline(case, hyd_officer, "Changed my mind")
    assert _count() == n and Case.objects.get(pk=case.pk).state == CaseState.ACCEPTED


# --- transfer --------------------------------------------------------------------------------------


def test_transfer_to_another_department(hotline, hyd_officer, fehd_officer, coordinator):
    case, _ = lamp_case()
    cases.accept(case, hyd_officer)
    n = _count()
    for code in ("", "NOPE", "HYD"):
        with pytest.raises(errors.UnknownDepartment):
            cases.transfer(case, hyd_officer, code, "Refuse, not lighting.")
    with pytest.raises(errors.ReasonRequired):
        cases.transfer(case, hyd_officer, "FEHD", "")
    assert _count() == n
    case = cases.transfer(case, hyd_officer, "fehd", "Refuse, not lighting.")
    assert case.state == CaseState.ASSIGNED and case.department_id == "FEHD"
    assert case.accepted_at is None and case.reply_due is None and case.accept_due_at > timezone.now()
    with pytest.raises(errors.OtherDepartment):
        cases.accept(case, hyd_officer)
    case = cases.transfer(case, coordinator, "HYD", "Back to Highways after site visit.")
    assert case.department_id == "HYD"
    with pytest.raises(errors.OtherDepartment):
        cases.reply(case, coordinator, "The coordinator may not answer for a department.")


# --- escalation and the lead department -------------------------------------------------------------


def test_escalate_due_after_accept_hours_only(hotline, hyd_officer):
    from tungban.core import retention

    case, _ = lamp_case()
    accepted, _ = lamp_case()
    cases.accept(accepted, hyd_officer)
    assert retention.registered()["hotline.escalation"] is cases.escalate_due
    assert cases.escalate_due(case.accept_due_at - dt.timedelta(seconds=1)) == {"hotline.Case": 0}
    assert cases.escalate_due(case.accept_due_at) == {"hotline.Case": 1}
    case.refresh_from_db()
    assert case.state == CaseState.ESCALATED and case.department_id is None
    assert case.events.get(kind=EventKind.ESCALATED).department_id == "HYD"
    assert cases.escalate_due(case.accept_due_at or timezone.now() + dt.timedelta(days=9)) == {"hotline.Case": 0}
    assert Case.objects.get(pk=accepted.pk).state == CaseState.ACCEPTED


def test_decide_lead_assigns_and_accepts_for_the_lead_department(hotline, coordinator, fehd_officer, hyd_officer):
    case, _ = lamp_case()
    cases.escalate_due(case.accept_due_at)
    n = _count()
    with pytest.raises(errors.OtherDepartment):
        cases.decide_lead(case, fehd_officer, "FEHD", "DCS")
    from tungban.testing.factories import staff_user

    with pytest.raises(errors.NotCaseOfficer):
        cases.decide_lead(case, staff_user("none"), "FEHD", "DCS")
    with pytest.raises(errors.UnknownDepartment):
        cases.decide_lead(case, coordinator, "XX", "DCS")
    with pytest.raises(errors.ReasonRequired):
        cases.decide_lead(case, coordinator, "FEHD", " ")
    with pytest.raises(errors.MessageTooLong):
        cases.decide_lead(case, coordinator, "FEHD", "x" * 201)
    assert _count() == n
    who = "Deputy Chief Secretary for Administration, meeting of 3 March 2026"
    case = cases.decide_lead(case, coordinator, "FEHD", who)
    assert case.state == CaseState.ACCEPTED and case.department_id == "FEHD" and case.lead_decided_by == who
    assert case.reply_due and case.close_due
    event = case.events.get(kind=EventKind.LEAD_DECIDED)
    assert event.actor == coordinator and event.message == who
    with pytest.raises(errors.TransitionNotAllowed):
        cases.decide_lead(case, coordinator, "HYD", who)
    with pytest.raises(errors.OtherDepartment):
        cases.close(case, hyd_officer, "Done")
    assert cases.close(case, fehd_officer, "Cleared.").state == CaseState.CLOSED


# --- pledges and reminders ----------------------------------------------------------------------------


def test_pledge_dates_skip_weekends_and_holidays(hotline):
    hk = timezone.get_current_timezone()
    thursday = dt.datetime(2026, 12, 24, 10, 0, tzinfo=hk)  # Fri 25 and Sat 26 are holidays
    reply_due, close_due = pledges.due_dates(hotline["lamp"], thursday)  # 2 and 5 working days
    assert reply_due == dt.date(2026, 12, 29)
    assert close_due == dt.date(2027, 1, 4)  # Fri 1 January is a holiday
    assert pledges.days_left(reply_due, dt.date(2026, 12, 24)) == 2
    assert pledges.days_left(reply_due, dt.date(2026, 12, 30)) == -1


def test_timer_follows_reply_then_closure(hotline, hyd_officer):
    case, _ = lamp_case()
    assert pledges.timer(case)["pledge"] is None
    case = cases.accept(case, hyd_officer)
    assert pledges.timer(case)["pledge"] == "reply"
    cases.reply(case, hyd_officer, "On our way.")
    case.refresh_from_db()
    late = case.close_due + dt.timedelta(days=1)
    t = pledges.timer(case, late)
    assert t["pledge"] == "close" and t["overdue"] and t["days_left"] <= 0


def test_remind_due_once_per_case_per_day(hotline, hyd_officer):
    from tungban.core import retention

    due, _ = lamp_case()
    later, _ = lamp_case()
    closed, _ = lamp_case()
    for c in (due, later, closed):
        cases.accept(c, hyd_officer)
    cases.close(closed, hyd_officer, "Fixed.")
    today = timezone.localdate()
    Case.objects.filter(pk__in=[due.pk, closed.pk]).update(reply_due=today + dt.timedelta(days=1))
    Case.objects.filter(pk=later.pk).update(
        reply_due=today + dt.timedelta(days=5), close_due=today + dt.timedelta(days=9)
    )
    assert retention.registered()["hotline.reminders"] is cases.remind_due
    now = timezone.now()
    assert cases.remind_due(now) == {"hotline.CaseEvent": 1}
    assert cases.remind_due(now) == {"hotline.CaseEvent": 0}
    reminder = CaseEvent.objects.get(kind=EventKind.REMINDED)
    assert reminder.case_id == due.pk and reminder.public is False
    assert cases.remind_due(now + dt.timedelta(days=1)) == {"hotline.CaseEvent": 1}  # overdue: again the next day


# --- closure and reopening ----------------------------------------------------------------------------


def test_close_refusals(hotline, hyd_officer):
    case, _ = lamp_case()
    n = _count()
    with pytest.raises(errors.TransitionNotAllowed):
        cases.close(case, hyd_officer, "Fixed.")  # not accepted
    cases.accept(case, hyd_officer)
    n = _count()
    with pytest.raises(errors.ReplyRequired):
        cases.close(case, hyd_officer, "")
    with pytest.raises(errors.MessageTooLong):
        cases.close(case, hyd_officer, "x" * 5001)
    with pytest.raises(errors.ClosedAtInvalid):
        cases.close(case, hyd_officer, "Fixed.", closed_at=timezone.now() + dt.timedelta(minutes=5))
    with pytest.raises(errors.ClosedAtInvalid):
        cases.close(case, hyd_officer, "Fixed.", closed_at=case.submitted_at - dt.timedelta(seconds=1))
    with pytest.raises(errors.ClosedAtInvalid):
        cases.close(case, hyd_officer, "Fixed.", closed_at=dt.datetime(2026, 1, 1, 9, 0))  # naive
    assert _count() == n and Case.objects.get(pk=case.pk).state == CaseState.ACCEPTED
    with pytest.raises(errors.ReplyRequired):
        cases.reply(case, hyd_officer, "")
    Case.objects.filter(pk=case.pk).update(submitted_at=timezone.now() - dt.timedelta(days=2))
    when = Case.objects.get(pk=case.pk).submitted_at + dt.timedelta(hours=1)
    before = timezone.now()
    case = cases.close(case, hyd_officer, "Fixed.", closed_at=when)
    after = timezone.now()
    # the declared date is kept; the reopening period and the first reply count from the recording
    assert case.closed_at == when
    assert before + dt.timedelta(days=30) <= case.reopen_until <= after + dt.timedelta(days=30)
    assert case.closed_by == hyd_officer and before <= case.first_reply_at <= after
    with pytest.raises(errors.CaseClosed):
        cases.close(case, hyd_officer, "Again.")
    with pytest.raises(errors.CaseClosed):
        cases.reply(case, hyd_officer, "More.")
    with pytest.raises(errors.CaseClosed):
        cases.accept(case, hyd_officer)


def test_reopen_rules(hotline, hyd_officer, resident, settings):
    case, code = lamp_case()
    n = _count()
    with pytest.raises(errors.CaseNotClosed):
        cases.reopen(case, reason="Still dark.", tracking_code=code)
    cases.accept(case, hyd_officer)
    case = cases.close(case, hyd_officer, "Fixed.")
    n = _count()
    with pytest.raises(errors.CaseUnknown):
        cases.reopen(case, reason="Still dark.", tracking_code="AAAAA-AAAAA")
    with pytest.raises(errors.CaseUnknown):
        cases.reopen(case, reason="Still dark.", resident=resident)
    with pytest.raises(errors.ReasonRequired):
        cases.reopen(case, reason="", tracking_code=code)
    Case.objects.filter(pk=case.pk).update(reopen_until=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(errors.ReopenExpired):
        cases.reopen(case, reason="Still dark.", tracking_code=code)
    assert _count() == n
    Case.objects.filter(pk=case.pk).update(reopen_until=timezone.now() + dt.timedelta(days=1))
    case = cases.reopen(case, reason="Still dark.", tracking_code=code)
    assert case.state == CaseState.ACCEPTED and case.department_id == "HYD" and case.reply_due >= timezone.localdate()
    mine, _ = lamp_case(resident=resident)
    cases.accept(mine, hyd_officer)
    cases.close(mine, hyd_officer, "Fixed.")
    assert cases.reopen(mine.reference, reason="No.", resident=resident).reopened_count == 1


def test_reopen_window_setting(hotline, hyd_officer, settings):
    settings.TUNGBAN_HOTLINE_REOPEN_DAYS = 7
    case, _ = lamp_case()
    cases.accept(case, hyd_officer)
    case = cases.close(case, hyd_officer, "Fixed.")
    assert case.reopen_until - case.closed_at == dt.timedelta(days=7)


def test_role_of(hotline, coordinator, hyd_officer):
    from tungban.testing.factories import staff_user

    assert cases.role_of(coordinator) == ("coordinator", ())
    assert cases.role_of(hyd_officer) == ("department", ("HYD",))
    assert cases.role_of(staff_user("none")) == ("", ())
    both = officer_of("FEHD", "two-hats")
    from tungban.hotline.models import CaseOfficer

    CaseOfficer.objects.create(user=both, role="department", department_id="LCSD")
    assert cases.role_of(both) == ("department", ("FEHD", "LCSD"))


def test_note_is_internal_and_coordinator_may_note(hotline, coordinator, fehd_officer):
    case, _ = lamp_case()
    cases.note(case, coordinator, "Called the person back.")
    with pytest.raises(errors.OtherDepartment):
        cases.note(case, fehd_officer, "Not ours.")
    assert [h["kind"] for h in cases.public_history(case, "en")] == [EventKind.SUBMITTED, EventKind.ROUTED]


def test_resident_is_notified_when_routed_replied_closed(hotline, resident, hyd_officer):
    from tungban.eservices import portal
    from tungban.notify.models import Notification

    portal.ensure_portal()
    case, _ = lamp_case(resident=resident)
    cases.accept(case, hyd_officer)
    cases.reply(case, hyd_officer, "Soon.")
    cases.close(case, hyd_officer, "Fixed.")
    sent = list(Notification.objects.filter(resident=resident).order_by("created_at"))
    assert [n.template.name for n in sent] == ["hotline_routed", "hotline_replied", "hotline_closed"]
    assert all(n.reference == case.reference for n in sent)
    assert "Fixed." not in sent[-1].body_en
    anonymous, _ = lamp_case()
    assert Notification.objects.count() == 3
