"""Reconciliation's staff pages, under ``/staff/payments/reconciliation/`` (issue 18): statement
imports (upload, fetch from the bank, each import's state), the exceptions queue and its
resolutions, and the daily close report (page and CSV).

For staff logged in with their second factor (:mod:`tungban.counter.staffauth`) who hold the
permission ``payments.reconcile`` (the Treasury's officers: reconciliation covers every
department's collections); others get the staff login page or a 403 page. Every change is a
POST through :mod:`tungban.payments.services.reconciliation`.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tungban.core.errors import DomainError

from .constants import OrderState
from .forms_recon import DayForm, MatchForm, QueueFilter, RefundForm, UploadForm, WriteOffForm
from .models_recon import ExceptionKind, ExceptionReason, ExceptionState, ImportState, Resolution
from .services import reconciliation as recon
from .services.orders import hkd

PERMISSION = "payments.reconcile"


def reconciler_required(view):
    """Verified staff with ``payments.reconcile``; others to the staff login or a 403 page."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not user.has_perm(PERMISSION):
            return render(
                request,
                "payments/staff/recon_forbidden.html",
                {"message": _("Reconciliation is for officers who may import bank statements. Ask an administrator.")},
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapped


def _officer(request) -> str:
    return f"officer:{request.user.get_username()}"


def _import_row(imp) -> dict:
    return {"imp": imp, "state": ImportState(imp.state).label, "finished": imp.finished}


@reconciler_required
@require_http_methods(["GET", "POST"])
def home(request):
    upload = UploadForm()
    if request.method == "POST":
        upload = UploadForm(request.POST, request.FILES)
        if upload.is_valid():
            f = upload.cleaned_data["statement"]
            try:
                imp, new = recon.submit_statement(f.read(), filename=f.name, requested_by=_officer(request))
            except DomainError as exc:
                upload.add_error("statement", str(exc.message))
            else:
                if not new:
                    messages.info(request, _("This file was already imported: nothing is added twice."))
                return redirect("payments-recon:import", import_id=imp.pk)
    yesterday = recon.today() - dt.timedelta(days=1)
    return render(
        request,
        "payments/staff/recon_home.html",
        {
            "upload": upload,
            "fetch": DayForm(initial={"date": yesterday}, prefix="fetch"),
            "imports": [_import_row(i) for i in recon.recent_imports()],
            "counts": [
                {"kind": k, "label": ExceptionKind(k).label, "count": n} for k, n in recon.queue_counts().items()
            ],
        },
        status=422 if upload.errors else 200,
    )


@reconciler_required
@require_POST
def fetch(request):
    form = DayForm(request.POST, prefix="fetch")
    if not form.is_valid():
        messages.error(request, _("Give the day of the statement to fetch."))
        return redirect("payments-recon:home")
    imp, new = recon.fetch_statement(form.cleaned_data["date"], requested_by=_officer(request))
    if not new:
        messages.info(request, _("The statement of this day is already being fetched or was fetched."))
    return redirect("payments-recon:import", import_id=imp.pk)


@reconciler_required
@require_GET
def import_detail(request, import_id):
    try:
        imp = recon.get_import(import_id)
    except DomainError:
        return render(
            request, "payments/staff/recon_forbidden.html", {"message": _("There is no such import.")}, status=404
        )
    raised = (
        list(imp.raised.select_related("transfer", "debit").order_by("created_at")[:200])
        if imp.state == ImportState.DONE
        else []
    )
    return render(
        request,
        "payments/staff/recon_import.html",
        {
            "imp": imp,
            "state": ImportState(imp.state).label,
            "problems": (imp.error_details or {}).get("problems", []),
            "raised": [_exception_row(e) for e in raised],
        },
    )


def _exception_row(e) -> dict:
    return {
        "e": e,
        "kind": ExceptionKind(e.kind).label,
        "reason": ExceptionReason(e.reason).label,
        "amount": hkd(e.amount_cents),
        "reference": e.line.reference,
        "expected": hkd(e.expected_cents) if e.expected_cents is not None else "",
        "state": ExceptionState(e.state).label,
        "resolution": Resolution(e.resolution).label if e.resolution else "",
    }


@reconciler_required
@require_GET
def queue(request):
    data = request.GET.copy()
    if "state" not in data:
        data["state"] = ExceptionState.OPEN
    form = QueueFilter(data)
    kwargs = {"state": ExceptionState.OPEN}
    if form.is_valid():
        kwargs = {
            "state": form.cleaned_data["state"],
            "kind": form.cleaned_data["kind"],
            "day": form.cleaned_data["date"],
        }
    rows = [_exception_row(e) for e in recon.exceptions_queue(**kwargs)]
    return render(
        request,
        "payments/staff/recon_queue.html",
        {
            "form": form,
            "rows": rows,
            "counts": [
                {"kind": k, "label": ExceptionKind(k).label, "count": n} for k, n in recon.queue_counts().items()
            ],
        },
    )


def _resolution_forms(exc, post=None, which=None) -> dict:
    allowed = recon.ALLOWED[exc.kind] if exc.state == ExceptionState.OPEN else ()
    forms = {}
    if Resolution.MATCHED in allowed:
        initial = (
            {"reference": exc.transfer.order.reference} if exc.kind == ExceptionKind.LATE and exc.transfer.order else {}
        )
        forms["match"] = MatchForm(post if which == "match" else None, prefix="match", initial=initial)
    if Resolution.REFUND in allowed:
        most = recon.refundable_cents(exc)
        forms["refund"] = RefundForm(
            post if which == "refund" else None, prefix="refund", initial={"amount": Decimal(most) / 100}
        )
    if Resolution.WRITTEN_OFF in allowed:
        forms["write_off"] = WriteOffForm(post if which == "write_off" else None, prefix="write_off")
    return forms


ACTIONS = {"match": Resolution.MATCHED, "refund": Resolution.REFUND, "write_off": Resolution.WRITTEN_OFF}


@reconciler_required
@require_http_methods(["GET", "POST"])
def exception_detail(request, exception_id, action=None):
    try:
        exc = recon.get_exception(exception_id)
    except DomainError:
        return render(
            request, "payments/staff/recon_forbidden.html", {"message": _("There is no such exception.")}, status=404
        )
    status = 200
    action_error = ""
    if request.method == "POST":
        if action not in ACTIONS:
            return HttpResponse(status=404)
        forms = _resolution_forms(exc, request.POST, action)
        form = forms.get(action)
        if form is None:
            action_error = _("This cannot be done to this exception.")
            status = 409
        elif form.is_valid():
            data = form.cleaned_data
            amount = data.get("amount")
            try:
                recon.resolve(
                    exc.pk,
                    ACTIONS[action],
                    officer=_officer(request),
                    note=data.get("note", ""),
                    reference=data.get("reference", ""),
                    refund_cents=int(amount * 100) if amount is not None else None,
                )
            except DomainError as err:
                action_error = str(err.message)
                status = err.status
            else:
                messages.success(request, _("The exception is resolved."))
                return redirect("payments-recon:exception", exception_id=exc.pk)
        else:
            status = 422
    else:
        forms = _resolution_forms(exc)
    transfer = exc.line  # the credit transfer, or the statement debit
    order = exc.order or getattr(transfer, "order", None)
    return render(
        request,
        "payments/staff/recon_exception.html",
        {
            "row": _exception_row(exc),
            "e": exc,
            "transfer": transfer,
            "transfer_amount": hkd(transfer.amount_cents),
            "order": order,
            "order_state": OrderState(order.state).label if order else "",
            "forms": forms,
            "action_error": action_error,
            "refund_cents": hkd(exc.refund_cents) if exc.refund_cents else "",
            "conflict_amount": hkd(transfer.conflicts_with.amount_cents)
            if getattr(transfer, "conflicts_with_id", None)
            else "",
        },
        status=status,
    )


def _day(request) -> dt.date:
    form = DayForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return form.cleaned_data["date"]
    return recon.today() - dt.timedelta(days=1)


@reconciler_required
@require_http_methods(["GET", "POST"])
def close(request):
    status = 200
    if request.method == "POST":
        form = DayForm(request.POST)
        if form.is_valid():
            day = form.cleaned_data["date"]
            try:
                recon.close_day(day, officer=_officer(request))
            except DomainError as err:
                messages.error(request, str(err.message))
            else:
                messages.success(request, _("The day is closed: its report is kept as it is now."))
            return redirect(f"{reverse('payments-recon:close')}?date={day.isoformat()}")
        day, status = recon.today() - dt.timedelta(days=1), 422
    else:
        day = _day(request)
    report = recon.close_report(day)
    return render(
        request,
        "payments/staff/recon_close.html",
        {
            "form": DayForm(initial={"date": day}),
            "day": day,
            "report": report,
            "rows": [
                {**r, "amount": hkd(r["amount_cents"]), "refunds": hkd(r["refunds_cents"])} for r in report["rows"]
            ],
            "departments": [
                {
                    **d,
                    "name": d["department"] or _("Not applied to a payment"),
                    "received": hkd(d["received_cents"]),
                    "refunds": hkd(d["refunds_cents"]),
                    "reversed": hkd(d.get("reversals_cents", 0)),
                }
                for d in report["departments"]
            ],
            "totals": {
                **report["totals"],
                "received": hkd(report["totals"].get("received_cents", 0)),
                "amount": hkd(report["totals"].get("amount_cents", 0)),
                "refunds": hkd(report["totals"].get("refunds_cents", 0)),
                "reversed": hkd(report["totals"].get("reversals_cents", 0)),
            },
            "can_close": not report["closed"] and day < recon.today(),
            "closes": recon.closes(),
        },
        status=status,
    )


@reconciler_required
@require_GET
def close_csv(request, day):
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        return HttpResponse(status=404)
    response = HttpResponse(recon.close_csv(date), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="daily-close-{date.isoformat()}.csv"'
    return response
