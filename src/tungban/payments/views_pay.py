"""Card and e-wallet payments through the payment service provider (issue 18), its webhook, and
the mock provider's hosted page (tests and the demo), under ``/pay/`` (:mod:`.urls_pay`).

The order's payment page is the foundation's (``/pay/<order>/``, :mod:`.views`); it offers
"Card / Apple Pay / Google Pay" beside FPS when a provider is configured
(``{% card_option step.order %}``, :mod:`.templatetags.payments_card`), whose button posts to
:func:`card_start`. The provider sends the payer back to :func:`card_return`, which shows the
payment page again (``?card=<outcome>`` when it did not succeed).
"""

from __future__ import annotations

from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tungban.core import ratelimit
from tungban.core.errors import DomainError

from . import errors, psp, web
from .models import CardPaymentStatus, MockPspPayment
from .psp import mock
from .reference import grouped
from .services import card, orders


def _order(order_id):
    try:
        return orders.get_order(order_id)
    except errors.OrderUnknown:
        raise Http404 from None


def _order_key(request) -> str:
    """The order a card payment is started for (the URL's), the key of its per-order limit."""
    return f"order:{request.resolver_match.kwargs.get('order_id', '')}"


@require_POST
@ratelimit.limit("payments_card_start")  # per client: each start opens a session at the provider
@ratelimit.limit("payments_card_order", key=_order_key)  # per order, whoever asks
def card_start(request, order_id):
    """ "Card / Apple Pay / Google Pay": open the provider's hosted page (a refusal shows the
    payment page again with the reason). Past ``payments_card_start`` (per client) or
    ``payments_card_order`` (per order) the answer is 429 with ``Retry-After`` and a page in
    the payer's language (:mod:`tungban.core.ratelimit`; review finding 14)."""
    order = _order(order_id)
    try:
        _attempt, next_url = card.start(order)
    except DomainError as exc:
        context = {"step": web.step(order, request), "card_error": str(exc.message)}
        return render(request, "payments/pay.html", context, status=exc.status)
    return HttpResponseRedirect(next_url)


@require_GET
def card_return(request, attempt_id):
    """Back from the provider's page: ask it what happened (the webhook may not have come yet)
    and show the order."""
    try:
        attempt = card.returned(attempt_id)
    except errors.OrderUnknown:
        raise Http404 from None
    url = reverse("payments:pay", args=[attempt.order_id])
    if attempt.status != CardPaymentStatus.SUCCEEDED:
        url += f"?card={attempt.status}"
    return HttpResponseRedirect(url)


@csrf_exempt
@require_POST
def psp_webhook(request, provider):
    """The provider's signed webhook (its adapter verifies it): 200 ``{"received": true}`` also
    for a repeat; 401 ``psp_signature_invalid``; 400 ``psp_webhook_invalid``; 404 for a
    provider that is not the configured one."""
    try:
        card.receive_webhook(provider, request.body, request.headers)
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    return JsonResponse({"received": True})


# --- the mock PSP's hosted page (TUNGBAN_PAYMENTS_PSP = "mock") ---
def _mock_payment(payment_id) -> MockPspPayment:
    if not psp.configured() or psp.provider().name != mock.MockProvider.name:
        raise Http404
    payment = MockPspPayment.objects.filter(pk=payment_id).first()
    if payment is None:
        raise Http404
    return payment


def _back(payment) -> HttpResponseRedirect:
    return HttpResponseRedirect(payment.return_url)


@require_http_methods(["GET", "POST"])
def mock_page(request, payment_id):
    """The mock provider's payment page: card number, Apple Pay, Google Pay, or cancel."""
    payment = _mock_payment(payment_id)
    if payment.status != CardPaymentStatus.PENDING:
        return _back(payment)
    error = ""
    if request.method == "POST":
        choice = request.POST.get("pay", "")
        if choice in ("apple_pay", "google_pay"):
            return _back(mock.finish(payment.id, "succeeded", instrument=choice))
        if choice == "cancel":
            return _back(mock.finish(payment.id, "abandoned", failure_code="cancelled_by_user"))
        number = "".join(c for c in request.POST.get("card_number", "") if c.isdigit())
        if not 12 <= len(number) <= 19:
            error = _("Enter the card number: 12 to 19 digits.")
        else:
            outcome = mock.TEST_CARDS.get(number, "incorrect_number")
            if outcome == "3ds":
                return HttpResponseRedirect(reverse("pay:mock-psp-3ds", args=[payment.id]))
            if outcome == "succeeded":
                return _back(mock.finish(payment.id, "succeeded", instrument="card"))
            code = "card_declined" if outcome == "declined" else outcome
            return _back(mock.finish(payment.id, "declined", instrument="card", failure_code=code))
    return render(
        request,
        "payments/pay/mock_psp.html",
        {
            "payment": payment,
            "amount": orders.hkd(payment.amount_cents),
            # in groups of four, as on the payment step (ungrouped, it broke mid-number on a phone)
            "reference": grouped(payment.reference),
            "error": error,
        },
        status=422 if error else 200,
    )


@require_http_methods(["GET", "POST"])
def mock_3ds(request, payment_id):
    """The mock issuer's 3-D Secure challenge: "Complete" succeeds, "Cancel" abandons."""
    payment = _mock_payment(payment_id)
    if payment.status != CardPaymentStatus.PENDING:
        return _back(payment)
    if request.method == "POST":
        if request.POST.get("challenge") == "complete":
            return _back(mock.finish(payment.id, "succeeded", instrument="card"))
        return _back(mock.finish(payment.id, "abandoned", instrument="card", failure_code="3ds_abandoned"))
    return render(
        request, "payments/pay/mock_3ds.html", {"payment": payment, "amount": orders.hkd(payment.amount_cents)}
    )
