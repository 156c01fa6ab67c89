"""Refunds in the payments API for department systems, and the webhook events it advertises
(payments review finding 11; GOV.UK Pay's refunds, anchor study §3.3).

- ``POST /payments/{id}/refunds`` (``Idempotency-Key`` required) asks for a refund of
  ``amount`` stating the ``refund_amount_available`` it was based on: a stale figure is 412
  ``refund_amount_available_mismatch``, too much 422 ``refund_too_large``, an unpaid payment 409
  ``order_not_paid``; nothing is stored then. ``GET /payments/{id}/refunds[/{refund_id}]``
  follows them. Another department's payment is 404, as one that does not exist.
- Every event name the API documents, the OpenAPI document and docs/integrators.md advertise
  is sent by some step of a payment's life, ``payment.refunded`` when a refund is paid out,
  ``payment.reversed`` when the bank takes a transfer back — and nothing else is advertised.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

import pytest
from django.utils import timezone

from tungban.payments import refunds, services
from tungban.payments.models import PaymentOrder, PaymentWebhookDelivery
from tungban.payments.models_refunds import Refund, RefundState
from tungban.payments.services import webhooks
from tungban.payments.tests.departments import call, new_payment, pay, payment_system
from tungban.payments.tests.refund_helpers import bank_reverses, department_user

DOCS = Path(__file__).resolve().parents[4] / "docs" / "integrators.md"
REASON = {"en": "Licence application withdrawn", "zh": "撤回牌照申請"}


@pytest.fixture
def fehd(issuer, db):
    return payment_system(issuer, "FEHD")


@pytest.fixture
def wsd(issuer, db):
    return payment_system(issuer, "WSD")


def _paid(system, amount: int = 35000) -> PaymentOrder:
    order = PaymentOrder.objects.get(pk=new_payment(system, amount=amount).json()["payment_id"])
    pay(order)
    order.refresh_from_db()
    return order


def _ask(system, order, amount: int, available: int, *, key: str | None = None, lang: str = "en", **extra):
    body = {"amount": amount, "refund_amount_available": available, "reason": REASON, **extra}
    return call(system, "POST", f"/payments/{order.pk}/refunds", body, key=key or f"rf-{uuid.uuid4()}", lang=lang)


def test_a_department_system_asks_for_a_refund_and_follows_it(fehd):
    order = _paid(fehd)
    read = call(fehd, "GET", f"/payments/{order.pk}").json()
    assert read["refund_summary"]["amount_available"] == 35000
    assert read["_links"]["refunds"]["href"].endswith(f"/payments/{order.pk}/refunds")

    whole = {"amount": 1, "refund_amount_available": 35000, "reason": REASON}
    keyless = call(fehd, "POST", f"/payments/{order.pk}/refunds", whole)
    assert keyless.status_code == 400 and keyless.json()["error"] == "idempotency_key_missing"

    made = _ask(fehd, order, 10000, 35000, key="refund-000001")
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["amount"], body["status"], body["payment_id"]) == (10000, "requested", str(order.pk))
    assert body["reason"] == REASON and body["reference"] == f"{order.reference}-R1"
    assert body["_links"]["self"]["href"].endswith(f"/payments/{order.pk}/refunds/{body['refund_id']}")
    refund = Refund.objects.get()
    assert refund.requested_by is None and refund.requested_via == "client:fehd-pay"
    assert (refund.state, refund.amount_cents, refund.amount_available_before) == (RefundState.REQUESTED, 10000, 35000)

    again = _ask(fehd, order, 10000, 35000, key="refund-000001")  # a retry: the first answer, no second refund
    assert again.status_code == 201 and again.json()["refund_id"] == body["refund_id"]
    assert again.headers["Idempotent-Replayed"] == "true" and Refund.objects.count() == 1

    # The figure it was based on changed (the first refund holds HK$100): 412, nothing stored.
    stale = _ask(fehd, order, 5000, 35000, lang="zh-HK")
    assert stale.status_code == 412, stale.text
    error = stale.json()
    assert error["error"] == "refund_amount_available_mismatch" and error["field"] == "refund_amount_available"
    assert error["details"] == {"refund_amount_available": 25000} and "HK$250.00" in error["message"]
    assert re.search(r"[\u4e00-\u9fff]", error["message"])  # in the caller's language
    assert call(fehd, "GET", f"/payments/{order.pk}").json()["refund_summary"]["amount_available"] == 25000

    too_much = _ask(fehd, order, 25001, 25000)
    assert too_much.status_code == 422 and too_much.json()["error"] == "refund_too_large"
    no_reason = _ask(fehd, order, 100, 25000, reason={"en": " ", "zh": "原因"})
    assert no_reason.status_code == 422 and no_reason.json()["error"] == "refund_reason_missing"
    zero = _ask(fehd, order, 0, 25000)
    assert zero.status_code == 422 and zero.json()["error"] == "invalid_request"
    unpaid = PaymentOrder.objects.get(pk=new_payment(fehd).json()["payment_id"])
    not_paid = _ask(fehd, unpaid, 100, 0)
    assert not_paid.status_code == 409 and not_paid.json()["error"] == "order_not_paid"
    assert Refund.objects.count() == 1

    listed = call(fehd, "GET", f"/payments/{order.pk}/refunds").json()
    assert listed["payment_id"] == str(order.pk) and [r["refund_id"] for r in listed["refunds"]] == [body["refund_id"]]
    one = call(fehd, "GET", f"/payments/{order.pk}/refunds/{body['refund_id']}")
    assert one.status_code == 200 and one.json() == listed["refunds"][0]

    # The officers approve it; the API shows each step.
    refunds.approve(refund, department_user("fehd-checker", "FEHD"))
    assert call(fehd, "GET", f"/payments/{order.pk}/refunds/{refund.pk}").json()["status"] == "approved"


def test_another_departments_payments_and_refunds_are_unknown(fehd, wsd):
    order = _paid(fehd)
    refund_id = _ask(fehd, order, 1000, 35000).json()["refund_id"]
    theirs = _ask(wsd, order, 1000, 34000)
    assert theirs.status_code == 404 and theirs.json()["error"] == "order_unknown"
    assert call(wsd, "GET", f"/payments/{order.pk}/refunds").json()["error"] == "order_unknown"
    assert call(wsd, "GET", f"/payments/{order.pk}/refunds/{refund_id}").status_code == 404
    # A refund read through another payment of one's own is unknown too.
    own = _paid(wsd, 500)
    wrong = call(wsd, "GET", f"/payments/{own.pk}/refunds/{refund_id}")
    assert wrong.status_code == 404 and wrong.json()["error"] == "refund_unknown"
    assert Refund.objects.count() == 1


def test_the_document_declares_the_refund_calls_and_their_errors(client):
    doc = client.get("/api/v1/openapi.json").json()
    create = doc["paths"]["/api/v1/payments/payments/{payment_id}/refunds"]["post"]
    assert {"201", "400", "404", "409", "412", "422", "429"} <= set(create["responses"])
    assert create["responses"]["412"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    assert next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")["required"] is True
    body = doc["components"]["schemas"]["RefundIn"]
    assert set(body["required"]) == {"amount", "refund_amount_available", "reason"}
    assert "get" in doc["paths"]["/api/v1/payments/payments/{payment_id}/refunds"]
    assert "get" in doc["paths"]["/api/v1/payments/payments/{payment_id}/refunds/{refund_id}"]
    tag = next(t for t in doc["tags"] if t["name"] == "payments")
    codes = {c["code"]: c["status"] for c in tag["x-error-codes"]}
    assert codes["refund_amount_available_mismatch"] == 412 and codes["refund_unknown"] == 404


def _advertised_in(text: str) -> set[str]:
    return set(re.findall(r"\bpayment\.[a-z_]+[a-z]\b", text))


def test_every_advertised_event_is_sent_and_nothing_else_is_advertised(fehd, client):
    """Each name in the OpenAPI document's webhook call and in docs/integrators.md §11 is
    :data:`webhooks.EVENT_TYPES`, and each of those is written as a delivery by some step of
    a payment's life."""
    doc = client.get("/api/v1/openapi.json").json()
    operation = doc["paths"]["/api/v1/payments/webhooks"]["post"]
    assert _advertised_in(operation["description"]) == set(webhooks.EVENT_TYPES)
    guide = DOCS.read_text()
    section = guide[guide.index("## 11. e-Payment") :]
    assert _advertised_in(section) == set(webhooks.EVENT_TYPES)

    call(fehd, "POST", "/webhooks", {"url": "https://93.184.215.14/hook"})  # every event
    officer, checker = department_user("fehd-clerk", "FEHD"), department_user("fehd-checker", "FEHD")

    def new(amount=1000) -> PaymentOrder:
        return PaymentOrder.objects.get(pk=new_payment(fehd, amount=amount).json()["payment_id"])

    pay(new())  # started, succeeded
    pay(new(), 400)  # partially paid
    pay(new(), 1500)  # overpaid
    call(fehd, "POST", f"/payments/{new().pk}/cancel")  # cancelled
    late = new()
    assert services.expire_orders(late.expires_at + dt.timedelta(seconds=1)) >= 1  # expired
    refunded = _paid(fehd, 2000)
    made = _ask(fehd, refunded, 500, 2000).json()
    refunds.approve(made["refund_id"], checker)
    refunds.export_batch("FEHD", officer, on=timezone.localdate())
    refunds.complete(made["refund_id"], actor_kind="officer", actor_id="fehd-clerk", user=officer)  # refunded
    taken_back = bank_reverses(_paid(fehd, 3000))  # reversed

    sent = set(PaymentWebhookDelivery.objects.values_list("event_type", flat=True))
    assert sent == set(webhooks.EVENT_TYPES)
    delivery = PaymentWebhookDelivery.objects.get(event_type="payment.refunded")
    assert delivery.order_id == refunded.pk and f"refunded: {made['refund_id']} 500" in delivery.body
    assert call(fehd, "GET", f"/payments/{refunded.pk}/refunds").json()["refunds"][0]["status"] == "completed"
    reversed_ = PaymentWebhookDelivery.objects.get(event_type="payment.reversed")
    assert reversed_.order_id == taken_back.pk and '"status":"awaiting_transfer"' in reversed_.body


def test_the_api_shows_the_refund_figures_its_refund_request_checks(fehd):
    """One computation of a payment's refund figures (``refunds.refund_summary``): what the API
    shows is what its 412 check compares with. A payment that expired part paid keeps its money
    once an officer rejects the automatic refund: it is available to refund, and a request
    stating the figure the API showed is accepted (a second computation used to show 0)."""
    order = PaymentOrder.objects.get(pk=new_payment(fehd, amount=35000, reference="INV-9").json()["payment_id"])
    pay(order, 10000)
    services.expire_order(order, timezone.now() + dt.timedelta(days=31))
    held = Refund.objects.get(order=order)
    refunds.reject(held, department_user("fehd-clerk", "FEHD"), reason="The renewal takes the money")
    order.refresh_from_db()
    shown = call(fehd, "GET", f"/payments/{order.pk}").json()["refund_summary"]
    assert shown == refunds.refund_summary(order)
    assert shown == {"status": "available", "amount_available": 10000, "amount_submitted": 0, "amount_refunded": 0}
    made = _ask(fehd, order, 10000, shown["amount_available"])
    assert made.status_code == 201, made.text
