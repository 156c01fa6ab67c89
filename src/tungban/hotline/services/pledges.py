"""Service pledges (issue 22): the first reply within ``CaseType.reply_days`` and closure within
``CaseType.close_days`` working days from acceptance, Hong Kong general holidays excepted
(:mod:`tungban.eservices.services.calendar`). A pledge is met when the reply or closure happens
on or before its due date (Hong Kong dates).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tungban.eservices.services import calendar

from ..constants import CaseState
from ..models import Case


def due_dates(case_type, accepted_at: dt.datetime) -> tuple[dt.date, dt.date]:
    """``(reply_due, close_due)`` for a case of ``case_type`` accepted at ``accepted_at``."""
    start = timezone.localdate(accepted_at)
    return calendar.add_working_days(start, case_type.reply_days), calendar.add_working_days(
        start, case_type.close_days
    )


def set_due_dates(case: Case, accepted_at: dt.datetime) -> None:
    """Set ``case.accepted_at``, ``reply_due`` and ``close_due`` (the caller saves)."""
    case.accepted_at = accepted_at
    case.reply_due, case.close_due = due_dates(case.case_type, accepted_at)


def days_left(due: dt.date | None, today: dt.date | None = None) -> int | None:
    """Working days from ``today`` to ``due`` (0 on the day, negative once overdue), or ``None``."""
    if due is None:
        return None
    return calendar.working_days_between(today or timezone.localdate(), due)


def timer(case: Case, today: dt.date | None = None) -> dict:
    """The case's pledge timer for the desk: ``{"pledge": "reply"|"close"|None, "due": date|None,
    "days_left": int|None, "overdue": bool}`` — the reply pledge until the first reply, then
    closure; nothing for a closed case or one not accepted yet."""
    today = today or timezone.localdate()
    if case.state != CaseState.ACCEPTED:
        return {"pledge": None, "due": None, "days_left": None, "overdue": False}
    pledge, due = ("reply", case.reply_due) if case.first_reply_at is None else ("close", case.close_due)
    if due is None:
        return {"pledge": None, "due": None, "days_left": None, "overdue": False}
    return {"pledge": pledge, "due": due, "days_left": days_left(due, today), "overdue": due < today}


def met(due: dt.date | None, done_at: dt.datetime | None) -> bool | None:
    """Whether something done at ``done_at`` met the pledge ``due`` (``None`` if not done or no pledge)."""
    if due is None or done_at is None:
        return None
    return timezone.localdate(done_at) <= due
