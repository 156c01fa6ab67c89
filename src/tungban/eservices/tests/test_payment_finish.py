"""An applicant can always finish paying, and money the application does not need goes back
(issue 18, the attacker's review, findings 5 and 8): a part-paid order's status page asks for
the balance with the same reference until it expires; a lapsed part-paid order is renewed with
a new order that supersedes it while its money is refunded; a payment for an application
withdrawn meanwhile, or already paid by another order, opens a refund at once and never pays
the application twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from tungban.eservices import cards
from tungban.eservices.models import State
from tungban.eservices.services import payment
from tungban.eservices.tests import test_payment
from tungban.payments import fps, refunds
from tungban.payments import services as payments
from tungban.payments.constants import OrderState
from tungban.payments.models import PaymentOrder

pytestmark = pytest.mark.django_db


#: An application awaiting its HK$350 fee (the fixture of the payment tests).
awaiting = test_payment.awaiting


def _credit(order: PaymentOrder, cents: int, e2e: str) -> None:
    payments.record_credit(
        payments.CreditIn(e2e, "M-" + e2e, cents, timezone.localdate(), timezone.now(), order.reference),
        source="notification",
    )


def _refunds(order: PaymentOrder) -> list[tuple[int, str]]:
    return [(r.amount_cents, r.requested_via.split(":")[1]) for r in refunds.refunds_of(order)]


def test_a_part_paid_application_shows_the_balance_and_is_finished(portal_client, awaiting, run_tasks):
    order = payment.ensure_order(awaiting, awaiting.resident)
    _credit(order, 10_000, "E2E-P1")
    portal_client.cookies["tungban_language"] = "en"
    html = portal_client.get(f"/services/my/{awaiting.reference}/").content.decode()
    assert 'id="fps-qr"' in html and 'id="payment-balance">HK$250<' in html
    assert f'data-reference="{order.reference}"' in html and 'id="renew-payment"' not in html
    order.refresh_from_db()
    decoded = fps.decode(payments.fps_payload(order))
    assert decoded.amount * 100 == 25_000 and decoded.bill_number == order.reference
    with translation.override("en"):
        item = cards.applications_card(awaiting.resident)["items"][0]
    assert item["value"].startswith("Payment due: HK$250, reference ")  # the app's card: the balance
    _credit(order, 25_000, "E2E-P2")
    run_tasks()
    awaiting.refresh_from_db()
    assert awaiting.state == State.PAID and refunds.refunds_of(order) == []


def test_a_lapsed_part_paid_order_is_renewed_and_its_money_refunded(portal_client, awaiting):
    first = payment.ensure_order(awaiting, awaiting.resident)
    _credit(first, 10_000, "E2E-L1")
    PaymentOrder.objects.filter(pk=first.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    portal_client.cookies["tungban_language"] = "en"
    html = portal_client.get(f"/services/my/{awaiting.reference}/").content.decode()
    assert 'id="payment-expired"' in html and "HK$100 received will be refunded" in html
    assert 'id="renew-payment"' in html  # main's page offered no way on (finding 5)
    assert portal_client.post(f"/services/my/{awaiting.reference}/pay/renew").status_code == 302
    first.refresh_from_db()
    second = payment.current_order(awaiting)
    assert second != first and second.supersedes == first and second.amount_cents == 35_000
    assert first.state == OrderState.EXPIRED and _refunds(first) == [(10_000, "expired_part_paid")]
    zh = portal_client.get(f"/services/my/{awaiting.reference}/", HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert 'id="fps-qr"' in zh.content.decode()


def test_money_for_a_withdrawn_application_is_refunded_once(catalogue, awaiting, run_tasks):
    order = payment.ensure_order(awaiting, awaiting.resident)
    catalogue.withdraw(awaiting, awaiting.resident)
    _credit(order, 35_000, "E2E-W1")
    run_tasks()
    payment.receive_payment(PaymentOrder.objects.get(pk=order.pk))  # the task again: nothing more
    awaiting.refresh_from_db()
    assert awaiting.state == State.WITHDRAWN
    assert _refunds(order) == [(35_000, "purpose_closed")]
    (refund,) = refunds.refunds_of(order)
    assert refund.requested_by is None and refund.reason_zh and refund.state == "requested"


def test_an_application_paid_by_another_order_is_not_paid_twice(awaiting, run_tasks):
    first = payment.ensure_order(awaiting, awaiting.resident)
    other = payments.create_order(  # not linked by supersedes (e.g. made before the migration)
        department=first.department,
        purpose=payment.PURPOSE,
        purpose_ref=awaiting.reference,
        lines=[payments.Line("fee", "Fee", "費用", first.amount_cents)],
        description_en="again",
        description_zh="再次",
        created_by=payment.CREATED_BY,
        idempotency_key=f"{awaiting.reference}:x",
    )
    _credit(first, 35_000, "E2E-D1")
    _credit(other, 35_000, "E2E-D2")
    run_tasks()
    awaiting.refresh_from_db()
    assert awaiting.state == State.PAID and awaiting.events.filter(action="paid").count() == 1
    assert awaiting.events.get(action="paid").reason_en == first.reference
    assert _refunds(first) == [] and _refunds(other) == [(35_000, "purpose_closed")]
