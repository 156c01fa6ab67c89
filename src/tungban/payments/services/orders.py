"""Payment orders (issue 18, "Payment orders"): made once per idempotency key, moved only
through the django-fsm-2 transitions of :class:`~tungban.payments.models.PaymentOrder`, each in
a transaction that locks the row and records a :class:`~tungban.payments.models.PaymentEvent`.
A paid order's purpose (:mod:`tungban.payments.purposes`) is fulfilled by :func:`fulfil_task`,
a background task queued in the same transaction as the payment (``core.jobs`` retries), so a
failure there never undoes the payment.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.tasks import task
from django.utils import timezone
from django_fsm import TransitionNotAllowed as FsmRefused

from tungban.core import jobs

from .. import errors, fps, purposes, receipts
from ..constants import CURRENCY, PAID_STATES, PAYABLE_STATES, ActorKind, Method, OrderState
from ..models import PaymentEvent, PaymentOrder
from ..reference import new_reference, normalise
from ..signals import order_paid
from . import surplus
from .fees import current_fee

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Line:
    """One fee item on an order: ``unit_cents`` (HK$ cents, after the concession if any) ×
    ``quantity``; ``concession``: the concession's code or ``""``."""

    code: str
    label_en: str
    label_zh: str
    unit_cents: int
    quantity: int = 1
    concession: str = ""

    @property
    def total_cents(self) -> int:
        return self.unit_cents * self.quantity

    def as_dict(self) -> dict:
        return {**asdict(self), "total_cents": self.total_cents}


def fee_line(
    department: str, service: str, code: str, *, quantity: int = 1, concession: str = "", on: dt.date | None = None
) -> Line:
    """A line for fee ``code`` at its amount in force on ``on`` (default today), reduced by
    ``concession`` (a code of that version's concessions).

    :raises DomainError: ``fee_unknown``, ``fee_not_in_force``, ``concession_unknown``.
    """
    version = current_fee(department, service, code, on=on)
    unit = version.amount_cents
    if concession:
        found = version.concession(concession)
        if found is None:
            raise errors.ConcessionUnknown(fee=f"{department}/{service}/{code}", concession=concession)
        unit = found["amount_cents"]
    return Line(code, version.item.label_en, version.item.label_zh, unit, quantity, concession)


# --- recording ---
def _record(order: PaymentOrder, before: str, kind: str, actor: str, reason: str = "") -> PaymentEvent:
    return PaymentEvent.objects.create(
        order=order, from_state=before, to_state=order.state, actor_kind=kind, actor_id=actor[:150], reason=reason[:300]
    )


def move(order: PaymentOrder, transition: str, kind: str, actor: str, reason: str = "") -> PaymentEvent:
    """Run ``transition`` on a locked ``order`` and record it (the caller saves the order).

    :raises DomainError: ``order_already_paid``, ``order_expired`` or ``order_not_payable``
        when the machine refuses it.
    """
    before = order.state
    try:
        getattr(order, transition)()
    except FsmRefused:
        raise _refusal(order) from None
    return _record(order, before, kind, actor, reason)


def _refusal(order: PaymentOrder):
    if order.state in PAID_STATES:
        return errors.OrderAlreadyPaid()
    if order.state == OrderState.EXPIRED:
        return errors.OrderExpired()
    return errors.OrderNotPayable(state=OrderState(order.state).label)


def _save(order: PaymentOrder, *fields: str) -> None:
    order.save(update_fields=[*fields, "state", "updated_at"])


def _same_order(order: PaymentOrder, amount: int, purpose: str, purpose_ref: str) -> bool:
    return (order.amount_cents, order.purpose, order.purpose_ref) == (amount, purpose, purpose_ref)


