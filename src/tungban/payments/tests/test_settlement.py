"""The statement is the truth (issue 18, review findings 1, 4, 6 and 13): a notified credit is
provisional until the day's ``camt.053`` shows it (``settled_date`` from the statement line; a
``not_on_statement`` exception and a day that cannot close while it is not); reversals take the
money back off the order; statement debits complete exported refunds; a known end-to-end id
reported with other figures is a ``conflicting_duplicate``, never dropped; and ``close_day``
and a credit being recorded for that day are serialised (PostgreSQL, two connections)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from tungban.core.errors import DomainError
from tungban.payments import purposes, services
from tungban.payments.constants import MatchStatus, OrderState
from tungban.payments.models import (
    CreditTransfer,
    PaymentOrder,
    ReconciliationException,
    Refund,
    RefundBatch,
    StatementDebit,
)
from tungban.payments.models_recon import ExceptionState, Resolution
from tungban.payments.services import reconciliation
from tungban.testing.tasks import run_queued_tasks

from . import recon_support as s

pytestmark = pytest.mark.django_db

HKT = dt.timezone(dt.timedelta(hours=8))
REVERSED: list[str] = []


@pytest.fixture(autouse=True)
def _purpose():
    s.register_purpose()
    s.PAID.clear()
    REVERSED.clear()


def _yesterday() -> dt.date:
    return timezone.now().astimezone(HKT).date() - dt.timedelta(days=1)


def _notify(t: dict) -> CreditTransfer:
    """The bank's notification of transfer ``t`` (the signed JSON's path, ``record_credit``)."""
    row, _new = services.record_credit(
        services.CreditIn(
            end_to_end_id=t["end_to_end_id"],
            message_id=f"NTF-{t['end_to_end_id']}",
            amount_cents=t["amount_cents"],
            value_date=t["value_date"],
            booked_at=t["booked_at"],
            reference=t["reference"],
        ),
        source="notification",
    )
    return row


def _code(fn) -> str:
    with pytest.raises(DomainError) as caught:
        fn()
    return caught.value.code


def _open(kind: str) -> list[ReconciliationException]:
    return list(ReconciliationException.objects.filter(kind=kind, state=ExceptionState.OPEN))


# --- finding 1: a notification is not final ---------------------------------------------------
def test_a_notified_credit_is_settled_by_the_statement_line_not_by_the_notification():
    day = _yesterday()
    booked = dt.datetime.combine(day, dt.time(10, 0), HKT)
    order = s.order()
    t = s.transfer(order, 35000, booked_at=booked)
    credit = _notify(t)
    order.refresh_from_db()
    assert order.state == OrderState.SUCCESS  # the payer is served at once ...
    assert credit.settled_date is None and order.settled_date is None  # ... but nothing is settled yet
    imp = s.import_file(s.statement([t], day=day))
    assert (imp.lines_known, imp.exceptions) == (1, 0)
    credit.refresh_from_db()
    order.refresh_from_db()
    assert credit.settled_date == day and order.settled_date == day
    assert not ReconciliationException.objects.exists()
    assert services.close_day(day, officer="officer:amy").totals["received_cents"] == 35000


def test_a_notified_credit_missing_from_its_days_statement_is_an_exception_and_holds_the_close():
    day = _yesterday()
    booked = dt.datetime.combine(day, dt.time(10, 0), HKT)
    shown, missing = s.order(), s.order()
    t_shown, t_missing = s.transfer(shown, 35000, booked_at=booked), s.transfer(missing, 35000, booked_at=booked)
    _notify(t_shown)
    _notify(t_missing)
    # Before the statement: the day may not close on notifications alone.
    assert _code(lambda: services.close_day(day, officer="officer:amy")) == "day_not_settled"
    imp = s.import_file(s.statement([t_shown], day=day))
    assert imp.exceptions == 1
    (exc,) = _open("not_on_statement")
    assert (exc.reason, exc.transfer.end_to_end_id, exc.business_date) == (
        "missing_from_statement",
        t_missing["end_to_end_id"],
        day,
    )
    assert exc.statement_import_id == imp.pk
    with pytest.raises(DomainError) as caught:
        services.close_day(day, officer="officer:amy")
    assert caught.value.code == "day_not_settled" and caught.value.details == {"count": 1}
    # The bank books it on the next day's statement (value date the day before): settled, resolved.
    s.import_file(s.statement([dict(t_missing, booked_at=booked + dt.timedelta(days=1))], day=day + dt.timedelta(1)))
    exc.refresh_from_db()
    assert (exc.state, exc.resolution) == (ExceptionState.RESOLVED, Resolution.ON_STATEMENT)
    missing.refresh_from_db()
    assert missing.settled_date == day + dt.timedelta(days=1)
    assert services.close_day(day, officer="officer:amy").totals["received_cents"] == 70000


def test_an_officer_who_checked_with_the_bank_writes_it_off_and_the_day_closes():
    day = _yesterday()
    t = s.transfer(s.order(), 35000, booked_at=dt.datetime.combine(day, dt.time(9, 0), HKT))
    _notify(t)
    s.import_file(s.statement([], day=day))
    (exc,) = _open("not_on_statement")
    assert _code(lambda: services.propose(exc.pk, "refund", officer="officer:amy")) == "resolution_not_allowed"
    assert _code(lambda: services.propose(exc.pk, "written_off", officer="officer:amy")) == "note_required"
    services.propose(exc.pk, "written_off", officer="officer:amy", note="bank confirms: booked under another account")
    # A write-off accepts money the statement never showed: it waits for a second reconciler.
    assert _code(lambda: services.close_day(day, officer="officer:amy")) == "day_not_settled"
    services.approve_resolution(exc.pk, officer=s.CHECKER)
    assert services.close_day(day, officer="officer:amy").business_date == day


def test_a_notification_arriving_after_its_days_statement_was_read_is_raised_at_once():
    day = _yesterday()
    booked = dt.datetime.combine(day, dt.time(11, 0), HKT)
    s.import_file(s.statement([s.transfer(s.order(), 35000, booked_at=booked)], day=day))
    late = _notify(s.transfer(s.order(), 35000, booked_at=booked))
    (exc,) = _open("not_on_statement")
    assert exc.transfer == late


# --- reversals --------------------------------------------------------------------------------
def test_a_reversed_credit_takes_the_payment_back_and_the_order_is_payable_again():
    purposes.register(
        s.KIND, on_paid=lambda o: s.PAID.append(o.reference), on_reversed=lambda o: REVERSED.append(o.reference)
    )
    order = s.order()
    t = s.transfer(order, 35000)
    first, _ = services.submit_statement(s.statement([t]), requested_by="officer:amy")
    assert reconciliation.run_import(first.pk).state == "held"  # an upload waits for a second reconciler
    services.approve_import(first.pk, officer=s.CHECKER)
    reconciliation.run_import(first.pk)  # paid; its fulfilment not run yet
    order.refresh_from_db()
    assert order.state == OrderState.SUCCESS and order.settled_date is not None
    back, _ = services.submit_statement(s.statement([s.reversal(t)]), requested_by="officer:amy")
    assert reconciliation.run_import(back.pk).state == "held"
    order.refresh_from_db()
    assert order.state == OrderState.SUCCESS  # a held reversal takes nothing back yet
    services.approve_import(back.pk, officer=s.CHECKER)
    back = reconciliation.run_import(back.pk)
    assert (back.lines_new, back.exceptions) == (1, 0)
    order.refresh_from_db()
    assert (order.state, order.amount_received_cents, order.paid_at, order.settled_date) == (
        OrderState.AWAITING_TRANSFER,
        0,
        None,
        None,
    )
    assert order.events.last().reason.startswith(f"reversal:{t['end_to_end_id']}")
    credit = CreditTransfer.objects.get(end_to_end_id=t["end_to_end_id"])
    debit = StatementDebit.objects.get()
    assert (debit.kind, debit.reversed_transfer, debit.key) == ("reversal", credit, f"RVSL:{t['end_to_end_id']}")
    assert credit.reversed_on is not None
    run_queued_tasks()
    assert s.PAID == [] and REVERSED == [order.reference]  # the purpose is told; never fulfilled
    # The same reversal again adds nothing; a new transfer pays the order again.
    again = s.import_file(s.statement([s.reversal(t, account_servicer_ref=debit.account_servicer_ref)]))
    assert (again.lines_known, again.lines_new) == (1, 0)
    s.import_file(s.statement([s.transfer(order, 35000)]))
    order.refresh_from_db()
    assert order.state == OrderState.SUCCESS and order.amount_received_cents == 35000


def test_a_reversal_after_the_purpose_was_fulfilled_is_an_exception_for_an_officer():
    order = s.order()
    t = s.transfer(order, 35000)
    s.import_file(s.statement([t]))  # paid and fulfilled (the licence issued)
    order.refresh_from_db()
    assert order.fulfilled_at is not None and s.PAID == [order.reference]
    imp = s.import_file(s.statement([s.reversal(t)]))
    assert imp.exceptions == 1
    (exc,) = _open("reversed")
    assert (exc.reason, exc.order, exc.department) == ("reversed_after_use", order, "FEHD")
    order.refresh_from_db()
    assert order.state == OrderState.AWAITING_TRANSFER and order.amount_received_cents == 0
    assert reconciliation.ALLOWED["reversed"] == ("written_off",)


def test_a_reversal_of_an_overpayment_leaves_the_order_paid_and_of_an_unmatched_credit_closes_its_exception():
    order = s.order()
    first, second = s.transfer(order, 35000), s.transfer(order, 35000)
    stray = s.transfer("no reference", 800)
    s.import_file(s.statement([first, second, stray]))
    order.refresh_from_db()
    assert order.state == OrderState.OVERPAID
    s.import_file(s.statement([s.reversal(second), s.reversal(stray)]))
    order.refresh_from_db()
    assert (order.state, order.amount_received_cents) == (OrderState.SUCCESS, 35000)
    assert order.settled_date is not None and not _open("reversed")
    assert {(e.kind, e.resolution) for e in ReconciliationException.objects.all()} == {
        ("duplicate", "reversed"),
        ("unmatched", "reversed"),
    }


def test_the_daily_close_counts_the_days_reversals_per_department_and_in_its_csv():
    day = _yesterday()
    booked = dt.datetime.combine(day, dt.time(10, 0), HKT)
    kept, taken = s.order(), s.order(20_000)
    t1, t2 = s.transfer(kept, 35000, booked_at=booked), s.transfer(taken, 20_000, booked_at=booked)
    stray = s.transfer("no reference", 800, booked_at=booked)
    s.import_file(s.statement([t1, t2, stray], day=day))
    reversed_at = dt.datetime.combine(day, dt.time(15, 0), HKT)
    s.import_file(
        s.statement([s.reversal(t2, booked_at=reversed_at), s.reversal(stray, booked_at=reversed_at)], day=day)
    )
    report = reconciliation.close_report(day)
    by_department = {d["department"]: d for d in report["departments"]}
    assert (by_department["FEHD"]["reversals"], by_department["FEHD"]["reversals_cents"]) == (1, 20_000)
    assert (by_department[""]["reversals"], by_department[""]["reversals_cents"]) == (1, 800)  # applied to no order
    assert (report["totals"]["reversals"], report["totals"]["reversals_cents"]) == (2, 20_800)
    rows = [line.split(",") for line in reconciliation.close_csv(day).splitlines()]
    assert rows[0][-2:] == ["reversals", "reversals_hkd"]
    fehd = next(r for r in rows[1:] if r[1] == "FEHD" and r[2] == "")
    assert fehd[-2:] == ["1", "200.00"]
    closed = services.close_day(day, officer="officer:amy")
    assert closed.totals["reversals_cents"] == 20_800  # recorded with the close


def test_a_reversal_of_nothing_recorded_is_an_unknown_debit():
    imp = s.import_file(s.statement([s.reversal(s.transfer("x", 500))]))
    (exc,) = _open("unknown_debit")
    assert (exc.reason, exc.transfer, exc.debit.kind, exc.statement_import_id) == ("no_match", None, "unknown", imp.pk)


# --- finding 6 (first half): statement debits complete exported refunds --------------------------
def _exported_refund(order: PaymentOrder, cents: int, *, state="exported") -> Refund:
    batch = (
        None
        if state != "exported"
        else RefundBatch.objects.create(
            department=order.department,
            business_date=_yesterday(),
            message_id=f"RFD-{order.reference}",
            xml=b"<x/>",
            sha256="0" * 64,
            count=1,
            total_cents=cents,
            created_by="officer:tom",
        )
    )
    return Refund.objects.create(
        reference=f"{order.reference}-R1",
        order=order,
        amount_cents=cents,
        reason_en="r",
        reason_zh="因",
        batch=batch,
        end_to_end_id=f"RFD{order.reference}",
        amount_available_before=order.amount_cents,
        state=state,
    )


def test_a_statement_debit_with_a_refunds_end_to_end_id_completes_it_once():
    order = s.order()
    s.import_file(s.statement([s.transfer(order, 35000)]))
    refund = _exported_refund(order, 5000)
    money_out = s.transfer("refund", 5000, credit=False, e2e=refund.end_to_end_id)
    imp = s.import_file(s.statement([money_out]))
    assert (imp.lines_new, imp.exceptions) == (1, 0)
    refund.refresh_from_db()
    assert refund.state == "completed" and refund.completed_at is not None
    assert StatementDebit.objects.get().refund == refund
    again = s.import_file(s.statement([dict(money_out)]))
    assert (again.lines_known, again.exceptions) == (1, 0)
    assert refund.events.filter(action="completed").count() == 1


def test_debits_that_do_not_fit_a_refund_are_exceptions():
    order = s.order()
    s.import_file(s.statement([s.transfer(order, 35000)]))
    refund = _exported_refund(order, 5000)
    other = s.order(key="other-order")
    s.import_file(s.statement([s.transfer(other, 35000)]))
    asked = _exported_refund(other, 3000, state="approved")
    s.import_file(
        s.statement(
            [
                s.transfer("refund", 4999, credit=False, e2e=refund.end_to_end_id),
                s.transfer("refund", 3000, credit=False, e2e=asked.end_to_end_id),
                s.transfer("fee", 1200, credit=False),
            ]
        )
    )
    reasons = sorted(e.reason for e in _open("unknown_debit"))
    assert reasons == ["amount_differs", "no_match", "refund_not_exported"]
    refund.refresh_from_db()
    asked.refresh_from_db()
    assert (refund.state, asked.state) == ("exported", "approved")
    exc = next(e for e in _open("unknown_debit") if e.reason == "no_match")
    s.resolve(exc.pk, "written_off", officer="officer:amy", note="bank charges")
    exc.refresh_from_db()
    assert (exc.state, exc.proposed_by, exc.resolved_by) == (ExceptionState.RESOLVED, "officer:amy", s.CHECKER)


# --- finding 4: a known end-to-end id with other figures ----------------------------------------
def test_a_known_end_to_end_id_with_another_amount_is_recorded_as_a_conflict():
    order = s.order()
    t = s.transfer(order, 35000)
    _notify(t)
    changed = dict(t, amount_cents=30000)
    imp = s.import_file(s.statement([changed]))
    assert (imp.lines_new, imp.lines_known) == (1, 0)
    conflict = CreditTransfer.objects.get(end_to_end_id=f"ASR:{t['account_servicer_ref']}")
    assert (conflict.match_status, conflict.order, conflict.amount_cents) == (MatchStatus.CONFLICT, None, 30000)
    assert conflict.conflicts_with.end_to_end_id == t["end_to_end_id"]
    kinds = sorted((e.kind, e.reason) for e in ReconciliationException.objects.filter(state=ExceptionState.OPEN))
    assert kinds == [
        ("conflicting_duplicate", "different_details"),
        ("not_on_statement", "missing_from_statement"),  # the notified figures are not what the bank booked
    ]
    order.refresh_from_db()
    assert order.amount_received_cents == 35000  # nothing applied twice
    # The same conflicting line again, and the exact duplicate, add nothing.
    again = s.import_file(s.statement([dict(changed)]))
    assert (again.lines_new, again.lines_known, again.exceptions) == (0, 1, 0)
    _notify(t)
    assert CreditTransfer.objects.count() == 2


@pytest.mark.parametrize("field,value", [("currency", "USD"), ("value_date", dt.date(2026, 1, 2))])
def test_another_currency_or_value_date_is_a_conflict_too(field, value):
    t = s.transfer(s.order(), 35000)
    _notify(t)
    base = dict(
        end_to_end_id=t["end_to_end_id"],
        message_id="MSG-2",
        amount_cents=35000,
        value_date=t["value_date"],
        booked_at=t["booked_at"],
        reference=t["reference"],
    )
    row, new = services.record_credit(services.CreditIn(**{**base, field: value}), source="notification")
    assert new and row.match_status == MatchStatus.CONFLICT and row.end_to_end_id.startswith("ASR:")
    assert _open("conflicting_duplicate")[0].transfer == row
    assert services.record_credit(services.CreditIn(**base), source="camt054")[1] is False  # exact: a no-op


# --- finding 13: close_day against a credit being recorded (PostgreSQL, two connections) ---------
def _wait_for_lock_wait(timeout: float = 30.0) -> None:
    """Wait until some connection waits for a business day's advisory lock."""
    deadline = timezone.now() + dt.timedelta(seconds=timeout)
    waiting = threading.Event()
    while timezone.now() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            if cursor.fetchone()[0]:
                return
        waiting.wait(0.05)
    raise AssertionError("nobody waited for the day's lock")


