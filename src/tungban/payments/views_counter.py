"""The payment counter (staff, ``/staff/payments/counter/``) and the self-service kiosk (no
login, ``/pay/kiosk/``): thin views over :mod:`.counter` (issue 18; MISSION §5 "線上及線下（包括
服務櫃位及自助服務機）"). Pages are bilingual, phone- and kiosk-friendly, and carry no inline
script or style: the status poll is ``payments/poll.js`` (it reloads the page when the order's
state changes)."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from tungban.core import ratelimit
from tungban.core.errors import DomainError

from . import counter, errors, fps, officers, reference, services
from .constants import PAID_STATES, OrderState
from .forms_staff import CheckForm, KioskForm, LookupForm
from .views_staff import payments_officer


def _order_view(order, *, status_url: str) -> dict:
    """What a counter screen or the kiosk shows of ``order``."""
    is_open = order.payable_now  # part paid: the balance
    payload = services.fps_payload(order) if is_open else ""
    return {
        "order": order,
        "reference_grouped": reference.grouped(order.reference),
        "department": officers.department_name(order.department),
        "amount": services.hkd(order.balance_cents if is_open else order.amount_cents),  # what the QR asks
        "state": OrderState(order.state).label,
        "is_open": is_open,
        "is_paid": order.state in PAID_STATES,
        "qr": fps.svg_data_uri(payload, scale=6) if payload else "",
        "payload": payload,
        "status_url": status_url,
        "lines": order.lines,
    }


def _status(order) -> JsonResponse:
    response = JsonResponse({"state": order.state, "finished": order.finished, "paid": order.state in PAID_STATES})
    response["Cache-Control"] = "no-store"
    return response


# --- staff: the counter ---------------------------------------------------------------------


@payments_officer
@require_http_methods(["GET", "POST"])
def counter_home(request):
    """Choose a department's service, then quantities of its fee items; or find an order."""
    departments = [m.department for m in request.memberships]
    department = (request.POST.get("department") or request.GET.get("department") or departments[0]).upper()
    if department not in departments:
        raise Http404
    service = request.POST.get("service") or request.GET.get("service") or ""
    fees, error = [], None
    if service:
        try:
            fees = counter.fee_choices(department, service)
        except DomainError as exc:
            error = str(exc.message)
    if request.method == "POST" and request.POST.get("action") == "create":
        quantities, concessions = {}, {}
        for version in fees:
            code = version.item.code
            raw = (request.POST.get(f"qty-{code}") or "0").strip()
            quantities[code] = int(raw) if raw.isdigit() and int(raw) <= 99 else -1
            concessions[code] = request.POST.get(f"concession-{code}", "")
        if any(q < 0 for q in quantities.values()):
            error = _("Each quantity is a whole number from 0 to 99.")
        else:
            try:
                order = counter.create_counter_order(
                    request.user,
                    department=department,
                    service=service,
                    quantities=quantities,
                    concessions=concessions,
                    key=(request.POST.get("key") or "")[:64] or str(uuid.uuid4()),
                )
                return redirect("payments-staff:counter-order", reference=order.reference)
            except DomainError as exc:
                error = str(exc.message)
    lookup = LookupForm(prefix="find")
    return render(
        request,
        "payments/staff/counter.html",
        {
            "departments": [{"code": c, "name": officers.department_name(c)} for c in departments],
            "department": department,
            "services": counter.services_of(department),
            "service": service,
            "fees": [
                {"v": v, "amount": services.hkd(v.amount_cents), "concessions": v.concessions or []} for v in fees
            ],
            "key": str(uuid.uuid4()),
            "error": error,
            "lookup": lookup,
        },
        status=422 if error and request.method == "POST" else 200,
    )


