"""The fund's pages for the funder (Digital Policy Office, department ``DPO``) and the scheme's
administrator (Cyberport, ``CYBERPORT``), under ``/staff/subsidy/funds/`` (issue 20, part A):
the statement and ledger by financial year and line, releases and their confirmation, virements
(the funder's acts), the price book and the capacity plan, an application's award and
Cyberport's reallocation proposals. Staff log in as for ``/staff/eservices/``; others get 403.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tungban.core.errors import DomainError
from tungban.eservices import services as eservices

from . import errors, rules
from .constants import FundingLine
from .models import Application, FundRelease, PriceVersion, ReallocationProposal, ServiceClass
from .services import awards, capacity, funds, prices, reallocation

FUNDER, ADMINISTRATOR = "DPO", "CYBERPORT"


def funds_officer(view):
    """Staff (second factor verified) who are officers of the DPO or Cyberport."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        codes = {d.code for d in eservices.departments_of(user)}
        if not codes & {FUNDER, ADMINISTRATOR}:
            return render(
                request,
                "subsidy/funds/forbidden.html",
                {"message": _("Only officers of the Digital Policy Office or of Cyberport may see the fund.")},
                status=403,
            )
        request.is_funder, request.is_administrator = FUNDER in codes, ADMINISTRATOR in codes
        return view(request, *args, **kwargs)

    return wrapped


def _funder_only(request):
    if not request.is_funder:
        return render(
            request,
            "subsidy/funds/forbidden.html",
            {"message": _("Only the Digital Policy Office releases, confirms and moves the fund.")},
            status=403,
        )
    return None


def _fy(request) -> str:
    years = funds.fiscal_years()
    asked = request.GET.get("fy") or request.POST.get("fy") or rules.fiscal_year(timezone.localdate())
    return asked if asked in years else (years[-1] if years else asked)


@require_GET
@funds_officer
def home(request):
    fy = _fy(request)
    statement = funds.statement(fy)
    rows = [{"line": line, "label": line.label, **statement[line]} for line in FundingLine]
    classes = []
    for sc in ServiceClass.objects.order_by("code"):
        months = [c.month for c in capacity.plan(sc)]
        remaining = capacity.remaining(sc, months)
        classes.append(
            {
                "sc": sc,
                "prices": PriceVersion.objects.filter(service_class=sc).order_by("-effective_from"),
                "months": [{"month": m, **remaining[m]} for m in months],
            }
        )
    return render(
        request,
        "subsidy/funds/home.html",
        {
            "fy": fy,
            "years": funds.fiscal_years(),
            "rows": rows,
            "releases": FundRelease.objects.filter(fiscal_year=fy).order_by("line"),
            "entries": funds.ledger(fy).order_by("-at", "-pk")[:200],
            "classes": classes,
            "lines": list(FundingLine),
            "is_funder": request.is_funder,
            "is_administrator": request.is_administrator,
            "awards": awards.Award.objects.select_related("application").order_by("-decided_at")[:100],
        },
    )


def _amount(request, name="amount") -> Decimal | None:
    try:
        return Decimal((request.POST.get(name) or "").replace(",", "").strip())
    except InvalidOperation:
        return None


def _act(request, fy, fn):
    try:
        fn()
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Recorded."))
    return redirect(f"{reverse('subsidy_staff:funds')}?fy={fy}")


@require_POST
@funds_officer
def release(request):
    if refused := _funder_only(request):
        return refused
    fy, line = _fy(request), request.POST.get("line", "")
    return _act(request, fy, lambda: funds.release(fy, line, actor=request.user.username))


@require_POST
@funds_officer
def confirm(request):
    if refused := _funder_only(request):
        return refused
    fy, line, amount = _fy(request), request.POST.get("line", ""), _amount(request)

    def do():
        if amount is None:
            raise errors.AmountInvalid()
        funds.confirm(
            fy,
            line,
            amount,
            actor=request.user.username,
            note_en=request.POST.get("note_en", ""),
            note_zh=request.POST.get("note_zh", ""),
        )

    return _act(request, fy, do)


