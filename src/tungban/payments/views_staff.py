"""The payments staff pages under ``/staff/payments/`` (issue 18): refunds (request, approve,
reject, export to the bank, mark refunded) for officers of the order's department. Staff log in
with their second factor (:mod:`tungban.counter.staffauth`); who belongs to which department
is :mod:`.officers`'. An order or refund of another department is 404 (its existence is not
disclosed). Every action is a POST through :mod:`.refunds`; refusals are shown in the
officer's language with the status the API would answer (403, 404, 409, 412, 422).
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tungban.core.errors import DomainError

from . import officers, refunds, services
from .constants import OrderState
from .forms_staff import LookupForm, RefundRequestForm, RejectForm
from .models_refunds import RefundState


def payments_officer(view):
    """Staff verified by their second factor who act for at least one department's payments;
    others go to the staff login page, staff without a department get a 403 page."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        request.memberships = officers.memberships(user)
        if not request.memberships:
            return render(
                request,
                "payments/staff/forbidden.html",
                {"message": _("You do not act for any department's payments. Ask an administrator.")},
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapped


def _departments(request) -> list[dict]:
    return [
        {"code": m.department, "name": officers.department_name(m.department), "role": m.role}
        for m in request.memberships
    ]


def _order_of(request, reference: str):
    order = services.find_by_reference(reference)
    if order is None or officers.role_in(request.user, order.department) is None:
        raise Http404
    return order


def _refund_of(request, refund_id):
    try:
        refund = refunds.get_refund(refund_id)
    except DomainError:
        raise Http404 from None
    if officers.role_in(request.user, refund.order.department) is None:
        raise Http404
    return refund


def _refund_rows(items, user=None) -> list[dict]:
    return [
        {
            "r": r,
            "amount": services.hkd(r.amount_cents),
            "state": RefundState(r.state).label,
            "department": officers.department_name(r.order.department),
        }
        for r in items
    ]


@payments_officer
@require_http_methods(["GET", "POST"])
def home(request):
    """Refunds waiting for this officer, the departments' recent refunds and batches, and a
    search by bill reference."""
    form = LookupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        order = services.find_by_reference(form.cleaned_data["reference"])
        if order is not None and officers.role_in(request.user, order.department) is not None:
            return redirect("payments-staff:order", reference=order.reference)
        form.add_error("reference", _("None of your departments' payments has this reference."))
    return render(
        request,
        "payments/staff/home.html",
        {
            "form": form,
            "departments": _departments(request),
            "awaiting": _refund_rows(refunds.awaiting(request.user)),
            "recent": _refund_rows(refunds.refunds_for_officer(request.user)[:30]),
            "batches": refunds.batches_for_officer(request.user)[:20],
            "threshold": services.hkd(refunds.threshold_cents()),
        },
    )


def _order_context(request, order, form=None, error=None) -> dict:
    summary = refunds.refund_summary(order)
    return {
        "order": order,
        "state": OrderState(order.state).label,
        "department": officers.department_name(order.department),
        "amount": services.hkd(order.amount_cents),
        "received": services.hkd(order.amount_received_cents),
        "summary": summary,
        "available": services.hkd(summary["amount_available"]),
        "lines": [
            {**ln, "unit": services.hkd(ln["unit_cents"]), "total": services.hkd(ln["total_cents"])}
            for ln in order.lines
        ],
        "credits": list(order.credits.order_by("received_at")),
        "refunds": _refund_rows(refunds.refunds_of(order)),
        "form": form or RefundRequestForm(),
        "can_refund": summary["amount_available"] > 0,
        "error": error,
    }


def _stated_available(request) -> int:
    """The amount available (HK cents) the page showed when the officer filled in the form
    (a hidden field); anything else reads as -1, which no order has (refused as stale, 412)."""
    raw = (request.POST.get("amount_available") or "").strip()
    return int(raw) if raw.isdigit() else -1


@payments_officer
@require_GET
def order(request, reference):
    return render(request, "payments/staff/order.html", _order_context(request, _order_of(request, reference)))


@payments_officer
@require_POST
def request_refund(request, reference):
    order = _order_of(request, reference)
    form = RefundRequestForm(request.POST)
    if not form.is_valid():
        return render(request, "payments/staff/order.html", _order_context(request, order, form), status=422)
    data = form.cleaned_data
    try:
        refund = refunds.request_refund(
            order,
            request.user,
            amount_cents=data["amount"],
            amount_available=_stated_available(request),
            reason_en=data["reason_en"],
            reason_zh=data["reason_zh"],
        )
    except DomainError as exc:
        # Shown again with the figure as it is now (the hidden field too), so the officer can
        # check and send it again.
        order.refresh_from_db()
        if exc.field in ("amount", "reason_en", "reason_zh"):
            form.add_error(exc.field, str(exc.message))
        context = _order_context(request, order, form, error=str(exc.message))
        return render(request, "payments/staff/order.html", context, status=exc.status)
    messages.success(
        request, _("Refund %(reference)s requested: another officer must approve it.") % {"reference": refund.reference}
    )
    return redirect("payments-staff:refund", refund_id=refund.pk)


def _refund_context(request, refund, error=None, reject_form=None) -> dict:
    role = officers.role_in(request.user, refund.order.department)
    return {
        "refund": refund,
        "order": refund.order,
        "amount": services.hkd(refund.amount_cents),
        "state": RefundState(refund.state).label,
        "department": officers.department_name(refund.order.department),
        "events": list(refund.events.all()),
        "can_approve": refunds.can_approve(refund, request.user),
        "can_reject": refund.state == RefundState.REQUESTED and role is not None,
        "can_complete": refund.state == RefundState.EXPORTED,
        "reject_form": reject_form or RejectForm(),
        "error": error,
        "threshold": services.hkd(refunds.threshold_cents()),
    }


@payments_officer
@require_GET
def refund(request, refund_id):
    return render(request, "payments/staff/refund.html", _refund_context(request, _refund_of(request, refund_id)))


@payments_officer
@require_POST
def act(request, refund_id, action):
    refund = _refund_of(request, refund_id)
    reject_form = None
    try:
        if action == "approve":
            refund = refunds.approve(refund, request.user)
            if refund.state == RefundState.APPROVED:
                messages.success(request, _("Refund approved: it goes to the bank in the next instruction file."))
            else:
                messages.success(request, _("First approval recorded: an approver must also approve it."))
        elif action == "reject":
            reject_form = RejectForm(request.POST)
            if not reject_form.is_valid():
                context = _refund_context(request, refund, reject_form=reject_form)
                return render(request, "payments/staff/refund.html", context, status=422)
            refunds.reject(refund, request.user, reason=reject_form.cleaned_data["reason"])
            messages.success(request, _("Refund not approved."))
        elif action == "complete":
            refunds.complete(refund, actor_kind="officer", actor_id=request.user.get_username(), user=request.user)
            messages.success(request, _("Refund marked as paid by the bank."))
        else:
            raise Http404
    except DomainError as exc:
        refund.refresh_from_db()
        context = _refund_context(request, refund, error=str(exc.message), reject_form=reject_form)
        return render(request, "payments/staff/refund.html", context, status=exc.status)
    return redirect("payments-staff:refund", refund_id=refund.pk)


@payments_officer
@require_POST
def export(request, code):
    code = code.upper()
    if officers.role_in(request.user, code) is None:
        raise Http404
    try:
        batch = refunds.export_batch(code, request.user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("payments-staff:home")
    return redirect("payments-staff:batch", file_id=batch.pk)


@payments_officer
@require_GET
def batch(request, file_id):
    try:
        found = refunds.get_batch(request.user, file_id)
    except DomainError:
        raise Http404 from None
    return render(
        request,
        "payments/staff/batch.html",
        {
            "batch": found,
            "total": services.hkd(found.total_cents),
            "department": officers.department_name(found.department),
            "refunds": _refund_rows(found.refunds.select_related("order").order_by("reference")),
        },
    )


@payments_officer
@require_GET
def batch_file(request, file_id):
    """The batch's pain.001 file, as made (the same bytes every time)."""
    try:
        found = refunds.get_batch(request.user, file_id)
    except DomainError:
        raise Http404 from None
    response = HttpResponse(bytes(found.xml), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{found.message_id}.xml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
