"""Paying an application's fee (issue 18): the status page of an application awaiting payment
shows the FPS payment step (its order made once), the poll's state follows the order and then
the application, an expired request is renewed with a new order for the same application, the
purpose's task moves the application to ``paid`` once, and the app's card says what is due."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.utils import timezone, translation

from tungban.eservices import cards
from tungban.eservices.models import State
from tungban.eservices.services import payment
from tungban.eservices.tests.helpers import pay, submitted_hawker_licence
from tungban.payments import services as payments
from tungban.payments.constants import OrderState
from tungban.payments.models import PaymentOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def awaiting(catalogue, resident):
    app = submitted_hawker_licence(catalogue, resident)
    assert app.state == State.AWAITING_PAYMENT
    return app


def test_the_status_page_shows_the_payment_step_and_makes_the_order_once(portal_client, awaiting):
    portal_client.cookies["tungban_language"] = "en"
    html = portal_client.get(f"/services/my/{awaiting.reference}/").content.decode()
    order = PaymentOrder.objects.get(purpose="eservices.application", purpose_ref=awaiting.reference)
    assert order.amount_cents == 35000 and order.payer_id == awaiting.resident_id
    assert order.idempotency_key == f"{awaiting.reference}:1" and order.return_url.endswith(f"/{awaiting.reference}/")
    assert 'id="fps-qr"' in html and f'data-reference="{order.reference}"' in html
    assert 'data-value="awaiting_payment:awaiting_transfer"' in html and "payments/poll.js" in html
    portal_client.get(f"/services/my/{awaiting.reference}/")
    assert PaymentOrder.objects.filter(purpose_ref=awaiting.reference).count() == 1


def test_the_poll_follows_the_order_then_the_application(portal_client, awaiting, run_tasks):
    url = f"/services/my/{awaiting.reference}/state"
    order = payment.ensure_order(awaiting, awaiting.resident)
    assert portal_client.get(url).json()["value"] == "awaiting_payment:awaiting_transfer"
    payments.record_credit(
        payments.CreditIn("E2E-S", "M", 35000, timezone.localdate(), timezone.now(), order.reference),
        source="notification",
    )
    assert portal_client.get(url).json()["value"] == "awaiting_payment:success"  # paid; the task not run yet
    run_tasks()
    assert portal_client.get(url).json() == {"value": "paid", "state": "paid"}
    awaiting.refresh_from_db()
    event = awaiting.events.get(action="paid")
    assert awaiting.state == State.PAID and event.reason_en == order.reference
    html = portal_client.get(f"/services/my/{awaiting.reference}/").content.decode()
    assert 'id="fps-qr"' not in html and "poll.js" not in html


def test_an_expired_request_is_renewed_once(portal_client, awaiting):
    first = payment.ensure_order(awaiting, awaiting.resident)
    assert payment.renew_order(awaiting, awaiting.resident) == first  # still payable: no new order
    PaymentOrder.objects.filter(pk=first.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    html = portal_client.get(f"/services/my/{awaiting.reference}/").content.decode()  # lapsed, not yet swept
    assert 'id="payment-expired"' in html and 'id="renew-payment"' in html
    answer = portal_client.post(f"/services/my/{awaiting.reference}/pay/renew")
    assert answer.status_code == 302
    portal_client.post(f"/services/my/{awaiting.reference}/pay/renew")  # a second press: the same new order
    payments.expire_orders()
    orders = payments.orders_for(payment.PURPOSE, awaiting.reference)
    assert [o.state for o in orders] == [OrderState.AWAITING_TRANSFER, OrderState.EXPIRED]
    assert orders[0].idempotency_key == f"{awaiting.reference}:2"


def test_payment_of_a_withdrawn_application_leaves_it_withdrawn(catalogue, awaiting, caplog):
    order = payment.ensure_order(awaiting, awaiting.resident)
    catalogue.withdraw(awaiting, awaiting.resident)
    with caplog.at_level(logging.WARNING):
        payment.receive_payment(order)
    awaiting.refresh_from_db()
    assert awaiting.state == State.WITHDRAWN and "arrived for application" in caplog.text


def test_paying_twice_moves_the_application_once(awaiting):
    app = pay(awaiting)
    payment.receive_payment(payment.current_order(app))
    app.refresh_from_db()
    assert app.state == State.PAID and app.events.filter(action="paid").count() == 1


def test_the_apps_card_says_what_is_due(awaiting, resident):
    with translation.override("en"):
        assert cards.summaries(resident)[0]["payment"] is None  # no order until the page asks for one
        payment.ensure_order(awaiting, resident)
        found = cards.summaries(resident)[0]
        item = cards.applications_card(resident)["items"][0]
    order = payment.current_order(awaiting)
    assert found["payment"]["amount"] == "HK$350" and found["payment"]["state"] == "awaiting_transfer"
    assert item["value"].startswith(f"Payment due: HK$350, reference {order.reference[:4]} ")
    pay(awaiting)
    with translation.override("en"):
        assert cards.summaries(resident)[0]["payment"] is None  # paid: the application is no longer awaiting