def _in_thread(target, errors: list):
    def run():
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_close_waits_for_a_credit_being_recorded_on_its_day():
    if connection.vendor != "postgresql":
        pytest.skip("the day's lock is PostgreSQL's (SQLite writers never overlap: IMMEDIATE transactions)")
    s.register_purpose()
    day = _yesterday()
    booked = dt.datetime.combine(day, dt.time(9, 0), HKT)
    order = s.order()
    t = s.transfer(order, 35000, booked_at=booked)
    recorded, release, errors = threading.Event(), threading.Event(), []
    closed = {}

    def credit():
        with transaction.atomic():
            services.record_credit(
                services.CreditIn(
                    end_to_end_id=t["end_to_end_id"],
                    message_id="M1",
                    amount_cents=35000,
                    value_date=day,
                    booked_at=booked,
                    reference=order.reference,
                    booking_date=day,
                ),
                source="camt053",
            )
            recorded.set()
            assert release.wait(30)

    def close():
        closed["close"] = services.close_day(day, officer="officer:amy")

    a = _in_thread(credit, errors)
    assert recorded.wait(30)
    b = _in_thread(close, errors)
    _wait_for_lock_wait()  # the close waits for the credit's transaction
    assert "close" not in closed
    release.set()
    a.join(30)
    b.join(30)
    assert not errors, errors
    assert closed["close"].totals["received_cents"] == 35000  # the credit counted on its day
    assert CreditTransfer.objects.get().business_date == day


