"""The scheme's reports for Cyberport and the funder, under ``/staff/subsidy/reports/`` (issue
20, part F): the KPI dashboard (charts with their data tables), the legislators' standard
reports (pages and CSV), the annual report (drafted and submitted by Cyberport, read by the
Digital Policy Office; the PDF and CSV as submitted) and the review of grantees' progress
reports.

Staff log in as for ``/staff/eservices/`` (second factor) and must be officers of the e-services
department ``CYBERPORT`` (the scheme's administrator) or ``DPO`` (the funder); only Cyberport's
officers change anything.
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tungban.core.errors import DomainError
from tungban.eservices import services as eservices

from .constants import ApplicantCategory
from .forms_reports import AnnualTextsForm, ReviewForm
from .models_progress import AnnualReport, ProgressReport
from .services import annual, charts, progress, reports

CYBERPORT, FUNDER = "CYBERPORT", "DPO"

STANDARD_TITLES = {
    "applications": gettext_lazy("Applications by category and state"),
    "rejections": gettext_lazy("Applications not approved and the reasons"),
    "times": gettext_lazy("Time from application to decision (days)"),
    "projects": gettext_lazy("Amount and duration of each project"),
    "amounts": gettext_lazy("Awards by applicant category"),
    "rates": gettext_lazy("Subsidy rates of non-profit and other organisations"),
    "usage": gettext_lazy("Usage by applicant category"),
}
CHART_TITLES = {
    "utilisation": gettext_lazy("Scheduled nodes by month and applicant category"),
    "categories": gettext_lazy("Scheduled node-months by applicant category"),
    "times": gettext_lazy("Time to decision (days)"),
    "amounts": gettext_lazy("Subsidy awarded by applicant category (HK$ million)"),
    # tgaps: the AISC's utilisation (seed 000 §21)
    "used": gettext_lazy("Utilisation: GPU-minutes used as a share of capacity, by month and applicant category (%)"),
}


def reports_staff(view):
    """Staff with their second factor who are officers of Cyberport or the funder; others get
    the staff login or a 403 page. Sets ``request.can_edit`` (Cyberport's officers)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        codes = {d.code for d in eservices.departments_of(user)}
        if not codes & {CYBERPORT, FUNDER}:
            return render(
                request,
                "eservices/staff/forbidden.html",
                {"message": _("The scheme's reports are for Cyberport's and the Digital Policy Office's officers.")},
                status=403,
            )
        request.can_edit = CYBERPORT in codes
        return view(request, *args, **kwargs)

    return wrapped


def _cyberport_only(request):
    return render(
        request,
        "eservices/staff/forbidden.html",
        {"message": _("Only Cyberport's officers can do this.")},
        status=403,
    )


def _categories() -> list[tuple[str, str]]:
    return [(c.value, str(c.label)) for c in ApplicantCategory]


def _dashboard_tables() -> list[dict]:
    """The dashboard's four tables (each the text of its chart)."""
    span = reports.scheme_months()
    cats = _categories()
    months = reports.allocation_by_month(*span) if span else []
    utilisation = {
        "header": [_("Month"), *[label for _c, label in cats], _("All nodes"), _("GPU-minutes used")],
        "body": [
            [
                r["month"].strftime("%Y-%m"),
                *[r["by_category"].get(c, 0) for c, _l in cats],
                r["nodes"],
                "" if r["used_gpu_minutes"] is None else r["used_gpu_minutes"],
            ]
            for r in months
        ],
    }
    amounts = reports.amounts_by_category()
    categories = {
        "header": [_("Category"), _("Node-months"), _("Awards")],
        "body": [[r["label"], r["node_months"], r["count"]] for r in amounts],
    }
    times = {
        "header": [_("Measure"), _("Applications"), _("Shortest (days)"), _("Average (days)"), _("Longest (days)")],
        "body": [
            [r["label"], r["count"], *["" if r[k] is None else r[k] for k in ("min", "average", "max")]]
            for r in reports.processing_times()
        ],
    }
    money = {
        "header": [_("Category"), _("Subsidy cap (HK$)"), _("Co-payment (HK$)")],
        "body": [[r["label"], f"{r['subsidy_cap']:,.2f}", f"{r['co_payment']:,.2f}"] for r in amounts],
    }
    return [
        {"id": "utilisation", "data": months, **utilisation},
        _used_table(cats),
        {"id": "categories", "data": amounts, **categories},
        {"id": "times", "data": reports.processing_times(), **times},
        {"id": "amounts", "data": amounts, **money},
    ]


def _pct(value) -> str:
    return "" if value is None else f"{value}"


def _used_table(cats) -> dict:
    """tgaps: the utilisation table (seed 000 §21), the text of the ``used`` chart: per month the
    GPU-minutes the awards used by applicant category, over the subsidised capacity's GPU-minutes
    (90% of the nodes, seed 000 §10), and every account's use over the whole capacity."""
    span = reports.utilisation_months(timezone.localdate())
    rows = (reports.utilisation_by_month(*span) if span else []) or []
    return {
        "id": "used",
        "data": rows,
        "header": [
            _("Month"),
            *[_("%(category)s (GPU-minutes)") % {"category": label} for _c, label in cats],
            _("Used by the awards (GPU-minutes)"),
            _("Subsidised capacity (GPU-minutes)"),
            _("Share of the subsidised capacity (%)"),
            _("Used by all accounts (GPU-minutes)"),
            _("Capacity (GPU-minutes)"),
            _("Share of the capacity (%)"),
        ],
        "body": [
            [
                r["month"].strftime("%Y-%m"),
                *[r["used_by_category"][c] for c, _l in cats],
                r["used_subsidised"],
                r["subsidised_gpu_minutes"],
                _pct(r["share_of_subsidised"]),
                r["used_all"],
                r["capacity_gpu_minutes"],
                _pct(r["share_of_capacity"]),
            ]
            for r in rows
        ],
    }


@reports_staff
@require_GET
def dashboard(request):
    tables = _dashboard_tables()
    for t in tables:
        t["title"] = str(CHART_TITLES[t["id"]])
    return render(
        request,
        "subsidy/reports/dashboard.html",
        {"tables": tables, "usage_available": reports.usage_available(), "page": "dashboard"},
    )


@reports_staff
@require_GET
def chart(request, name):
    if name not in CHART_TITLES:
        raise Http404
    table = next(t for t in _dashboard_tables() if t["id"] == name)
    title = str(CHART_TITLES[name])
    cats = _categories()
    if name == "utilisation":
        labels = [r["month"].strftime("%Y-%m") for r in table["data"]]
        series = [(label, [r["by_category"].get(c, 0) for r in table["data"]]) for c, label in cats]
        svg = charts.bars(title, labels, series, ylabel=_("Nodes"), stacked=True)
    elif name == "used":
        rows = table["data"]
        labels = [r["month"].strftime("%Y-%m") for r in rows]
        series = [(label, [float(r["share_by_category"][c] or 0) for r in rows]) for c, label in cats]
        lines = [
            (_("Share of the subsidised capacity"), [r["share_of_subsidised"] for r in rows]),
            (_("Share of the capacity"), [r["share_of_capacity"] for r in rows]),
        ]
        svg = charts.bars(title, labels, series, ylabel=_("Per cent"), stacked=True, lines=lines)
    elif name == "categories":
        rows = table["data"][:-1]
        svg = charts.bars(title, [r["label"] for r in rows], [(_("Node-months"), [r["node_months"] for r in rows])])
    elif name == "times":
        rows = table["data"]
        series = [
            (_("Shortest"), [float(r["min"] or 0) for r in rows]),
            (_("Average"), [float(r["average"] or 0) for r in rows]),
            (_("Longest"), [float(r["max"] or 0) for r in rows]),
        ]
        svg = charts.bars(title, [r["label"] for r in rows], series, ylabel=_("Days"))
    else:
        rows = table["data"][:-1]
        svg = charts.bars(
            title, [r["label"] for r in rows], [(_("Subsidy cap"), [float(r["subsidy_cap"]) / 1e6 for r in rows])]
        )
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@reports_staff
@require_GET
def standard(request):
    tables = []
    for name in reports.STANDARD_REPORTS:
        header, body = reports.table(name)
        tables.append({"id": name, "title": str(STANDARD_TITLES[name]), "header": header, "body": body})
    return render(
        request,
        "subsidy/reports/standard.html",
        {"tables": tables, "usage_available": reports.usage_available(), "page": "standard", "as_of": timezone.now()},
    )


@reports_staff
@require_GET
def standard_csv(request, name):
    if name not in reports.STANDARD_REPORTS:
        raise Http404
    header, body = reports.table(name)
    response = HttpResponse(reports.to_csv(header, body), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="aiss-{name}.csv"'
    return response


@reports_staff
@require_GET
def annual_list(request):
    return render(
        request,
        "subsidy/reports/annual_list.html",
        {"reports": AnnualReport.objects.all(), "page": "annual", "this_year": reports.fiscal_year(_today())},
    )


def _today():
    return timezone.localdate()


@reports_staff
@require_http_methods(["GET", "POST"])
def annual_report(request, fy):
    try:
        reports.fiscal_year_bounds(fy)
    except DomainError:
        raise Http404 from None
    report = AnnualReport.objects.filter(fiscal_year=fy).first() or AnnualReport(fiscal_year=fy)
    form = AnnualTextsForm(
        request.POST or None,
        initial={name: getattr(report, name) for name in (*annual.TEXT_FIELDS, "next_year_budget")},
    )
    error = None
    if request.method == "POST":
        if not request.can_edit:
            return _cyberport_only(request)
        if form.is_valid():
            try:
                annual.save_texts(fy, **form.cleaned_data)
            except DomainError as exc:
                error = exc.message
            else:
                messages.success(request, _("Saved."))
                return redirect("subsidy_staff:annual-report", fy=fy)
    data = report.figures if report.frozen else annual.figures(fy)
    return render(
        request,
        "subsidy/reports/annual.html",
        {
            "report": report,
            "fy": fy,
            "form": form,
            "error": error,
            "sections": _sections(report, data),
            "page": "annual",
            "can_edit": request.can_edit,
        },
        status=409 if error else 200,
    )


def _sections(report, data) -> list[dict]:
    """The report's sections for the page, labels in the page's language."""
    zh = (get_language() or "").startswith("zh")
    rows = annual.rows(report, data)
    return [
        {
            "key": key,
            "title": names[1] if zh else names[0],
            "rows": [(r[3] if zh else r[2], r[4]) for r in rows if r[0] == key],
        }
        for key, names in annual.SECTIONS.items()
    ]


@reports_staff
@require_POST
def annual_submit(request, fy):
    if not request.can_edit:
        return _cyberport_only(request)
    try:
        annual.submit(fy, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The annual report was submitted to the Digital Policy Office and is now frozen."))
    return redirect("subsidy_staff:annual-report", fy=fy)


@reports_staff
@require_GET
def annual_file(request, fy, kind):
    """The PDF or CSV: as submitted (the stored bytes) once frozen, else a draft rendered now."""
    if kind not in ("pdf", "csv"):
        raise Http404
    try:
        reports.fiscal_year_bounds(fy)
    except DomainError:
        raise Http404 from None
    report = AnnualReport.objects.filter(fiscal_year=fy).first() or AnnualReport(fiscal_year=fy)
    if report.frozen:
        body = bytes(report.pdf if kind == "pdf" else report.csv)
    else:
        data = annual.figures(fy)
        body = annual.render_pdf(report, data) if kind == "pdf" else annual.to_csv(report, data).encode()
    name = f"aiss-annual-report-{fy}{'' if report.frozen else '-draft'}.{kind}"
    content_type = "application/pdf" if kind == "pdf" else "text/csv; charset=utf-8"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@reports_staff
@require_GET
def progress_list(request):
    return render(
        request,
        "subsidy/reports/progress_list.html",
        {"waiting": progress.for_review(), "overdue": progress.overdue(), "page": "progress"},
    )


@reports_staff
@require_http_methods(["GET", "POST"])
def progress_review(request, report):
    item = ProgressReport.objects.select_related("award__application").filter(public_id=report).first()
    if item is None:
        raise Http404
    form = ReviewForm(request.POST or None)
    error = None
    if request.method == "POST":
        if not request.can_edit:
            return _cyberport_only(request)
        if form.is_valid():
            try:
                progress.review(
                    item,
                    accept=form.cleaned_data["decision"] == "accept",
                    comment=form.cleaned_data["review_comment"],
                    actor=request.user,
                )
            except DomainError as exc:
                error = exc
                if exc.field:
                    form.add_error(exc.field, exc.message)
            else:
                messages.success(request, _("The review was recorded."))
                return redirect("subsidy_staff:progress-list")
    return render(
        request,
        "subsidy/reports/progress_review.html",
        {"item": item, "form": form, "error": error, "page": "progress", "can_edit": request.can_edit},
        status=(error.status if error else 200),
    )
