"""Money out of the collection account, as the bank's statement shows it (issue 18, review
findings 1 and 6): each debit line of a ``camt.053`` or ``camt.054`` is recorded once as a
:class:`~tungban.payments.models.StatementDebit` and means one of three things.

- **A refund paid** (its end-to-end id is a :class:`~tungban.payments.models.Refund`'s):
  the refund completes (:func:`tungban.payments.refunds.complete_by_end_to_end_id`: the
  resident is told, the credit note queued). A refund not sent to the bank, or of another
  amount, is an ``unknown_debit`` exception instead.
- **A reversal** (``RvslInd`` true; ISO 20022 *ReportEntry*: "the entry is the result of a
  reversal", booked in the opposite direction with the reversed transfer's references): the
  transfer is marked reversed and its money taken off its order (:func:`reverse`) — the order
  is payable again (or ``partially_paid``, or ``expired`` past its expiry) and a purpose
  already fulfilled (a licence issued) raises a ``reversed`` / ``reversed_after_use``
  exception for an officer. Unresolved exceptions of the reversed transfer (a proposal
  waiting too) are resolved ``reversed`` (there is no money left to match or refund), and
  its refunds not yet sent to the bank are withdrawn
  (:func:`tungban.payments.refunds.withdraw_for_reversal`): the money is already back.
- **Anything else**: an ``unknown_debit`` exception (``no_match``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.tasks import task
from django.utils import timezone

from tungban.core import jobs

from .. import purposes, receipts, refunds
from ..constants import PAID_STATES, ActorKind, OrderState
from ..models import CreditTransfer, PaymentOrder, ReconciliationException, Refund, StatementDebit
from ..models_recon import DebitKind, ExceptionKind, ExceptionReason, ExceptionState, Resolution
from ..models_refunds import RefundState
from . import matching
from .orders import _save, move

#: Reversals are keyed apart from the refund or credit whose end-to-end id they carry.
REVERSAL_PREFIX = "RVSL:"


@dataclass(frozen=True)
class DebitIn:
    """A debit line as a bank file reports it: ``key`` (the end-to-end id, else ``ASR:`` + the
    bank's reference, :func:`tungban.payments.camt.fallback_key`), ``amount_cents`` (HK$
    cents, positive), ``reversal`` (``RvslInd`` true: ``key`` names the transfer reversed)."""

    key: str
    end_to_end_id: str
    account_servicer_ref: str
    message_id: str
    amount_cents: int
    currency: str
    value_date: dt.date
    booked_at: dt.datetime
    booking_date: dt.date
    reference: str = ""
    reversal: bool = False


def record_debit(debit: DebitIn, *, source: str, statement_import=None) -> tuple[StatementDebit, bool]:
    """Record ``debit`` once (a debit already recorded only notes ``source``) and act on it
    (see the module docstring), in one transaction with the caller's.

    :returns: ``(debit, True)`` when it was new, ``(…, False)`` when it was known.
    """
    key = f"{REVERSAL_PREFIX}{debit.key}" if debit.reversal else debit.key
    with transaction.atomic():
        known = StatementDebit.objects.select_for_update().filter(key=key).first()
        if known is not None:
            if source not in known.seen_in:
                known.seen_in = [*known.seen_in, source]
                known.save(update_fields=["seen_in"])
            return known, False
        row = StatementDebit.objects.create(
            key=key,
            end_to_end_id=debit.end_to_end_id,
            account_servicer_ref=debit.account_servicer_ref[:35],
            amount_cents=debit.amount_cents,
            currency=debit.currency,
            value_date=debit.value_date,
            booked_at=debit.booked_at,
            booking_date=debit.booking_date,
            reference=debit.reference[:140],
            kind=DebitKind.UNKNOWN,
            seen_in=[source],
            business_date=matching.business_day(debit.value_date),
            statement_import=statement_import,
        )
        problem = _reversal(row, debit) if debit.reversal else _refund(row, debit)
        if problem:
            _raise(row, ExceptionKind.UNKNOWN_DEBIT, problem)
        return row, True


def _refund(row: StatementDebit, debit: DebitIn) -> str:
    """A refund's payment completes it; returns the exception reason otherwise ("")."""
    refund = Refund.objects.select_for_update().filter(end_to_end_id=debit.end_to_end_id or debit.key).first()
    if refund is None:
        return ExceptionReason.NO_MATCH
    if (refund.amount_cents, "HKD") != (debit.amount_cents, debit.currency):
        return ExceptionReason.AMOUNT_DIFFERS
    if refund.state not in (RefundState.EXPORTED, RefundState.COMPLETED):
        return ExceptionReason.REFUND_NOT_EXPORTED
    refunds.complete_by_end_to_end_id(refund.end_to_end_id, message_id=row.key, at=debit.booked_at)
    row.kind, row.refund = DebitKind.REFUND, refund
    row.save(update_fields=["kind", "refund"])
    return ""


def _reversal(row: StatementDebit, debit: DebitIn) -> str:
    transfer = CreditTransfer.objects.select_for_update().filter(end_to_end_id=debit.key).first()
    if transfer is None or transfer.reversed_on is not None:
        return ExceptionReason.NO_MATCH
    if (transfer.amount_cents, transfer.currency) != (debit.amount_cents, debit.currency):
        return ExceptionReason.AMOUNT_DIFFERS
    row.kind, row.reversed_transfer = DebitKind.REVERSAL, transfer
    row.save(update_fields=["kind", "reversed_transfer"])
    reverse(transfer, on=debit.booking_date, by=row.account_servicer_ref or row.key, business_date=row.business_date)
    return ""


