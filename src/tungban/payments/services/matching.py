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
``conflict``            ``conflicting_        ``different_details`` (a known end-to-end id with
                        duplicate``           another amount, currency or value date)
(notified)              ``not_on_statement``  ``missing_from_statement`` (the ``camt.053`` of
                                              its value date, read, does not show it)
======================  ====================  =================================================

Reversals and debits raise ``reversed`` and ``unknown_debit`` (:mod:`.debits`).

A transfer that completes an order (``success``) settles the order's open ``underpaid``
exceptions (resolution ``settled``).
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import connection
from django.utils import timezone

from ..constants import CURRENCY, PAID_STATES, PROVISIONAL_SOURCES, MatchStatus, OrderState
from ..models import CreditTransfer, DailyClose, PaymentOrder, ReconciliationException, StatementImport
from ..models_recon import ExceptionKind, ExceptionReason, ExceptionState, ImportState, Resolution, StatementKind
from ..models_refunds import Refund
from ..reference import PREFIX, is_valid, normalise

#: Anything shaped like a bill reference (the prefix and 10 to 18 digits, spaces and hyphens
#: ignored): a candidate whose check digits fail is a typo, not "no reference".
_CANDIDATE = re.compile(rf"{PREFIX}[0-9]{{10,18}}")


#: The first key of the business days' advisory locks (PostgreSQL's two-key form: this, and
#: the day's ordinal); "TBDY" in ASCII.
DAY_LOCK_SPACE = 0x54424459


