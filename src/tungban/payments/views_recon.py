"""Reconciliation's staff pages, under ``/staff/payments/reconciliation/`` (issue 18): statement
imports (upload, fetch from the bank, each import's state), the exceptions queue and its
resolutions, and the daily close report (page and CSV).

For staff logged in with their second factor (:mod:`tungban.counter.staffauth`) who hold the
permission ``payments.reconcile`` (the Treasury's officers: reconciliation covers every
department's collections); others get the staff login page or a 403 page. Every change is a
POST through :mod:`tungban.payments.services.reconciliation`. No one person moves money
(review findings 2 and 9): an uploaded file and a resolution that moves money wait for a
second reconciler, whose approval (or refusal: the uploader or proposer is refused with the
error's message, 403) is a POST on the import's or the exception's page.
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
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tungban.core.errors import DomainError

from . import errors, refunds
from .constants import OrderState
from .forms_recon import DayForm, DeclineForm, MatchForm, QueueFilter, RefundForm, UploadForm, WriteOffForm
from .models_recon import ExceptionKind, ExceptionReason, ExceptionState, ImportState, Resolution
from .models_refunds import RefundState
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


IMPORT_ACTIONS = ("approve", "turn_down")


@reconciler_required
@require_http_methods(["GET", "POST"])
def import_detail(request, import_id, action=None):
    try:
        imp = recon.get_import(import_id)
    except DomainError:
        return render(
            request, "payments/staff/recon_forbidden.html", {"message": _("There is no such import.")}, status=404
        )
    status, action_error = 200, ""
    turn_down = DeclineForm(prefix="turn_down")
    if request.method == "POST":
        if action not in IMPORT_ACTIONS:
            return HttpResponse(status=404)
        try:
            if action == "approve":
                recon.approve_import(imp.pk, officer=_officer(request))
                messages.success(request, _("The file is approved: the worker imports it now."))
            else:
                turn_down = DeclineForm(request.POST, prefix="turn_down")
                if not turn_down.is_valid():
                    raise errors.NoteRequired()
                recon.turn_down_import(imp.pk, officer=_officer(request), reason=turn_down.cleaned_data["reason"])
                messages.success(request, _("The file is turned down: nothing of it was recorded."))
        except DomainError as err:
            action_error, status = str(err.message), err.status
        else:
            return redirect("payments-recon:import", import_id=imp.pk)
    raised = (
        list(imp.raised.select_related("transfer", "debit").order_by("created_at")[:200])
        if imp.state == ImportState.DONE
        else []
    )
    held = recon.line_states(imp) if imp.state == ImportState.HELD else []
    return render(
        request,
        "payments/staff/recon_import.html",
        {
            "imp": imp,
            "state": ImportState(imp.state).label,
            "problems": (imp.error_details or {}).get("problems", []),
            "raised": [_exception_row(e) for e in raised],
            "held": [
                {
                    **line,
                    "amount": hkd(line["amount_cents"]),
                    "label": LINE_STATES[line["state"]],
                    "way": LINE_DIRECTIONS[line["direction"]],
                }
                for line in held
            ],
            "held_waiting": sum(line["state"] != "confirmed" for line in held),
            "own_upload": imp.requested_by == _officer(request),
            "turn_down": turn_down,
            "action_error": action_error,
        },
        status=status,
    )


#: What a held line would do (:func:`recon.direction`).
LINE_DIRECTIONS = {
    "credit": _lazy("Money in"),
    "debit": _lazy("Money out"),
    "reversal": _lazy("Reversal of a credit"),
}

#: How a held line stands now (:func:`recon.line_states`).
LINE_STATES = {
    "held": _lazy("Held: nothing recorded"),
    "confirmed": _lazy("Recorded by the bank, the same amount"),
    "differs": _lazy("Recorded by the bank with another amount"),
}


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
        "needs_second": e.resolution and recon.needs_second_reconciler(e, e.resolution),
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
#: Decisions on a proposal, and a reconciler's approval of a refund of no department.
DECISIONS = ("approve", "decline", "approve_refund")


def _decide(request, exc, action: str, decline: DeclineForm) -> str:
    """Carry out a decision (:data:`DECISIONS`); returns the success message."""
    if action == "approve":
        recon.approve_resolution(exc.pk, officer=_officer(request))
        return _("The resolution is approved and carried out.")
    if action == "decline":
        if not decline.is_valid():
            raise errors.NoteRequired()
        recon.decline_resolution(exc.pk, officer=_officer(request), reason=decline.cleaned_data["reason"])
        return _("The proposal is turned down: the exception is open again.")
    if exc.refund_id is None or refunds.department_of(exc.refund):
        raise errors.RefundUnknown()
    refunds.approve(exc.refund_id, request.user)
    return _("The refund is approved: it goes to the bank in the next refund file.")


def _propose(request, exc, action: str, form) -> str:
    data = form.cleaned_data
    amount = data.get("amount")
    done = recon.propose(
        exc.pk,
        ACTIONS[action],
        officer=_officer(request),
        note=data.get("note", ""),
        reference=data.get("reference", ""),
        refund_cents=int(amount * 100) if amount is not None else None,
    )
    if done.state == ExceptionState.RESOLVED:
        return _("The exception is resolved.")
    return _("The resolution is proposed: another reconciler must approve it.")


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
    forms = _resolution_forms(exc)
    decline = DeclineForm(prefix="decline")
    if request.method == "POST":
        if action not in ACTIONS and action not in DECISIONS:
            return HttpResponse(status=404)
        form = None
        if action in ACTIONS:
            forms = _resolution_forms(exc, request.POST, action)
            form = forms.get(action)
        else:
            decline = DeclineForm(request.POST, prefix="decline")
        try:
            if action in DECISIONS:
                done = _decide(request, exc, action, decline)
            elif form is None:
                done, action_error, status = "", _("This cannot be done to this exception."), 409
            elif not form.is_valid():
                done = ""
                status = 422
            else:
                done = _propose(request, exc, action, form)
        except DomainError as err:
            action_error, status = str(err.message), err.status
        else:
            if done:
                messages.success(request, done)
                return redirect("payments-recon:exception", exception_id=exc.pk)
    transfer = exc.line  # the credit transfer, or the statement debit
    order = exc.order or getattr(transfer, "order", None)
    refund = exc.refund
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
            "decline": decline,
            "own_proposal": exc.proposed_by == _officer(request),
            "action_error": action_error,
            "refund_cents": hkd(exc.refund_cents) if exc.refund_cents else "",
            "conflict_amount": hkd(transfer.conflicts_with.amount_cents)
            if getattr(transfer, "conflicts_with_id", None)
            else "",
            "refund": refund,
            "refund_state": RefundState(refund.state).label if refund else "",
            "refund_file": refund.batch
            if refund is not None and refund.batch and not refund.batch.department
            else None,
            "refund_for_reconcilers": refund is not None
            and not refunds.department_of(refund)
            and refund.state == RefundState.REQUESTED,
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
                    "refunds_pending": hkd(d.get("refunds_pending_cents", 0)),
                    "reversed": hkd(d.get("reversals_cents", 0)),
                }
                for d in report["departments"]
            ],
            "totals": {
                **report["totals"],
                "received": hkd(report["totals"].get("received_cents", 0)),
                "amount": hkd(report["totals"].get("amount_cents", 0)),
                "refunds": hkd(report["totals"].get("refunds_cents", 0)),
                "refunds_pending": hkd(report["totals"].get("refunds_pending_cents", 0)),
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


@reconciler_required
@require_GET
def refund_file(request, file_id):
    """The Treasury's refund instruction file (``pain.001``) of refunds of transfers applied to
    no order (:func:`refunds.export_batch` of department ``""``), for the reconcilers to send
    to the bank; a department's file is on the department's refunds pages."""
    found = refunds.treasury_batch(file_id)
    if found is None:
        return HttpResponse(status=404)
    response = HttpResponse(bytes(found.xml), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{found.message_id}.xml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
