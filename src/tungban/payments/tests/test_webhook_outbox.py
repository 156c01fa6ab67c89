"""Webhooks that cannot be lost (payments review finding 7): a change's webhook deliveries are
written in the change's own transaction (the outbox, :func:`tungban.notify.webhooks.write_deliveries`)
and delivered by the worker, for the payments and for the e-services, which share the module.

- A gunicorn worker SIGKILLed the moment the bank's notification committed (kill point
  ``payments.notification_committed``, before any ``on_commit`` hook ran): the payment is
  recorded, the department's ``payment.succeeded`` delivery is stored with it, and the worker
  delivers it, signed, once.
- In-process: hooks queued for after the commit never run (the process died), yet the
  deliveries exist and the worker delivers them (the e-services' twin:
  ``tungban/eservices/tests/test_webhook_outbox.py``).
- A worker killed during a delivery's POST (the attempt started, never logged): the reclaimed
  task makes the attempt again, with the same ``Tungban-Webhook-Id``.
"""

from __future__ import annotations

import json

import pytest
import requests
from django.db import close_old_connections

from examples.bank.launch import start_bank, stop_bank
from tungban.notify import webhooks as shared
from tungban.payments import services
from tungban.payments.constants import OrderState
from tungban.payments.models import PaymentOrder, PaymentWebhookDelivery
from tungban.payments.services import webhooks
from tungban.testing.faults import gunicorn_killed_at
from tungban.testing.tasks import run_queued_tasks, wait_for
from tungban.testing.webhooks import Receiver

from . import recon_support as s
from .departments import pay

ACCOUNT = "004-123456-001"  # a demo customer of the bank


@pytest.fixture(autouse=True)
def _purpose():
    s.register_purpose()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _received(receiver: Receiver, event_type: str) -> list[tuple[dict, bytes]]:
    return [(h, b) for h, b in receiver.got if h["Tungban-Event"] == event_type]


@pytest.mark.live_http
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_as_the_payment_commits_loses_no_webhook(settings, tmp_path, receiver):
    _endpoint, secret = webhooks.register_endpoint("FEHD", receiver.url, ["payment.succeeded"], created_by="tests")
    order = s.order(department="FEHD")
    env = {"TUNGBAN_PAYMENTS_BANK_SECRET": settings.TUNGBAN_PAYMENTS_BANK_SECRET}
    with gunicorn_killed_at("payments.notification_committed", tmp_path, env=env) as (url, fired):
        proc, bank = start_bank(
            f"{url}/api/v1/payments/bank/notifications", secret=settings.TUNGBAN_PAYMENTS_BANK_SECRET
        )
        try:
            answer = requests.post(
                f"{bank}/pay", data={"qr": services.fps_payload(order), "account": ACCOUNT}, timeout=30
            )
            assert answer.status_code == 200, answer.text[:2000]
            wait_for(fired.exists, timeout=60, what="the worker to die right after the payment's commit")

            def paid():
                close_old_connections()
                return PaymentOrder.objects.get(pk=order.pk).state == OrderState.SUCCESS

            wait_for(paid, timeout=30, what="the committed payment")
        finally:
            stop_bank(proc)
    # The worker died before any hook queued for after the commit: the delivery was stored with
    # the payment, and its task with it.
    (delivery,) = PaymentWebhookDelivery.objects.filter(order=order, event_type="payment.succeeded")
    assert delivery.state == "pending" and delivery.attempts == 0 and receiver.got == []
    run_queued_tasks()
    delivery.refresh_from_db()
    assert delivery.state == "delivered" and [e["status"] for e in delivery.log] == [200]
    ((headers, body),) = _received(receiver, "payment.succeeded")
    assert shared.verify(secret, headers["Tungban-Signature"], body)
    assert headers["Tungban-Webhook-Id"] == str(delivery.id)
    data = json.loads(body)["data"]
    assert data["payment_id"] == str(order.pk) and data["state"] == {"status": "success", "finished": True}
    assert data["sequence"] == delivery.sequence == 3  # created, awaiting_transfer, success


@pytest.mark.django_db
def test_payment_deliveries_do_not_wait_for_the_commit_hooks(receiver, django_capture_on_commit_callbacks):
    webhooks.register_endpoint("FEHD", receiver.url, created_by="tests")
    with django_capture_on_commit_callbacks(execute=False) as hooks:  # the process dies at the commit
        order = s.order(department="FEHD")
        pay(order)
    assert hooks  # there were hooks; none ran
    made = PaymentWebhookDelivery.objects.filter(order=order).order_by("sequence")
    assert [(d.event_type, d.sequence, d.state) for d in made] == [
        ("payment.started", 2, "pending"),
        ("payment.succeeded", 3, "pending"),
    ]
    run_queued_tasks()
    assert [h["Tungban-Event"] for h, _b in sorted(receiver.got, key=lambda g: json.loads(g[1])["sequence"])] == [
        "payment.started",
        "payment.succeeded",
    ]


@pytest.mark.django_db
def test_an_attempt_whose_worker_died_is_made_again_and_a_finished_one_is_not(receiver):
    webhooks.register_endpoint("FEHD", receiver.url, ["payment.succeeded"], created_by="tests")
    order = s.order(department="FEHD")
    pay(order)
    delivery = PaymentWebhookDelivery.objects.get(order=order)
    # The worker started attempt 1 (counted it), then died in the POST: nothing was logged.
    PaymentWebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=1)
    webhooks.deliver(delivery.id, 1)  # the reclaimed task runs attempt 1 again
    delivery.refresh_from_db()
    assert delivery.state == "delivered" and [e["attempt"] for e in delivery.log] == [1]
    assert len(receiver.got) == 1 and receiver.got[0][0]["Tungban-Webhook-Id"] == str(delivery.id)
    webhooks.deliver(delivery.id, 1)  # a task run twice after its attempt finished sends once
    assert len(receiver.got) == 1
