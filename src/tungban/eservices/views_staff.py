"""The officers' workbench and reports, under ``/staff/eservices/`` (issue 17): staff logged
in with their second factor (:mod:`tungban.counter.staffauth`) who are officers of a
department (:class:`~tungban.eservices.models.DepartmentOfficer`). A department's pages answer
403 to an officer of another department; a case of another department is 404 (its existence
is not disclosed). Every action is a POST through :mod:`tungban.eservices.services`.
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
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tungban.core.errors import DomainError
from tungban.payments.services import webhooks as payment_webhooks

from . import errors, services
from .forms_staff import BilingualForm, BulkForm, PeriodForm, SearchForm
from .models import Department, Service, State
from .services import reports, webhooks, workbench


def officer_required(view):
    """Staff verified by their second factor who are officers of at least one department;
    others go to the staff login page, staff without a department get a 403 page."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        request.departments = services.departments_of(user)
        if not request.departments:
            return _forbidden(
                request, _("You are not an officer of any department's e-services. Ask an administrator.")
            )
        return view(request, *args, **kwargs)

    return wrapped


def _forbidden(request, message, status=403):
    return render(request, "eservices/staff/forbidden.html", {"message": message}, status=status)


def _department(request, code: str) -> Department | None:
    return next((d for d in request.departments if d.code == code.upper()), None)


def department_page(view):
    """A page of one department: 403 for an officer of others only."""

    @functools.wraps(view)
    def wrapped(request, code, *args, **kwargs):
        department = _department(request, code)
        if department is None:
            return _forbidden(
                request,
                _("You are not an officer of %(department)s: its applications are not yours.")
                % {"department": code.upper()},
            )
        return view(request, department, *args, **kwargs)

    return officer_required(wrapped)


def _dept_name(d: Department) -> str:
    return d.name_zh if (get_language() or "").startswith("zh") else d.name_en


def _service_name(s: Service) -> str:
    return s.name_zh if (get_language() or "").startswith("zh") else s.name_en


def _rows(apps) -> list[dict]:
    today = timezone.localdate()
    return [
        {
            "app": a,
            "service": _service_name(a.service),
            "timer": workbench.pledge_timer(a, today),
            "state": State(a.state).label,
        }
        for a in apps
    ]


@officer_required
@require_GET
def home(request):
    if len(request.departments) == 1:
        return redirect("eservices-staff:queues", code=request.departments[0].code)
    return render(
        request,
        "eservices/staff/home.html",
        {
            "departments": [
                {"d": d, "name": _dept_name(d), "counts": workbench.queue_counts(d.code)} for d in request.departments
            ]
        },
    )


@department_page
@require_GET
def queues(request, department):
    current = request.GET.get("queue", "new")
    if current not in workbench.QUEUES:
        current = "new"
    dept_services = workbench.online_services(department.code)
    for s in dept_services:
        s.label = _service_name(s)
    form = SearchForm(request.GET if "search" in request.GET else None, services=dept_services)
    searched = results = None
    if form.is_bound and form.is_valid():
        searched = True
        results = _rows(workbench.search(department.code, **{k: v for k, v in form.cleaned_data.items() if v}))
    counts = workbench.queue_counts(department.code)
    return render(
        request,
        "eservices/staff/queues.html",
        {
            "department": department,
            "department_name": _dept_name(department),
            "queues": [{"id": k, "label": v, "count": counts[k]} for k, v in workbench.QUEUES.items()],
            "current": current,
            "current_label": workbench.QUEUES[current],
            "rows": _rows(workbench.queue(department.code, current)),
            "form": form,
            "searched": searched,
            "results": results,
            "bulk": BulkForm(officers=workbench.officers_of(department.code)),
        },
    )


