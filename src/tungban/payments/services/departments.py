"""What a department's system does with payments through the API (issue 18, "API and webhooks";
GOV.UK Pay's API, anchor study §3.3): create a payment for an amount or for fee items of its own
department's schedule, read one (strongly consistent: the database row, never a cache), search
them page by page, read its events, cancel it, ask for a refund of it and follow its refunds.

Every call acts for one department: another department's payment is ``order_unknown`` (404), as
one that does not exist.
"""

from __future__ import annotations

import datetime as dt
import math
import urllib.parse
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import errors, errors_api, refunds
from ..constants import ActorKind, OrderState
from ..models import PaymentEvent, PaymentOrder, PaymentSystem
from ..models_refunds import Refund
from . import orders
from .webhooks import caller

#: The purpose of a payment created through the API (registered in ``PaymentsConfig.ready``).
PURPOSE = "payments.api"
#: A payment in these states may be replaced by a new one (``supersedes``).
RENEWABLE = (OrderState.EXPIRED, OrderState.CANCELLED, OrderState.FAILED)
#: Largest page (GOV.UK Pay: ``display_size`` at most 500).
MAX_PAGE = 500


def purpose_ref(department: str, reference: str) -> str:
    """The order's ``purpose_ref`` for a department's ``reference``: prefixed with the department,
    so that paying one department's payment never touches another's of the same reference."""
    return f"{department}/{reference}"


def department_reference(order: PaymentOrder) -> str:
    """What the department called the payment (its ``reference``)."""
    if order.purpose == PURPOSE and "/" in order.purpose_ref:
        return order.purpose_ref.split("/", 1)[1]
    return order.purpose_ref


def check_return_url(url: str) -> str:
    """``url`` if the payer may be sent back there: ``https`` with a host, or ``http`` on a
    loopback host while ``TUNGBAN_WEBHOOK_ALLOW_LOCAL`` (tests and the demo).

    :raises DomainError: ``return_url_refused`` (422)."""
    parts = urllib.parse.urlsplit(url or "")
    local = settings.TUNGBAN_WEBHOOK_ALLOW_LOCAL and parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.username or parts.password:
        raise errors_api.ReturnURLRefused(reason="no user name or password in it")
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        raise errors_api.ReturnURLRefused(reason=url[:100] or "empty")
    return url


@dataclass(frozen=True)
class FeeItemAsked:
    service: str
    code: str
    quantity: int = 1
    concession: str = ""


def create_payment(
    system: PaymentSystem,
    *,
    idempotency_key: str,
    reference: str,
    description_en: str,
    description_zh: str,
    return_url: str,
    amount: int | None = None,
    fee_items: list[FeeItemAsked] | None = None,
    metadata: dict | None = None,
    expires_in: int | None = None,
    supersedes=None,
) -> PaymentOrder:
    """A payment order of ``system``'s department for ``amount`` (HK$ cents) or for
    ``fee_items`` of its fee schedule (each at the amount in force today, with its concession),
    payable by FPS at once (``awaiting_transfer``) and by card on its payment page, for
    ``expires_in`` seconds (default ``TUNGBAN_PAYMENTS_ORDER_TTL``). ``supersedes``: the id of
    the payment this one renews (:func:`renewed`; ``PaymentOrder.supersedes``: paying either
    closes the other's open payments of the chain).

    :raises DomainError: ``amount_or_fee_items``, ``return_url_refused`` (422); ``fee_unknown``,
        ``fee_not_in_force`` (404), ``concession_unknown``; ``order_key_reused`` (422); the
        errors of :func:`renewed`."""
    if (amount is None) == (not fee_items):
        raise errors_api.AmountOrFeeItems()
    check_return_url(return_url)
    department = system.department
    if amount is not None:
        lines = [orders.Line("amount", description_en[:200], description_zh[:100], amount)]
    else:
        lines = [
            orders.fee_line(department, f.service, f.code, quantity=f.quantity, concession=f.concession)
            for f in fee_items
        ]
    with transaction.atomic():  # the replaced payment stays locked until its renewal is written
        old = renewed(system, supersedes, reference, idempotency_key) if supersedes is not None else None
        return orders.create_order(
            department=department,
            purpose=PURPOSE,
            purpose_ref=purpose_ref(department, reference),
            lines=lines,
            description_en=description_en,
            description_zh=description_zh,
            created_by=caller(system),
            idempotency_key=idempotency_key,
            expires_in=dt.timedelta(seconds=expires_in) if expires_in else None,
            metadata=metadata or {},
            return_url=return_url,
            supersedes=old,
        )


