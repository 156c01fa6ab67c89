"""Orders that can always be finished (issue 18, the attacker's review): a ``partially_paid``
order stays payable for its balance until it expires, and expires with its money refunded
(finding 5); money an order must not keep is refunded at once, not only logged (finding 8);
paying one order cancels only its renewal chain (``supersedes``), never an independent order
with the same purpose reference (finding 12); a card payment and an FPS transfer both
succeeding open the refund of the second, and starting card payments is rate-limited
(finding 14)."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from tungban.payments import counter, fps, refunds, web
from tungban.payments.constants import MatchStatus, OrderState
from tungban.payments.models import Bill, CardPayment, MockPspPayment, PaymentOrder
from tungban.payments.models_recon import ReconciliationException
from tungban.payments.models_refunds import RefundState
from tungban.payments.psp import mock
from tungban.payments.services import bills, card, orders, pages
from tungban.payments.tests.departments import call, new_payment, payment_system

from .refund_helpers import make_order, pay

pytestmark = pytest.mark.django_db


def _lapse(order: PaymentOrder) -> None:
    PaymentOrder.objects.filter(pk=order.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))


def _qr_amount(payload: str) -> int:
    return int(fps.decode(payload).amount * 100)


def _refunds(order: PaymentOrder) -> list[tuple[int, str, str]]:
    return [(r.amount_cents, r.requested_via.split(":")[1], r.state) for r in refunds.refunds_of(order)]


# --- finding 5: part paid, then finished; or expired and refunded ---
def test_a_part_paid_order_asks_for_its_balance_with_the_same_reference(rf):
    order = pay(make_order(35_000), 10_000)
    assert order.state == OrderState.PARTIALLY_PAID
    decoded = fps.decode(orders.fps_payload(order))
    assert _qr_amount(orders.fps_payload(order)) == 25_000 and decoded.bill_number == order.reference
    request = rf.get("/")
    step = web.step(order, request)
    assert step["payable"] and step["partial"] and step["balance"] == "HK$250" and step["received"] == "HK$100"
    assert step["qr_src"].startswith("data:image/svg+xml") and not step["expired"]
    block = pages.fps_block(order)
    assert _qr_amount(block["payload"]) == 25_000 and block["reference"] == order.reference
    pay(order, 25_000)
    order.refresh_from_db()
    assert order.state == OrderState.SUCCESS and order.amount_received_cents == 35_000
    assert refunds.refunds_of(order) == []


def test_the_payment_page_shows_the_balance_in_both_languages(client):
    order = pay(make_order(35_000), 10_000)
    en = client.get(f"/pay/{order.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="fps-qr"' in en and 'id="payment-balance">HK$250<' in en
    assert "Pay the balance of HK$250 with the same reference" in en and "pay HK$250 to" in en
    zh = client.get(f"/pay/{order.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert 'id="fps-qr"' in zh and "繳付餘款 HK$250" in zh


def test_the_kiosk_and_the_counters_check_follow_the_balance(client):
    order = pay(make_order(35_000), 10_000)
    kiosk = client.get(f"/pay/kiosk/{order.reference}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="pay-qr"' in kiosk and 'id="pay-amount">HK$250<' in kiosk
    checked = counter.check_payload(orders.fps_payload(order))
    assert checked.order == order and checked.problems == []


def test_a_part_paid_order_expires_with_its_money_refunded_and_a_later_credit_is_held(rf, client):
    order = pay(make_order(35_000), 10_000)
    _lapse(order)
    step = web.step(PaymentOrder.objects.get(pk=order.pk), rf.get("/"))
    assert step["expired"] and step["refund_due"] and not step["payable"]  # lapsed: not yet swept
    assert orders.expire_orders() == 1 and orders.expire_orders() == 0
    order.refresh_from_db()
    assert order.state == OrderState.EXPIRED
    assert _refunds(order) == [(10_000, "expired_part_paid", RefundState.REQUESTED)]
    page = client.get(f"/pay/{order.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The HK$100 received will be refunded" in page and 'id="fps-qr"' not in page
    # The rest arrives late: the order does not become paid (its first part is going back).
    pay(order, 25_000)
    order.refresh_from_db()
    assert order.state == OrderState.EXPIRED and order.amount_received_cents == 35_000 and order.paid_at is None
    assert sorted(_refunds(order)) == [
        (10_000, "expired_part_paid", RefundState.REQUESTED),
        (25_000, "expired_part_paid", RefundState.REQUESTED),
    ]
    late = order.credits.order_by("-received_at").first()
    assert late.match_status == MatchStatus.LATE
    assert ReconciliationException.objects.filter(transfer=late, kind="late").exists()


def test_a_part_paid_bill_is_paid_off_then_renewed_after_expiry(issuer, resident):
    system = payment_system(issuer, "FEHD")
    today = timezone.localdate()
    made = call(
        system,
        "POST",
        "/bills",
        {
            "bill_number": "B-1",
            "payer": {"hkid": resident.hkid},
            "description": {"en": "Hawker fee", "zh": "小販費用"},
            "amount": 20_000,
            "bill_date": str(today),
            "due_date": str(today + dt.timedelta(days=10)),
        },
        key="bill-00000001",
    )
    assert made.status_code == 201, made.text
    bill = Bill.objects.select_related("order").get(pk=made.json()["bill_id"])
    pay(bill.order, 5_000)
    bill.refresh_from_db()
    assert bills.payable_order(bill) == bill.order and bills.balance_cents(bill) == 15_000
    assert _qr_amount(pages.fps_block(bill.order)["payload"]) == 15_000
    _lapse(bill.order)
    renewed = bills.payable_order(bill)
    old = PaymentOrder.objects.get(pk=bill.order_id)
    assert renewed != old and renewed.supersedes == old and old.state == OrderState.EXPIRED
    assert _refunds(old) == [(5_000, "expired_part_paid", RefundState.REQUESTED)]
    assert _qr_amount(pages.fps_block(renewed)["payload"]) == 20_000


# --- finding 12: supersedes, not purpose equality ---
def test_instalments_with_one_purpose_reference_are_independent():
    first = make_order(10_000, lines=None)
    second = orders.create_order(
        department=first.department,
        purpose=first.purpose,
        purpose_ref=first.purpose_ref,
        lines=[orders.Line("inst", "Instalment 2", "第二期", 10_000)],
        description_en="Instalment 2",
        description_zh="第二期",
        created_by="tests",
        idempotency_key="instalment-2",
    )
    pay(first)
    second.refresh_from_db()
    assert second.state == OrderState.AWAITING_TRANSFER and orders.chain(first) == []
    pay(second)
    second.refresh_from_db()
    assert second.state == OrderState.SUCCESS


def _renewal(of: PaymentOrder, key: str) -> PaymentOrder:
    return orders.create_order(
        department=of.department,
        purpose=of.purpose,
        purpose_ref=of.purpose_ref,
        lines=[orders.Line("fee", "Fee", "費用", of.amount_cents)],
        description_en="renewal",
        description_zh="續期",
        created_by="tests",
        idempotency_key=key,
        supersedes=of,
    )


def test_paying_a_renewal_cancels_the_chain_and_a_late_credit_to_the_old_one_is_refunded():
    first = make_order(10_000)
    _lapse(first)
    orders.expire_orders()
    second = _renewal(first, "r2")
    third = _renewal(second, "r3")  # renewed twice: the chain is followed
    assert {o.pk for o in orders.chain(first)} == {second.pk, third.pk}
    pay(third)
    second.refresh_from_db()
    assert second.state == OrderState.CANCELLED and second.events.last().reason == f"paid_by:{third.reference}"
    pay(first)  # the expired order paid late, after its renewal was paid: two paid orders otherwise
    first.refresh_from_db()
    assert first.state == OrderState.EXPIRED and first.paid_at is None
    assert _refunds(first) == [(10_000, "renewal_paid", RefundState.REQUESTED)]
    assert PaymentOrder.objects.filter(purpose_ref=first.purpose_ref, state=OrderState.SUCCESS).count() == 1


def test_a_part_paid_renewal_is_closed_and_refunded_when_the_old_order_is_paid_late():
    first = make_order(10_000)
    _lapse(first)
    orders.expire_orders()
    second = pay(_renewal(first, "r2"), 4_000)
    assert second.state == OrderState.PARTIALLY_PAID
    pay(first)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == OrderState.SUCCESS and second.state == OrderState.EXPIRED
    assert _refunds(second) == [(4_000, "renewal_paid", RefundState.REQUESTED)]


def test_the_migration_links_the_platforms_renewals_only():
    migration = importlib.import_module("tungban.payments.migrations.0005_supersedes")
    first, second = make_order(10_000), make_order(10_000)  # same purpose reference
    bill_a = make_order(10_000)
    PaymentOrder.objects.filter(pk__in=[first.pk, second.pk]).update(
        purpose="eservices.application", purpose_ref="APP-1"
    )
    PaymentOrder.objects.filter(pk=bill_a.pk).update(purpose_ref="APP-1")  # a department's: left alone
    migration.link_renewals(apps, None)
    first.refresh_from_db()
    second.refresh_from_db()
    bill_a.refresh_from_db()
    assert first.supersedes is None and second.supersedes == first and bill_a.supersedes is None


# --- finding 14: card and FPS both paid; card_start limited ---
def test_a_card_payment_after_an_fps_transfer_opens_the_refund_of_the_second(api_order, psp):
    attempt, _next = card.start(api_order)  # the payer opened the card page, then paid by FPS too
    pay(api_order, 35_000)
    mock.finish(attempt.psp_payment_id, "succeeded", instrument="card")
    card.returned(attempt.pk)
    api_order.refresh_from_db()
    assert api_order.state == OrderState.OVERPAID and api_order.amount_received_cents == 70_000
    (refund,) = refunds.refunds_of(api_order)
    card_credit = api_order.credits.get(source="psp")
    assert (refund.amount_cents, refund.requested_via) == (35_000, f"payments:overpaid:{card_credit.end_to_end_id}")
    assert refund.original_end_to_end_id == card_credit.end_to_end_id and refund.requested_by is None
    assert card_credit.match_status == MatchStatus.DUPLICATE_PAYMENT
    card.returned(attempt.pk)  # the return again: nothing more
    assert len(refunds.refunds_of(api_order)) == 1


def test_a_part_paid_order_takes_the_balance_by_card(api_order, psp):
    pay(api_order, 15_000)
    attempt, _next = card.start(api_order)
    assert MockPspPayment.objects.get(pk=attempt.psp_payment_id).amount_cents == 20_000


def test_card_start_is_rate_limited_per_order(client, api_order, psp, settings):
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "payments_card_order": "2/h"}
    for _ in range(2):
        assert client.post(f"/pay/card/{api_order.pk}").status_code == 302
    refused = client.post(f"/pay/card/{api_order.pk}", HTTP_ACCEPT="text/html", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert CardPayment.objects.filter(order=api_order).count() == 2


def test_card_start_is_rate_limited_per_client(client, issuer, psp, settings):
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "payments_card_start": "2/h"}
    system = payment_system(issuer, "FEHD")
    ids = [new_payment(system, amount=100).json()["payment_id"] for i in range(3)]
    assert [client.post(f"/pay/card/{i}").status_code for i in ids] == [302, 302, 429]