@department_page
@require_POST
def bulk(request, department):
    form = BulkForm(request.POST, officers=workbench.officers_of(department.code))
    references = request.POST.getlist("references")
    if not form.is_valid() or not references:
        messages.error(request, _("Choose at least one application and an action."))
        return redirect("eservices-staff:queues", code=department.code)
    data = form.cleaned_data
    assignee = None
    if data["action"] == "assign" and data["assignee"]:
        assignee = workbench.user_named(data["assignee"])
    results = workbench.bulk(
        request.user,
        department.code,
        data["action"],
        references,
        assignee=assignee,
        message_en=data["text_en"],
        message_zh=data["text_zh"],
        reason_en=data["text_en"],
        reason_zh=data["text_zh"],
    )
    return render(
        request,
        "eservices/staff/bulk_result.html",
        {
            "department": department,
            "action": workbench.BULK_ACTIONS[data["action"]],
            "results": results,
            "done": sum(r.ok for r in results),
        },
    )


def _case(request, reference):
    try:
        return workbench.case_for_officer(reference, request.user)
    except errors.ApplicationUnknown:
        raise Http404(_("There is no such application.")) from None


def _case_page(request, app, *, status=200, forms=None, error=""):
    forms = forms or {}
    definition = services.Definition.of(app.form_version)
    answers = app.get_answers()
    zh = (get_language() or "").startswith("zh")
    shown = []
    for page in definition.visible_pages(answers):
        for name in page.get("fields", []):
            spec = definition.fields.get(name, {})
            if name in answers:
                value = answers[name]
                label = (spec.get("label_zh") if zh else spec.get("label_en")) or name
                shown.append({"name": name, "label": label, "value": value, "prefill": (app.prefill or {}).get(name)})
    history = [
        {"e": e, "label": services.ACTION_LABELS.get(e.action, e.action), "reason": services.reason_text(e)}
        for e in services.history(app)
    ]
    attachments, info = workbench.case_papers(app)
    return render(
        request,
        "eservices/staff/case.html",
        {
            "app": app,
            "department": app.service.department,
            "service": _service_name(app.service),
            "applicant": services.company.person_for_company(app, "zh" if zh else "en"),
            "company": services.company.company_of(app),
            "state": State(app.state).label,
            "timer": workbench.pledge_timer(app),
            "answers": shown,
            "attachments": attachments,
            "history": history,
            "info": info,
            "officers": workbench.officers_of(app.service.department_id),
            "request_form": forms.get("request_information") or BilingualForm(prefix="ri"),
            "approve_form": forms.get("approve") or BilingualForm(prefix="ap"),
            "reject_form": forms.get("reject") or BilingualForm(prefix="rj"),
            "decidable": app.state in (State.SUBMITTED, State.PAID, State.IN_REVIEW, State.INFORMATION_REQUESTED),
            "can_request": app.state in (State.SUBMITTED, State.PAID, State.IN_REVIEW),
            "can_approve": app.state in (State.SUBMITTED, State.PAID, State.IN_REVIEW),
            "deliveries": webhooks.deliveries_of(app.service.department_id, reference=app.reference, limit=20),
            "error": error,
        },
        status=status,
    )


@officer_required
@require_GET
def case(request, reference):
    return _case_page(request, _case(request, reference))


@officer_required
@require_GET
def attachment(request, reference, attachment_id):
    app = _case(request, reference)
    doc = workbench.attachment_of(app, attachment_id)
    if doc is None:
        raise Http404(_("There is no such document."))
    response = HttpResponse(services.read_attachment(doc), content_type=doc.content_type)
    response["Content-Disposition"] = f'attachment; filename="{reference}-{doc.pk}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


ACTIONS = ("take", "assign", "request_information", "approve", "reject")


