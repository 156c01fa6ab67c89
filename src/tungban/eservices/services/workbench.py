"""The officers' workbench (issue 17, "Officer workbench"): a department's queues, search,
pledge timers in working days, the look-up of a case for an officer (another department's
case is ``application_unknown``: its existence is not disclosed) and bulk actions, each item in
its own transaction with its own result.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tungban.core.errors import DomainError

from .. import errors
from ..models import (
    DECIDABLE_STATES,
    QUEUE_STATES,
    Application,
    Attachment,
    DepartmentOfficer,
    InformationRequest,
    Service,
    State,
)
from . import lifecycle
from .calendar import working_days_between

#: Queue id → (label, filter). "new": submitted or paid, nobody has taken it; "second
#: approval": in review with a first approval given (services with ``second_approval``);
#: "overdue": still undecided after the pledge's last working day.
QUEUES = {
    "new": _("New"),
    "in_review": _("In review"),
    "information_requested": _("Information requested"),
    "second_approval": _("Awaiting second approval"),
    "overdue": _("Overdue"),
}


def _queue_filter(name: str, today: dt.date) -> Q:
    if name == "new":
        return Q(state__in=QUEUE_STATES)
    if name == "in_review":
        return Q(state=State.IN_REVIEW, first_approved_by__isnull=True)
    if name == "information_requested":
        return Q(state=State.INFORMATION_REQUESTED)
    if name == "second_approval":
        return Q(state=State.IN_REVIEW, first_approved_by__isnull=False)
    if name == "overdue":
        return Q(state__in=DECIDABLE_STATES, pledge_due__lt=today)
    raise ValueError(name)


def _department_apps(code: str) -> QuerySet[Application]:
    return Application.objects.filter(service__department_id=code).select_related(
        "service", "assigned_to", "first_approved_by"
    )


def queue(code: str, name: str, *, today: dt.date | None = None, limit: int = 200) -> list[Application]:
    """Department ``code``'s applications in queue ``name`` (a key of :data:`QUEUES`), oldest
    pledge first. :raises ValueError: an unknown queue."""
    today = today or timezone.localdate()
    qs = _department_apps(code).filter(_queue_filter(name, today))
    return list(qs.order_by("pledge_due", "submitted_at", "id")[:limit])


def queue_counts(code: str, *, today: dt.date | None = None) -> dict[str, int]:
    today = today or timezone.localdate()
    return {name: _department_apps(code).filter(_queue_filter(name, today)).count() for name in QUEUES}


def search(
    code: str,
    *,
    reference: str = "",
    service: str = "",
    state: str = "",
    submitted_from: dt.date | None = None,
    submitted_to: dt.date | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Application]:
    """Department ``code``'s submitted applications (drafts are the resident's own) matching
    every criterion given: reference (exact, or a prefix of at least 4 characters), service slug,
    state, and submission dates (inclusive, Hong Kong local dates). Newest first."""
    qs = _department_apps(code).exclude(state__in=(State.DRAFT, State.EXPIRED))
    ref = (reference or "").strip().upper()
    if ref:
        qs = qs.filter(reference__startswith=ref) if len(ref) >= 4 else qs.filter(reference=ref)
    if service:
        qs = qs.filter(service__slug=service)
    if state:
        qs = qs.filter(state=state)
    tz = timezone.get_current_timezone()
    if submitted_from:
        qs = qs.filter(submitted_at__gte=dt.datetime.combine(submitted_from, dt.time.min, tzinfo=tz))
    if submitted_to:
        qs = qs.filter(
            submitted_at__lt=dt.datetime.combine(submitted_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        )
    return list(qs.order_by("-submitted_at", "-id")[offset : offset + limit])


@dataclass(frozen=True)
class PledgeTimer:
    """``days_left``: working days from today to the pledge's due date (0 on the due date,
    negative when overdue); ``None`` without a pledge or once decided."""

    due: dt.date | None
    days_left: int | None

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0

    @property
    def overdue_by(self) -> int:
        return -self.days_left if self.overdue else 0


def pledge_timer(app: Application, today: dt.date | None = None) -> PledgeTimer:
    if app.pledge_due is None or app.state not in DECIDABLE_STATES:
        return PledgeTimer(app.pledge_due, None)
    return PledgeTimer(app.pledge_due, working_days_between(today or timezone.localdate(), app.pledge_due))


def case_for_officer(reference: str, user, *, system: bool = False) -> Application:
    """The application ``reference`` if ``user`` is an officer of its department.

    :raises NotFound: ``application_unknown`` — also when it exists in another department (its
        existence is not disclosed), and for a draft (still the resident's)."""
    app = lifecycle.get_application(reference)
    try:
        lifecycle.require_officer(user, app.service.department_id, system=system)
    except DomainError:
        raise errors.ApplicationUnknown() from None
    if app.state == State.DRAFT:
        raise errors.ApplicationUnknown()
    return app


def online_services(code: str) -> list[Service]:
    """The department's services open for online applications, by slug (the search form's choices)."""
    return list(Service.objects.filter(department=code, online=True).order_by("slug"))


def user_named(username: str):
    """The user called ``username``, or None (an assignee typed or chosen on a page; whether
    they are an officer of the department is the lifecycle's rule, :func:`lifecycle.assign`)."""
    return get_user_model().objects.filter(username=username).first() if username else None


def attachment_of(app: Application, attachment_id) -> Attachment | None:
    """One of the application's documents, or None (another application's id too)."""
    return app.attachments.filter(pk=attachment_id).first()


def case_papers(app: Application) -> tuple[list[Attachment], list[InformationRequest]]:
    """The application's documents and requests for information, as the case page lists them."""
    return list(app.attachments.all()), list(app.information_requests.all())


def officers_of(code: str) -> list:
    """The department's staff officers (users), for assignment."""
    return [
        m.user
        for m in DepartmentOfficer.objects.filter(department_id=code, user__is_staff=True, user__is_active=True)
        .select_related("user")
        .order_by("user__username")
    ]


# --- bulk actions ---
BULK_ACTIONS = {
    "assign": _("Assign"),
    "request_information": _("Request information"),
    "approve": _("Approve"),
}


@dataclass(frozen=True)
class BulkResult:
    reference: str
    ok: bool
    code: str = ""
    message: str = ""


def bulk(
    officer,
    code: str,
    action: str,
    references: list[str],
    *,
    assignee=None,
    message_en: str = "",
    message_zh: str = "",
    reason_en: str = "",
    reason_zh: str = "",
) -> list[BulkResult]:
    """Do ``action`` (a key of :data:`BULK_ACTIONS`) to each application of department
    ``code``, each in its own transaction (one refusal does not undo the others), and say what
    happened to each: ``ok`` or the error's code and message (another department's reference is
    ``application_unknown``). :raises ValueError: an unknown action."""
    if action not in BULK_ACTIONS:
        raise ValueError(action)
    results = []
    for reference in dict.fromkeys(r.strip().upper() for r in references if r.strip()):
        try:
            app = case_for_officer(reference, officer)
            if app.service.department_id != code:
                raise errors.ApplicationUnknown()
            if action == "assign":
                lifecycle.assign(app, officer, assignee)
            elif action == "request_information":
                lifecycle.request_information(app, officer, message_en, message_zh)
            else:
                lifecycle.approve(app, officer, reason_en=reason_en, reason_zh=reason_zh)
        except DomainError as exc:
            results.append(BulkResult(reference, False, exc.code, str(exc.message)))
        else:
            results.append(BulkResult(reference, True))
    return results
