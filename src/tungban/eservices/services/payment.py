"""Paying an application's fees (issue 18): an application in ``awaiting_payment`` gets a
payment order from the payments app (made idempotently: one per application and attempt),
shown on its status page as the FPS payment step; when the order is paid, the payments app runs
this module's :func:`receive_payment` as a background task (the purpose
``eservices.application``, registered in ``EservicesConfig.ready``), which moves the
application to ``paid`` (:func:`~.lifecycle.record_payment`). An expired order is renewed with
a new one for the same application."""

from __future__ import annotations

import logging

from django.urls import reverse
from django.utils import timezone

from tungban.core.errors import DomainError
from tungban.payments import services as payments
from tungban.payments.constants import OPEN_STATES, OrderState
from tungban.payments.models import PaymentOrder

from .. import errors
from ..models import Application, State
from . import fees
from .lifecycle import get_application, record_payment

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


def _new_order(app: Application, attempt: int) -> PaymentOrder:
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
    """A new order for an application whose order expired (or was cancelled); the current one
    when it can still be paid, or was. Two renewals at once make one order (same key)."""
    app = _awaiting(app, resident)
    found = payments.orders_for(PURPOSE, app.reference)
    if found and found[0].state not in RENEWABLE and not _lapsed(found[0]):
        return found[0]
    return _new_order(app, len(found) + 1)


def _lapsed(order: PaymentOrder) -> bool:
    """Past its expiry but not yet swept by ``expire_orders`` (the worker's periodic run)."""
    return order.state in OPEN_STATES and order.expires_at <= timezone.now()


def receive_payment(order: PaymentOrder) -> None:
    """The purpose's ``on_paid``: the application the order paid for moves to ``paid``
    (idempotent). An application that is no longer awaiting payment (withdrawn meanwhile) is
    left as it is and logged: the money is for a refund."""
    app = get_application(order.purpose_ref)
    try:
        record_payment(app, actor_id=f"payments:{order.reference}", reason=order.reference)
    except DomainError:
        log.warning("payment %s arrived for application %s in state %s", order.reference, app.reference, app.state)


def describe_payment(order: PaymentOrder) -> dict:
    """The purpose's ``describe``: the application and its status page."""
    return {
        "title_en": order.description_en,
        "title_zh": order.description_zh,
        "url": reverse("eservices:status", args=[order.purpose_ref]),
    }