def renewed(system: PaymentSystem, payment_id, reference: str, idempotency_key: str) -> PaymentOrder:
    """The payment ``payment_id`` that a new payment of ``reference`` replaces, locked: one of
    ``system``'s department, made through the API for the same ``reference``, finished without
    being paid (:data:`RENEWABLE`), and replaced by no other payment (a chain of renewals is a
    line: the call with the same ``idempotency_key`` that made the replacement is a retry).

    :raises DomainError: ``supersedes_unknown`` (404, also another department's payment),
        ``supersedes_other_reference`` (422), ``supersedes_not_finished`` (409),
        ``supersedes_taken`` (409)."""
    try:
        old = orders.get_order(payment_id, lock=True)
    except errors.OrderUnknown:
        raise errors_api.SupersedesUnknown() from None
    if old.department != system.department:
        raise errors_api.SupersedesUnknown()
    if (old.purpose, old.purpose_ref) != (PURPOSE, purpose_ref(system.department, reference)):
        raise errors_api.SupersedesOtherReference(reference=department_reference(old))
    if old.state not in RENEWABLE:
        raise errors_api.SupersedesNotFinished(state=OrderState(old.state).label)
    taken = old.superseded_by.exclude(created_by=caller(system), idempotency_key=idempotency_key).first()
    if taken is not None:
        raise errors_api.SupersedesTaken(payment_id=str(taken.pk))
    return old


def payment_of(system: PaymentSystem, payment_id) -> PaymentOrder:
    """The order ``payment_id`` of ``system``'s department.

    :raises DomainError: ``order_unknown`` (also another department's)."""
    order = orders.get_order(payment_id)
    if order.department != system.department:
        raise errors.OrderUnknown()
    return order


def cancel_payment(system: PaymentSystem, payment_id) -> PaymentOrder:
    """Cancel a payment that has taken no money (GOV.UK Pay's ``/cancel``, P0040): ``created``,
    ``awaiting_transfer`` or ``started`` → ``cancelled``.

    :raises DomainError: ``order_unknown``; ``payment_not_cancellable`` (409)."""
    order = payment_of(system, payment_id)
    try:
        return orders.cancel_order(order, actor_kind=ActorKind.API, actor_id=caller(system), reason="cancelled")
    except (errors.OrderAlreadyPaid, errors.OrderExpired, errors.OrderNotPayable):
        order.refresh_from_db()
        raise errors_api.PaymentNotCancellable(state=OrderState(order.state).label) from None


def events_of(system: PaymentSystem, payment_id) -> tuple[PaymentOrder, list[PaymentEvent]]:
    """The order and its events in order (each numbered from 1 by its position)."""
    order = payment_of(system, payment_id)
    return order, orders.history(order)


