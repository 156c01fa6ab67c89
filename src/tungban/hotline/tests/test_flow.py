"""The case's life: submit, route, accept, reply, close, reopen — and who may do what."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tungban.hotline import errors
from tungban.hotline import reference as refs
from tungban.hotline.constants import CaseState, EventKind
from tungban.hotline.models import Case, CaseEvent
from tungban.hotline.services import cases

from .conftest import lamp_case


def test_submit_routes_to_case_type_department_and_gives_a_tracking_code(hotline):
    case, code = lamp_case()
    assert refs.is_valid(case.reference)
    assert case.reference.startswith(f"1823-{timezone.localdate().year % 100:02d}-")
    assert code and len(code) == 11
    assert case.tracking_code and code not in case.tracking_code
    assert case.state == CaseState.ASSIGNED
    assert case.department_id == "HYD"
    assert case.accept_due_at - case.assigned_at == dt.timedelta(hours=24)
    assert [e.kind for e in case.events.all()] == [EventKind.SUBMITTED, EventKind.ROUTED]
    assert cases.case_for(case.reference, tracking_code=code).pk == case.pk
    assert cases.case_for(case.reference.lower(), tracking_code=code.replace("-", "").lower()).pk == case.pk
    with pytest.raises(errors.CaseUnknown):
        cases.case_for(case.reference, tracking_code="00000-00000")
    with pytest.raises(errors.CaseUnknown):
        cases.case_for(case.reference)


def test_logged_in_case_has_no_tracking_code_and_is_found_by_its_resident(hotline, resident, officer):
    from tungban.testing.factories import make_resident

    case, code = lamp_case(resident=resident)
    assert code is None and case.tracking_code == ""
    assert cases.case_for(case.reference, resident=resident).pk == case.pk
    other = make_resident(officer)
    with pytest.raises(errors.CaseUnknown):
        cases.case_for(case.reference, resident=other)
    assert list(cases.cases_of(resident)) == [case]
    assert list(cases.cases_of(other)) == []


def test_full_life(hotline, hyd_officer):
    case, code = lamp_case()
    case = cases.accept(case, hyd_officer)
    assert case.state == CaseState.ACCEPTED and case.reply_due and case.close_due
    assert case.reply_due <= case.close_due
    cases.note(case, hyd_officer, "Contractor informed.")
    cases.reply(case, hyd_officer, "We will repair the lamp within five working days.")
    case.refresh_from_db()
    assert case.first_reply_at is not None
    case = cases.close(case, hyd_officer, "The lamp was repaired on Tuesday.")
    assert case.state == CaseState.CLOSED
    assert case.reopen_until - case.closed_at == dt.timedelta(days=30)
    history = cases.public_history(case, "en")
    kinds = [h["kind"] for h in history]
    assert EventKind.NOTE not in kinds and EventKind.CLOSED in kinds
    assert history[-1]["message"] == "The lamp was repaired on Tuesday."
    zh = cases.public_history(case, "zh-hant")
    assert zh[0]["label"] != history[0]["label"] or zh[0]["label"]  # labels exist in both
    case = cases.reopen(case.reference, reason="It is dark again.", tracking_code=code)
    assert case.state == CaseState.ACCEPTED and case.department_id == "HYD" and case.reopened_count == 1
    assert case.closed_at is None and case.reply_due is not None


def test_other_department_and_non_officers_are_refused(hotline, fehd_officer, hyd_officer):
    from tungban.testing.factories import staff_user

    case, _ = lamp_case()
    n = CaseEvent.objects.count()
    with pytest.raises(errors.OtherDepartment):
        cases.accept(case, fehd_officer)
    with pytest.raises(errors.NotCaseOfficer):
        cases.accept(case, staff_user("none"))
    assert CaseEvent.objects.count() == n
    assert Case.objects.get(pk=case.pk).state == CaseState.ASSIGNED


def test_reference_check_character_catches_a_typo(hotline):
    case, code = lamp_case()
    ref = case.reference
    body = ref[-8:]
    # Luhn mod N misses only the swap of the first and last characters of the alphabet (0, Z).
    swapped = (
        ref[:-8] + body[1] + body[0] + body[2:] if body[0] != body[1] and {body[0], body[1]} != {"0", "Z"} else None
    )
    other = "0" if body[3] != "0" else "1"
    typo = ref[:-5] + other + ref[-4:]
    for bad in filter(None, [typo, swapped, "1823-26-ABC", "SWD-0000-00000", ""]):
        assert not refs.is_valid(bad)
        with pytest.raises(errors.CaseUnknown):
            cases.case_for(bad, tracking_code=code)
    assert refs.is_valid(ref.lower())
