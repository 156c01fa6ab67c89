"""Issue 18 acceptance 3: reconciliation of generated camt files with 10,000 lines, with every
exception kind. A camt.054 of 240 transfers arrives first (as the bank's notifications would),
then the day's camt.053 of 10,000 lines, written by the demo bank's writer and read by the
platform's reader, is imported as one job; the counts of the import and of the exceptions
queue, and the state of every order of each group, are what the rules say.

=====  =========================================================  ======  ====================
group  lines in the camt.053                                      lines   outcome
=====  =========================================================  ======  ====================
A      the amount due, in time                                    8,580   success
B      less than due                                              150     partially_paid; wrong_amount/underpaid
C      more than due                                              150     overpaid; wrong_amount/overpaid
D      booked after the order expired                             100     success; late/after_expiry
F      two transfers for one order (100 orders)                   200     overpaid; duplicate/already_paid (the second)
G      no reference                                               100     unmatched/no_reference
H      a reference with wrong check digits                        100     unmatched/bad_check_digit
I      a valid reference no order has                             100     unmatched/unknown_reference
J      a cancelled order's reference                              50      cancelled; unmatched/order_closed
K      a line repeated in the file (its end-to-end id again)      100     skipped
L      already in the camt.054 imported before                    200     success (known: nothing added), settled
M      half now, the rest later in the file (50 orders)           100     success; underpaid settled
O      debits nobody instructed (money out)                       10      unknown_debit/no_match
P      reversals (RvslInd) of 20 A transfers, later in the file   20      awaiting_transfer again
P2     reversals of 10 L transfers whose purpose was fulfilled    10      awaiting_transfer; reversed/reversed_after_use
Q      debits paying 10 exported refunds of L orders              10      refunds completed
R      an L-like notified transfer booked with another amount     20      conflicting_duplicate/different_details,
                                                                          and the notified one not_on_statement
S      (not in the file) notified in the camt.054                 —       not_on_statement/missing_from_statement
=====  =========================================================  ======  ====================

No timing is asserted: the speed is measured by ``bench/payments.py``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.utils import timezone

from tungban.payments.constants import MatchStatus, OrderState
from tungban.payments.models import (
    CreditTransfer,
    PaymentOrder,
    ReconciliationException,
    Refund,
    RefundBatch,
    StatementDebit,
)
from tungban.payments.models_recon import ExceptionKind, ExceptionState, ImportState, Resolution
from tungban.payments.reference import new_reference
from tungban.payments.services import reconciliation, submit_statement

from . import recon_support as s

pytestmark = pytest.mark.django_db

DUE = 35000


@pytest.fixture(autouse=True)
def _purpose():
    s.register_purpose()


def _import(data: bytes):
    imp, new = submit_statement(data, filename="day.xml", requested_by="officer:tests")
    assert new
    held = reconciliation.run_import(imp.pk)  # the worker's task, without running the payments' fulfilment tasks
    assert held.state == ImportState.HELD and len(held.held_lines) == held.lines_total - held.lines_skipped
    reconciliation.approve_import(imp.pk, officer=s.CHECKER)  # a second reconciler
    return reconciliation.run_import(imp.pk)


def _bad_check(ref: str) -> str:
    body, check = ref[:-2], int(ref[-2:])
    return f"{body}{(check + 1) % 100:02d}"


def test_ten_thousand_lines_with_every_exception_kind():
    now = timezone.now()
    earlier = now - dt.timedelta(hours=3)
    a = s.bulk_orders(8580)
    b = s.bulk_orders(150)
    c = s.bulk_orders(150)
    d = s.bulk_orders(100, state=OrderState.EXPIRED, expires_at=earlier)
    f = s.bulk_orders(100)
    j = s.bulk_orders(50, state=OrderState.CANCELLED)
    l_orders = s.bulk_orders(200)
    m = s.bulk_orders(50)
    r = s.bulk_orders(20)
    s_orders = s.bulk_orders(20)

    notified = [s.transfer(o, DUE) for o in l_orders]
    r_notified = [s.transfer(o, DUE) for o in r]
    s_notified = [s.transfer(o, DUE) for o in s_orders]
    first = _import(s.notification(notified + r_notified + s_notified))
    assert first.kind == "camt054"
    assert (first.state, first.lines_new, first.matched, first.exceptions) == (ImportState.DONE, 240, 240, 0)
    PaymentOrder.objects.filter(pk__in=[o.pk for o in l_orders[:10]]).update(fulfilled_at=now)  # P2: licences issued
    batch = RefundBatch.objects.create(
        department="FEHD",
        business_date=now.date(),
        message_id="RFD-10K",
        xml=b"<x/>",
        sha256="0" * 64,
        count=10,
        total_cents=10 * 1000,
        created_by="officer:tom",
    )
    refunds = [
        Refund.objects.create(
            reference=f"{o.reference}-R1",
            order=o,
            amount_cents=1000,
            reason_en="r",
            reason_zh="因",
            batch=batch,
            end_to_end_id=f"RFD{o.reference}",
            amount_available_before=DUE,
            state="exported",
        )
        for o in l_orders[10:20]
    ]

    lines = []
    lines += [s.transfer(o, DUE) for o in a]
    lines += [s.transfer(o, DUE - 5000) for o in b]
    lines += [s.transfer(o, DUE + 5000) for o in c]
    lines += [s.transfer(o, DUE, booked_at=now) for o in d]
    lines += [s.transfer(o, DUE) for o in f] + [s.transfer(o, DUE) for o in f]
    lines += [s.transfer("FOR MY LICENCE", 1000) for _ in range(100)]
    lines += [s.transfer(_bad_check(o.reference), DUE) for o in a[:100]]
    lines += [s.transfer(new_reference(), DUE) for _ in range(100)]
    lines += [s.transfer(o, DUE) for o in j]
    repeated = lines[:100]
    lines += [dict(t) for t in repeated]  # K: the same end-to-end ids again
    lines += notified  # L
    lines += [s.transfer(o, DUE // 2) for o in m] + [s.transfer(o, DUE - DUE // 2) for o in m]
    lines += [s.transfer("REFUND", 2000, credit=False) for _ in range(10)]  # O
    lines += [s.reversal(t) for t in lines[20:40]]  # P: a[20:40]
    lines += [s.reversal(t) for t in notified[:10]]  # P2
    lines += [s.transfer("refund", 1000, credit=False, e2e=x.end_to_end_id) for x in refunds]  # Q
    lines += [dict(t, amount_cents=DUE - 100) for t in r_notified]  # R
    assert len(lines) == 10_000

    imp = _import(s.statement(lines, opening=240 * DUE))
    assert imp.state == ImportState.DONE, (imp.error_code, imp.error_message, imp.last_error)
    assert (imp.lines_total, imp.lines_skipped, imp.lines_known, imp.lines_new) == (10_000, 100, 200, 9_700)
    assert imp.matched == 8580 + 100 + 100 + 50  # A, D (late, applied), the first of each F pair, the rest of M
    assert imp.exceptions == 150 + 150 + 100 + 100 + 100 + 100 + 100 + 50 + 50 + 10 + 10 + 20 + 40

    def states(orders):
        return Counter(PaymentOrder.objects.filter(pk__in=[o.pk for o in orders]).values_list("state", flat=True))

    assert states(a) == {OrderState.SUCCESS: 8560, OrderState.AWAITING_TRANSFER: 20}
    assert states(a[20:40]) == {OrderState.AWAITING_TRANSFER: 20}
    assert states(b) == {OrderState.PARTIALLY_PAID: 150}
    assert states(c) == {OrderState.OVERPAID: 150}
    assert states(d) == {OrderState.SUCCESS: 100}
    assert states(f) == {OrderState.OVERPAID: 100}
    assert states(j) == {OrderState.CANCELLED: 50}
    assert states(l_orders) == {OrderState.SUCCESS: 190, OrderState.AWAITING_TRANSFER: 10}
    assert states(m) == {OrderState.SUCCESS: 50}
    assert states(r) == {OrderState.SUCCESS: 20} and states(s_orders) == {OrderState.SUCCESS: 20}
    # Nothing is marked paid that was not paid: every paid order received at least its amount.
    assert not PaymentOrder.objects.filter(state=OrderState.SUCCESS).exclude(amount_received_cents=DUE).exists()
    assert PaymentOrder.objects.filter(pk__in=[o.pk for o in b], amount_received_cents=DUE - 5000).count() == 150
    assert not PaymentOrder.objects.filter(state=OrderState.AWAITING_TRANSFER, amount_received_cents__gt=0).exists()
    # The statement settles: every paid order but those paid by a notification it did not show.
    unsettled = PaymentOrder.objects.filter(state=OrderState.SUCCESS, settled_date__isnull=True)
    assert set(unsettled.values_list("pk", flat=True)) == {o.pk for o in r + s_orders}
    assert reconciliation.unsettled(now.astimezone(s.HKT).date()) == 40

    found = Counter(ReconciliationException.objects.values_list("kind", "reason", "state"))
    assert found == {
        ("wrong_amount", "underpaid", ExceptionState.OPEN): 150,
        # C and F: the platform refunds the excess itself, so their exceptions are resolved by it.
        ("wrong_amount", "overpaid", ExceptionState.RESOLVED): 150,
        ("late", "after_expiry", ExceptionState.OPEN): 100,
        ("duplicate", "already_paid", ExceptionState.RESOLVED): 100,
        ("unmatched", "no_reference", ExceptionState.OPEN): 100,
        ("unmatched", "bad_check_digit", ExceptionState.OPEN): 100,
        ("unmatched", "unknown_reference", ExceptionState.OPEN): 100,
        ("unmatched", "order_closed", ExceptionState.OPEN): 50,
        ("wrong_amount", "underpaid", ExceptionState.RESOLVED): 50,  # group M, settled by the rest
        ("unknown_debit", "no_match", ExceptionState.OPEN): 10,  # O
        ("reversed", "reversed_after_use", ExceptionState.OPEN): 10,  # P2
        ("conflicting_duplicate", "different_details", ExceptionState.OPEN): 20,  # R
        ("not_on_statement", "missing_from_statement", ExceptionState.OPEN): 40,  # R's notified ones, S
    }
    assert set(ExceptionKind.values) == {kind for kind, _reason, _state in found}  # every kind
    assert set(
        ReconciliationException.objects.filter(state=ExceptionState.RESOLVED).values_list("resolution", flat=True)
    ) == {Resolution.SETTLED, Resolution.REFUND}
    by_platform = ReconciliationException.objects.filter(resolution=Resolution.REFUND)
    assert set(by_platform.values_list("resolved_by", flat=True)) == {"tungban"}
    assert set(by_platform.values_list("refund__order_id", flat=True)) == {o.pk for o in [*c, *f]}
    assert ReconciliationException.objects.filter(statement_import=imp).count() == imp.exceptions
    # The 10 refunds the debits completed, and the platform's own refund of each overpaid
    # order's excess (payments.services.surplus): one per C and F order, waiting for officers.
    assert Counter(Refund.objects.values_list("state", flat=True)) == {"completed": 10, "requested": 250}
    assert set(Refund.objects.filter(state="requested").values_list("order_id", flat=True)) == {o.pk for o in [*c, *f]}
    assert Counter(StatementDebit.objects.values_list("kind", flat=True)) == {
        "reversal": 30,
        "refund": 10,
        "unknown": 10,
    }

    # One transfer per end-to-end id, whatever reported it; the notified ones were seen twice.
    assert CreditTransfer.objects.count() == 240 + 9_650
    seen = Counter(tuple(x) for x in CreditTransfer.objects.values_list("seen_in", flat=True))
    assert seen == {("camt053",): 9_650, ("camt054", "camt053"): 200, ("camt054",): 40}
    statuses = Counter(CreditTransfer.objects.values_list("match_status", flat=True))
    assert statuses[MatchStatus.MATCHED] == 8580 + 200 + 100 + 50 + 40
    assert statuses[MatchStatus.UNMATCHED] == 300 and statuses[MatchStatus.ORDER_CLOSED] == 50
    assert statuses[MatchStatus.CONFLICT] == 20
    assert CreditTransfer.objects.filter(reversed_on__isnull=False).count() == 30

    # The same file again adds nothing.
    again, new = submit_statement(s.statement(lines, opening=240 * DUE), filename="again.xml", requested_by="t")
    assert new  # another file (new message id), so a new import ...
    again = reconciliation.run_import(again.pk)  # every line already recorded: nothing to hold or approve
    assert (again.state, again.lines_new, again.lines_known, again.exceptions) == (ImportState.DONE, 0, 9_900, 0)
    assert CreditTransfer.objects.count() == 240 + 9_650 and StatementDebit.objects.count() == 50
