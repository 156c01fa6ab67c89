"""The payments' signed webhooks (issue 18, "API and webhooks"; GOV.UK Pay's contract): a
department's system registers an endpoint (checked against server-side request forgery); each
payment event of its department is delivered by a background task — never inside the bank's
notification that paid it — signed with HMAC-SHA256 over the body in ``Tungban-Signature``
(checked here by an independent implementation, the ``hmac`` check a department writes), retried
with back-off, logged (API and the department's staff page), and carries the order's state and a
sequence number so that a receiver handles them out of order."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from tungban.notify import webhooks as shared
from tungban.payments.models import PaymentOrder, PaymentWebhookDelivery
from tungban.payments.services import webhooks
from tungban.payments.tests.departments import call, new_payment, pay, payment_system
from tungban.testing.webhooks import Receiver


@pytest.fixture
def fehd(issuer, db):
    return payment_system(issuer, "FEHD")


@pytest.fixture
def wsd(issuer, db):
    return payment_system(issuer, "WSD")


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def department_check(secret: str, header: str, body: bytes, window: int = 300) -> bool:
    """What a department's receiver does (docs/integrators.md), written without the platform's
    code: parse ``t`` and ``v1``, refuse an old ``t``, compare the HMAC-SHA256 of ``t.body``."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    if abs(time.time() - int(fields["t"])) > window:
        return False
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://93.184.215.14/hook", "https"),
        ("https://10.1.2.3/hook", "public internet"),
        ("https://169.254.169.254/latest/meta-data", "public internet"),
        ("https://no-such-host.invalid/hook", "does not resolve"),
    ],
)
def test_bad_webhook_urls_are_refused(fehd, settings, url, reason):
    settings.TUNGBAN_WEBHOOK_ALLOW_LOCAL = False
    resp = call(fehd, "POST", "/webhooks", {"url": url})
    assert resp.status_code == 422 and resp.json()["error"] == "webhook_url_refused", resp.text
    assert reason in resp.json()["message"] and resp.json()["field"] == "url"
    assert call(fehd, "GET", "/webhooks").json() == []


def test_unknown_events_and_removing_endpoints(fehd, wsd):
    bad = call(fehd, "POST", "/webhooks", {"url": "https://93.184.215.14/hook", "events": ["payment.eaten"]})
    assert bad.status_code == 422 and bad.json()["error"] == "webhook_events_invalid"
    made = call(fehd, "POST", "/webhooks", {"url": "https://93.184.215.14/hook"})
    assert made.status_code == 201 and len(made.json()["secret"]) == 64
    assert (
        set(made.json()["events"])
        == set(webhooks.EVENT_TYPES)
        >= {
            "payment.succeeded",
            "payment.expired",
            "payment.refunded",
        }
    )
    assert call(wsd, "DELETE", f"/webhooks/{made.json()['id']}").status_code == 404
    assert call(fehd, "DELETE", f"/webhooks/{made.json()['id']}").status_code == 204
    assert call(fehd, "GET", "/webhooks").json() == []


def test_a_payment_is_announced_signed_retried_and_logged(
    fehd, receiver, run_tasks, client, django_capture_on_commit_callbacks
):
    secret = call(fehd, "POST", "/webhooks", {"url": receiver.url}).json()["secret"]
    order = PaymentOrder.objects.get(pk=new_payment(fehd, amount=35000).json()["payment_id"])
    receiver.answers = [500]  # the first attempt of the first delivery fails
    with django_capture_on_commit_callbacks(execute=True):
        pay(order)  # the bank's notification: recorded and committed without waiting for any webhook
    assert receiver.got == []
    succeeded = PaymentWebhookDelivery.objects.get(event_type="payment.succeeded")
    assert succeeded.state == "pending" and succeeded.attempts == 0

    run_tasks(include_deferred=True)
    succeeded.refresh_from_db()
    assert succeeded.state == "delivered" and succeeded.attempts >= 1
    bodies = [json.loads(body) for _headers, body in receiver.got]
    types = [b["type"] for b in bodies]
    assert "payment.succeeded" in types and "payment.started" in types
    headers, body = next((h, b) for h, b in receiver.got if json.loads(b)["type"] == "payment.succeeded")
    assert department_check(secret, headers["Tungban-Signature"], body)
    assert not department_check(secret, headers["Tungban-Signature"], body + b" ")
    assert not department_check("0" * 64, headers["Tungban-Signature"], body)
    assert headers["Tungban-Webhook-Id"] == str(succeeded.id) and headers["Tungban-Event"] == "payment.succeeded"
    payload = json.loads(body)
    assert payload["data"]["payment_id"] == str(order.pk) and payload["data"]["bill_reference"] == order.reference
    assert payload["data"]["state"] == {"status": "success", "finished": True}
    assert payload["sequence"] == payload["data"]["sequence"] == 3
    # The delivery whose first attempt met the 500 was retried: the same bytes twice.
    logs = {d.event_type: [e["status"] for e in d.log] for d in PaymentWebhookDelivery.objects.all()}
    assert sorted(logs.values()) == [[200], [500, 200]]
    retried = next(d for d in PaymentWebhookDelivery.objects.all() if len(d.log) == 2)
    same = [b for h, b in receiver.got if h["Tungban-Webhook-Id"] == str(retried.id)]
    assert len(same) == 2 and same[0] == same[1]

    log = call(fehd, "GET", "/webhooks/deliveries", payment_id=str(order.pk)).json()
    assert {d["event_type"] for d in log} == {"payment.started", "payment.succeeded"}
    assert all(d["state"] == "delivered" for d in log)
    assert sorted([x["status"] for x in d["log"]] for d in log) == [[200], [500, 200]]


