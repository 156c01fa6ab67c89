"""Refunds (issue 18, pay-refund): who may ask and approve, how much, the 412 on a stale
amount available, the state machine and its record, the export to the bank (one ISO 20022
pain.001 file per department per day, a refund in exactly one), completion and the payer's
notifications."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from tungban.core.errors import DomainError
from tungban.payments import pain001, refunds
from tungban.payments.constants import OrderState
from tungban.payments.models_refunds import Refund, RefundBatch, RefundEvent, RefundState

from .refund_helpers import department_user, make_order, paid_order, pay

NS = {"p": pain001.NS}
REASONS = {"reason_en": "Licence application withdrawn", "reason_zh": "撤回牌照申請"}


@pytest.fixture
def fehd(db, settings):
    settings.TUNGBAN_REFUND_SECOND_APPROVAL_CENTS = 1_000_000  # HK$10,000
    return {
        "requester": department_user("fehd-clerk", "FEHD"),
        "second": department_user("fehd-checker", "FEHD"),
        "third": department_user("fehd-officer3", "FEHD"),
        "approver": department_user("fehd-approver", "FEHD", "approver"),
        "swd": department_user("swd-officer", "SWD"),
    }


def ask(order, user, amount, available=None, **kw):
    available = refunds.amount_available(order) if available is None else available
    return refunds.request_refund(order, user, amount_cents=amount, amount_available=available, **{**REASONS, **kw})


def code_of(call) -> str:
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value.code


def test_a_refund_needs_a_second_officer_and_never_its_requester(fehd):
    order = paid_order(50_000)
    refund = ask(order, fehd["requester"], 20_000)
    assert refund.state == RefundState.REQUESTED and not refund.needs_second_approval
    assert refund.reference == f"{order.reference}-R1" and refund.end_to_end_id.startswith("TBRF")

    assert code_of(lambda: refunds.approve(refund, fehd["requester"])) == "refund_self_approval"
    assert code_of(lambda: refunds.approve(refund, fehd["swd"])) == "not_payments_officer"
    refund.refresh_from_db()
    assert refund.state == RefundState.REQUESTED

    refunds.approve(refund, fehd["second"])
    refund.refresh_from_db()
    assert refund.state == RefundState.APPROVED and refund.approved_by == fehd["second"]
    assert code_of(lambda: refunds.approve(refund, fehd["third"])) == "refund_not_pending"
    assert [e.action for e in refund.events.all()] == ["requested", "approved"]


def test_above_the_threshold_two_approvals_one_an_approvers_three_people(fehd):
    order = paid_order(2_000_000)  # HK$20,000
    refund = ask(order, fehd["requester"], 1_500_000)
    assert refund.needs_second_approval

    refunds.approve(refund, fehd["second"])  # the first approval: still requested
    refund.refresh_from_db()
    assert refund.state == RefundState.REQUESTED and refund.first_approved_by == fehd["second"]
    # The same person cannot give the second approval, nor can a plain officer after a plain officer.
    assert code_of(lambda: refunds.approve(refund, fehd["second"])) == "refund_already_approved_by_you"
    assert code_of(lambda: refunds.approve(refund, fehd["third"])) == "refund_needs_approver"
    assert code_of(lambda: refunds.approve(refund, fehd["requester"])) == "refund_self_approval"
    refunds.approve(refund, fehd["approver"])
    refund.refresh_from_db()
    assert refund.state == RefundState.APPROVED and refund.approved_by == fehd["approver"]
    people = {refund.requested_by_id, refund.first_approved_by_id, refund.approved_by_id}
    assert len(people) == 3
    assert [e.action for e in refund.events.all()] == ["requested", "first_approval", "approved"]


def test_an_approver_may_approve_first_and_an_officer_second(fehd):
    refund = ask(paid_order(2_000_000), fehd["requester"], 1_200_000)
    refunds.approve(refund, fehd["approver"])
    refunds.approve(refund, fehd["second"])
    refund.refresh_from_db()
    assert refund.state == RefundState.APPROVED


def test_an_approver_requesting_still_needs_two_others(fehd):
    refund = ask(paid_order(2_000_000), fehd["approver"], 1_200_000)
    refunds.approve(refund, fehd["second"])
    assert code_of(lambda: refunds.approve(refund, fehd["third"])) == "refund_needs_approver"
    assert code_of(lambda: refunds.approve(refund, fehd["approver"])) == "refund_self_approval"


def test_bad_amounts_and_unpaid_orders_are_refused_and_nothing_is_stored(fehd):
    order = paid_order(50_000)
    assert code_of(lambda: ask(order, fehd["requester"], 50_001)) == "refund_too_large"
    assert code_of(lambda: ask(order, fehd["requester"], 0)) == "refund_amount_invalid"
    assert code_of(lambda: ask(order, fehd["requester"], -5)) == "refund_amount_invalid"
    assert code_of(lambda: ask(order, fehd["requester"], 100, reason_zh=" ")) == "refund_reason_missing"
    assert code_of(lambda: ask(order, fehd["swd"], 100)) == "not_payments_officer"
    unpaid = make_order(30_000)
    assert code_of(lambda: ask(unpaid, fehd["requester"], 100, available=0)) == "order_not_paid"
    assert Refund.objects.count() == 0 and RefundEvent.objects.count() == 0

    # Pending refunds hold their amount: the rest is what is available.
    ask(order, fehd["requester"], 30_000)
    assert refunds.amount_available(order) == 20_000
    assert code_of(lambda: ask(order, fehd["requester"], 20_001)) == "refund_too_large"
    ask(order, fehd["requester"], 20_000)
    assert refunds.refund_summary(order) == {
        "status": "unavailable",  # held by refunds in progress
        "amount_available": 0,
        "amount_submitted": 50_000,
        "amount_refunded": 0,
    }


def test_a_stale_amount_available_is_refused_with_412(fehd):
    order = paid_order(50_000)
    seen = refunds.amount_available(order)  # two officers open the page
    ask(order, fehd["requester"], 10_000, available=seen)
    with pytest.raises(DomainError) as refused:
        ask(order, fehd["second"], 10_000, available=seen)
    assert refused.value.code == "refund_amount_available_mismatch" and refused.value.status == 412
    assert refused.value.details == {"refund_amount_available": 40_000}
    assert order.refunds.count() == 1


def test_a_rejected_refund_gives_its_amount_back(fehd):
    order = paid_order(50_000)
    refund = ask(order, fehd["requester"], 50_000)
    assert code_of(lambda: refunds.reject(refund, fehd["second"], reason=" ")) == "refund_reason_missing"
    refunds.reject(refund, fehd["second"], reason="Paid by mistake? No: the licence was issued.")
    refund.refresh_from_db()
    assert refund.state == RefundState.REJECTED and "licence was issued" in refund.decided_reason
    assert refunds.amount_available(order) == 50_000
    assert code_of(lambda: refunds.approve(refund, fehd["third"])) == "refund_not_pending"


def test_overpaid_and_partially_paid_orders_refund_what_was_received(fehd):
    over = pay(make_order(30_000), 45_000)
    # The excess is already on the refund queue (opened by the system, review finding 14).
    (excess,) = refunds.refunds_of(over)
    assert (excess.amount_cents, excess.requested_via[:17]) == (15_000, "payments:overpaid")
    assert over.state == OrderState.OVERPAID and refunds.amount_available(over) == 30_000
    ask(over, fehd["requester"], 15_000)  # more, if the officers decide so
    part = pay(make_order(30_000), 10_000)
    assert part.state == OrderState.PARTIALLY_PAID
    assert code_of(lambda: ask(part, fehd["requester"], 10_001)) == "refund_too_large"
    ask(part, fehd["requester"], 10_000)


def _approved(fehd, amount=10_000, order=None):
    refund = ask(order or paid_order(50_000), fehd["requester"], amount)
    refunds.approve(refund, fehd["second"])
    refund.refresh_from_db()
    return refund


def test_export_makes_one_valid_pain001_per_department_per_day_and_is_idempotent(fehd):
    first, second = _approved(fehd, 10_000), _approved(fehd, 2_550)
    pending = ask(paid_order(50_000), fehd["requester"], 1_000)  # not approved: not exported
    swd_refund_order = paid_order(20_000, department="SWD")
    swd_user = fehd["swd"]
    swd_second = department_user("swd-checker", "SWD")
    swd_refund = refunds.request_refund(
        swd_refund_order, swd_user, amount_cents=5_000, amount_available=20_000, **REASONS
    )
    refunds.approve(swd_refund, swd_second)

    batch = refunds.export_batch("FEHD", fehd["third"])
    assert batch.count == 2 and batch.total_cents == 12_550
    assert set(batch.refunds.values_list("pk", flat=True)) == {first.pk, second.pk}
    for r in (first, second):
        r.refresh_from_db()
        assert r.state == RefundState.EXPORTED and r.batch_id == batch.pk
    pending.refresh_from_db()
    swd_refund.refresh_from_db()
    assert pending.state == RefundState.REQUESTED and swd_refund.state == RefundState.APPROVED

    xml = bytes(batch.xml)
    pain001.validate(xml)  # the ISO 20022 schema
    doc = etree.fromstring(xml)
    assert doc.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "2"
    assert doc.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "125.50"
    ids = doc.xpath("//p:CdtTrfTxInf/p:PmtId/p:EndToEndId/text()", namespaces=NS)
    assert sorted(ids) == sorted([first.end_to_end_id, second.end_to_end_id])
    amounts = doc.xpath("//p:CdtTrfTxInf/p:Amt/p:InstdAmt", namespaces=NS)
    assert {a.get("Ccy") for a in amounts} == {"HKD"} and sorted(a.text for a in amounts) == ["100.00", "25.50"]
    remittance = doc.xpath("//p:CdtTrfTxInf/p:RmtInf/p:Ustrd/text()", namespaces=NS)
    assert any(first.order.reference in r for r in remittance)

    # Again the same day: the same file; a refund approved later waits for tomorrow's.
    late = _approved(fehd, 700)
    again = refunds.export_batch("FEHD", fehd["second"])
    assert again.pk == batch.pk and bytes(again.xml) == xml and again.count == 2
    late.refresh_from_db()
    assert late.state == RefundState.APPROVED and late.batch is None
    tomorrow = refunds.export_batch("FEHD", fehd["second"], on=batch.business_date + dt.timedelta(days=1))
    assert tomorrow.pk != batch.pk and list(tomorrow.refunds.all()) == [late]
    assert RefundBatch.objects.filter(department="FEHD").count() == 2

    assert code_of(lambda: refunds.export_batch("FEHD", fehd["swd"])) == "not_payments_officer"
    assert (
        code_of(lambda: refunds.export_batch("FEHD", fehd["second"], on=batch.business_date + dt.timedelta(days=2)))
        == "no_refunds_to_export"
    )


def test_a_file_that_fails_its_schema_stores_nothing(fehd, settings):
    refund = _approved(fehd)
    settings.TUNGBAN_PAYMENTS_COLLECTION_ACCOUNT = ""  # DbtrAcct/Id/Othr/Id is Max34Text, at least 1
    assert code_of(lambda: refunds.export_batch("FEHD", fehd["second"])) == "refund_file_invalid"
    refund.refresh_from_db()
    assert refund.state == RefundState.APPROVED and refund.batch is None
    assert RefundBatch.objects.count() == 0


def test_pain001_validation_refuses_what_the_schema_refuses():
    with pytest.raises(pain001.SchemaError):
        pain001.validate(b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.001.001.03'><Nope/></Document>")
    with pytest.raises(pain001.SchemaError):
        pain001.validate(b"not xml")
    with pytest.raises(ValueError):
        pain001.build(
            pain001.Batch("M", dt.datetime.now(dt.UTC), dt.date.today(), "tungban", "FEHD", "1", "004", transfers=[])
        )


def test_completion_by_the_banks_debit_or_an_officer_and_the_payer_is_told(
    fehd, resident, settings, django_capture_on_commit_callbacks
):
    from tungban.notify.models import Notification
    from tungban.oidc import services as oidc

    oidc.register_client(
        client_id=settings.TUNGBAN_PAYMENTS_NOTIFY_CLIENT,
        name_en="tungban e-Services",
        name_zh="通辦一網通辦",
        redirect_uris=["https://services.example/cb"],
    )
    order = paid_order(50_000, payer=resident)
    refund = ask(order, fehd["requester"], 10_000)
    assert code_of(lambda: refunds.complete(refund, actor_kind="officer", actor_id="x")) == "refund_not_exported"
    with django_capture_on_commit_callbacks(execute=True):  # the payer is told after the commit
        refunds.approve(refund, fehd["second"])
    refunds.export_batch("FEHD", fehd["second"])
    assert refunds.complete_by_end_to_end_id("TBRFNOSUCHID", message_id="m1") is None
    with django_capture_on_commit_callbacks(execute=True):
        done = refunds.complete_by_end_to_end_id(refund.end_to_end_id, message_id="camt053-1")
    assert done.state == RefundState.COMPLETED and done.completed_at is not None
    assert refunds.complete_by_end_to_end_id(refund.end_to_end_id, message_id="camt053-2").pk == refund.pk
    assert done.events.last().actor_kind == "bank" and done.events.last().actor_id == "camt053-1"
    assert refunds.refund_summary(order)["amount_refunded"] == 10_000
    assert refunds.refund_summary(order)["status"] == "available"
    rest = ask(order, fehd["requester"], 40_000)
    refunds.approve(rest, fehd["second"])
    refunds.export_batch("FEHD", fehd["second"], on=refunds.business_date() + dt.timedelta(days=1))
    refunds.complete(rest, actor_kind="officer", actor_id="x", user=fehd["third"])
    assert refunds.refund_summary(order) == {
        "status": "full",
        "amount_available": 0,
        "amount_submitted": 50_000,  # GOV.UK Pay: every refund not rejected, paid back or not
        "amount_refunded": 50_000,
    }
    assert done.credit_note.number == f"CN-{refund.reference}"

    sent = Notification.objects.filter(resident=resident, sender_id="payments").order_by("created_at")
    assert [n.reference for n in sent] == [refund.reference, refund.reference]
    assert "HK$100.00" in sent[0].subject_en and "HK$100.00" in sent[1].body_zh
    assert order.reference in sent[1].subject_zh


def test_refunds_for_another_department_are_not_listed(fehd):
    refund = ask(paid_order(50_000), fehd["requester"], 1_000)
    assert list(refunds.refunds_for_officer(fehd["second"])) == [refund]
    assert list(refunds.refunds_for_officer(fehd["swd"])) == []
    assert refunds.awaiting(fehd["second"]) == [refund]
    assert refunds.awaiting(fehd["requester"]) == []


def test_a_department_system_may_ask_and_officers_approve(fehd):
    order = paid_order(50_000)
    refund = refunds.request_refund(
        order, None, amount_cents=5_000, amount_available=50_000, system="client:fehd-cases", **REASONS
    )
    assert refund.requested_by is None and refund.requested_via == "client:fehd-cases"
    first = refund.events.get()
    assert (first.actor_kind, first.actor_id) == ("api", "client:fehd-cases")
    refunds.approve(refund, fehd["requester"])  # any officer: the system is not one of them
    refund.refresh_from_db()
    assert refund.state == RefundState.APPROVED
    # Without a user, a system must be named.
    assert (
        code_of(lambda: refunds.request_refund(order, None, amount_cents=1, amount_available=45_000, **REASONS))
        == "not_payments_officer"
    )


def test_refunds_completed_on_a_day_by_department_and_fee_item(fehd):
    one = paid_order(50_000)
    two = paid_order(
        30_000,
        lines=[
            refunds_services_line("a", 10_000),
            refunds_services_line("b", 20_000),
        ],
    )
    for order, amount in ((one, 7_000), (two, 3_000), (one, 1_000)):
        refund = ask(order, fehd["requester"], amount)
        refunds.approve(refund, fehd["second"])
    refunds.export_batch("FEHD", fehd["second"])
    for refund in Refund.objects.all():
        refunds.complete(refund, actor_kind="bank", actor_id="camt053")
    today = refunds.business_date()
    assert refunds.refunded_on(today) == {("FEHD", "hawker-licence-fee"): 8_000, ("FEHD", ""): 3_000}
    assert refunds.refunded_on(today - dt.timedelta(days=1)) == {}


def refunds_services_line(code: str, cents: int):
    from tungban.payments import services

    return services.Line(code, f"Item {code}", f"項目 {code}", cents, 1)