def create_order(
    *,
    department: str,
    purpose: str,
    purpose_ref: str,
    lines: list[Line],
    description_en: str,
    description_zh: str,
    created_by: str,
    idempotency_key: str,
    payer=None,
    payer_sub: str = "",
    method: str = Method.FPS,
    expires_in: dt.timedelta | None = None,
    metadata: dict | None = None,
    return_url: str = "",
    supersedes: PaymentOrder | None = None,
) -> PaymentOrder:
    """Make a payment order for ``lines`` (their total is the amount), payable until now +
    ``expires_in`` (default ``TUNGBAN_PAYMENTS_ORDER_TTL``); an FPS order moves at once to
    ``awaiting_transfer`` (its QR code is the payment instruction). Idempotent: the same
    ``created_by`` and ``idempotency_key`` give back the first order (GOV.UK Pay's
    ``Idempotency-Key``), also when two calls race. ``supersedes``: the order this one renews
    (an expired one, for the same purpose): paying one of the chain cancels the others
    (:func:`paid`); orders not linked so are independent, whatever their purpose reference.

    :raises DomainError: ``purpose_unknown``, ``amount_invalid`` (no line or a total of zero),
        ``order_key_reused`` (the key was used for another amount or purpose).
    """
    purposes.get(purpose)
    amount = sum(line.total_cents for line in lines)
    found = PaymentOrder.objects.filter(created_by=created_by, idempotency_key=idempotency_key).first()
    if found is not None:
        if not _same_order(found, amount, purpose, purpose_ref):
            raise errors.OrderKeyReused()
        return found
    if not lines or amount <= 0 or any(line.quantity < 1 for line in lines):
        raise errors.AmountInvalid()
    ttl = expires_in if expires_in is not None else dt.timedelta(seconds=settings.TUNGBAN_PAYMENTS_ORDER_TTL)
    for _attempt in range(5):  # a reference already taken (1 in 10^12): draw another
        try:
            with transaction.atomic():
                order = PaymentOrder.objects.create(
                    reference=new_reference(),
                    amount_cents=amount,
                    currency=CURRENCY,
                    lines=[line.as_dict() for line in lines],
                    department=department,
                    description_en=description_en[:300],
                    description_zh=description_zh[:200],
                    purpose=purpose,
                    purpose_ref=purpose_ref,
                    payer=payer,
                    payer_sub=payer_sub,
                    method=method,
                    expires_at=timezone.now() + ttl,
                    metadata=metadata or {},
                    idempotency_key=idempotency_key,
                    created_by=created_by,
                    return_url=return_url,
                    supersedes=supersedes,
                )
                _record(order, "", ActorKind.SYSTEM, created_by, "created")
                if method == Method.FPS:
                    move(order, "to_awaiting_transfer", ActorKind.SYSTEM, created_by, "fps_qr_issued")
                    _save(order)
                return order
        except IntegrityError:
            found = PaymentOrder.objects.filter(created_by=created_by, idempotency_key=idempotency_key).first()
            if found is not None:  # a concurrent call with the same key won
                if not _same_order(found, amount, purpose, purpose_ref):
                    raise errors.OrderKeyReused() from None
                return found
    raise RuntimeError("no free payment reference after 5 draws")


def get_order(order_id, *, lock: bool = False) -> PaymentOrder:
    """The order with public id ``order_id`` (a UUID or its text). :raises DomainError: ``order_unknown``."""
    try:
        pk = order_id if isinstance(order_id, uuid.UUID) else uuid.UUID(str(order_id))
    except ValueError:
        raise errors.OrderUnknown() from None
    qs = PaymentOrder.objects.select_for_update() if lock else PaymentOrder.objects.all()
    try:
        return qs.get(pk=pk)
    except PaymentOrder.DoesNotExist:
        raise errors.OrderUnknown() from None


def find_by_reference(reference: str, *, lock: bool = False) -> PaymentOrder | None:
    """The order whose bill reference is ``reference`` (as a payer may type it: spaces, lower
    case), or ``None``."""
    qs = PaymentOrder.objects.select_for_update() if lock else PaymentOrder.objects.all()
    return qs.filter(reference=normalise(reference)).first()


def orders_for(purpose: str, purpose_ref: str) -> list[PaymentOrder]:
    """The orders made for ``purpose_ref``, newest first."""
    return list(PaymentOrder.objects.filter(purpose=purpose, purpose_ref=purpose_ref).order_by("-created_at"))


