"""Card and e-wallet payments of an order through the payment service provider (issue 18:
"Card/wallet payments go through a pluggable PSP adapter"; :mod:`tungban.payments.psp`).

The resident chooses "Card / Apple Pay / Google Pay" on the order's payment page
(:func:`start`): a :class:`~tungban.payments.models.CardPayment` attempt is recorded and the
browser goes to the provider's hosted page. The outcome reaches the platform by the provider's
signed webhook (:func:`receive_webhook`) and by a query when the browser comes back
(:func:`returned`), in either order, once, twice or (the webhook) never: both end in
:func:`apply_result`, which in one transaction records the money as a
:class:`~tungban.payments.models.CreditTransfer` whose end-to-end id is the provider's payment
id (:func:`tungban.payments.services.credits.record_credit`: unique, so the order is paid once)
and the order's ``method`` (``card`` or ``wallet``).

A declined or abandoned attempt leaves the order payable — another card, or FPS, whose QR code
the payer may already have scanned (unlike GOV.UK Pay, which fails the payment: here a transfer
may still be on its way).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language

from .. import errors, errors_api, psp
from ..constants import PAID_STATES, PAYABLE_STATES, CreditSource, Method
from ..models import CardPayment, CardPaymentStatus, PaymentOrder
from .credits import CreditIn, record_credit
from .orders import _refusal

log = logging.getLogger(__name__)

#: Instrument → the order's method.
METHODS = {"card": Method.CARD, "apple_pay": Method.WALLET, "google_pay": Method.WALLET}


def available() -> bool:
    """Whether the payment page offers card and e-wallets (a PSP is configured)."""
    return psp.configured()


def start(order: PaymentOrder) -> tuple[CardPayment, str]:
    """Open a hosted payment for ``order`` of what is still due (its amount, or a part-paid
    order's balance; the provider sends the payer back to the platform's
    ``/pay/card/<attempt>/return``); returns the attempt and the page to send the browser to.
    The view counts each start against the ``payments_card_start`` rate (per client) and
    ``payments_card_order`` (per order). A card payment that succeeds after an FPS transfer
    paid the order is an overpayment whose refund opens at once (:mod:`.surplus`).

    :raises DomainError: ``card_payments_unavailable`` (409), ``order_already_paid``,
        ``order_expired``, ``order_not_payable`` (409), ``payment_provider_failed`` (502)."""
    if not available():
        raise errors_api.CardPaymentsUnavailable()
    order.refresh_from_db()
    if order.state not in PAYABLE_STATES:
        raise _refusal(order)
    if order.expires_at <= timezone.now():
        raise errors.OrderExpired()
    provider = psp.provider()
    attempt = CardPayment(order=order, provider=provider.name)
    return_url = settings.TUNGBAN_ISSUER.rstrip("/") + reverse("pay:card-return", args=[attempt.id])
    try:
        session = provider.create_session(
            reference=order.reference,
            amount_cents=order.balance_cents,
            currency=order.currency,
            description=order.description_en,
            return_url=return_url,
            language=get_language() or "en",
        )
    except psp.PspError as exc:
        log.warning("PSP %s: no session for %s: %s", provider.name, order.reference, exc)
        raise errors_api.PaymentProviderFailed() from None
    attempt.psp_payment_id = session.payment_id
    attempt.save()
    return attempt, session.next_url


def _end_to_end_id(provider: str, payment_id: str) -> str:
    """The credit's end-to-end id (ISO 20022 Max35Text): the provider's payment id, or its hash
    when longer than fits."""
    text = f"{provider}:{payment_id}"
    return text if len(text) <= 35 else "psp:" + hashlib.sha256(text.encode()).hexdigest()[:31]


def apply_result(provider: str, result: psp.PaymentResult) -> CardPayment:
    """Record what the provider says of one of our attempts, once: its status, and for a
    success the credit transfer and the order's method (in one transaction; a result already
    applied — a duplicate webhook, a webhook after the query — changes nothing). A final status
    is never replaced by another.

    :raises DomainError: ``psp_webhook_invalid`` (400: an attempt we did not make, or for
        another order)."""
    with transaction.atomic():
        attempt = (
            CardPayment.objects.select_for_update()
            .select_related("order")
            .filter(provider=provider, psp_payment_id=result.payment_id)
            .first()
        )
        if attempt is None or attempt.order.reference != result.reference:
            raise errors_api.PspWebhookInvalid(problem="no such payment was started here")
        if attempt.status != CardPaymentStatus.PENDING or result.status == "pending":
            return attempt
        attempt.status = result.status
        attempt.instrument = result.instrument
        attempt.failure_code = result.failure_code[:40]
        attempt.save(update_fields=["status", "instrument", "failure_code", "updated_at"])
        if result.status != "succeeded":
            return attempt
        order = PaymentOrder.objects.select_for_update().get(pk=attempt.order_id)
        if order.state not in PAID_STATES:
            order.method = METHODS.get(result.instrument, Method.CARD)
            order.save(update_fields=["method", "updated_at"])
        at = result.succeeded_at or timezone.now()
        record_credit(
            CreditIn(
                end_to_end_id=_end_to_end_id(provider, result.payment_id),
                message_id=f"psp:{provider}:{result.event_id or 'query'}"[:64],
                amount_cents=result.amount_cents,
                value_date=timezone.localtime(at).date(),
                booked_at=at,
                reference=order.reference,
                currency=result.currency,
            ),
            source=CreditSource.PSP,
        )
        return attempt


def receive_webhook(provider_name: str, body: bytes, headers: Mapping[str, str]) -> CardPayment:
    """A provider's webhook: verified by its adapter, then applied (:func:`apply_result`).

    :raises DomainError: ``order_unknown`` (404: no such provider configured),
        ``psp_signature_invalid`` (401), ``psp_webhook_invalid`` (400)."""
    try:
        provider = psp.provider(provider_name)
    except psp.PspError:
        raise errors.OrderUnknown() from None
    try:
        result = provider.parse_webhook(body, headers)
    except psp.SignatureInvalid:
        raise errors_api.PspSignatureInvalid() from None
    except psp.PspError as exc:
        raise errors_api.PspWebhookInvalid(problem=str(exc)) from None
    return apply_result(provider.name, result)


def returned(attempt_id) -> CardPayment:
    """The resident's browser came back from the provider's page: ask the provider (the webhook
    may be late, or lost) and apply what it says. A provider that does not answer leaves the
    attempt as it was (its webhook, or a later return, settles it)."""
    attempt = CardPayment.objects.select_related("order").filter(pk=attempt_id).first()
    if attempt is None:
        raise errors.OrderUnknown()
    if attempt.status != CardPaymentStatus.PENDING:
        return attempt
    try:
        result = psp.provider(attempt.provider).query(attempt.psp_payment_id)
    except psp.PspError as exc:
        log.warning("PSP %s: query of %s failed: %s", attempt.provider, attempt.psp_payment_id, exc)
        return attempt
    return apply_result(attempt.provider, result)
