"""The 1823 desk under ``/staff/1823/`` (issue 22): staff logged in with their second factor
(:mod:`tungban.counter.staffauth`) who hold a 1823 role (:class:`~tungban.hotline.models.CaseOfficer`).
A department's case officers see their department's queue and cases and act on them; the 1823
coordinator sees the escalated and unrouted cases, settles lead departments and may transfer
and note any open case; both see the KPI dashboard. Another department's case answers 403
(``other_department``). Every action is a POST through :mod:`tungban.hotline.services`.
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tungban.core.errors import DomainError

from . import districts, errors
from .constants import CaseState, EventKind, OfficerRole
from .forms_staff import CloseForm, LeadForm, PeriodForm, TextForm, TransferForm
from .models import Case
from .services import attachments as files
from .services import cases, kpi, pledges


def _zh() -> bool:
    return (get_language() or "").startswith("zh")


def _forbidden(request, message, status=403):
    return render(request, "hotline/staff/forbidden.html", {"message": message}, status=status)


def officer_required(view):
    """Staff verified by their second factor with a 1823 role; others go to the staff login
    page, staff without a role get a 403 page (``not_case_officer``)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        request.hotline_role, request.hotline_departments = cases.role_of(user)
        if not request.hotline_role:
            return _forbidden(request, errors.NotCaseOfficer().message)
        return view(request, *args, **kwargs)

    return wrapped


def _is_coordinator(request) -> bool:
    return request.hotline_role == OfficerRole.COORDINATOR


def _name(obj, en="name_en", zh="name_zh") -> str:
    return getattr(obj, zh) if _zh() else getattr(obj, en)


def _rows(found, today) -> list[dict]:
    out = []
    for c in found:
        out.append(
            {
                "case": c,
                "type": _name(c.case_type),
                "department": c.department_id or "",
                "state": CaseState(c.state).label,
                "timer": pledges.timer(c, today),
                "district": districts.name(c.district),
                "accept_overdue": bool(c.accept_due_at and c.accept_due_at < timezone.now()),
            }
        )
    return out


@officer_required
@require_GET
def queue(request):
    """My department's cases: awaiting acceptance, and being handled with their pledge timers."""
    if not request.hotline_departments and _is_coordinator(request):
        return redirect("hotline_staff:coordinator")
    today = timezone.localdate()
    mine = (
        Case.objects.filter(department_id__in=request.hotline_departments)
        .select_related("case_type")
        .order_by("submitted_at")
    )
    waiting = _rows(mine.filter(state=CaseState.ASSIGNED), today)
    handling = _rows(mine.filter(state=CaseState.ACCEPTED).order_by("close_due", "submitted_at"), today)
    return render(
        request,
        "hotline/staff/queue.html",
        {
            "page": "queue",
            "departments": request.hotline_departments,
            "waiting": waiting,
            "handling": handling,
            "overdue": sum(1 for r in handling if r["timer"]["overdue"]),
            "coordinator": _is_coordinator(request),
        },
    )


@officer_required
@require_GET
def coordinator(request):
    """The coordinator's queue: escalated cases and cases no rule routed."""
    if not _is_coordinator(request):
        return _forbidden(request, _("Only the 1823 coordinator settles lead departments."))
    found = (
        Case.objects.filter(state__in=[CaseState.ESCALATED, CaseState.SUBMITTED])
        .select_related("case_type")
        .order_by("submitted_at")
    )
    return render(
        request,
        "hotline/staff/coordinator.html",
        {
            "page": "coordinator",
            "rows": _rows(found, timezone.localdate()),
            "coordinator": True,
            "departments": request.hotline_departments,
        },
    )


def _case(request, reference) -> Case:
    """The case for this officer (department's or coordinator). :raises Http404, DomainError."""
    found = Case.objects.select_related("case_type", "department").filter(reference=reference.strip().upper()).first()
    if found is None:
        raise Http404(str(errors.CaseUnknown().message))
    if found.department_id and found.department_id in request.hotline_departments:
        return found
    if _is_coordinator(request):
        return found
    raise errors.OtherDepartment()