@payments_officer
@require_GET
def counter_find(request):
    """An order (or a posted bill) by bill reference, for the counter's screen."""
    form = LookupForm(request.GET or None, prefix="find")
    if form.is_bound and form.is_valid():
        order = services.find_by_reference(form.cleaned_data["reference"])
        if order is not None and officers.role_in(request.user, order.department) is not None:
            return redirect("payments-staff:counter-order", reference=order.reference)
        form.add_error("reference", _("None of your departments' payments has this reference."))
    return render(
        request,
        "payments/staff/counter.html",
        {
            "departments": [
                {"code": m.department, "name": officers.department_name(m.department)} for m in request.memberships
            ],
            "department": request.memberships[0].department,
            "services": counter.services_of(request.memberships[0].department),
            "service": "",
            "fees": [],
            "key": str(uuid.uuid4()),
            "lookup": form,
        },
        status=404 if form.is_bound else 200,
    )


def _counter_order(request, ref: str):
    order = services.find_by_reference(ref)
    if order is None or officers.role_in(request.user, order.department) is None:
        raise Http404
    return order


@payments_officer
@require_GET
def counter_order(request, reference):
    order = _counter_order(request, reference)
    context = _order_view(order, status_url=reverse("payments-staff:counter-status", args=[order.reference]))
    return render(request, "payments/staff/counter_order.html", context)


@payments_officer
@require_GET
@never_cache
def counter_status(request, reference):
    return _status(_counter_order(request, reference))


@payments_officer
@require_GET
def static_qr(request):
    """The counter's static FPS QR code (no amount; the payer types the bill reference)."""
    payload = services.static_payload()
    return render(
        request,
        "payments/staff/static_qr.html",
        {"payload": payload, "qr": fps.svg_data_uri(payload, scale=6), "payee": services.payee()},
    )


@payments_officer
@require_GET
def static_qr_png(request):
    """The static code as a PNG, to print on counters' stands and bills."""
    response = HttpResponse(fps.png_bytes(services.static_payload(), scale=10), content_type="image/png")
    response["Content-Disposition"] = 'attachment; filename="fps-static-qr.png"'
    return response


@payments_officer
@require_http_methods(["GET", "POST"])
def check(request):
    """The counter's validator: paste or scan a payload, see its fields or what is wrong with
    it, in both languages."""
    form = CheckForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = counter.check_payload(form.cleaned_data["payload"])
        if result.order is not None and officers.role_in(request.user, result.order.department) is None:
            result.order = None  # another department's payment: its existence is not shown
    return render(
        request,
        "payments/staff/check.html",
        {"form": form, "result": result},
        status=422 if result is not None and not result.ok else 200,
    )


# --- the kiosk (no login) -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@ratelimit.limit_failures("payments_kiosk")  # wrong references count: guessing is slowed
def kiosk(request):
    """Type the bill reference (check digits checked before anything is looked up)."""
    form = KioskForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            order = counter.find_for_kiosk(form.cleaned_data["reference"])
            return redirect("payments-kiosk:order", reference=order.reference)
        except DomainError as exc:
            form.add_error("reference", str(exc.message))
            status = exc.status
    return render(request, "payments/kiosk/home.html", {"form": form}, status=status)


def _kiosk_order(ref: str):
    """The order of bill reference ``ref``, or ``None`` (bad check digits, or no such order)."""
    if not reference.is_valid(ref):
        return None
    return services.find_by_reference(ref)


@require_GET
@ratelimit.limit_failures("payments_kiosk", methods=("GET",))
def kiosk_order(request, reference):
    order = _kiosk_order(reference)
    if order is None:  # a 404 response (not raised), so that the failure is counted
        form = KioskForm(initial={"reference": reference})
        return render(request, "payments/kiosk/home.html", {"form": form, "not_found": True}, status=404)
    context = _order_view(order, status_url=reverse("payments-kiosk:status", args=[order.reference]))
    return render(request, "payments/kiosk/order.html", context)


@require_GET
@never_cache
@ratelimit.limit("payments_kiosk_status", methods=("GET",))
def kiosk_status(request, reference):
    order = _kiosk_order(reference)
    if order is None:
        return JsonResponse(errors.OrderUnknown().as_dict(), status=404)
    return _status(order)