@require_POST
@funds_officer
def virement(request):
    if refused := _funder_only(request):
        return refused
    fy, amount = _fy(request), _amount(request)

    def do():
        if amount is None:
            raise errors.AmountInvalid()
        funds.vire(
            fy,
            request.POST.get("from_line", ""),
            request.POST.get("to_line", ""),
            amount,
            requested_by=request.POST.get("requested_by", ""),
            reason_en=request.POST.get("reason_en", ""),
            reason_zh=request.POST.get("reason_zh", ""),
            actor=request.user.username,
        )

    return _act(request, fy, do)


@require_GET
@funds_officer
def application(request, public_id):
    app = get_object_or_404(Application.objects.select_related("service_class"), public_id=public_id)
    award = awards.Award.objects.filter(application=app).first()
    return render(
        request,
        "subsidy/funds/application.html",
        {
            "app": app,
            "award": award,
            "months": award.months.all() if award else [],
            "requested": app.requested_months.all(),
            "cost_items": app.cost_items.all(),
            "proposals": [(p, reallocation.agenda_item(p)) for p in award.reallocations.all()] if award else [],
            "is_administrator": request.is_administrator,
        },
    )


@require_POST
@funds_officer
def reallocate(request, public_id):
    app = get_object_or_404(Application, public_id=public_id)
    award = get_object_or_404(awards.Award, application=app)
    back = reverse("subsidy_staff:funds_application", args=[public_id])
    if not request.is_administrator:
        messages.error(request, _("Only Cyberport proposes a reallocation."))
        return redirect(back)
    try:
        minutes = int(request.POST.get("gpu_minutes") or 0)
    except ValueError:
        minutes = 0
    try:
        reallocation.propose(
            award,
            to_account=request.POST.get("to_account", ""),
            gpu_minutes=minutes,
            reason_en=request.POST.get("reason_en", ""),
            reason_zh=request.POST.get("reason_zh", ""),
            actor=request.user.username,
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Proposed to the committee."))
    return redirect(back)


def _administrator_only(request):
    if not request.is_administrator:
        return render(
            request,
            "subsidy/funds/forbidden.html",
            {"message": _("Only Cyberport keeps the price book and the capacity plan.")},
            status=403,
        )
    return None


def _month(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(f"{text.strip()[:7]}-01")
    except ValueError:
        return None


@require_POST
@funds_officer
def add_price(request):
    if refused := _administrator_only(request):
        return refused
    sc = get_object_or_404(ServiceClass, code=request.POST.get("service_class", ""))
    amount = _amount(request, "list_price")

    def do():
        try:
            day = dt.date.fromisoformat(request.POST.get("effective_from", ""))
        except ValueError:
            raise errors.PriceBackdated() from None
        prices.add_price(sc, amount if amount is not None else Decimal("0"), day, basis=request.POST.get("basis", ""))

    return _act(request, _fy(request), do)


@require_POST
@funds_officer
def change_capacity(request):
    if refused := _administrator_only(request):
        return refused
    sc = get_object_or_404(ServiceClass, code=request.POST.get("service_class", ""))
    month = _month(request.POST.get("month", ""))
    try:
        nodes = int(request.POST.get("nodes", ""))
    except ValueError:
        nodes = -1

    def do():
        if month is None or nodes < 0:
            raise errors.ScheduleInvalid(reason=errors.SCHEDULE_PROBLEMS["month_format"])
        prices.change_capacity(sc, month, nodes)

    return _act(request, _fy(request), do)


@require_POST
@funds_officer
def reallocation_agenda(request, public_id, proposal):
    """Cyberport puts a proposal not yet on an agenda on the committee's next meeting (tcommittee;
    seed 000 §17)."""
    app = get_object_or_404(Application, public_id=public_id)
    found = get_object_or_404(ReallocationProposal, public_id=proposal, award__application=app)
    back = reverse("subsidy_staff:funds_application", args=[public_id])
    if not request.is_administrator:
        messages.error(request, _("Only Cyberport proposes a reallocation."))
        return redirect(back)
    try:
        item = reallocation.put_on_agenda(found, actor=request.user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        if item is None:
            messages.error(request, _("No committee meeting is planned: plan one, then put it on the agenda."))
        else:
            messages.success(request, _("Put on the committee's agenda."))
    return redirect(back)
