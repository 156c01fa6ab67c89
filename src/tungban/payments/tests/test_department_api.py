"""The payments API for department systems (issue 18, "API and webhooks"; GOV.UK Pay's model): a
department's system creates payments for an amount or for fee items with a required
``Idempotency-Key`` (a replay answers the first payment, a reuse with another body is refused
as GOV.UK Pay's P0191), reads one (state, ``finished``, ``refund_summary``,
``settlement_summary``, ``_links``), searches page by page, reads the events and cancels; it
sees its own department only; every refusal is a documented error; its calls are rate-limited."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.core.cache import caches
from django.utils import timezone
from joserfc.jwk import ECKey

from examples.data_user import DataUser
from tungban.oidc import services as oidc
from tungban.payments import services
from tungban.payments.constants import OrderState
from tungban.payments.models import PaymentEvent, PaymentOrder
from tungban.payments.tests.departments import call, new_payment, pay, payment_system


@pytest.fixture
def fehd(issuer, db):
    services.load_fees()
    return payment_system(issuer, "FEHD", name_en="Food and Environmental Hygiene Department", name_zh="食物環境衞生署")


@pytest.fixture
def wsd(issuer, db):
    return payment_system(issuer, "WSD")


def test_create_read_and_the_idempotency_key(fehd):
    whole = {
        "amount": 100,
        "reference": "X",
        "description": {"en": "a", "zh": "乙"},
        "return_url": "https://fehd.example/",
    }
    missing = call(fehd, "POST", "/payments", whole)
    assert missing.status_code == 400 and missing.json()["error"] == "idempotency_key_missing"

    first = new_payment(fehd, amount=35000, reference="INV-001", key="create-0000001", metadata={"ledger_code": "F12"})
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["amount"] == 35000 and body["currency"] == "HKD" and body["reference"] == "INV-001"
    assert body["state"] == {"status": "awaiting_transfer", "finished": False}
    assert body["department"] == "FEHD" and body["metadata"] == {"ledger_code": "F12"}
    assert body["refund_summary"] == {
        "status": "unavailable",
        "amount_available": 0,
        "amount_submitted": 0,
        "amount_refunded": 0,
    }
    assert body["settlement_summary"] == {"paid_date": None, "settled_date": None}
    assert body["bill_reference"].startswith("TB") and len(body["bill_reference"]) == 16
    links = body["_links"]
    next_url = links["next_url"]
    assert next_url["href"].endswith(f"/pay/{body['payment_id']}/") and next_url["method"] == "GET"
    assert links["cancel"]["method"] == "POST" and links["self"]["href"].endswith(f"/payments/{body['payment_id']}")

    # The same key and body: the first answer again, no second payment.
    again = new_payment(fehd, amount=35000, reference="INV-001", key="create-0000001", metadata={"ledger_code": "F12"})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["payment_id"] == body["payment_id"]
    # The same key with another body: refused (GOV.UK Pay P0191), nothing made.
    reused = new_payment(fehd, amount=35001, reference="INV-001", key="create-0000001")
    assert reused.status_code == 422 and reused.json()["error"] == "idempotency_key_reused"
    assert PaymentOrder.objects.filter(department="FEHD").count() == 1

    read = call(fehd, "GET", f"/payments/{body['payment_id']}")
    assert read.status_code == 200 and read.json()["bill_reference"] == body["bill_reference"]


def test_fee_items_are_charged_at_the_schedules_amount(fehd):
    (version,) = services.fees_for_service("FEHD", "temporary-hawker-licence")
    code, amount = version.item.code, version.amount_cents
    made = call(
        fehd,
        "POST",
        "/payments",
        {
            "fee_items": [{"service": "temporary-hawker-licence", "code": code, "quantity": 2}],
            "reference": "HWK-7",
            "description": {"en": "Two licences", "zh": "兩個牌照"},
            "return_url": "https://fehd.example/done",
        },
        key="fees-00000001",
    )
    assert made.status_code == 201, made.text
    assert made.json()["amount"] == 2 * amount and made.json()["lines"][0]["quantity"] == 2
    unknown = call(
        fehd,
        "POST",
        "/payments",
        {
            "fee_items": [{"service": "temporary-hawker-licence", "code": "no-such-fee"}],
            "reference": "HWK-8",
            "description": {"en": "x", "zh": "乙"},
            "return_url": "https://fehd.example/done",
        },
        key="fees-00000002",
    )
    assert unknown.status_code == 404 and unknown.json()["error"] == "fee_unknown"


@pytest.mark.parametrize(
    "change, status, code, field",
    [
        ({"amount": 0}, 422, "invalid_request", "amount"),
        ({"amount": 10**12}, 422, "invalid_request", "amount"),
        ({"amount": None}, 422, "amount_or_fee_items", "amount"),
        ({"fee_items": [{"service": "s", "code": "c"}]}, 422, "amount_or_fee_items", "amount"),
        ({"return_url": "http://fehd.example/done"}, 422, "return_url_refused", "return_url"),
        ({"return_url": "https://user:pw@fehd.example/"}, 422, "return_url_refused", "return_url"),
        ({"reference": ""}, 422, "invalid_request", "reference"),
        ({"description": {"en": "only English"}}, 422, "invalid_request", "description.zh"),
        ({"metadata": {str(i): i for i in range(11)}}, 422, "invalid_request", "metadata"),
        ({"expires_in": 5}, 422, "invalid_request", "expires_in"),
    ],
)
def test_bad_input_is_a_documented_error_and_nothing_is_stored(fehd, change, status, code, field):
    body = {
        "amount": 100,
        "reference": "BAD-1",
        "description": {"en": "Fee", "zh": "費用"},
        "return_url": "https://fehd.example/done",
    }
    body.update(change)
    resp = call(fehd, "POST", "/payments", body, key=f"bad-{uuid.uuid4()}")
    assert resp.status_code == status, resp.text
    assert resp.json()["error"] == code and resp.json()["field"] == field
    assert not PaymentOrder.objects.exists()


def test_another_department_learns_nothing(fehd, wsd):
    made = new_payment(fehd).json()
    other = call(wsd, "GET", f"/payments/{made['payment_id']}")
    none = call(wsd, "GET", f"/payments/{uuid.uuid4()}")
    assert other.status_code == none.status_code == 404
    assert other.json()["error"] == none.json()["error"] == "order_unknown"
    assert call(wsd, "POST", f"/payments/{made['payment_id']}/cancel").status_code == 404
    assert call(wsd, "GET", "/payments").json()["total"] == 0


def test_a_residents_token_or_an_unregistered_client_is_refused(issuer, fehd):
    key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    oidc.register_client(
        client_id="stranger",
        name_en="Stranger",
        name_zh="陌生系統",
        redirect_uris=["https://stranger.example/cb"],
        jwks={"keys": [key.as_dict(private=False)]},
        allowed_scopes=["payments"],
    )
    stranger = DataUser(issuer, "stranger", key.as_dict(private=True), scope="payments")
    resp = call(stranger, "GET", "/payments")
    assert resp.status_code == 403 and resp.json()["error"] == "not_payment_system"
    import requests

    anonymous = requests.get(f"{issuer}/api/v1/payments/payments", timeout=30)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_token"


def test_search_pages_with_links(fehd):
    for i in range(5):
        assert new_payment(fehd, amount=100 + i, reference=f"S-{i}").status_code == 201
    page1 = call(fehd, "GET", "/payments", display_size=2)
    body = page1.json()
    assert page1.status_code == 200 and body["total"] == 5 and body["count"] == 2 and body["page"] == 1
    assert [r["amount"] for r in body["results"]] == [104, 103]  # newest first
    links = body["_links"]
    assert (
        links["prev_page"] is None and "page=2" in links["next_page"]["href"] and "page=3" in links["last_page"]["href"]
    )
    assert "display_size=2" in links["next_page"]["href"]
    last = call(fehd, "GET", "/payments", display_size=2, page=3).json()
    assert (
        last["count"] == 1 and last["_links"]["next_page"] is None and [r["amount"] for r in last["results"]] == [100]
    )
    past = call(fehd, "GET", "/payments", display_size=2, page=4)
    assert past.status_code == 404 and past.json()["error"] == "page_not_found"
    too_big = call(fehd, "GET", "/payments", display_size=501)
    assert too_big.status_code == 422 and too_big.json()["field"] == "display_size"
    assert [r["reference"] for r in call(fehd, "GET", "/payments", reference="S-3").json()["results"]] == ["S-3"]
    today = dt.date.today()
    backwards = call(fehd, "GET", "/payments", from_date=str(today), to_date=str(today - dt.timedelta(days=1)))
    assert backwards.status_code == 422 and backwards.json()["error"] == "date_range_invalid"
    assert call(fehd, "GET", "/payments", state="success").json()["total"] == 0


def test_paid_payment_shows_money_and_events_in_sequence(fehd):
    made = new_payment(fehd, amount=5000).json()
    order = PaymentOrder.objects.get(pk=made["payment_id"])
    pay(order)
    read = call(fehd, "GET", f"/payments/{order.pk}").json()
    assert read["state"] == {"status": "success", "finished": True} and read["amount_received"] == 5000
    order.refresh_from_db()
    assert read["settlement_summary"]["paid_date"] == str(timezone.localtime(order.paid_at).date())
    assert read["refund_summary"] == {
        "status": "available",
        "amount_available": 5000,
        "amount_submitted": 0,
        "amount_refunded": 0,
    }
    assert "next_url" not in read["_links"] and "cancel" not in read["_links"]
    events = call(fehd, "GET", f"/payments/{order.pk}/events").json()
    assert [e["sequence"] for e in events["events"]] == [1, 2, 3]
    assert [e["state"]["status"] for e in events["events"]] == ["created", "awaiting_transfer", "success"]
    assert events["events"][-1]["state"]["finished"] is True
    assert PaymentEvent.objects.filter(order=order).count() == 3


def test_cancel_only_what_took_no_money(fehd):
    made = new_payment(fehd).json()
    assert call(fehd, "POST", f"/payments/{made['payment_id']}/cancel").status_code == 204
    assert PaymentOrder.objects.get(pk=made["payment_id"]).state == OrderState.CANCELLED
    again = call(fehd, "POST", f"/payments/{made['payment_id']}/cancel")
    assert again.status_code == 409 and again.json()["error"] == "payment_not_cancellable"
    paid = new_payment(fehd, reference="P-2").json()
    pay(PaymentOrder.objects.get(pk=paid["payment_id"]))
    refused = call(fehd, "POST", f"/payments/{paid['payment_id']}/cancel", lang="zh-Hant")
    assert refused.status_code == 409 and refused.json()["error"] == "payment_not_cancellable"
    assert PaymentOrder.objects.get(pk=paid["payment_id"]).state == OrderState.SUCCESS


def test_a_new_payment_renews_an_expired_one_with_supersedes(fehd, wsd):
    """``supersedes`` links a renewal to the payment it replaces (expired, cancelled or failed,
    same department and reference); every other case is a documented error in the caller's
    language, and nothing is stored."""
    old = new_payment(fehd, reference="HWK-7").json()
    services.expire_orders(timezone.now() + dt.timedelta(days=31))
    open_one = new_payment(fehd, reference="HWK-8").json()
    other_ref = new_payment(fehd, reference="HWK-9").json()
    call(fehd, "POST", f"/payments/{other_ref['payment_id']}/cancel")
    theirs = new_payment(wsd, reference="HWK-7").json()
    call(wsd, "POST", f"/payments/{theirs['payment_id']}/cancel")
    before = PaymentOrder.objects.count()
    for target, reference, status, code in [
        (str(uuid.uuid4()), "HWK-7", 404, "supersedes_unknown"),
        (theirs["payment_id"], "HWK-7", 404, "supersedes_unknown"),  # another department's
        (other_ref["payment_id"], "HWK-7", 422, "supersedes_other_reference"),
        (open_one["payment_id"], "HWK-8", 409, "supersedes_not_finished"),
        ("not-a-uuid", "HWK-7", 422, "invalid_request"),
    ]:
        refused = new_payment(fehd, reference=reference, supersedes=target, lang="zh-Hant")
        assert (refused.status_code, refused.json()["error"]) == (status, code), refused.text
        if code != "invalid_request":
            assert refused.json()["field"] == "supersedes"
            assert re.search(r"[\u4e00-\u9fff]", refused.json()["message"])  # in the caller's language
    assert PaymentOrder.objects.count() == before

    renewal = new_payment(fehd, reference="HWK-7", supersedes=old["payment_id"], key="renew-0000001")
    assert renewal.status_code == 201, renewal.text
    assert renewal.json()["supersedes"] == old["payment_id"] and old["supersedes"] is None
    assert PaymentOrder.objects.get(pk=renewal.json()["payment_id"]).supersedes_id == uuid.UUID(old["payment_id"])
    again = new_payment(fehd, reference="HWK-7", supersedes=old["payment_id"], key="renew-0000001")
    assert again.json()["payment_id"] == renewal.json()["payment_id"]  # a retry, not a second renewal
    twice = new_payment(fehd, reference="HWK-7", supersedes=old["payment_id"])
    assert (twice.status_code, twice.json()["error"]) == (409, "supersedes_taken")
    assert renewal.json()["payment_id"] in twice.json()["message"]


def test_calls_are_rate_limited_per_client(fehd, wsd, settings):
    settings.RATELIMIT_ENABLE = True
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "payments_client": "3/d"}
    caches[settings.RATELIMIT_USE_CACHE].clear()
    answers = [call(fehd, "GET", "/payments").status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    limited = call(fehd, "GET", "/payments")
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1 and limited.json()["details"]["retry_after"] >= 1
    created = new_payment(fehd)
    assert created.status_code == 429 and not PaymentOrder.objects.exists()
    # Another department's system counts on its own.
    assert call(wsd, "GET", "/payments").status_code == 200


def test_the_document_lists_every_operation_and_error(client):
    doc = client.get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    for path, method in [
        ("/api/v1/payments/payments", "post"),
        ("/api/v1/payments/payments", "get"),
        ("/api/v1/payments/payments/{payment_id}", "get"),
        ("/api/v1/payments/payments/{payment_id}/events", "get"),
        ("/api/v1/payments/payments/{payment_id}/cancel", "post"),
        ("/api/v1/payments/bills", "post"),
        ("/api/v1/payments/webhooks/deliveries", "get"),
        ("/api/v1/payments/app/bills/{bill_id}/pay", "post"),
    ]:
        operation = paths[path][method]
        assert "429" in operation["responses"] or path.startswith("/api/v1/payments/app/"), (path, method)
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    create = paths["/api/v1/payments/payments"]["post"]
    header = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert header["required"] is True
    schemas = doc["components"]["schemas"]
    out = schemas["PaymentOut"]["properties"]
    assert "_links" in out and "refund_summary" in out and "settlement_summary" in out
    # Each API keeps its own shapes under its own names (a schema named twice would be replaced).
    assert "sequence" in schemas["PaymentDeliveryOut"]["properties"]
    assert "reference" in schemas["DeliveryOut"]["properties"] and "action" in schemas["EventOut"]["properties"]
    tag = next(t for t in doc["tags"] if t["name"] == "payments")
    codes = {c["code"] for c in tag["x-error-codes"]}
    from tungban.core.errors import declared_errors
    from tungban.payments import errors, errors_api

    assert {e.code for e in declared_errors(errors_api)} | {e.code for e in declared_errors(errors)} <= codes


def test_every_error_message_has_its_chinese():
    """Each code of the payments' API (both modules) reads in Chinese too (no msgid orphaned)."""
    from django.utils import translation
    from django.utils.functional import Promise

    from tungban.core.errors import declared_errors
    from tungban.payments import errors, errors_api

    untranslated = []
    for error in [*declared_errors(errors), *declared_errors(errors_api)]:
        if not isinstance(error.default_message, Promise):
            continue
        with translation.override("en"):
            english = str(error.default_message)
        with translation.override("zh-hant"):
            chinese = str(error.default_message)
        if chinese == english:
            untranslated.append(error.code)
    assert untranslated == []
