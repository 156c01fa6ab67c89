"""What a recorded credit transfer means for reconciliation (issue 18, "Reconciliation"): the
business day it counts on, and the exception it raises when it did not simply pay its order.

:func:`~tungban.payments.services.credits.record_credit` calls :func:`business_day` when it
records a transfer and :func:`raise_for` once it has applied it, whatever reported the
transfer (the bank's notification, a ``camt.054``, a ``camt.053`` line), so every source feeds
the same exceptions queue. The rules (``docs/payments-reconciliation.md``):

======================  ====================  =================================================
match status            exception kind        reason
======================  ====================  =================================================
``unmatched``           ``unmatched``         ``no_reference`` (nothing shaped like a bill
                                              reference), ``bad_check_digit`` (shaped like one,
                                              ISO 7064 Mod 97-10 check fails),
                                              ``unknown_reference``, ``wrong_currency``
``order_closed``        ``unmatched``         ``order_closed`` (cancelled or failed order)
``duplicate_payment``   ``duplicate``         ``already_paid``
``wrong_amount``        ``wrong_amount``      ``underpaid`` / ``overpaid``
``late``                ``late``              ``after_expiry`` (booked after ``expires_at``)
(any)                   ``late``              ``after_close`` (its value date's day was already
                                              closed: it counts on the next open day)
======================  ====================  =================================================

A transfer that completes an order (``success``) settles the order's open ``underpaid``
exceptions (resolution ``settled``).
"""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone

from ..constants import CURRENCY, MatchStatus, OrderState
from ..models import CreditTransfer, DailyClose, ReconciliationException
from ..models_recon import ExceptionKind, ExceptionReason, ExceptionState, Resolution
from ..reference import PREFIX, is_valid, normalise

#: Anything shaped like a bill reference (the prefix and 10 to 18 digits, spaces and hyphens
#: ignored): a candidate whose check digits fail is a typo, not "no reference".
_CANDIDATE = re.compile(rf"{PREFIX}[0-9]{{10,18}}")


def business_day(value_date: dt.date) -> dt.date:
    """The day a transfer with ``value_date`` counts on: its value date, or the first day after
    it that is not closed (a closed day never changes)."""
    closed = set(DailyClose.objects.filter(business_date__gte=value_date).values_list("business_date", flat=True))
    day = value_date
    while day in closed:
        day += dt.timedelta(days=1)
    return day


def reference_problem(text: str) -> str:
    """Why ``text`` (a transfer's reference) names no order: ``no_reference`` or
    ``bad_check_digit``; ``unknown_reference`` when it holds a valid reference (that no order
    has)."""
    candidates = _CANDIDATE.findall(normalise(text))
    if not candidates:
        return ExceptionReason.NO_REFERENCE
    if any(is_valid(c) for c in candidates):
        return ExceptionReason.UNKNOWN_REFERENCE
    return ExceptionReason.BAD_CHECK_DIGIT


def _kind_and_reason(row: CreditTransfer) -> tuple[str, str] | None:
    status = row.match_status
    if status == MatchStatus.MATCHED:
        return None
    if status == MatchStatus.UNMATCHED:
        if row.currency != CURRENCY:
            return ExceptionKind.UNMATCHED, ExceptionReason.WRONG_CURRENCY
        return ExceptionKind.UNMATCHED, reference_problem(row.reference)
    if status == MatchStatus.ORDER_CLOSED:
        return ExceptionKind.UNMATCHED, ExceptionReason.ORDER_CLOSED
    if status == MatchStatus.DUPLICATE_PAYMENT:
        return ExceptionKind.DUPLICATE, ExceptionReason.ALREADY_PAID
    if status == MatchStatus.LATE:
        return ExceptionKind.LATE, ExceptionReason.AFTER_EXPIRY
    if status == MatchStatus.WRONG_AMOUNT:
        under = row.order is not None and row.order.state == OrderState.PARTIALLY_PAID
        return ExceptionKind.WRONG_AMOUNT, ExceptionReason.UNDERPAID if under else ExceptionReason.OVERPAID
    return ExceptionKind.UNMATCHED, ExceptionReason.UNKNOWN_REFERENCE  # pragma: no cover - every status is above


def _raise(row: CreditTransfer, kind: str, reason: str) -> ReconciliationException | None:
    if ReconciliationException.objects.filter(transfer=row, kind=kind).exists():
        return None
    order = row.order
    return ReconciliationException.objects.create(
        transfer=row,
        kind=kind,
        reason=reason,
        order=order,
        department=order.department if order else "",
        amount_cents=row.amount_cents,
        expected_cents=order.amount_cents if order else None,
        business_date=row.business_date or row.value_date,
    )


def raise_for(row: CreditTransfer) -> list[ReconciliationException]:
    """The exceptions a just-applied transfer raises (see the module's table), in the caller's
    transaction; settles the order's open ``underpaid`` exceptions when the transfer completed
    it. Returns the exceptions raised (none for a plain match)."""
    raised = []
    found = _kind_and_reason(row)
    if found is not None and (made := _raise(row, *found)):
        raised.append(made)
    if (
        row.business_date
        and row.business_date != row.value_date
        and (made := _raise(row, ExceptionKind.LATE, ExceptionReason.AFTER_CLOSE))
    ):
        raised.append(made)
    order = row.order
    if order is not None and order.state == OrderState.SUCCESS and order.amount_received_cents > row.amount_cents:
        settle(order, f"credit:{row.end_to_end_id}")  # only an order paid in parts can have been underpaid
    return raised


def settle(order, by: str) -> int:
    """Resolve ``order``'s open ``underpaid`` exceptions as ``settled`` (a later transfer
    completed it); returns how many."""
    return ReconciliationException.objects.filter(
        order=order, state=ExceptionState.OPEN, reason=ExceptionReason.UNDERPAID
    ).update(
        state=ExceptionState.RESOLVED,
        resolution=Resolution.SETTLED,
        resolved_by=by[:150],
        resolved_at=timezone.now(),
    )
