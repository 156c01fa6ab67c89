"""The resident's 1823 cases for the tungban app (issue 22; seed 002 ITIB211: 1823 in the app,
"方便市民查詢及提交個案"), device-authenticated like the app's other APIs
(:mod:`tungban.wallet.auth`): ``GET /api/v1/hotline/app/cases``, ``GET …/cases/{reference}``
(with the public history) and ``POST …/cases/{reference}/reopen`` (``Idempotency-Key``
required: a retry gets the first answer)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.utils.translation import get_language
from ninja import Field, Router, Schema

from tungban.core.api import error_responses
from tungban.core.idempotency import idempotent
from tungban.wallet.auth import device_auth

from . import cards
from .services import cases

router = Router(tags=["hotline"])
APP_ERRORS = error_responses(401, 403)


def _device(request) -> str:
    return f"device:{request.auth.id}"


class MyCaseOut(Schema):
    reference: str = Field(description="The case's reference (Open311 service_request_id), e.g. 1823-26-7KQ2M9XC")
    service_code: str = Field(description="The case type (Open311 service_code)")
    service_name: str = Field(description="The case type's name, in the request's language")
    kind: Literal["enquiry", "complaint", "suggestion", "compliment"]
    state: Literal["submitted", "assigned", "escalated", "accepted", "closed"]
    state_label: str
    status: Literal["open", "closed"] = Field(description="Open311 status")
    department: str = Field(description="The department that must act (its name), or empty while 1823 routes it")
    submitted_at: dt.datetime
    reply_due: dt.date | None = Field(description="First reply pledged by (open cases)")
    close_due: dt.date | None = Field(description="Closure pledged by (open cases)")
    closed_at: dt.datetime | None = Field(description="The department's closure date (closed cases)")
    closure_reply: str = Field(description="The department's closing reply (closed cases), or empty")
    can_reopen: bool = Field(description="The resident may reopen it now")
    reopen_until: dt.datetime | None
    url: str = Field(description="The case's page on the platform (a path)")


class HistoryOut(Schema):
    kind: str
    label: str = Field(description="The event, in the request's language")
    at: dt.datetime
    department: str = Field(description="Department code, or empty")
    department_name: str
    message: str = Field(description="The department's reply, the closure, or the resident's reason for reopening")


class CaseDetailOut(MyCaseOut):
    history: list[HistoryOut] = Field(description="The public history, oldest first")


class ReopenIn(Schema):
    reason: str = Field(description="Why the resident reopens the case (1–5,000 characters)")


def _detail(resident, reference: str) -> dict:
    case = cases.case_for(reference, resident=resident)
    return {**cards.summary(case), "history": cases.public_history(case, get_language() or "zh-hant")}


@router.get(
    "/cases",
    response={200: list[MyCaseOut], **APP_ERRORS},
    auth=device_auth,
    summary="(device) My 1823 cases: open ones first, then closed",
)
def my_cases(request):
    """Open cases first, newest first within each group."""
    return cards.summaries(request.auth.resident)


@router.get(
    "/cases/{reference}",
    response={200: CaseDetailOut, **error_responses(401, 403, 404)},
    auth=device_auth,
    summary="(device) One of my 1823 cases, with its public history",
)
def my_case(request, reference: str):
    """Errors: ``case_unknown`` (404: no such case, or not the resident's)."""
    return _detail(request.auth.resident, reference)


@router.post(
    "/cases/{reference}/reopen",
    response={200: CaseDetailOut, **error_responses(400, 401, 403, 404, 409, 422)},
    auth=device_auth,
    summary="(device) Reopen my closed 1823 case, with the reason",
)
@idempotent(caller=_device, required=True)
def reopen(request, reference: str, payload: ReopenIn):
    """Back to the same department, which must close it again. Errors: ``reason_required``,
    ``message_too_long`` (400), ``case_unknown`` (404), ``case_not_closed``,
    ``reopen_expired`` (409)."""
    resident = request.auth.resident
    cases.reopen(reference, reason=payload.reason, resident=resident)
    return _detail(resident, reference)