# --- refunds (review finding 11; GOV.UK Pay's refunds, anchor study §3.3) ---
def request_refund(
    system: PaymentSystem, payment_id, *, amount: int, amount_available: int, reason_en: str, reason_zh: str
) -> Refund:
    """Ask for a refund of ``amount`` HK$ cents of ``system``'s department's payment, stating
    the ``refund_summary.amount_available`` it was based on (GOV.UK Pay's
    ``refund_amount_available``). The refund then waits for the department's officers'
    approvals and goes out in the day's refund file, as one an officer asked for
    (:func:`tungban.payments.refunds.request_refund`, recorded as ``api``, ``client:<id>``).

    :raises DomainError: ``order_unknown`` (404; also another department's), ``order_not_paid``
        (409), ``refund_amount_available_mismatch`` (412: another refund changed the amount
        available), ``refund_too_large``, ``refund_amount_invalid``, ``refund_reason_missing``
        (422). Nothing is stored then."""
    order = payment_of(system, payment_id)
    return refunds.request_refund(
        order,
        None,
        amount_cents=amount,
        amount_available=amount_available,
        reason_en=reason_en,
        reason_zh=reason_zh,
        system=caller(system),
    )


def refunds_of(system: PaymentSystem, payment_id) -> tuple[PaymentOrder, list[Refund]]:
    """The payment of ``system``'s department and its refunds, oldest first.

    :raises DomainError: ``order_unknown`` (404; also another department's)."""
    order = payment_of(system, payment_id)
    return order, refunds.refunds_of(order)


def refund_of(system: PaymentSystem, payment_id, refund_id) -> Refund:
    """One refund of one payment of ``system``'s department.

    :raises DomainError: ``order_unknown`` (404; also another department's payment),
        ``refund_unknown`` (404; also another payment's refund)."""
    order = payment_of(system, payment_id)
    refund = refunds.get_refund(refund_id)
    if refund.order_id != order.pk:
        raise errors.RefundUnknown()
    return refund


@dataclass(frozen=True)
class Page:
    total: int
    page: int
    size: int
    results: list[PaymentOrder]

    @property
    def last(self) -> int:
        return max(1, math.ceil(self.total / self.size))


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def search(
    system: PaymentSystem,
    *,
    reference: str = "",
    bill_reference: str = "",
    state: str = "",
    from_date: dt.date | None = None,
    to_date: dt.date | None = None,
    from_settled_date: dt.date | None = None,
    to_settled_date: dt.date | None = None,
    page: int = 1,
    display_size: int = MAX_PAGE,
) -> Page:
    """``system``'s department's payments, newest first, filtered by every criterion given
    (creation and settlement dates inclusive, Hong Kong time), ``display_size`` a page.

    :raises DomainError: ``date_range_invalid`` (422), ``page_not_found`` (404: a page past the
        last; page 1 of nothing is empty)."""
    for start, end, field in (
        (from_date, to_date, "from_date"),
        (from_settled_date, to_settled_date, "from_settled_date"),
    ):
        if start and end and start > end:
            raise errors_api.DateRangeInvalid(field=field)
    qs = PaymentOrder.objects.filter(department=system.department)
    if reference:
        qs = qs.filter(purpose_ref__in=[purpose_ref(system.department, reference), reference])
    if bill_reference:
        qs = qs.filter(reference=bill_reference.replace(" ", "").upper())
    if state:
        qs = qs.filter(state=state)
    if from_date:
        qs = qs.filter(created_at__gte=_day_start(from_date))
    if to_date:
        qs = qs.filter(created_at__lt=_day_start(to_date + dt.timedelta(days=1)))
    if from_settled_date:
        qs = qs.filter(settled_date__gte=from_settled_date)
    if to_settled_date:
        qs = qs.filter(settled_date__lte=to_settled_date)
    total = qs.count()
    found = Page(total, page, display_size, [])
    if page > found.last:
        raise errors_api.PageNotFound(page=page, last=found.last)
    start = (page - 1) * display_size
    rows = list(qs.order_by("-created_at", "-pk")[start : start + display_size])
    return Page(total, page, display_size, rows)


def on_paid(order: PaymentOrder) -> None:
    """The purpose's ``on_paid``: nothing more to do on the platform — the department hears of
    the payment by its webhook (``payment.succeeded``) and reads it (``GET /payments/{id}``);
    the payer returns to its ``return_url``."""
