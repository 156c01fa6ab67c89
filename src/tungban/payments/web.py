"""What a payment page shows (issue 18): the FPS payment step of an order, for the payments
app's own page (``/pay/<order>/``) and for the pages of the apps that charge (the e-services
status page includes ``payments/_fps_step.html`` with :func:`step`)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils.translation import get_language

from . import fps, purposes
from .constants import PAID_STATES, PAYABLE_STATES, OrderState
from .models import PaymentOrder
from .reference import grouped
from .services import fps_payload, hkd

#: Who is logged in on a page: functions ``request -> Resident | None`` registered by the apps
#: that log residents in (the e-services portal), asked in order (set once at start-up).
_VIEWERS: list[Callable] = []


def register_viewer(viewer: Callable) -> None:
    """Register ``viewer(request) -> Resident | None``: the resident a request is logged in as
    (an app above this one owns the login; :func:`viewer_is_payer` asks it)."""
    if viewer not in _VIEWERS:
        _VIEWERS.append(viewer)


def viewer_is_payer(order: PaymentOrder, request) -> bool:
    """Whether ``request`` is logged in as ``order``'s payer (``order.payer``): only they see its
    receipt links and refunds on the payment page; the order's link alone is not enough (review
    finding 9: the link is held by departments and banks and stays in browser history)."""
    if order.payer_id is None:
        return False
    for viewer in _VIEWERS:
        resident = viewer(request)
        if resident is not None:
            return resident.pk == order.payer_id
    return False


def _zh() -> bool:
    return (get_language() or "").startswith("zh")


def bank_link(order: PaymentOrder, payload: str, return_to: str) -> str:
    """ "Pay with your bank app": the demo bank's page with the QR payload and the way back (a
    banking app's deep link in production)."""
    return f"{settings.TUNGBAN_PAYMENTS_BANK_URL}/pay?{urlencode({'qr': payload, 'return': return_to})}"


def step(order: PaymentOrder, request, *, return_to: str = "") -> dict:
    """The payment step's context: ``amount``, ``lines`` (label, amount), ``reference``
    (grouped for reading), ``expires_at``, the QR code (``qr_src``: an SVG ``data:`` URI, and
    ``png_url``), ``bank_url``, ``state`` / ``paid`` / ``expired`` / ``payable``, the payee's
    name and what it is for (``title``). A ``partially_paid`` order stays payable until it
    expires (review finding 5): ``partial``, ``received`` and ``balance`` (what the QR code
    asks for); an order that expired holding money says so (``refund_due``)."""
    zh = _zh()
    about = purposes.describe(order)
    back = return_to or request.build_absolute_uri(about.get("url") or reverse("payments:pay", args=[order.pk]))
    still_open = order.state in PAYABLE_STATES
    payable = order.payable_now
    payload = fps_payload(order) if payable else ""
    return {
        "order": order,
        "title": about["title_zh"] if zh else about["title_en"],
        "amount": hkd(order.amount_cents),
        "received": hkd(order.amount_received_cents),
        "balance": hkd(order.balance_cents),
        "lines": [
            {
                "label": line["label_zh"] if zh else line["label_en"],
                "quantity": line["quantity"],
                "amount": hkd(line["total_cents"]),
            }
            for line in order.lines
        ],
        "reference": grouped(order.reference),
        "reference_raw": order.reference,
        "expires_at": order.expires_at,
        "payee": settings.TUNGBAN_PAYMENTS_MERCHANT_NAME,
        "state": order.state,
        "state_label": OrderState(order.state).label,
        "paid": order.state in PAID_STATES,
        "partial": order.state == OrderState.PARTIALLY_PAID,
        "refund_due": order.amount_received_cents > 0 and order.state not in PAID_STATES and not payable,
        "expired": order.state == OrderState.EXPIRED or (still_open and not payable),
        "payable": payable,
        "qr_src": fps.svg_data_uri(payload) if payable else "",
        "png_url": reverse("payments:qr-png", args=[order.pk]) if payable else "",
        "bank_url": bank_link(order, payload, back) if payable else "",
        "status_url": reverse("payments:status", args=[order.pk]),
    }
