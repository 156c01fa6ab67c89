"""Department payment systems and the payments' signed webhooks (issue 18, "API and webhooks":
GOV.UK Pay's contract, anchor study §3.3 and §8).

A department's system is an OpenID Connect client registered for one department
(:func:`register_system`; ``tungban register_payments_system``, also done by
``tungban register_department_system``); it calls ``/api/v1/payments/…`` with its own
``client_credentials`` token carrying the scope :data:`SCOPE`, and each of its calls is
counted against ``TUNGBAN_RATELIMITS["payments_client"]`` (GOV.UK Pay: 15 a second per key).

It registers webhook endpoints (:func:`register_endpoint`). Every recorded
:class:`~tungban.payments.models.PaymentEvent` of its department's orders whose type it
subscribed to (:data:`EVENTS`) is written as a
:class:`~tungban.payments.models.PaymentWebhookDelivery` in the transaction that records the
event (the outbox: a crash the moment the payment commits loses no webhook) and delivered by a
background task (:func:`deliver_task`), never inside the request or the bank's notification
that caused it. Signature, retries with back-off, the checks against server-side
request forgery and the attempt log are the platform's one webhook implementation,
:mod:`tungban.notify.webhooks` (shared with the e-services).

* **Body** (:func:`body_for`): ``{"id": delivery id, "type", "created_at", "sequence",
  "data": {"payment_id", "reference", "bill_reference", "department", "amount",
  "state": {"status", "finished"}, "from_state", "reason", "at", "sequence",
  "_links": {"self"}}}``.
* **Out of order**: GOV.UK Pay warns that webhooks may arrive out of order, and retries make
  it certain. Each body carries the state the event put the order in and its ``sequence``
  (1, 2, … among the order's events): a receiver keeps the highest sequence it has seen per
  payment and ignores older ones, or reads ``GET /payments/{id}`` (strongly consistent).
"""

from __future__ import annotations

import json
import logging

from django.db import transaction
from django.tasks import task

from tungban.core.ratelimit import count
from tungban.notify import webhooks as shared

from .. import errors_api as errors
from ..constants import FINISHED_STATES, OrderState
from ..models import PaymentEvent, PaymentOrder, PaymentSystem, PaymentWebhookDelivery, PaymentWebhookEndpoint
from .links import API, _link

log = logging.getLogger(__name__)

#: OAuth scope of a department payment system (``client_credentials``, ``private_key_jwt`` only).
SCOPE = "payments"
#: Rate-limit group of the API's calls, per client (``TUNGBAN_RATELIMITS``).
RATE_GROUP = "payments_client"
#: The state an event put the order in → webhook event type. ``payment.started``: the payment
#: became payable (its FPS QR code issued, at creation). No ``payment.failed``: nothing fails
#: an order — a declined card or an abandoned 3-D Secure check leaves it payable (another card,
#: or an FPS transfer that may be on its way), and an unpaid one ends ``expired`` or
#: ``cancelled`` (review finding 11: the name was advertised and never sent).
EVENTS = {
    OrderState.AWAITING_TRANSFER: "payment.started",
    OrderState.STARTED: "payment.started",
    OrderState.SUCCESS: "payment.succeeded",
    OrderState.PARTIALLY_PAID: "payment.partially_paid",
    OrderState.OVERPAID: "payment.overpaid",
    OrderState.CANCELLED: "payment.cancelled",
    OrderState.EXPIRED: "payment.expired",
}
#: Events named by the reason's prefix, whatever the state they leave (they come first):
#: ``refunded: …``, written by :func:`record_refund` when a refund is paid out
#: (:func:`tungban.payments.refunds.complete`); ``reversal:<end-to-end id> <cents>``, written when
#: the bank reverses a transfer that paid the order (:func:`tungban.payments.services.debits.reverse`:
#: the state is what the money left makes it, e.g. ``awaiting_transfer``, payable again).
STEP_EVENTS = {"refunded": "payment.refunded", "reversal": "payment.reversed"}
EVENT_TYPES = tuple(dict.fromkeys([*EVENTS.values(), *STEP_EVENTS.values()]))


