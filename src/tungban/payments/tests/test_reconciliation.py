"""Reconciliation (issue 18): statement imports as background jobs, exactly once per end-to-end
id whatever reports a transfer; a file that fails its schema or is for another account records
nothing; the rules of the exceptions queue and the officers' resolutions, each recorded; the
daily close report, its CSV, and a closed day that never changes (issue 18, "Bad input and
faults": duplicate statement lines, a statement failing its schema, a notification lost while
the platform was down and reconciled from the statement)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from tungban.core.errors import DomainError
from tungban.payments import services
from tungban.payments.constants import MatchStatus, OrderState
from tungban.payments.models import (
    CreditTransfer,
    DailyClose,
    PaymentEvent,
    PaymentOrder,
    ReconciliationException,
    Refund,
    RefundBatch,
)
from tungban.payments.models_recon import ExceptionKind, ExceptionState, ImportState, Resolution
from tungban.payments.services import reconciliation
from tungban.testing.tasks import run_queued_tasks

from . import recon_support as s

pytestmark = pytest.mark.django_db

HKT = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(autouse=True)
def _purpose():
    s.register_purpose()
    s.PAID.clear()


def _code(fn) -> str:
    with pytest.raises(DomainError) as caught:
        fn()
    return caught.value.code


def _exception(**kw) -> ReconciliationException:
    return ReconciliationException.objects.get(**kw)


# --- imports --------------------------------------------------------------------------------------
def test_an_uploaded_statement_is_a_job_that_pays_the_orders_once():
    order = s.order()
    data = s.statement([s.transfer(order, 35000)])
    imp, new = services.submit_statement(data, filename="day.xml", requested_by="officer:amy")
    assert new and imp.state == ImportState.QUEUED and imp.kind == "camt053"
    assert imp.content and imp.sha256 and imp.size == len(data)

    run_queued_tasks()
    imp.refresh_from_db()
    assert imp.state == ImportState.HELD and not CreditTransfer.objects.exists()  # a second reconciler first
    services.approve_import(imp.pk, officer="officer:bob")
    run_queued_tasks()
    imp.refresh_from_db()
    order.refresh_from_db()
    assert (imp.state, imp.lines_total, imp.lines_new, imp.matched, imp.exceptions) == (ImportState.DONE, 1, 1, 1, 0)
    assert (imp.requested_by, imp.approved_by) == ("officer:amy", "officer:bob")
    assert imp.version == "camt.053.001.08" and imp.statement_date == timezone.now().astimezone(HKT).date()
    assert order.state == OrderState.SUCCESS and order.settled_date == imp.statement_date
    assert s.PAID == [order.reference]  # the purpose's on_paid ran as a task
    (credit,) = CreditTransfer.objects.all()
    assert credit.source == "camt053" and credit.business_date == credit.value_date

    again, new = services.submit_statement(data, filename="same.xml", requested_by="officer:bob")
    assert (again.pk, new) == (imp.pk, False)  # the same file: the first import, nothing added
    assert CreditTransfer.objects.count() == 1


def test_a_statement_line_already_seen_in_a_notification_adds_nothing():
    order = s.order()
    t = s.transfer(order, 35000)
    services.record_credit(
        services.CreditIn(
            end_to_end_id=t["end_to_end_id"],
            message_id="MSG-N",
            amount_cents=35000,
            value_date=t["value_date"],
            booked_at=t["booked_at"],
            reference=order.reference,
        ),
        source="notification",
    )
    notified = s.import_file(s.notification(t))
    day = s.import_file(s.statement([t]))
    # An uploaded camt.054 whose every line the bank's notification already recorded, the same:
    # done at once, with no second reconciler (it adds nothing, so it does not even note itself).
    assert (notified.state, notified.lines_known, notified.lines_new, notified.approved_by) == ("done", 1, 0, "")
    # An uploaded camt.053 settles the notified transfer (review finding 1): a notification
    # cannot confirm it, so a second reconciler approved it; it adds no money either.
    assert (day.state, day.lines_known, day.lines_new, day.exceptions, day.approved_by) == ("done", 1, 0, 0, s.CHECKER)
    (credit,) = CreditTransfer.objects.all()
    assert credit.seen_in == ["notification", "camt053"] and credit.source == "notification"
    assert credit.settled_date == day.statement_date
    order.refresh_from_db()
    assert order.amount_received_cents == 35000 and order.state == OrderState.SUCCESS
    assert PaymentEvent.objects.filter(order=order, to_state=OrderState.SUCCESS).count() == 1


def test_duplicate_statement_lines_are_recorded_once():
    order = s.order()
    t = s.transfer(order, 35000)
    imp = s.import_file(s.statement([t, dict(t), dict(t)]))
    assert (imp.lines_total, imp.lines_new, imp.lines_skipped) == (3, 1, 2)
    order.refresh_from_db()
    assert order.amount_received_cents == 35000 and order.state == OrderState.SUCCESS
    assert not ReconciliationException.objects.exists()


def test_a_statement_failing_its_schema_is_refused_whole_and_records_nothing():
    orders = [s.order() for _ in range(3)]
    data = s.statement([s.transfer(o, 35000) for o in orders])
    broken = data.replace(b'<Amt Ccy="HKD">350.00</Amt>', b'<Amt Ccy="HKD">350,00</Amt>', 1)
    imp = s.import_file(broken)
    assert imp.state == ImportState.REJECTED and imp.error_code == "statement_schema_invalid"
    assert imp.error_details["problems"][0]["path"] == "Stmt/Ntry/Amt" and imp.content == ""
    assert not CreditTransfer.objects.exists() and not ReconciliationException.objects.exists()
    assert set(PaymentOrder.objects.values_list("state", flat=True)) == {OrderState.AWAITING_TRANSFER}
    # The corrected file is imported (a refused file is no reason to refuse it again).
    assert s.import_file(data).state == ImportState.DONE
    assert CreditTransfer.objects.count() == 3


def test_a_statement_for_another_account_is_refused(settings):
    order = s.order()
    data = s.statement([s.transfer(order, 35000)])
    settings.TUNGBAN_PAYMENTS_COLLECTION_ACCOUNT = "999-999999-999"
    imp = s.import_file(data)
    assert imp.state == ImportState.REJECTED and imp.error_code == "statement_wrong_account"
    assert not CreditTransfer.objects.exists()


def test_files_that_cannot_be_taken_are_refused_at_the_door(settings):
    assert _code(lambda: services.submit_statement(b"", requested_by="t")) == "statement_unreadable"
    settings.TUNGBAN_PAYMENTS_STATEMENT_MAX_BYTES = 100
    assert _code(lambda: services.submit_statement(b"x" * 101, requested_by="t")) == "statement_unreadable"
    assert not reconciliation.recent_imports()


def test_an_import_that_fails_unexpectedly_rolls_back_and_is_retried(monkeypatch):
    orders = [s.order() for _ in range(2)]
    data = s.statement([s.transfer(o, 35000) for o in orders])
    imp, _ = services.submit_statement(data, requested_by="t")
    assert reconciliation.run_import(imp.pk).state == ImportState.HELD
    services.approve_import(imp.pk, officer=s.CHECKER)
    real = reconciliation.record_credit
    calls = []

    def flaky(credit, *, source):
        calls.append(credit.end_to_end_id)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real(credit, source=source)

    monkeypatch.setattr(reconciliation, "record_credit", flaky)
    imp = reconciliation.run_import(imp.pk)
    assert imp.state == ImportState.QUEUED and "database went away" in imp.last_error and imp.next_attempt_at
    assert not CreditTransfer.objects.exists()  # the first line was rolled back with the file
    imp = reconciliation.run_import(imp.pk, 2)
    assert imp.state == ImportState.DONE and imp.lines_new == 2
    assert CreditTransfer.objects.count() == 2


def test_a_notification_lost_while_the_platform_was_down_is_reconciled_from_the_statement():
    """The payer paid in time; the bank's notification never arrived (the platform was down
    and the bank gave up); the platform expired the order meanwhile. The next day's statement
    records the payment once, on time: the order is paid, not late, and its purpose runs."""
    order = s.order()
    paid_at = timezone.now()
    PaymentOrder.objects.filter(pk=order.pk).update(expires_at=paid_at + dt.timedelta(seconds=1))
    assert services.expire_orders(paid_at + dt.timedelta(minutes=5)) == 1
    order.refresh_from_db()
    assert order.state == OrderState.EXPIRED
    imp = s.import_file(s.statement([s.transfer(order, 35000, booked_at=paid_at)]))
    order.refresh_from_db()
    assert imp.matched == 1 and order.state == OrderState.SUCCESS
    assert CreditTransfer.objects.get().match_status == MatchStatus.MATCHED
    assert not ReconciliationException.objects.exists() and s.PAID == [order.reference]


# --- the rules of the queue -------------------------------------------------------------------------
def test_each_kind_of_exception_with_its_order_and_department():
    paid = s.order(department="FEHD")
    short = s.order(department="TD")
    late = s.order()
    PaymentOrder.objects.filter(pk=late.pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))
    services.expire_orders()
    lines = [
        s.transfer(paid, 35000),
        s.transfer(paid, 35000),
        s.transfer(short, 100),
        s.transfer(late, 35000),
        s.transfer("no reference here", 500),
        s.transfer(paid.reference[:-1] + str((int(paid.reference[-1]) + 1) % 10), 35000),
    ]
    imp = s.import_file(s.statement(lines))
    assert imp.exceptions == 5
    dup = _exception(kind=ExceptionKind.DUPLICATE)
    assert (dup.reason, dup.order_id, dup.department, dup.expected_cents) == ("already_paid", paid.pk, "FEHD", 35000)
    wrong = _exception(kind=ExceptionKind.WRONG_AMOUNT)
    assert (wrong.reason, wrong.department, wrong.amount_cents) == ("underpaid", "TD", 100)
    assert _exception(kind=ExceptionKind.LATE).reason == "after_expiry"
    reasons = sorted(ReconciliationException.objects.filter(kind="unmatched").values_list("reason", flat=True))
    assert reasons == ["bad_check_digit", "no_reference"]
    assert all(e.statement_import_id == imp.pk for e in ReconciliationException.objects.all())
    # The duplicate's money is already on its way back: the platform opened the refund of the
    # overpaid order's excess (pay-orders), so the exception is resolved by it, not left for a
    # reconciler to refund a second time.
    assert (dup.state, dup.resolution, dup.resolved_by, dup.refund.requested_via) == (
        ExceptionState.RESOLVED,
        Resolution.REFUND,
        "tungban",
        f"payments:overpaid:{dup.transfer.end_to_end_id}",
    )
    assert reconciliation.queue_counts() == {
        "unmatched": 2,
        "duplicate": 0,
        "wrong_amount": 1,
        "late": 1,
        "not_on_statement": 0,
        "conflicting_duplicate": 0,
        "reversed": 0,
        "unknown_debit": 0,
    }


def test_a_notification_feeds_the_same_queue():
    order = s.order()
    for n in (1, 2):
        services.record_credit(
            services.CreditIn(
                end_to_end_id=f"E2E-N{n}",
                message_id=f"MSG-{n}",
                amount_cents=35000,
                value_date=timezone.localdate(),
                booked_at=timezone.now(),
                reference=order.reference,
            ),
            source="notification",
        )
    dup = _exception(kind=ExceptionKind.DUPLICATE)
    assert dup.transfer.end_to_end_id == "E2E-N2" and dup.statement_import is None


# --- resolutions ------------------------------------------------------------------------------------
def test_an_unmatched_transfer_matched_by_hand_pays_the_order_and_is_recorded():
    order = s.order()
    s.import_file(s.statement([s.transfer("I forgot the reference", 35000)]))
    exc = _exception(kind="unmatched")
    assert _code(lambda: services.propose(exc.pk, Resolution.MATCHED, officer="officer:amy")) == "order_unknown"
    assert (
        _code(lambda: services.propose(exc.pk, Resolution.MATCHED, officer="officer:amy", reference="TB00000000000097"))
        == "order_unknown"
    )
    done = s.resolve(
        exc.pk, Resolution.MATCHED, officer="officer:amy", reference=order.reference.lower(), note="called the payer"
    )
    order.refresh_from_db()
    assert order.state == OrderState.SUCCESS and order.amount_received_cents == 35000
    assert (done.state, done.resolution, done.resolved_order_id, done.proposed_by, done.resolved_by, done.note) == (
        ExceptionState.RESOLVED,
        Resolution.MATCHED,
        order.pk,
        "officer:amy",
        s.CHECKER,
        "called the payer",
    )
    events = PaymentEvent.objects.filter(order=order, actor_kind="officer")
    assert [e.to_state for e in events] == [OrderState.SUCCESS, OrderState.SUCCESS]
    assert events.last().reason.startswith("exception:unmatched:matched")
    assert events.last().actor_id == s.CHECKER and "proposed by officer:amy" in events.last().reason
    assert (
        _code(lambda: services.propose(exc.pk, Resolution.WRITTEN_OFF, officer="x", note="n")) == "exception_resolved"
    )


def test_matching_by_hand_with_another_amount_raises_the_next_exception():
    order = s.order()
    s.import_file(s.statement([s.transfer("no ref", 1000)]))
    exc = _exception(kind="unmatched")
    s.resolve(exc.pk, Resolution.MATCHED, officer="officer:amy", reference=order.reference)
    order.refresh_from_db()
    assert order.state == OrderState.PARTIALLY_PAID
    assert _exception(kind="wrong_amount").reason == "underpaid"


def test_what_each_kind_allows():
    order = s.order()
    s.import_file(s.statement([s.transfer(order, 20000)]))
    short = _exception(kind="wrong_amount")
    assert short.reason == "underpaid"
    code = _code(lambda: services.propose(short.pk, Resolution.MATCHED, officer="x", reference=order.reference))
    assert code == "resolution_not_allowed"
    assert _code(lambda: services.propose(short.pk, Resolution.WRITTEN_OFF, officer="x", note="  ")) == "note_required"
    assert (
        _code(lambda: services.propose(short.pk, Resolution.REFUND, officer="x", refund_cents=20001))
        == "refund_invalid"
    )
    assert _code(lambda: services.propose(short.pk, Resolution.REFUND, officer="x", refund_cents=0)) == "refund_invalid"
    assert _code(lambda: services.propose("not-a-uuid", Resolution.REFUND, officer="x")) == "exception_unknown"
    assert ReconciliationException.objects.get(pk=short.pk).state == ExceptionState.OPEN  # nothing partial
    # A duplicate payment is refunded by the platform itself: nothing left to propose.
    s.import_file(s.statement([s.transfer(order, 15000), s.transfer(order, 35000)]))
    dup = _exception(kind="duplicate")
    assert _code(lambda: services.propose(dup.pk, Resolution.REFUND, officer="x")) == "exception_resolved"


def test_an_overpayments_excess_is_refunded_by_the_platform_and_a_marked_refund_opens_a_refund_of_the_order():
    order = s.order()
    s.import_file(s.statement([s.transfer(order, 40000, debtor="LEE SIU MING")]))
    exc = _exception(kind="wrong_amount")
    assert exc.reason == "overpaid" and reconciliation.refundable_cents(exc) == 5000
    # The excess went back at once (pay-orders' surplus refund): the exception points at it.
    excess = Refund.objects.get()
    assert (exc.state, exc.resolution, exc.refund_id, exc.refund_cents) == (
        ExceptionState.RESOLVED,
        Resolution.REFUND,
        excess.pk,
        5000,
    )
    assert (excess.order_id, excess.transfer_id, excess.creditor_name) == (order.pk, exc.transfer_id, "LEE SIU MING")
    # An underpayment marked for refund opens a refund of the order, by two reconcilers.
    short = s.order()
    s.import_file(s.statement([s.transfer(short, 10000, debtor="CHAN SIU FUNG")]))
    under = _exception(kind="wrong_amount", reason="underpaid")
    done = s.resolve(under.pk, Resolution.REFUND, officer="officer:amy")
    refund = Refund.objects.get(order=short)
    assert done.refund_cents == 10000 and done.refund_id == refund.pk
    assert (refund.order_id, refund.transfer_id, refund.amount_cents, refund.state) == (
        short.pk,
        under.transfer_id,
        10000,
        "requested",
    )
    assert refund.creditor_name == "CHAN SIU FUNG" and refund.requested_by is None
    assert refund.requested_via == f"reconciliation:officer:amy+{s.CHECKER}"
    assert refund.reason_en.startswith("Money returned") and refund.reason_zh and refund.reason_zh != refund.reason_en


def test_a_late_payment_is_confirmed_or_written_off():
    order = s.order()
    PaymentOrder.objects.filter(pk=order.pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))
    services.expire_orders()
    s.import_file(s.statement([s.transfer(order, 35000)]))
    late = _exception(kind="late")
    other = s.order()
    assert (
        _code(lambda: s.resolve(late.pk, Resolution.MATCHED, officer="x", reference=other.reference))
        == "resolution_not_allowed"
    )
    done = s.resolve(late.pk, Resolution.MATCHED, officer="officer:amy")
    assert done.resolved_order_id == order.pk and done.resolution == Resolution.MATCHED


def test_an_underpaid_order_completed_later_settles_its_exception():
    order = s.order()
    s.import_file(s.statement([s.transfer(order, 20000)]))
    assert _exception(kind="wrong_amount").state == ExceptionState.OPEN
    s.import_file(s.statement([s.transfer(order, 15000)]))
    settled = _exception(kind="wrong_amount")
    order.refresh_from_db()
    assert order.state == OrderState.SUCCESS and settled.resolution == Resolution.SETTLED
    assert settled.resolved_by.startswith("credit:")


# --- the daily close ------------------------------------------------------------------------------------
def _yesterday() -> dt.date:
    return timezone.now().astimezone(HKT).date() - dt.timedelta(days=1)


def test_the_close_report_per_department_and_fee_item_and_its_csv():
    day = _yesterday()
    booked = dt.datetime.combine(day, dt.time(11, 0), HKT)
    fehd = [s.order(department="FEHD", code="hawker") for _ in range(2)]
    td = s.order(30000, department="TD", code="permit")
    short = s.order(department="TD", code="permit")
    lines = [s.transfer(o, 35000, booked_at=booked) for o in fehd]
    lines += [s.transfer(td, 30000, booked_at=booked), s.transfer(short, 100, booked_at=booked)]
    lines += [s.transfer("nothing", 700, booked_at=booked)]
    s.import_file(s.statement(lines, day=day))
    # A refund of the TD order sent to the bank in that day's instruction file (the refunds workflow).
    batch = RefundBatch.objects.create(
        department="TD",
        business_date=day,
        message_id="RFD-1",
        xml=b"<x/>",
        sha256="0" * 64,
        count=1,
        total_cents=2500,
        created_by="officer:tom",
    )
    Refund.objects.create(
        reference=f"{td.reference}-R1",
        order=td,
        amount_cents=2500,
        reason_en="r",
        reason_zh="因",
        batch=batch,
        end_to_end_id="RFD-E2E-1",
        amount_available_before=30000,
        state="exported",
    )
    reconciliation.register_refunds(lambda d: {("FEHD", "hawker"): 1500} if d == day else {})
    try:
        report = services.close_report(day)
        csv_text = services.close_csv(day)
    finally:
        reconciliation._refund_sources.clear()
    rows = {(r["department"], r["fee_item"]): r for r in report["rows"]}
    assert rows[("FEHD", "hawker")]["orders_paid"] == 2 and rows[("FEHD", "hawker")]["amount_cents"] == 70000
    assert rows[("FEHD", "hawker")]["refunds_cents"] == 1500
    assert rows[("TD", "permit")]["orders_paid"] == 1 and rows[("TD", "permit")]["amount_cents"] == 30000
    assert rows[("TD", "permit")]["refunds_cents"] == 2500
    depts = {d["department"]: d for d in report["departments"]}
    assert depts["TD"]["received_cents"] == 30100 and depts["TD"]["exceptions_open"] == 1
    assert depts["TD"]["refunds_cents"] == 2500 and depts["FEHD"]["refunds_cents"] == 1500
    assert depts[""]["received_cents"] == 700 and depts[""]["exceptions_open"] == 1
    assert report["totals"]["received_cents"] == 70000 + 30100 + 700 and not report["closed"]
    table = list(csv.DictReader(io.StringIO(csv_text)))
    assert {(r["department"], r["fee_item"], r["amount_hkd"]) for r in table if r["fee_item"]} == {
        ("FEHD", "hawker", "700.00"),
        ("TD", "permit", "300.00"),
    }
    assert next(r for r in table if r["department"] == "TD" and not r["fee_item"])["received_hkd"] == "301.00"


def test_a_closed_day_never_changes_and_late_lines_go_to_the_next_day():
    day = _yesterday()
    booked = dt.datetime.combine(day, dt.time(9, 0), HKT)
    first = s.order()
    s.import_file(s.statement([s.transfer(first, 35000, booked_at=booked)], day=day))
    assert _code(lambda: services.close_day(day + dt.timedelta(days=1), officer="officer:amy")) == "day_not_over"
    closed = services.close_day(day, officer="officer:amy")
    assert closed.totals["received_cents"] == 35000
    assert _code(lambda: services.close_day(day, officer="officer:bob")) == "day_closed"

    second = s.order()
    late_line = s.transfer(second, 35000, booked_at=booked)  # booked yesterday, reported after the close
    s.import_file(s.statement([late_line], day=day))
    credit = CreditTransfer.objects.get(end_to_end_id=late_line["end_to_end_id"])
    today = day + dt.timedelta(days=1)
    assert credit.value_date == day and credit.business_date == today
    second.refresh_from_db()
    assert second.state == OrderState.SUCCESS  # the money is applied all the same
    exc = _exception(kind="late")
    assert (exc.reason, exc.business_date) == ("after_close", today)
    report = services.close_report(day)
    assert report["closed"] and report["totals"]["received_cents"] == 35000  # unchanged
    assert services.close_report(today)["totals"]["received_cents"] == 35000
    assert DailyClose.objects.get().closed_by == "officer:amy"


def test_lines_that_are_not_booked_are_skipped_and_debits_are_not_credits():
    order = s.order()
    pending = s.notification([s.transfer(order, 35000)]).replace(b"<Cd>BOOK</Cd>", b"<Cd>PDNG</Cd>")
    imp = s.import_file(pending)
    assert (imp.state, imp.lines_total, imp.lines_skipped, imp.lines_new) == (ImportState.DONE, 1, 1, 0)
    # Money out naming the order's reference pays nothing; a debit nobody instructed is for an
    # officer (test_settlement.py has the rest of the debits' rules).
    money_out = s.import_file(s.statement([s.transfer(order, 35000, credit=False)]))
    assert (money_out.lines_skipped, money_out.lines_new, money_out.exceptions) == (0, 1, 1)
    assert not CreditTransfer.objects.exists()
    assert _exception(kind="unknown_debit").reason == "no_match"
    order.refresh_from_db()
    assert order.state == OrderState.AWAITING_TRANSFER


def test_the_worker_fetches_yesterdays_statement_once_past_the_hour(settings):
    settings.TUNGBAN_PAYMENTS_STATEMENT_FETCH_HOUR = 1
    morning = dt.datetime(2026, 12, 5, 0, 30, tzinfo=HKT)
    assert reconciliation.fetch_due_statements(morning.replace(hour=3)) == {}  # off unless configured
    settings.TUNGBAN_PAYMENTS_STATEMENT_FETCH_AUTO = True
    assert reconciliation.fetch_due_statements(morning) == {}  # before the hour
    assert reconciliation.fetch_due_statements(morning.replace(hour=3)) == {
        "payments.StatementImport (fetch queued)": 1
    }
    assert reconciliation.fetch_due_statements(morning.replace(hour=9)) == {}  # once
    (imp,) = reconciliation.recent_imports()
    assert (imp.source, imp.state, imp.statement_date) == ("fetch", ImportState.FETCHING, dt.date(2026, 12, 4))