@pytest.mark.django_db(transaction=True)
def test_a_credit_recorded_while_its_day_closes_counts_on_the_next_day(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the day's lock is PostgreSQL's (SQLite writers never overlap: IMMEDIATE transactions)")
    s.register_purpose()
    day = _yesterday()
    booked = dt.datetime.combine(day, dt.time(9, 0), HKT)
    order = s.order()
    computing, release, errors = threading.Event(), threading.Event(), []
    real = reconciliation._compute

    def slow_compute(d):
        report = real(d)
        computing.set()
        assert release.wait(30)
        return report

    monkeypatch.setattr(reconciliation, "_compute", slow_compute)

    def close():
        services.close_day(day, officer="officer:amy")

    def credit():
        _notify(s.transfer(order, 35000, booked_at=booked, value_date=day))

    b = _in_thread(close, errors)
    assert computing.wait(30)
    a = _in_thread(credit, errors)
    _wait_for_lock_wait()  # the credit waits for the close
    release.set()
    b.join(30)
    a.join(30)
    assert not errors, errors
    credit_row = CreditTransfer.objects.get()
    assert credit_row.business_date == day + dt.timedelta(days=1)
    assert services.close_report(day)["totals"]["received_cents"] == 0  # the closed day never changed
    assert ReconciliationException.objects.get(kind="late").reason == "after_close"