# --- department systems ---
@transaction.atomic
def register_system(department: str, client, *, name_en: str = "", name_zh: str = "") -> PaymentSystem:
    """Let ``client`` (an OpenID Connect client with a registered JWKS) act for ``department``
    (its code, e.g. ``WSD``; ``name_en``/``name_zh``: its names, shown on its bills) through the
    payments API: it may ask for the ``payments`` scope. Registering again keeps the first
    department (and fills names it lacked)."""
    if SCOPE not in client.allowed_scopes:
        client.allowed_scopes = [*client.allowed_scopes, SCOPE]
        client.save(update_fields=["allowed_scopes"])
    system, created = PaymentSystem.objects.get_or_create(
        client=client,
        defaults={"department": department.upper(), "department_name_en": name_en, "department_name_zh": name_zh},
    )
    if not created and (name_en or name_zh) and not (system.department_name_en or system.department_name_zh):
        system.department_name_en, system.department_name_zh = name_en, name_zh
        system.save(update_fields=["department_name_en", "department_name_zh"])
    return system


def system_for_token(token) -> PaymentSystem:
    """The department payment system behind a ``payments`` access token (the client's own
    ``client_credentials`` token, never a resident's login), its call counted against its rate.

    :raises DomainError: ``not_payment_system`` (403); ``rate_limited`` (429, ``Retry-After``)."""
    if token.resident_id is not None:
        raise errors.NotPaymentSystem()
    system = PaymentSystem.objects.select_related("client").filter(client=token.client).first()
    if system is None:
        raise errors.NotPaymentSystem()
    count(RATE_GROUP, system.client.client_id)
    return system


def caller(system: PaymentSystem) -> str:
    """How an order records its creator, and idempotency keys their owner: ``client:<id>``."""
    return f"client:{system.client.client_id}"


# --- endpoints ---
def register_endpoint(
    department: str, url: str, events: list[str] | None = None, *, created_by: str
) -> tuple[PaymentWebhookEndpoint, str]:
    """A new endpoint of ``department`` for ``events`` (default: all of :data:`EVENT_TYPES`);
    returns it and its signing secret (shown this once; 32 random bytes, hex).

    :raises DomainError: ``webhook_url_refused`` (:func:`tungban.notify.webhooks.url_refusal`),
        ``webhook_events_invalid`` (422)."""
    return shared.create_endpoint(
        PaymentWebhookEndpoint,
        url,
        events,
        EVENT_TYPES,
        url_refused=errors.WebhookURLRefused,
        events_invalid=errors.WebhookEventsInvalid,
        department=department,
        created_by=created_by,
    )


def endpoints_of(department: str) -> list[PaymentWebhookEndpoint]:
    return list(PaymentWebhookEndpoint.objects.filter(department=department, active=True))


def remove_endpoint(department: str, endpoint_id) -> None:
    """Stop deliveries to an endpoint of ``department`` (its log is kept).

    :raises NotFound: ``webhook_unknown`` (also for another department's endpoint)."""
    done = PaymentWebhookEndpoint.objects.filter(pk=endpoint_id, department=department, active=True).update(
        active=False
    )
    if not done:
        raise errors.WebhookUnknown()


def deliveries_of(department: str, *, limit: int = 100, payment_id=None) -> list[PaymentWebhookDelivery]:
    """The delivery log of ``department``'s endpoints, newest first (optionally of one order)."""
    qs = PaymentWebhookDelivery.objects.filter(endpoint__department=department).select_related("endpoint", "order")
    if payment_id is not None:
        qs = qs.filter(order_id=payment_id)
    return list(qs.order_by("-created_at")[:limit])