@officer_required
@require_POST
def act(request, reference, action):
    if action not in ACTIONS:
        raise Http404
    app = _case(request, reference)
    prefix = {"request_information": "ri", "approve": "ap", "reject": "rj"}.get(action)
    form = BilingualForm(request.POST, prefix=prefix) if prefix else None
    en = zh = ""
    if form is not None:
        form.is_valid()
        en, zh = form.cleaned_data.get("text_en", ""), form.cleaned_data.get("text_zh", "")
    try:
        if action == "take":
            services.assign(app, request.user)
            done = _("You took this application.")
        elif action == "assign":
            name = request.POST.get("assignee", "")
            assignee = workbench.user_named(name)
            if assignee is None or assignee not in workbench.officers_of(app.service.department_id):
                raise errors.NotOfficer(
                    _("%(user)s is not an officer of %(department)s.")
                    % {"user": name, "department": app.service.department_id}
                )
            services.assign(app, request.user, assignee)
            done = _("Assigned.")
        elif action == "request_information":
            services.request_information(app, request.user, en, zh)
            done = _("The request for information was sent to the resident.")
        elif action == "approve":
            app = services.approve(app, request.user, reason_en=en, reason_zh=zh)
            done = (
                _("First approval given: another approver must approve.")
                if app.state == State.IN_REVIEW
                else _("Approved.")
            )
        else:
            services.reject(app, request.user, en, zh)
            done = _("Rejected.")
    except DomainError as exc:
        if form is not None:
            form.add_error(None, exc.message)
        else:
            messages.error(request, exc.message)
            return redirect("eservices-staff:case", reference=app.reference)
        status = 403 if exc.status == 403 else 422 if exc.status == 422 else 409
        current = services.get_application(app.reference)
        return _case_page(request, current, status=status, forms={action: form}, error=exc.message)
    messages.success(request, done)
    return redirect("eservices-staff:case", reference=app.reference)


def _period(request) -> tuple[PeriodForm, reports.Period]:
    form = PeriodForm(request.GET or None)
    period = reports.default_period()
    if form.is_bound and form.is_valid():
        period = reports.Period(
            form.cleaned_data.get("start") or period.start, form.cleaned_data.get("end") or period.end
        )
    return form, period


REPORT_TITLES = {
    "volumes": lambda: _("Applications per service and state"),
    "compliance": lambda: _("Decided within the service pledge"),
    "decision": lambda: _("Time to decision (working days)"),
    "dropoff": lambda: _("Drop-off per form page"),
}


@department_page
@require_GET
def report_page(request, department):
    form, period = _period(request)
    query = f"?start={period.start.isoformat()}&end={period.end.isoformat()}"
    tables = []
    for name in reports.REPORTS:
        rows = reports.report(name, department.code, period)
        header, body = reports.table(name, rows)
        tables.append({"id": name, "title": REPORT_TITLES[name](), "header": header, "body": body, "query": query})
    return render(
        request,
        "eservices/staff/reports.html",
        {
            "department": department,
            "department_name": _dept_name(department),
            "form": form,
            "period": period,
            "tables": tables,
        },
    )


def _report_rows(request, department, name):
    if name not in reports.REPORTS:
        raise Http404
    _form, period = _period(request)
    return period, reports.report(name, department.code, period)


@department_page
@require_GET
def report_csv(request, department, name):
    period, rows = _report_rows(request, department, name)
    response = HttpResponse(reports.to_csv(name, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{department.code}-{name}-{period.start}-{period.end}.csv"'
    return response


@department_page
@require_GET
def report_svg(request, department, name):
    _unused, rows = _report_rows(request, department, name)
    response = HttpResponse(reports.chart_svg(name, rows, REPORT_TITLES[name]()), content_type="image/svg+xml")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@department_page
@require_http_methods(["GET"])
def webhook_log(request, department):
    """The department's webhook endpoints and delivery log: e-services' (issue 17) and payments'
    (issue 18, :mod:`tungban.payments.services.webhooks`)."""
    return render(
        request,
        "eservices/staff/webhooks.html",
        {
            "department": department,
            "department_name": _dept_name(department),
            "endpoints": webhooks.endpoints_of(department),
            "deliveries": webhooks.deliveries_of(department, limit=200),
            "payment_endpoints": payment_webhooks.endpoints_of(department.code),
            "payment_deliveries": payment_webhooks.deliveries_of(department.code, limit=200),
        },
    )