def reverse(
    transfer: CreditTransfer, *, on: dt.date, by: str, business_date: dt.date
) -> ReconciliationException | None:
    """The bank took back the locked ``transfer`` (booked ``on``; ``by``: its reference of the
    reversal; ``business_date``: the day the reversal counts on): mark it, resolve its open
    exceptions ``reversed``, and take its money off its order (a :class:`PaymentEvent`
    ``reversal:<end-to-end id>``; the order's state follows what is left,
    ``PaymentOrder.to_reversed``; its event is the department webhook ``payment.reversed``,
    written in this transaction). An order no longer paid has its e-receipt voided
    (:func:`tungban.payments.receipts.void_receipts`), tells its purpose (``on_reversed``,
    :mod:`tungban.payments.purposes`, as a task) and, paid again, is fulfilled again. Returns the exception raised when the
    order's purpose was already fulfilled with that money (``reversed`` /
    ``reversed_after_use``, for an officer), else None."""
    transfer.reversed_on, transfer.reversal_ref = on, by[:64]
    transfer.save(update_fields=["reversed_on", "reversal_ref"])
    withdrawn = [r.pk for r in refunds.withdraw_for_reversal(transfer, by=by)]
    # Unresolved (a proposal waiting too: approved later it would move money no longer
    # there), or resolved by a refund now withdrawn.
    ReconciliationException.objects.filter(
        Q(state__in=(ExceptionState.OPEN, ExceptionState.PROPOSED)) | Q(refund_id__in=withdrawn), transfer=transfer
    ).update(
        state=ExceptionState.RESOLVED,
        resolution=Resolution.REVERSED,
        resolved_by=f"bank:{by}"[:150],
        resolved_at=timezone.now(),
    )
    if transfer.order_id is None or transfer.match_status in matching.NOT_APPLIED:
        return None
    order = PaymentOrder.objects.select_for_update().get(pk=transfer.order_id)
    was_paid = order.state in PAID_STATES
    order.amount_received_cents = max(0, order.amount_received_cents - transfer.amount_cents)
    if order.state in (*PAID_STATES, OrderState.PARTIALLY_PAID):
        move(order, "to_reversed", ActorKind.BANK, by, f"reversal:{transfer.end_to_end_id} {transfer.amount_cents}")
    if order.state not in PAID_STATES:
        order.paid_at = None
    _save(order, "amount_received_cents", "paid_at")
    matching.settle_order(order)
    if not was_paid or order.state in PAID_STATES:
        return None
    receipts.void_receipts(order)  # the e-receipt no longer stands (its PDF is never altered)
    purpose = purposes.registered().get(order.purpose)
    if purpose is not None and purpose.on_reversed is not None:
        jobs.enqueue(reversed_task, str(order.pk))
    if order.fulfilled_at is None:  # fulfilment, if still queued, finds the order unpaid and does nothing
        return None
    # Paid again later, the order's purpose is fulfilled again (``on_paid`` is idempotent).
    PaymentOrder.objects.filter(pk=order.pk).update(fulfilled_at=None)
    return _raise(transfer, ExceptionKind.REVERSED, ExceptionReason.REVERSED_AFTER_USE, order=order, day=business_date)


@task()
def reversed_task(order_id: str, attempt: int = 1) -> str:
    """Tell a reversed order's purpose (``on_reversed(order)``; it must be idempotent), with
    ``core.jobs`` retries; an order paid again meanwhile is not told."""
    order = PaymentOrder.objects.get(pk=order_id)
    if order.state in PAID_STATES:
        return order.state
    try:
        purposes.get(order.purpose).on_reversed(order)
    except Exception:
        if jobs.can_retry(attempt):
            jobs.enqueue(reversed_task, order_id, attempt + 1, delay=jobs.retry_delay(attempt))
        raise
    return order.state


def reversals_on(day: dt.date) -> dict[str, tuple[int, int]]:
    """The daily close report's reversals column
    (:func:`tungban.payments.services.reconciliation.close_report`): the bank's reversals of
    credits that count on business day ``day`` (``StatementDebit.business_date``, as a
    credit's), per department of the order the reversed transfer was applied to (``""``:
    applied to none, as the report's received column): ``{department: (count, HK$ cents)}``."""
    out: dict[str, tuple[int, int]] = {}
    rows = StatementDebit.objects.filter(kind=DebitKind.REVERSAL, business_date=day).select_related(
        "reversed_transfer__order"
    )
    for row in rows:
        transfer = row.reversed_transfer
        applied = transfer.order_id is not None and transfer.match_status not in matching.NOT_APPLIED
        department = transfer.order.department if applied else ""
        count, cents = out.get(department, (0, 0))
        out[department] = (count + 1, cents + row.amount_cents)
    return out


def _raise(
    line, kind: str, reason: str, *, order: PaymentOrder | None = None, day: dt.date | None = None
) -> ReconciliationException:
    is_debit = isinstance(line, StatementDebit)
    return ReconciliationException.objects.create(
        transfer=None if is_debit else line,
        debit=line if is_debit else None,
        kind=kind,
        reason=reason,
        order=order,
        department=order.department if order else "",
        amount_cents=line.amount_cents,
        expected_cents=order.amount_cents if order else None,
        business_date=day or line.business_date or line.value_date,
    )
