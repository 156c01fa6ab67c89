"""Issue 18 acceptance 3: reconciliation of generated camt files with 10,000 lines, with every
exception kind. A camt.054 of 200 transfers arrives first (as the bank's notifications would),
then the day's camt.053 of 10,000 lines, written by the demo bank's writer and read by the
platform's reader, is imported as one job; the counts of the import and of the exceptions
queue, and the state of every order of each group, are what the rules say.

=====  =========================================================  ======  ====================
group  lines in the camt.053                                      lines   outcome
=====  =========================================================  ======  ====================
A      the amount due, in time                                    8,640   success
B      less than due                                              150     partially_paid; wrong_amount/underpaid
C      more than due                                              150     overpaid; wrong_amount/overpaid
D      booked after the order expired                             100     success; late/after_expiry
F      two transfers for one order (100 orders)                   200     overpaid; duplicate/already_paid (the second)
G      no reference                                               100     unmatched/no_reference
H      a reference with wrong check digits                        100     unmatched/bad_check_digit
I      a valid reference no order has                             100     unmatched/unknown_reference
J      a cancelled order's reference                              50      cancelled; unmatched/order_closed
K      a line repeated in the file (its end-to-end id again)      100     skipped
L      already in the camt.054 imported before                    200     success (known: nothing added)
M      half now, the rest later in the file (50 orders)           100     success; underpaid settled
O      debits (money out)                                         10      skipped
=====  =========================================================  ======  ====================

No timing is asserted: the speed is measured by ``bench/payments.py``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.utils import timezone

from tungban.payments.constants import MatchStatus, OrderState
from tungban.payments.models import CreditTransfer, PaymentOrder, ReconciliationException
from tungban.payments.models_recon import ExceptionState, ImportState, Resolution
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
    a = s.bulk_orders(8640)
    b = s.bulk_orders(150)
    c = s.bulk_orders(150)
    d = s.bulk_orders(100, state=OrderState.EXPIRED, expires_at=earlier)
    f = s.bulk_orders(100)
    j = s.bulk_orders(50, state=OrderState.CANCELLED)
    l_orders = s.bulk_orders(200)
    m = s.bulk_orders(50)

    notified = [s.transfer(o, DUE) for o in l_orders]
    first = _import(s.notification(notified))
    assert first.kind == "camt054"
    assert (first.state, first.lines_new, first.matched, first.exceptions) == (ImportState.DONE, 200, 200, 0)

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
    lines += [s.transfer("REFUND", 2000, credit=False) for _ in range(10)]
    assert len(lines) == 10_000

    imp = _import(s.statement(lines, opening=200 * DUE))
    assert imp.state == ImportState.DONE, (imp.error_code, imp.error_message, imp.last_error)
    assert (imp.lines_total, imp.lines_skipped, imp.lines_known, imp.lines_new) == (10_000, 110, 200, 9_690)
    assert imp.matched == 8640 + 100 + 100 + 50  # A, D (late, applied), the first of each F pair, the rest of M
    assert imp.exceptions == 150 + 150 + 100 + 100 + 100 + 100 + 100 + 50 + 50

    def states(orders):
        return Counter(PaymentOrder.objects.filter(pk__in=[o.pk for o in orders]).values_list("state", flat=True))

    assert states(a) == {OrderState.SUCCESS: 8640}
    assert states(b) == {OrderState.PARTIALLY_PAID: 150}
    assert states(c) == {OrderState.OVERPAID: 150}
    assert states(d) == {OrderState.SUCCESS: 100}
    assert states(f) == {OrderState.OVERPAID: 100}
    assert states(j) == {OrderState.CANCELLED: 50}
    assert states(l_orders) == {OrderState.SUCCESS: 200}
    assert states(m) == {OrderState.SUCCESS: 50}
    # Nothing is marked paid that was not paid: every paid order received at least its amount.
    assert not PaymentOrder.objects.filter(state=OrderState.SUCCESS).exclude(amount_received_cents=DUE).exists()
    assert PaymentOrder.objects.filter(pk__in=[o.pk for o in b], amount_received_cents=DUE - 5000).count() == 150

    found = Counter(ReconciliationException.objects.values_list("kind", "reason", "state"))
    assert found == {
        ("wrong_amount", "underpaid", ExceptionState.OPEN): 150,
        ("wrong_amount", "overpaid", ExceptionState.OPEN): 150,
        ("late", "after_expiry", ExceptionState.OPEN): 100,
        ("duplicate", "already_paid", ExceptionState.OPEN): 100,
        ("unmatched", "no_reference", ExceptionState.OPEN): 100,
        ("unmatched", "bad_check_digit", ExceptionState.OPEN): 100,
        ("unmatched", "unknown_reference", ExceptionState.OPEN): 100,
        ("unmatched", "order_closed", ExceptionState.OPEN): 50,
        ("wrong_amount", "underpaid", ExceptionState.RESOLVED): 50,  # group M, settled by the rest
    }
    assert set(
        ReconciliationException.objects.filter(state=ExceptionState.RESOLVED).values_list("resolution", flat=True)
    ) == {Resolution.SETTLED}
    assert ReconciliationException.objects.filter(statement_import=imp).count() == imp.exceptions

    # One transfer per end-to-end id, whatever reported it; the notified ones were seen twice.
    assert CreditTransfer.objects.count() == 200 + 9_690
    seen = Counter(tuple(x) for x in CreditTransfer.objects.values_list("seen_in", flat=True))
    assert seen == {("camt053",): 9_690, ("camt054", "camt053"): 200}
    statuses = Counter(CreditTransfer.objects.values_list("match_status", flat=True))
    assert statuses[MatchStatus.MATCHED] == 8640 + 200 + 100 + 50
    assert statuses[MatchStatus.UNMATCHED] == 300 and statuses[MatchStatus.ORDER_CLOSED] == 50

    # The same file again adds nothing.
    again, new = submit_statement(s.statement(lines, opening=200 * DUE), filename="again.xml", requested_by="t")
    assert new  # another file (new message id), so a new import ...
    again = reconciliation.run_import(again.pk)  # every line already recorded: nothing to hold or approve
    assert (again.state, again.lines_new, again.lines_known, again.exceptions) == (ImportState.DONE, 0, 9_890, 0)
    assert CreditTransfer.objects.count() == 200 + 9_690