def _answers(case: Case) -> list[dict]:
    specs = {a["code"]: a for a in case.case_type.attributes or []}
    zh = _zh()
    out = []
    for code, value in case.get_attribute_values().items():
        spec = specs.get(code, {})
        label = (spec.get("description_zh") if zh else spec.get("description_en")) or code
        names = {v["key"]: (v.get("name_zh") if zh else v.get("name_en")) or v["key"] for v in spec.get("values", [])}
        if isinstance(value, list):
            shown = "、".join(names.get(v, v) for v in value) if zh else ", ".join(names.get(v, v) for v in value)
        else:
            shown = names.get(value, value)
        out.append({"code": code, "label": label, "value": shown})
    return out


def _history(case: Case) -> list[dict]:
    return [
        {
            "e": e,
            "label": EventKind(e.kind).label,
            "department": e.department_id or "",
            "who": e.actor.username if e.actor_id else e.get_actor_kind_display(),
        }
        for e in case.events.select_related("actor").order_by("at", "id")
    ]


def _case_page(request, case: Case, *, status=200, forms=None, error=""):
    forms = forms or {}
    own = bool(case.department_id and case.department_id in request.hotline_departments)
    coordinator = _is_coordinator(request)
    open_ = case.state != CaseState.CLOSED
    return render(
        request,
        "hotline/staff/case.html",
        {
            "case": case,
            "type": _name(case.case_type),
            "group": case.case_type.group_zh if _zh() else case.case_type.group_en,
            "department_name": _name(case.department) if case.department else "",
            "state": CaseState(case.state).label,
            "kind": case.get_kind_display(),
            "channel": case.get_channel_display(),
            "timer": pledges.timer(case),
            "district": districts.name(case.district),
            "answers": _answers(case),
            "attachments": list(case.attachments.order_by("uploaded_at")) if own else [],
            "attachment_count": case.attachments.count(),
            "history": _history(case),
            "own": own,
            "coordinator": coordinator,
            "departments": request.hotline_departments,
            "can_accept": own and case.state == CaseState.ASSIGNED,
            "can_answer": own and case.state == CaseState.ACCEPTED,
            "can_transfer": open_ and (own or coordinator) and case.state != CaseState.SUBMITTED,
            "can_lead": coordinator and case.state in (CaseState.SUBMITTED, CaseState.ASSIGNED, CaseState.ESCALATED),
            "decline_form": forms.get("decline") or TextForm(prefix="decline"),
            "reply_form": forms.get("reply") or TextForm(prefix="reply"),
            "note_form": forms.get("note") or TextForm(prefix="note"),
            "close_form": forms.get("close") or CloseForm(prefix="close"),
            "transfer_form": forms.get("transfer") or TransferForm(prefix="transfer"),
            "lead_form": forms.get("lead") or LeadForm(prefix="lead"),
            "error": error,
        },
        status=status,
    )


@officer_required
@require_GET
def case(request, reference):
    try:
        found = _case(request, reference)
    except DomainError as exc:
        return _forbidden(request, exc.message, status=exc.status)
    return _case_page(request, found)


@officer_required
@require_GET
def attachment(request, reference, attachment_id):
    """A case's file, decrypted — to officers of the case's department only."""
    found = Case.objects.filter(reference=reference.strip().upper()).first()
    if found is None:
        raise Http404(str(errors.CaseUnknown().message))
    if not (found.department_id and found.department_id in request.hotline_departments):
        return _forbidden(request, errors.OtherDepartment().message)
    doc = found.attachments.filter(pk=attachment_id).first()
    if doc is None:
        raise Http404(_("There is no such file."))
    response = HttpResponse(files.read(doc), content_type=doc.content_type)
    response["Content-Disposition"] = f'attachment; filename="{found.reference}-{doc.pk}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


