"""Paying an application's fees (issue 18): an application in ``awaiting_payment`` gets a
payment order from the payments app (made idempotently: one per application and attempt),
shown on its status page as the FPS payment step; when the order is paid, the payments app runs
this module's :func:`receive_payment` as a background task (the purpose
``eservices.application``, registered in ``EservicesConfig.ready``), which moves the
application to ``paid`` (:func:`~.lifecycle.record_payment`). A part-paid order stays payable
(its QR code asks for the balance) until it expires; an expired order is renewed with a new one
for the same application that supersedes it (``PaymentOrder.supersedes``: paying one cancels
the other). Money that arrives when the application no longer awaits it (withdrawn, or paid by
another order) is refunded at once (review finding 8), never paid twice. A payment the bank
reverses (:func:`payment_reversed`, the purpose's ``on_reversed``) puts an undecided application
back to awaiting payment, and makes a decided one a case for its officers."""

from __future__ import annotations

import logging

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from tungban.payments import services as payments
from tungban.payments.constants import PAID_STATES, PAYABLE_STATES, OrderState
from tungban.payments.models import PaymentOrder

from .. import errors
from ..models import Application, State
from . import fees
from .lifecycle import get_application, record_paid_again, record_payment, record_payment_reversed

log = logging.getLogger(__name__)

#: The purpose registered with :mod:`tungban.payments.purposes`.
PURPOSE = "eservices.application"
#: ``created_by`` of the orders the portal makes (their idempotency keys are per application).
CREATED_BY = "eservices"
#: An order in these states can be replaced by a new one.
RENEWABLE = (OrderState.EXPIRED, OrderState.CANCELLED, OrderState.FAILED)


def current_order(app: Application) -> PaymentOrder | None:
    """The application's newest payment order, or ``None``."""
    found = payments.orders_for(PURPOSE, app.reference)
    return found[0] if found else None


def _new_order(app: Application, attempt: int, supersedes: PaymentOrder | None = None) -> PaymentOrder:
    service = app.service
    return payments.create_order(
        department=service.department_id,
        purpose=PURPOSE,
        purpose_ref=app.reference,
        lines=fees.fee_lines(service),
        description_en=f"{service.name_en} — application {app.reference}",
        description_zh=f"{service.name_zh} — 申請 {app.reference}",
        created_by=CREATED_BY,
        idempotency_key=f"{app.reference}:{attempt}",
        payer=app.resident,
        payer_sub=app.portal_sub,
        metadata={"application": app.reference, "service": service.slug},
        return_url=reverse("eservices:status", args=[app.reference]),
        supersedes=supersedes,
    )


def _awaiting(app: Application, resident) -> Application:
    app = get_application(app.reference, resident=resident)
    if app.state != State.AWAITING_PAYMENT:
        raise errors.TransitionNotAllowed(state=State(app.state).label)
    return app


def ensure_order(app: Application, resident) -> PaymentOrder:
    """The order to show for an application awaiting payment: its newest (also an expired one,
    which the page offers to renew), made on the first call. Idempotent.

    :raises DomainError: ``application_unknown`` (not ``resident``'s), ``transition_not_allowed``
        (not awaiting payment), the payments app's fee errors.
    """
    app = _awaiting(app, resident)
    return current_order(app) or _new_order(app, 1)


def renew_order(app: Application, resident) -> PaymentOrder:
    """A new order for an application whose order expired (or was cancelled), superseding it;
    the current one when it can still be paid (also part paid), or was. An order past its
    expiry that the worker has not swept yet is expired first (a part-paid one has its money
    refunded: the new order asks for the whole fee). Two renewals at once make one order
    (same key)."""
    app = _awaiting(app, resident)
    found = payments.orders_for(PURPOSE, app.reference)
    if found and _lapsed(found[0]):
        payments.expire_order(found[0])
        found[0].refresh_from_db()
    if found and found[0].state not in RENEWABLE:
        return found[0]
    return _new_order(app, len(found) + 1, supersedes=found[0] if found else None)


def _lapsed(order: PaymentOrder) -> bool:
    """Past its expiry but not yet swept by ``expire_orders`` (the worker's periodic run)."""
    return order.state in PAYABLE_STATES and order.expires_at <= timezone.now()


def _paid_by(app: Application) -> str:
    """The bill reference of the order that paid ``app`` (its latest ``paid`` event's reason: a
    reversed payment's application is paid again, perhaps by its renewal), or ``""``."""
    event = app.events.filter(action="paid").order_by("-at", "-pk").first()
    return event.reason_en if event else ""


def receive_payment(order: PaymentOrder) -> None:
    """The purpose's ``on_paid``: the application the order paid for moves to ``paid``
    (idempotent: again for the same order changes nothing). An application that no longer
    awaits payment — withdrawn meanwhile, or paid by another order — is left as it is and the
    order's money is refunded at once (:func:`tungban.payments.services.refund_due`,
    ``purpose_closed``; review finding 8): the application is never paid twice."""
    with transaction.atomic():
        app = get_application(order.purpose_ref, lock=True)
        if app.state == State.AWAITING_PAYMENT:
            record_payment(app, actor_id=f"payments:{order.reference}", reason=order.reference)
            return
        if _paid_by(app) == order.reference:
            if app.payment_reversed_at is not None:  # its reversed payment was paid again
                record_paid_again(app, bill_reference=order.reference)
            return
        refund = payments.refund_due(order, "purpose_closed")
    log.warning(
        "payment %s arrived for application %s in state %s: refund %s opened",
        order.reference,
        app.reference,
        app.state,
        refund.reference if refund else None,
    )


def payment_reversed(order: PaymentOrder) -> None:
    """The purpose's ``on_reversed``: the bank took back the payment of ``order``, which no
    longer pays its application (:func:`.lifecycle.record_payment_reversed`: back to
    ``awaiting_payment`` before a decision — the order is payable again, or renewable if it
    expired meanwhile — and an officers' case after one). A reversed order that was not the one
    that paid the application (its money was refunded), or that is paid again by now, changes
    nothing. Idempotent."""
    order = payments.get_order(order.pk)
    if order.state in PAID_STATES:  # paid again since: nothing to undo
        return
    app = get_application(order.purpose_ref)
    if _paid_by(app) != order.reference:
        log.info("reversed payment %s did not pay application %s: nothing to undo", order.reference, app.reference)
        return
    record_payment_reversed(app, bill_reference=order.reference)


def describe_payment(order: PaymentOrder) -> dict:
    """The purpose's ``describe``: the application and its status page."""
    return {
        "title_en": order.description_en,
        "title_zh": order.description_zh,
        "url": reverse("eservices:status", args=[order.purpose_ref]),
    }