def history(order: PaymentOrder) -> list[PaymentEvent]:
    return list(order.events.all())


def cancel_order(order: PaymentOrder, *, actor_kind: str, actor_id: str, reason: str = "") -> PaymentOrder:
    """Cancel an order that has taken no money (GOV.UK Pay's ``/cancel``; P0040).

    :raises DomainError: ``order_already_paid``, ``order_expired``, ``order_not_payable``.
    """
    with transaction.atomic():
        order = get_order(order.pk, lock=True)
        move(order, "to_cancelled", actor_kind, actor_id, reason or "cancelled")
        _save(order)
    return order


def expire_order(order: PaymentOrder, now: dt.datetime | None = None) -> bool:
    """Expire ``order`` if it is still payable (open or ``partially_paid``) past ``expires_at``,
    in its own transaction; returns whether it did. A ``partially_paid`` order expires holding
    money: the refund of all it received is opened at once (:func:`.surplus.refund_due`,
    ``expired_part_paid``; review finding 5) — a renewal asks for the whole amount again."""
    now = now or timezone.now()
    with transaction.atomic():
        order = PaymentOrder.objects.select_for_update().filter(pk=order.pk, state__in=PAYABLE_STATES).first()
        if order is None or order.expires_at > now:
            return False
        held = order.state == OrderState.PARTIALLY_PAID
        move(order, "to_expired", ActorKind.SYSTEM, "payments", "expired")
        _save(order)
        if held:
            surplus.refund_due(order, "expired_part_paid")
    return True


def expire_orders(now: dt.datetime | None = None) -> int:
    """Orders still payable past ``expires_at`` become ``expired`` (GOV.UK Pay's P0020), each in
    its own transaction (:func:`expire_order`: a part-paid one with its refund); returns how
    many. An order that money completed meanwhile is left."""
    now = now or timezone.now()
    ids = list(
        PaymentOrder.objects.filter(state__in=PAYABLE_STATES, expires_at__lte=now).values_list("pk", flat=True)[:5000]
    )
    return sum(expire_order(PaymentOrder(pk=pk), now) for pk in ids)


def expire_orders_scheduled(now: dt.datetime) -> dict[str, int]:
    """The worker's periodic run (``core.retention``): :func:`expire_orders`."""
    return {"payments.PaymentOrder (expired)": expire_orders(now)}


# --- renewal chains ---
#: How far a renewal chain is followed (an application renewed more often is not expected).
MAX_CHAIN = 50


def chain(order: PaymentOrder) -> list[PaymentOrder]:
    """The other orders of ``order``'s renewal chain: those it supersedes (transitively) and
    those that supersede it (transitively), by :attr:`~tungban.payments.models.PaymentOrder.supersedes`
    only — never by purpose reference (review finding 12)."""
    seen = {order.pk}
    found: list[PaymentOrder] = []
    frontier = [order.pk]
    while frontier and len(seen) < MAX_CHAIN:
        up = PaymentOrder.objects.filter(pk__in=frontier).exclude(supersedes=None).values_list("supersedes", flat=True)
        down = PaymentOrder.objects.filter(supersedes__in=frontier).values_list("pk", flat=True)
        frontier = [pk for pk in {*up, *down} if pk not in seen]
        seen.update(frontier)
    if len(seen) > 1:
        found = list(PaymentOrder.objects.filter(pk__in=seen - {order.pk}).order_by("created_at"))
    return found


def chain_paid(order: PaymentOrder) -> PaymentOrder | None:
    """Another order of ``order``'s renewal chain that is paid, or ``None``."""
    return next((other for other in chain(order) if other.state in PAID_STATES), None)


