"""The payer's pages (issue 18), under ``/pay/``: an order's FPS payment step
(``/pay/<order id>/``), its status as JSON for the page's poll (``/pay/<order id>/status``) and
its QR code as a PNG image (``/pay/<order id>/qr.png``). The order's id (a random UUID) is the
capability, as GOV.UK Pay's ``next_url``: the page shows the amount, the payee and what it is
for, nothing about the payer. Thin: rules are in :mod:`tungban.payments.services`."""

from __future__ import annotations

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tungban.core.errors import DomainError

from . import fps, services, web
from .constants import PAID_STATES


def _order(order_id):
    try:
        return services.get_order(order_id)
    except DomainError:
        raise Http404 from None


@require_GET
def pay(request, order_id):
    """The payment step of one order (FPS QR code, reference, expiry, "Pay with your bank app");
    the page follows the order's state by itself (``payments/poll.js``). Its receipts and
    refunds are shown only to the order's payer logged in (:func:`web.viewer_is_payer`);
    anyone else holding the link is told the receipt is in the payer's app or account."""
    order = _order(order_id)
    context = {"step": web.step(order, request), "payer_view": web.viewer_is_payer(order, request)}
    return render(request, "payments/pay.html", context)


@require_GET
def status(request, order_id):
    """``{"value": state, "state", "finished", "paid"}``: what the page's poll compares
    (``value`` changes when the page should be drawn again). Not cached."""
    order = _order(order_id)
    response = JsonResponse(
        {"value": order.state, "state": order.state, "finished": order.finished, "paid": order.state in PAID_STATES}
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def qr_png(request, order_id):
    """The order's FPS QR code as a PNG image (to save or print); 404 once it cannot be paid."""
    order = _order(order_id)
    if not web.step(order, request)["payable"]:
        raise Http404
    response = HttpResponse(fps.png_bytes(services.fps_payload(order)), content_type="image/png")
    response["Content-Disposition"] = f'attachment; filename="fps-{order.reference}.png"'
    return response
