"""No one person moves money in reconciliation (issue 18, review findings 2, 9 and 3):

- an uploaded statement is provisional: its credits are matched and shown but record and pay
  nothing until a second reconciler (never the uploader) approves the file, or the statement
  fetched from the bank reports the same lines (a line with another amount is no confirmation);
- resolutions that move money or change an order wait for a second reconciler (never the
  proposer); accepting a late payment, which changes nothing, is one reconciler's;
- "mark for refund" opens a real refund through the refunds workflow — of the order, or of
  the transfer itself when it was applied to no order (its debtor is the creditor; the
  Treasury's reconcilers approve it) — and the daily close counts as refunded only refunds
  sent to the bank (the others are "refunds pending")."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from tungban.core.errors import DomainError
from tungban.payments import refunds, services
from tungban.payments.constants import OrderState
from tungban.payments.models import CreditTransfer, PaymentOrder, ReconciliationException, Refund, StatementImport
from tungban.payments.models_recon import ExceptionState, ImportState, Resolution
from tungban.payments.services import reconciliation
from tungban.testing.factories import staff_user
from tungban.testing.tasks import run_queued_tasks

from . import recon_support as s
from .test_reconciliation_pages import reconciler

pytestmark = pytest.mark.django_db

AMY, BOB = "officer:treasury-amy", "officer:treasury-bob"


@pytest.fixture(autouse=True)
def _purpose():
    s.register_purpose()


def _refusal(fn) -> DomainError:
    with pytest.raises(DomainError) as caught:
        fn()
    return caught.value


def _upload(data: bytes, officer=AMY) -> StatementImport:
    return s.import_file(data, officer=officer, approve=False)


def _fetched(data: bytes, monkeypatch) -> StatementImport:
    """The day's statement fetched from the bank (the trusted channel), the bank's answer
    being ``data``."""
    monkeypatch.setattr(reconciliation, "_download", lambda day: (200, data, ""))
    imp, _new = services.fetch_statement(timezone.localdate())
    run_queued_tasks()
    imp.refresh_from_db()
    return imp


# --- finding 2: an uploaded file is provisional ------------------------------------------------------
def test_an_uploaded_statement_pays_nothing_until_a_second_reconciler_approves_it():
    order = s.order()
    imp = _upload(s.statement([s.transfer(order, 35000, e2e="E2E-HELD-1"), s.transfer("no ref", 700)]))
    order.refresh_from_db()
    assert imp.state == ImportState.HELD and order.state == OrderState.AWAITING_TRANSFER
    assert not CreditTransfer.objects.exists() and not ReconciliationException.objects.exists()
    # Its credits are matched and shown.
    lines = {line["key"]: line for line in reconciliation.line_states(imp)}
    assert lines["E2E-HELD-1"]["order"] == order.reference and lines["E2E-HELD-1"]["amount_cents"] == 35000
    assert {line["state"] for line in lines.values()} == {"held"}

    refused = _refusal(lambda: services.approve_import(imp.pk, officer=AMY))  # the uploader
    assert (refused.code, refused.status) == ("statement_self_approval", 403)
    with translation.override("en"):
        assert str(refused.message) == "You uploaded this file: another reconciler must approve it."
    with translation.override("zh-hant"):
        assert str(refused.message) == "此檔案由你上載：須由另一位對賬人員批核。"
    assert StatementImport.objects.get().state == ImportState.HELD

    services.approve_import(imp.pk, officer=BOB)
    run_queued_tasks()
    imp.refresh_from_db()
    order.refresh_from_db()
    assert (imp.state, imp.lines_new, imp.matched, imp.exceptions) == (ImportState.DONE, 2, 1, 1)
    assert (imp.requested_by, imp.approved_by) == (AMY, BOB) and imp.approved_at
    assert order.state == OrderState.SUCCESS and order.amount_received_cents == 35000
    assert _refusal(lambda: services.approve_import(imp.pk, officer=BOB)).code == "statement_not_held"


def test_the_statement_fetched_from_the_bank_confirms_the_held_upload(monkeypatch):
    order = s.order()
    t = s.transfer(order, 35000)
    held = _upload(s.notification(t))
    assert held.state == ImportState.HELD
    fetched = _fetched(s.statement([t]), monkeypatch)
    held.refresh_from_db()
    order.refresh_from_db()
    assert fetched.state == ImportState.DONE and fetched.lines_new == 1
    assert (held.state, held.confirmed_by_id, held.approved_by, held.lines_known) == (
        ImportState.DONE,
        fetched.pk,
        "",
        1,
    )
    assert held.content == ""  # the unsigned file is not kept once the bank confirmed it
    assert order.state == OrderState.SUCCESS and order.amount_received_cents == 35000  # paid once
    assert CreditTransfer.objects.get().seen_in == ["camt053"]  # by the bank's statement only


def test_a_bank_line_with_another_amount_confirms_nothing(monkeypatch):
    order = s.order()
    t = s.transfer(order, 35000)
    held = _upload(s.statement([t]))
    _fetched(s.statement([{**t, "amount_cents": 3500}]), monkeypatch)
    held.refresh_from_db()
    assert held.state == ImportState.HELD and held.confirmed_by is None
    assert [line["state"] for line in reconciliation.line_states(held)] == ["differs"]
    order.refresh_from_db()
    assert order.amount_received_cents == 3500  # what the bank said, not what the file said


def test_a_held_upload_is_turned_down_with_a_reason():
    order = s.order()
    held = _upload(s.statement([s.transfer(order, 35000)]))
    assert _refusal(lambda: services.turn_down_import(held.pk, officer=AMY, reason=" ")).code == "note_required"
    done = services.turn_down_import(held.pk, officer=AMY, reason="wrong file")  # the uploader withdraws it
    assert (done.state, done.error_code, done.error_message, done.content) == (
        ImportState.REJECTED,
        "statement_turned_down",
        "wrong file",
        "",
    )
    assert _refusal(lambda: services.approve_import(held.pk, officer=BOB)).code == "statement_not_held"
    order.refresh_from_db()
    assert order.state == OrderState.AWAITING_TRANSFER and not CreditTransfer.objects.exists()


# --- finding 9: resolutions that move money need a second reconciler --------------------------------
def test_matching_by_hand_waits_for_a_second_reconciler():
    order = s.order()
    s.import_file(s.statement([s.transfer("I forgot the reference", 35000)]))
    exc = ReconciliationException.objects.get()
    proposed = services.propose(exc.pk, Resolution.MATCHED, officer=AMY, reference=order.reference, note="phoned")
    order.refresh_from_db()
    assert (proposed.state, proposed.proposed_by, proposed.resolved_order_id) == (
        ExceptionState.PROPOSED,
        AMY,
        order.pk,
    )
    assert order.state == OrderState.AWAITING_TRANSFER  # nothing moved yet
    assert _refusal(lambda: services.propose(exc.pk, Resolution.WRITTEN_OFF, officer=BOB, note="n")).code == (
        "exception_resolved"
    )

    refused = _refusal(lambda: services.approve_resolution(exc.pk, officer=AMY))
    assert (refused.code, refused.status) == ("resolution_self_approval", 403)
    with translation.override("en"):
        assert str(refused.message) == "You proposed this resolution: another reconciler must approve it."
    with translation.override("zh-hant"):
        assert str(refused.message) == "此處理方法由你提出：須由另一位對賬人員批核。"

    done = services.approve_resolution(exc.pk, officer=BOB)
    order.refresh_from_db()
    assert (done.state, done.proposed_by, done.resolved_by, done.note) == (ExceptionState.RESOLVED, AMY, BOB, "phoned")
    assert order.state == OrderState.SUCCESS
    assert _refusal(lambda: services.approve_resolution(exc.pk, officer=BOB)).code == "resolution_not_proposed"


def test_a_proposal_turned_down_is_open_again_and_a_write_off_needs_two():
    s.import_file(s.statement([s.transfer("who knows", 500)]))
    exc = ReconciliationException.objects.get()
    services.propose(exc.pk, Resolution.WRITTEN_OFF, officer=AMY, note="too small to chase")
    assert _refusal(lambda: services.decline_resolution(exc.pk, officer=BOB, reason="")).code == "note_required"
    back = services.decline_resolution(exc.pk, officer=BOB, reason="the payer called")
    assert (back.state, back.resolution, back.proposed_by, back.declined_by, back.declined_reason) == (
        ExceptionState.OPEN,
        "",
        "",
        BOB,
        "the payer called",
    )
    services.propose(exc.pk, Resolution.WRITTEN_OFF, officer=BOB, note="no payer found")
    done = services.approve_resolution(exc.pk, officer=AMY)
    assert (done.state, done.resolution, done.proposed_by, done.resolved_by) == (
        ExceptionState.RESOLVED,
        Resolution.WRITTEN_OFF,
        BOB,
        AMY,
    )


def test_accepting_a_late_payment_changes_nothing_and_is_one_reconcilers():
    order = s.order()
    PaymentOrder.objects.filter(pk=order.pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))
    services.expire_orders()
    s.import_file(s.statement([s.transfer(order, 35000)]))
    late = ReconciliationException.objects.get(kind="late")
    done = services.propose(late.pk, Resolution.MATCHED, officer=AMY)
    assert (done.state, done.resolved_by, done.proposed_by) == (ExceptionState.RESOLVED, AMY, "")


# --- finding 3: "mark for refund" opens a refund ------------------------------------------------------
def test_a_refund_of_a_transfer_applied_to_no_order_is_approved_by_another_reconciler_and_exported():
    s.import_file(s.statement([s.transfer("no reference at all", 12300, debtor="WONG KA YAN")]))
    exc = ReconciliationException.objects.get()
    services.propose(exc.pk, Resolution.REFUND, officer=AMY)
    assert not Refund.objects.exists()  # nothing until a second reconciler approves
    done = services.approve_resolution(exc.pk, officer=BOB)
    refund = Refund.objects.get()
    assert done.refund_id == refund.pk and done.refund_cents == 12300
    assert (refund.order_id, refund.transfer_id, refund.amount_cents, refund.state) == (
        None,
        exc.transfer_id,
        12300,
        "requested",
    )
    assert refund.creditor_name == "WONG KA YAN" and refund.original_end_to_end_id == exc.transfer.end_to_end_id
    assert refunds.department_of(refund) == ""
    assert refund.reason_en and refund.reason_zh and refund.reason_en != refund.reason_zh

    amy, carol = reconciler("treasury-amy"), reconciler("treasury-carol")
    clerk = staff_user("counter_officer", username="clerk")
    assert _refusal(lambda: refunds.approve(refund, clerk)).code == "not_payments_officer"
    assert _refusal(lambda: refunds.approve(refund, amy)).code == "refund_self_approval"  # she proposed it
    refunds.approve(refund, carol)
    batch = refunds.export_batch("")
    refund.refresh_from_db()
    assert refund.state == "exported" and batch.count == 1 and b"WONG KA YAN" in bytes(batch.xml)
    # A second refund of the same transfer cannot take more than it brought.
    assert (
        _refusal(
            lambda: refunds.request_refund(
                None,
                None,
                amount_cents=1,
                amount_available=None,
                reason_en="again",
                reason_zh="再次",
                system="reconciliation:x+y",
                transfer=exc.transfer,
            )
        ).code
        == "refund_too_large"
    )


def test_the_close_counts_a_refund_as_pending_until_it_is_sent():
    day = timezone.localdate()
    order = s.order(department="FEHD")
    s.import_file(s.statement([s.transfer(order, 35000), s.transfer(order, 35000), s.transfer("no reference", 12300)]))
    # The duplicate payment: the platform refunds it itself (the exception points at that refund).
    dup = ReconciliationException.objects.get(kind="duplicate")
    assert dup.state == ExceptionState.RESOLVED and dup.refund.state == "requested"
    assert dup.refund.order_id == order.pk and dup.refund.amount_cents == 35000
    # The stray transfer: marked for refund by two reconcilers.
    stray = ReconciliationException.objects.get(kind="unmatched")
    s.resolve(stray.pk, Resolution.REFUND, officer=AMY)
    marked = Refund.objects.get(order=None)
    assert marked.state == "requested" and marked.amount_cents == 12300

    depts = {d["department"]: d for d in services.close_report(day)["departments"]}
    assert (depts["FEHD"]["refunds_cents"], depts["FEHD"]["refunds_pending_cents"]) == (0, 35000)
    assert (depts[""]["refunds_cents"], depts[""]["refunds_pending_cents"]) == (0, 12300)

    Refund.objects.filter(pk=dup.refund_id).update(state="approved")  # the department's officers approved it
    refunds.export_batch("FEHD", on=day)
    depts = {d["department"]: d for d in services.close_report(day)["departments"]}
    assert (depts["FEHD"]["refunds_cents"], depts["FEHD"]["refunds_pending_cents"]) == (35000, 0)
    assert (depts[""]["refunds_cents"], depts[""]["refunds_pending_cents"]) == (0, 12300)  # not sent yet

    Refund.objects.filter(pk=marked.pk).update(state="approved")  # the Treasury's reconcilers approved it
    refunds.export_batch("", on=day)
    report = services.close_report(day)
    depts = {d["department"]: d for d in report["departments"]}
    assert (depts[""]["refunds_cents"], depts[""]["refunds_pending_cents"]) == (12300, 0)
    assert report["totals"]["refunds_pending_cents"] == 0 and report["totals"]["refunds_cents"] == 47300


# --- where held uploads meet the statement's truth (review finding 1) --------------------------------
def _fetched_for(day: dt.date, data: bytes, monkeypatch) -> StatementImport:
    monkeypatch.setattr(reconciliation, "_download", lambda _day: (200, data, ""))
    imp, _new = services.fetch_statement(day)
    run_queued_tasks()
    imp.refresh_from_db()
    return imp


def test_a_held_upload_holds_its_reversals_and_debits_too_until_the_bank_confirms_them(monkeypatch):
    order = s.order()
    t = s.transfer(order, 35000)
    s.import_file(s.statement([t]))  # paid, by two reconcilers
    fee = s.transfer("bank charge", 1200, credit=False)
    held = _upload(s.statement([s.reversal(t), fee]))
    order.refresh_from_db()
    assert held.state == ImportState.HELD and order.state == OrderState.SUCCESS  # nothing taken back
    assert not ReconciliationException.objects.exists()
    lines = reconciliation.line_states(held)
    assert [(line["direction"], line["state"], line["order"]) for line in lines] == [
        ("reversal", "held", order.reference),
        ("debit", "held", ""),
    ]
    # The bank's own statement shows the same two lines: the upload adds nothing.
    fetched = _fetched_for(timezone.localdate(), s.statement([s.reversal(t), fee]), monkeypatch)
    held.refresh_from_db()
    order.refresh_from_db()
    assert (held.state, held.confirmed_by_id) == (ImportState.DONE, fetched.pk)
    assert order.state == OrderState.AWAITING_TRANSFER and order.amount_received_cents == 0  # reversed once
    # The licence was issued on that payment (reversed_after_use), and the fee nobody instructed.
    assert sorted(ReconciliationException.objects.values_list("kind", flat=True)) == ["reversed", "unknown_debit"]


def test_an_empty_held_statement_says_nothing_until_the_banks_statement_of_its_day_is_read(monkeypatch):
    day = timezone.localdate() - dt.timedelta(days=1)
    t = s.transfer(s.order(), 35000, booked_at=dt.datetime.combine(day, dt.time(9, 0), s.HKT))
    s.import_file(s.notification(t))  # an uploaded camt.054: held, approved by the checker
    held = _upload(s.statement([], day=day))
    # Read and checked, but an unsigned "nothing happened" raises nothing and confirms nothing.
    assert held.state == ImportState.HELD and not ReconciliationException.objects.exists()
    assert _refusal(lambda: services.close_day(day, officer=BOB)).code == "day_not_settled"
    _fetched_for(day, s.statement([], day=day), monkeypatch)
    held.refresh_from_db()
    assert held.state == ImportState.DONE and held.confirmed_by is not None
    (missing,) = ReconciliationException.objects.all()  # raised by the bank's statement
    assert (missing.kind, missing.statement_import_id) == ("not_on_statement", held.confirmed_by_id)


def test_a_day_with_a_held_upload_does_not_close_until_it_is_decided():
    day = timezone.localdate() - dt.timedelta(days=1)
    order = s.order()
    held = _upload(
        s.statement([s.transfer(order, 35000, booked_at=dt.datetime.combine(day, dt.time(10, 0), s.HKT))], day=day)
    )
    # The message is rendered in the language of the request that raised it.
    with translation.override("zh-hant"):
        refused = _refusal(lambda: services.close_day(day, officer=BOB))
    assert (refused.code, refused.status, refused.details) == ("day_statement_held", 409, {"count": 1})
    assert "另一位對賬人員" in str(refused.message)
    with translation.override("en"):
        assert "wait for a second reconciler" in str(_refusal(lambda: services.close_day(day, officer=BOB)).message)
    services.approve_import(held.pk, officer=BOB)
    run_queued_tasks()
    assert services.close_day(day, officer=AMY).totals["received_cents"] == 35000


def test_a_reversal_withdraws_the_unsent_refund_of_its_money_and_the_proposal_waiting_on_it():
    order = s.order()
    first, second, stray = s.transfer(order, 35000), s.transfer(order, 35000), s.transfer("no reference", 800)
    s.import_file(s.statement([first, second, stray]))
    excess = Refund.objects.get()  # the platform's refund of the duplicate payment
    assert excess.state == "requested" and excess.transfer.end_to_end_id == second["end_to_end_id"]
    unmatched = ReconciliationException.objects.get(kind="unmatched")
    services.propose(unmatched.pk, Resolution.REFUND, officer=AMY)

    s.import_file(s.statement([s.reversal(second), s.reversal(stray)]))  # the bank took both back
    excess.refresh_from_db()
    assert excess.state == "rejected" and excess.events.last().action == "withdrawn"
    unmatched.refresh_from_db()
    assert (unmatched.state, unmatched.resolution) == (ExceptionState.RESOLVED, Resolution.REVERSED)
    assert _refusal(lambda: services.approve_resolution(unmatched.pk, officer=BOB)).code == "resolution_not_proposed"
    assert Refund.objects.count() == 1  # the money is back with the payers: nothing is paid twice
    order.refresh_from_db()
    assert (order.state, order.amount_received_cents) == (OrderState.SUCCESS, 35000)


def test_a_held_line_the_bank_recorded_as_a_conflicting_duplicate_is_confirmed_by_it():
    order = s.order()
    t = s.transfer(order, 35000)
    s.import_file(s.notification(t))  # notified (approved camt.054)
    changed = dict(t, amount_cents=30000)
    s.import_file(s.statement([changed]))  # the statement: another amount, a conflicting duplicate
    again = _upload(s.statement([changed]))
    assert [line["state"] for line in reconciliation.line_states(again)] == ["confirmed"]
    assert again.state == ImportState.DONE