# --- after payment ---
def paid(order: PaymentOrder, kind: str, actor: str) -> None:
    """A locked order has just become paid: note when, close the rest of its renewal chain
    (:func:`chain`: open orders are cancelled; a part-paid one expires and its money is
    refunded), queue its purpose's fulfilment and its e-receipt
    (:func:`tungban.payments.receipts.queue_receipt`) in this transaction (all or none);
    :data:`~tungban.payments.signals.order_paid` is sent after the commit. Orders of the same
    purpose reference outside the chain (instalments) are left alone."""
    if order.paid_at is None:
        order.paid_at = timezone.now()
    others = PaymentOrder.objects.select_for_update().filter(
        pk__in=[o.pk for o in chain(order)], state__in=PAYABLE_STATES
    )
    for other in others:
        held = other.state == OrderState.PARTIALLY_PAID
        move(other, "to_expired" if held else "to_cancelled", kind, actor, f"paid_by:{order.reference}")
        _save(other)
        if held:
            surplus.refund_due(other, "renewal_paid")
    if order.fulfilled_at is None:
        jobs.enqueue(fulfil_task, str(order.pk))
    transaction.on_commit(lambda: order_paid.send(sender=PaymentOrder, order=order), robust=True)
    receipts.queue_receipt(order)  # the signed e-receipt, made by its own task (pay-refund)


def fulfil(order: PaymentOrder) -> PaymentOrder:
    """Run the paid order's purpose ``on_paid`` once (``fulfilled_at`` then set). Called by
    :func:`fulfil_task`; a failure raises (the task retries), the payment stands."""
    with transaction.atomic():
        order = get_order(order.pk, lock=True)
        if order.fulfilled_at is not None or order.state not in PAID_STATES:
            return order
        order.fulfil_attempts += 1
        order.save(update_fields=["fulfil_attempts"])
    purposes.get(order.purpose).on_paid(order)
    with transaction.atomic():
        order = get_order(order.pk, lock=True)
        order.fulfilled_at = order.fulfilled_at or timezone.now()
        order.save(update_fields=["fulfilled_at"])
    return order


@task(takes_context=True)
def fulfil_task(context, order_id: str, attempt: int = 1) -> str:
    """Fulfil a paid order's purpose (queued with the payment); attempt ``attempt`` of
    ``TUNGBAN_TASK_MAX_ATTEMPTS``, the next queued with ``core.jobs`` backoff."""
    try:
        return fulfil(get_order(order_id)).state
    except Exception:
        if jobs.can_retry(attempt):
            jobs.enqueue(fulfil_task, order_id, attempt + 1, delay=jobs.retry_delay(attempt))
        raise


# --- the FPS QR code of an order ---
def payee() -> dict:
    """The government's collection account as the QR code names it (settings)."""
    return {
        "proxy_type": settings.TUNGBAN_PAYMENTS_FPS_PROXY_TYPE,
        "proxy": settings.TUNGBAN_PAYMENTS_FPS_PROXY,
        "clearing_code": settings.TUNGBAN_PAYMENTS_FPS_CLEARING_CODE,
        "merchant_name": settings.TUNGBAN_PAYMENTS_MERCHANT_NAME[:25],
        "merchant_city": settings.TUNGBAN_PAYMENTS_MERCHANT_CITY[:15],
    }


def fps_payload(order: PaymentOrder) -> str:
    """The dynamic FPS QR payload of ``order``: what is still due (its amount, or the balance of
    a ``partially_paid`` order: review finding 5) and its reference as the bill number and the
    reference label (:mod:`tungban.payments.fps`)."""
    due = order.balance_cents or order.amount_cents
    return fps.encode(
        fps.FpsQr(
            **payee(),
            dynamic=True,
            amount=Decimal(due) / 100,
            bill_number=order.reference,
            reference_label=order.reference,
        )
    )


def static_payload() -> str:
    """The static FPS QR payload of the collection account (counters, printed bills): no
    amount, and the payer's app asks for the bill reference (``***``)."""
    return fps.encode(fps.FpsQr(**payee(), dynamic=False))


def hkd(cents: int) -> str:
    """``HK$1,234.50`` (``HK$350`` when there are no cents)."""
    text = f"HK${cents // 100:,}"
    return text + (f".{cents % 100:02d}" if cents % 100 else "")