def test_out_of_order_deliveries_carry_state_and_sequence(
    fehd, receiver, run_tasks, django_capture_on_commit_callbacks
):
    call(fehd, "POST", "/webhooks", {"url": receiver.url})
    with django_capture_on_commit_callbacks(execute=True):
        order = PaymentOrder.objects.get(pk=new_payment(fehd, amount=1000).json()["payment_id"])
        pay(order, 400)  # partly paid
        pay(order, 600)  # then the rest
    deliveries = list(PaymentWebhookDelivery.objects.order_by("sequence"))
    assert [(d.event_type, d.sequence) for d in deliveries] == [
        ("payment.started", 2),
        ("payment.partially_paid", 3),
        ("payment.succeeded", 4),
    ]
    # Delivered newest first: a receiver that keeps the highest sequence ends with the truth.
    for d in reversed(deliveries):
        webhooks.deliver(d.id)
    latest: dict[str, tuple[int, str]] = {}
    for _headers, body in receiver.got:
        data = json.loads(body)["data"]
        seen = latest.get(data["payment_id"])
        if seen is None or data["sequence"] > seen[0]:
            latest[data["payment_id"]] = (data["sequence"], data["state"]["status"])
    assert latest[str(order.pk)] == (4, "success")
    run_tasks()  # the queued tasks find their deliveries done: nothing is sent twice
    assert len(receiver.got) == 3


def test_a_delivery_that_keeps_failing_ends_failed(
    fehd, receiver, run_tasks, settings, django_capture_on_commit_callbacks
):
    settings.TUNGBAN_TASK_MAX_ATTEMPTS = 3
    call(fehd, "POST", "/webhooks", {"url": receiver.url, "events": ["payment.cancelled"]})
    made = new_payment(fehd).json()
    receiver.answers = [503, 503, 503]
    with django_capture_on_commit_callbacks(execute=True):
        call(fehd, "POST", f"/payments/{made['payment_id']}/cancel")
    run_tasks(include_deferred=True)
    (delivery,) = PaymentWebhookDelivery.objects.all()
    assert delivery.event_type == "payment.cancelled" and delivery.state == "failed" and delivery.attempts == 3
    assert [e["status"] for e in delivery.log] == [503, 503, 503]


def test_events_of_another_department_are_not_sent(fehd, wsd, receiver, run_tasks, django_capture_on_commit_callbacks):
    call(wsd, "POST", "/webhooks", {"url": receiver.url})
    with django_capture_on_commit_callbacks(execute=True):
        pay(PaymentOrder.objects.get(pk=new_payment(fehd).json()["payment_id"]))
    run_tasks()
    assert not PaymentWebhookDelivery.objects.exists() and receiver.got == []


def test_the_shared_signature_is_the_eservices_one():
    """One implementation (notify.webhooks) for both apps: the e-services module re-exports it."""
    from tungban.eservices.services import webhooks as eservices

    assert eservices.sign is shared.sign and eservices.verify is shared.verify
    header = shared.sign("s3cret", int(time.time()), b"{}")
    assert department_check("s3cret", header, b"{}") and shared.verify("s3cret", header, b"{}")
    assert not shared.verify("s3cret", header, b"{}", now=time.time() + 301)


@pytest.mark.django_db
def test_the_staff_page_shows_the_payment_delivery_log(
    fehd, receiver, run_tasks, client, settings, tmp_path, django_capture_on_commit_callbacks
):
    from tungban.credentials import catalogue as credential_catalogue
    from tungban.eservices.services import load_catalogue
    from tungban.eservices.tests.helpers import department_user
    from tungban.payments import services
    from tungban.testing.factories import login_staff

    services.load_fees()
    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"
    credential_catalogue.register_bundled()
    load_catalogue()
    call(fehd, "POST", "/webhooks", {"url": receiver.url})
    with django_capture_on_commit_callbacks(execute=True):
        pay(PaymentOrder.objects.get(pk=new_payment(fehd).json()["payment_id"]))
    run_tasks()
    delivery = PaymentWebhookDelivery.objects.get(event_type="payment.succeeded")
    login_staff(client, department_user("fehd-officer", "FEHD", "officer"))
    page = client.get("/staff/eservices/FEHD/webhooks/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'data-delivery="{delivery.id}" data-state="delivered"' in page and receiver.url in page
    assert "payment.succeeded" in page


def test_a_refund_paid_out_is_announced_without_changing_the_state(
    fehd, receiver, run_tasks, django_capture_on_commit_callbacks
):
    call(fehd, "POST", "/webhooks", {"url": receiver.url, "events": ["payment.refunded"]})
    order = PaymentOrder.objects.get(pk=new_payment(fehd, amount=9000).json()["payment_id"])
    with django_capture_on_commit_callbacks(execute=True):
        pay(order)
        order.refresh_from_db()
        webhooks.record_refund(order, refund_id="R-1", amount_cents=4000, actor_kind="officer", actor_id="fehd-officer")
    run_tasks()
    (headers, body) = receiver.got[-1]
    data = json.loads(body)
    assert data["type"] == "payment.refunded" and data["data"]["state"]["status"] == "success"
    assert data["data"]["reason"] == "refunded: R-1 4000" and data["sequence"] == 4
    assert PaymentOrder.objects.get(pk=order.pk).state == "success"