# --- queueing and delivering ---
def event_type_of(event: PaymentEvent) -> str | None:
    """The webhook type of ``event``, or None when it is not one departments hear about."""
    prefix = (event.reason or "").split(":", 1)[0].strip()
    if prefix in STEP_EVENTS:
        return STEP_EVENTS[prefix]
    if event.to_state != event.from_state and event.to_state in EVENTS:
        return EVENTS[event.to_state]
    return None


def record_refund(order: PaymentOrder, *, refund_id, amount_cents: int, actor_kind: str, actor_id: str) -> PaymentEvent:
    """Record on ``order``'s history that a refund of ``amount_cents`` was paid out (the state
    stays; ``reason`` ``refunded: <refund_id> <amount_cents>``): the department's endpoints get
    ``payment.refunded`` for it, its delivery written in the same transaction. Called by
    :func:`tungban.payments.refunds.complete` in the refund's transaction."""
    return PaymentEvent.objects.create(
        order=order,
        from_state=order.state,
        to_state=order.state,
        actor_kind=actor_kind,
        actor_id=actor_id[:150],
        reason=f"refunded: {refund_id} {amount_cents}"[:300],
    )


def sequence_of(event: PaymentEvent) -> int:
    """``event``'s number among its order's events (1 for the first; events are never deleted
    or reordered, so the number never changes)."""
    return PaymentEvent.objects.filter(order_id=event.order_id, pk__lte=event.pk).count()


def body_for(delivery_id, event: PaymentEvent, order: PaymentOrder, event_type: str, sequence: int) -> str:
    data = {
        "payment_id": str(order.id),
        "reference": order.purpose_ref,
        "bill_reference": order.reference,
        "department": order.department,
        "amount": order.amount_cents,
        "state": {"status": event.to_state, "finished": event.to_state in FINISHED_STATES},
        "from_state": event.from_state,
        "reason": event.reason,
        "at": event.at.isoformat(),
        "sequence": sequence,
        "_links": {"self": _link(f"{API}/payments/{order.id}")},
    }
    return json.dumps(
        {
            "id": str(delivery_id),
            "type": event_type,
            "created_at": event.at.isoformat(),
            "sequence": sequence,
            "data": data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def queue_deliveries(event: PaymentEvent | int) -> list[PaymentWebhookDelivery]:
    """Write a delivery for each active endpoint of the order's department subscribed to the
    event's type, each with its task, in the transaction that records the event (the outbox,
    :func:`tungban.notify.webhooks.write_deliveries`: the payment and its deliveries commit
    together, so a crash right after the commit loses none). Called when the event is saved
    (:mod:`tungban.payments.receivers_api`); an event is queued once per endpoint (a unique
    constraint), so a repeated call adds nothing."""
    if not isinstance(event, PaymentEvent):
        event = PaymentEvent.objects.select_related("order").filter(pk=event).first()
    event_type = event_type_of(event) if event is not None else None
    if event_type is None:
        return []
    order = event.order
    endpoints = [e for e in endpoints_of(order.department) if event_type in e.events]
    if not endpoints:  # the common case: one query, nothing written
        return []
    sequence = sequence_of(event)

    def make(endpoint) -> PaymentWebhookDelivery:
        delivery = PaymentWebhookDelivery(
            endpoint=endpoint, order=order, event=event, event_type=event_type, sequence=sequence
        )
        delivery.body = body_for(delivery.id, event, order, event_type, sequence)
        return delivery

    return shared.write_deliveries(endpoints, make, task=deliver_task)


def deliver(delivery_id, attempt: int = 1) -> PaymentWebhookDelivery:
    """One attempt (:func:`tungban.notify.webhooks.deliver`)."""
    return shared.deliver(PaymentWebhookDelivery, delivery_id, attempt, retry_task=deliver_task)


@task()
def deliver_task(delivery_id: str, attempt: int = 1) -> str:
    """Background task: :func:`deliver` (its retries are queued by it)."""
    return deliver(delivery_id, attempt).state