ACTIONS = {
    "accept": None,
    "decline": TextForm,
    "transfer": TransferForm,
    "reply": TextForm,
    "note": TextForm,
    "close": CloseForm,
    "lead": LeadForm,
}
_DONE = {
    "accept": lambda: _("Accepted: your department must now reply and close the case."),
    "decline": lambda: _("Declined: the case went to the next department or to the 1823 coordinator."),
    "transfer": lambda: _("Transferred."),
    "reply": lambda: _("The reply was sent to the person."),
    "note": lambda: _("Note added."),
    "close": lambda: _("Closed."),
    "lead": lambda: _("The lead department was recorded; the case is accepted on its behalf."),
}


@officer_required
@require_POST
def act(request, reference, action):
    if action not in ACTIONS:
        raise Http404
    try:
        found = _case(request, reference)
    except DomainError as exc:
        return _forbidden(request, exc.message, status=exc.status)
    form_class = ACTIONS[action]
    form = form_class(request.POST, prefix=action) if form_class else None
    if form is not None and not form.is_valid():
        return _case_page(request, found, status=400, forms={action: form}, error=_("Correct the form below."))
    data = form.cleaned_data if form is not None else {}
    user = request.user
    try:
        if action == "accept":
            cases.accept(found, user)
        elif action == "decline":
            cases.decline(found, user, data["text"])
        elif action == "transfer":
            cases.transfer(found, user, data["department"], data["text"])
        elif action == "reply":
            cases.reply(found, user, data["text"])
        elif action == "note":
            cases.note(found, user, data["text"])
        elif action == "close":
            cases.close(found, user, data["text"], closed_at=data.get("closed_at"))
        else:
            cases.decide_lead(found, user, data["department"], data["decided_by"])
    except DomainError as exc:
        if form is not None:
            form.add_error(None, exc.message)
        current = Case.objects.select_related("case_type", "department").get(pk=found.pk)
        return _case_page(request, current, status=exc.status, forms={action: form}, error=exc.message)
    messages.success(request, _DONE[action]())
    if action in ("decline", "transfer") and not _is_coordinator(request):
        return redirect("hotline_staff:queue")
    return redirect("hotline_staff:case", reference=found.reference)


def _period(request) -> tuple[PeriodForm, kpi.Period]:
    form = PeriodForm(request.GET or None)
    period = kpi.default_period()
    if form.is_bound and form.is_valid():
        period = kpi.Period(form.cleaned_data.get("start") or period.start, form.cleaned_data.get("end") or period.end)
        if period.start > period.end or (period.end - period.start).days >= kpi.MAX_DAYS:
            form.add_error("start", _("The period can be at most %(days)s days.") % {"days": kpi.MAX_DAYS})
            period = kpi.default_period()
    return form, period


def _scope(request) -> list[str] | None:
    """Departments whose figures the user sees: all for the coordinator, else their own."""
    return None if _is_coordinator(request) else list(request.hotline_departments)


@officer_required
@require_GET
def kpi_page(request):
    form, period = _period(request)
    rows = kpi.figures(period, _scope(request), language=get_language() or "en")
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "hotline/staff/kpi.html",
        {
            "page": "kpi",
            "form": form,
            "period": period,
            "rows": rows,
            "query": f"?start={period.start.isoformat()}&end={period.end.isoformat()}",
            "coordinator": _is_coordinator(request),
            "departments": request.hotline_departments,
        },
        status=status,
    )


@officer_required
@require_GET
def kpi_svg(request):
    """The dashboard's chart as SVG (no script), the same figures as the page's table."""
    _form, period = _period(request)
    rows = kpi.figures(period, _scope(request), language=get_language() or "en")
    svg = kpi.chart_svg(rows, title=_("1823 cases per department"))
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["X-Content-Type-Options"] = "nosniff"
    return response