def lock_day(day: dt.date, *, shared: bool) -> None:
    """Lock business ``day`` until the caller's transaction ends (review finding 13): a
    transfer being recorded holds it shared, :func:`~.reconciliation.close_day` exclusive, so
    a close waits for the transfers being recorded on that day and a transfer recorded while
    the day closes waits for the close, then counts on the next open day.

    PostgreSQL: ``pg_advisory_xact_lock_shared`` / ``pg_advisory_xact_lock`` (documentation,
    "Advisory Locks"). SQLite needs none: tungban opens its transactions ``IMMEDIATE``
    (``settings.py``), so writers never overlap there."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [DAY_LOCK_SPACE, day.toordinal()])


def business_day(value_date: dt.date) -> dt.date:
    """The day a transfer with ``value_date`` counts on: its value date, or the first day after
    it that is not closed (a closed day never changes). Each day looked at is locked shared
    (:func:`lock_day`) before it is read, in the caller's transaction: the day returned cannot
    close before that transaction ends."""
    day = value_date
    while True:
        lock_day(day, shared=True)
        if not DailyClose.objects.filter(business_date=day).exists():
            return day
        day += dt.timedelta(days=1)


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
    if status == MatchStatus.CONFLICT:
        return ExceptionKind.CONFLICTING_DUPLICATE, ExceptionReason.DIFFERENT_DETAILS
    if status == MatchStatus.DUPLICATE_PAYMENT:
        return ExceptionKind.DUPLICATE, ExceptionReason.ALREADY_PAID
    if status == MatchStatus.LATE:
        return ExceptionKind.LATE, ExceptionReason.AFTER_EXPIRY
    if status == MatchStatus.WRONG_AMOUNT:
        under = row.order is not None and row.order.state == OrderState.PARTIALLY_PAID
        return ExceptionKind.WRONG_AMOUNT, ExceptionReason.UNDERPAID if under else ExceptionReason.OVERPAID
    return ExceptionKind.UNMATCHED, ExceptionReason.UNKNOWN_REFERENCE  # pragma: no cover - every status is above


def _raise(row: CreditTransfer, kind: str, reason: str) -> ReconciliationException | None:
    """Raise a ``kind`` exception for ``row`` unless it has one (open or resolved)."""
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


#: Whom an exception the platform resolved by itself names as its resolver.
PLATFORM = "tungban"


def _resolved_by_refund(exc: ReconciliationException, row: CreditTransfer) -> None:
    """Resolve ``exc`` (a duplicate payment, an overpayment, a late credit) at once when the
    platform already sends ``row``'s money back: :mod:`.surplus` opened a refund of this
    transfer (requested via ``payments:<code>``) while applying it. The exception keeps the
    record (kind, reason, the refund it points to) but leaves nothing for a reconciler to
    decide — a second refund of the same money cannot be asked for here."""
    if exc.kind not in (ExceptionKind.DUPLICATE, ExceptionKind.WRONG_AMOUNT, ExceptionKind.LATE):
        return
    refund = Refund.objects.filter(transfer=row, requested_via__startswith="payments:").order_by("requested_at").first()
    if refund is None:
        return
    exc.resolve()
    exc.resolution = Resolution.REFUND
    exc.refund = refund
    exc.refund_cents = refund.amount_cents
    exc.resolved_by = PLATFORM
    exc.resolved_at = timezone.now()
    exc.save()


def raise_for(row: CreditTransfer) -> list[ReconciliationException]:
    """The exceptions a just-applied transfer raises (see the module's table), in the caller's
    transaction; settles the order's open ``underpaid`` exceptions when the transfer completed
    it. Returns the exceptions raised (none for a plain match)."""
    raised = []
    found = _kind_and_reason(row)
    if found is not None and (made := _raise(row, *found)):
        _resolved_by_refund(made, row)
        raised.append(made)
    if (
        row.business_date
        and row.business_date != row.value_date
        and (made := _raise(row, ExceptionKind.LATE, ExceptionReason.AFTER_CLOSE))
    ):
        raised.append(made)
    if row.settled_date is None and row.source in PROVISIONAL_SOURCES and statement_read(row.value_date):
        made = _raise(row, ExceptionKind.NOT_ON_STATEMENT, ExceptionReason.MISSING_FROM_STATEMENT)
        raised += [made] if made else []
    order = row.order
    if order is not None and order.state == OrderState.SUCCESS and order.amount_received_cents > row.amount_cents:
        settle_underpaid(order, f"credit:{row.end_to_end_id}")  # only an order paid in parts can have been underpaid
    return raised


# --- the statement is the truth (review finding 1) ---
def statement_read(day: dt.date) -> bool:
    """Whether a ``camt.053`` of ``day`` has been imported."""
    return StatementImport.objects.filter(
        kind=StatementKind.CAMT053, state=ImportState.DONE, statement_date=day
    ).exists()


def provisional(day: dt.date | None = None, *, business_date: dt.date | None = None):
    """Transfers reported by a notification or a ``camt.054`` that no ``camt.053`` line has
    shown yet (not reversed, not a conflict's record), of value date ``day`` or business day
    ``business_date``."""
    qs = CreditTransfer.objects.filter(
        source__in=PROVISIONAL_SOURCES, settled_date__isnull=True, reversed_on__isnull=True
    ).exclude(match_status=MatchStatus.CONFLICT)
    if day is not None:
        qs = qs.filter(value_date=day)
    if business_date is not None:
        qs = qs.filter(business_date=business_date)
    return qs


def check_statement(day: dt.date) -> list[ReconciliationException]:
    """After a ``camt.053`` of ``day`` is read (in the import's transaction): each notified
    transfer of value date ``day`` it did not show raises ``not_on_statement`` /
    ``missing_from_statement``. A notification that arrives after the statement was read is
    checked when it is recorded (:func:`raise_for`)."""
    raised = []
    for row in provisional(day).select_related("order").iterator(chunk_size=500):
        if made := _raise(row, ExceptionKind.NOT_ON_STATEMENT, ExceptionReason.MISSING_FROM_STATEMENT):
            raised.append(made)
    return raised


#: Match statuses of a transfer whose money is not applied to its order.
NOT_APPLIED = (MatchStatus.UNMATCHED, MatchStatus.ORDER_CLOSED, MatchStatus.CONFLICT)


def settle_order(order: PaymentOrder) -> None:
    """Set the locked ``order``'s ``settled_date`` (saved when it changes): the latest
    ``settled_date`` of the transfers applied to it (reversed ones left out) once the order is
    paid and every one of them is settled — a notified transfer only once the statement
    shows it — else ``None``."""
    day = None
    if order.state in PAID_STATES:
        days = list(
            order.credits.exclude(match_status__in=NOT_APPLIED)
            .filter(reversed_on__isnull=True)
            .values_list("settled_date", flat=True)
        )
        day = max(days) if days and None not in days else None
    if order.settled_date != day:
        order.settled_date = day
        order.save(update_fields=["settled_date", "updated_at"])


def settle(row: CreditTransfer, day: dt.date) -> None:
    """A ``camt.053`` line shows the provisional transfer ``row``, booked on ``day``: it is
    settled, its unresolved ``not_on_statement`` exception (a write-off waiting for a second
    reconciler too) resolved (``on_statement``), and its
    order's ``settled_date`` set once every transfer paying it is settled."""
    row.settled_date = day
    row.save(update_fields=["settled_date"])
    ReconciliationException.objects.filter(
        transfer=row, kind=ExceptionKind.NOT_ON_STATEMENT, state__in=(ExceptionState.OPEN, ExceptionState.PROPOSED)
    ).update(
        state=ExceptionState.RESOLVED,
        resolution=Resolution.ON_STATEMENT,
        resolved_by=f"statement:{day.isoformat()}",
        resolved_at=timezone.now(),
    )
    if row.order_id is not None and row.match_status not in NOT_APPLIED:
        settle_order(PaymentOrder.objects.select_for_update().get(pk=row.order_id))


def settle_underpaid(order, by: str) -> int:
    """Resolve ``order``'s unresolved ``underpaid`` exceptions (a proposal waiting too: a
    refund of a part that now completes the order would leave it short) as ``settled`` (a
    later transfer completed it); returns how many."""
    return ReconciliationException.objects.filter(
        order=order, state__in=(ExceptionState.OPEN, ExceptionState.PROPOSED), reason=ExceptionReason.UNDERPAID
    ).update(
        state=ExceptionState.RESOLVED,
        resolution=Resolution.SETTLED,
        resolved_by=by[:150],
        resolved_at=timezone.now(),
    )
