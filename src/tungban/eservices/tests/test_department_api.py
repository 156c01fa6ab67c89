"""The e-services API for department systems (issue 17): a department's system lists, reads
and acts on its own department's applications with its own key (``client_credentials``, scope
``eservices``); another department's application is unknown; acting calls are idempotent;
transitions not allowed are documented errors; webhook endpoints are checked against server-side
request forgery; deliveries are signed (HMAC-SHA256), queued as background tasks, retried with
back-off and logged for officers and for the API."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
import requests
from joserfc.jwk import ECKey

from examples.data_user import DataUser
from tungban.eservices.models import ApplicationEvent, DeliveryState, State, WebhookDelivery
from tungban.eservices.services import webhooks
from tungban.eservices.tests.staffing import department_system, submitted_senior_cards
from tungban.oidc import services as oidc
from tungban.testing.factories import login_staff
from tungban.testing.webhooks import Receiver


@pytest.fixture
def swd_system(issuer, catalogue):
    return department_system(issuer, "SWD")


@pytest.fixture
def fehd_system(issuer, catalogue):
    return department_system(issuer, "FEHD")


def call(system: DataUser, method: str, path: str, body=None, *, key: str | None = None, lang="en", **params):
    headers = {"Authorization": f"Bearer {system.token()}", "Accept-Language": lang}
    if key is not None:
        headers["Idempotency-Key"] = f'"{key}"'
    return requests.request(
        method, f"{system.issuer}/api/v1/eservices{path}", json=body, headers=headers, params=params, timeout=30
    )


def test_list_read_and_download(swd_system, fehd_system, resident):
    a, b = submitted_senior_cards(resident, 2)
    resp = call(swd_system, "GET", "/applications")
    assert resp.status_code == 200, resp.text
    assert {r["reference"] for r in resp.json()} == {a.reference, b.reference}
    assert call(swd_system, "GET", "/applications", state="in_review").json() == []
    assert [r["reference"] for r in call(swd_system, "GET", "/applications", reference=a.reference).json()] == [
        a.reference
    ]
    assert call(fehd_system, "GET", "/applications").json() == []

    detail = call(swd_system, "GET", f"/applications/{a.reference}").json()
    assert detail["state"] == "submitted" and detail["answers"]["family_name"] == "CHAN"
    assert detail["pledge_working_days_left"] is not None and detail["history"][-1]["action"] == "submitted"
    (doc,) = detail["attachments"]
    assert doc["content_type"] == "image/png" and len(doc["sha256"]) == 64
    raw = requests.get(
        f"{swd_system.issuer}{doc['href']}", headers={"Authorization": f"Bearer {swd_system.token()}"}, timeout=30
    )
    assert raw.status_code == 200 and hashlib.sha256(raw.content).hexdigest() == doc["sha256"]

    # Another department's system: the same answer as for a reference that does not exist.
    other = call(fehd_system, "GET", f"/applications/{a.reference}")
    none = call(fehd_system, "GET", "/applications/FEHD-0000-0000X")
    assert other.status_code == none.status_code == 404
    assert other.json()["error"] == none.json()["error"] == "application_unknown"
    assert call(fehd_system, "GET", f"/applications/{a.reference}/attachments/{doc['id']}").status_code == 404


def test_acting_is_idempotent_and_refusals_are_documented(swd_system, fehd_system, resident):
    (a,) = submitted_senior_cards(resident, 1)
    path = f"/applications/{a.reference}/request-information"
    body = {"en": "Send a recent photo.", "zh": "請上載近照。"}

    assert call(swd_system, "POST", path, body).json()["error"] == "idempotency_key_missing"
    missing = call(swd_system, "POST", path, {"en": "Only English"}, key="ri-0000001", lang="zh-Hant")
    assert missing.status_code == 422 and missing.json()["error"] == "message_required"
    assert "英文及中文" in missing.json()["message"]

    first = call(swd_system, "POST", path, body, key="ri-0000002")
    again = call(swd_system, "POST", path, body, key="ri-0000002")
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
    assert first.json()["state"] == "information_requested"
    assert ApplicationEvent.objects.filter(application=a, action="information_requested").count() == 1
    event = ApplicationEvent.objects.get(application=a, action="information_requested")
    assert (event.actor_kind, event.actor_id) == ("api", "client:swd-cases")

    # Approving while waiting for the resident: not allowed from this state.
    refused = call(swd_system, "POST", f"/applications/{a.reference}/approve", {}, key="ap-0000001")
    assert refused.status_code == 409 and refused.json()["error"] == "transition_not_allowed"

    # Another department's system cannot act either, and learns nothing.
    foreign = call(fehd_system, "POST", f"/applications/{a.reference}/reject", {"en": "x", "zh": "乙"}, key="rj-000001")
    assert foreign.status_code == 404 and foreign.json()["error"] == "application_unknown"

    from tungban.eservices import services

    services.respond_to_information(a, resident, "Attached.")
    ok = call(swd_system, "POST", f"/applications/{a.reference}/approve", {"en": "Eligible."}, key="ap-0000002")
    assert ok.status_code == 200 and ok.json()["state"] in ("approved", "licence_issued")
    twice = call(swd_system, "POST", f"/applications/{a.reference}/approve", {}, key="ap-0000003")
    assert twice.status_code == 409 and twice.json()["error"] == "transition_not_allowed"
    assert ApplicationEvent.objects.filter(application=a, action="approved").count() == 1
    assert (
        call(swd_system, "POST", f"/applications/{a.reference}/reject", {"en": "No."}, key="rj-0000002").json()["error"]
        == "reason_required"
    )


def test_a_residents_token_or_an_unregistered_client_is_refused(issuer, catalogue, swd_system):
    key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    client, _ = oidc.register_client(
        client_id="stranger",
        name_en="Stranger",
        name_zh="陌生系統",
        redirect_uris=["https://stranger.example/cb"],
        jwks={"keys": [key.as_dict(private=False)]},
        allowed_scopes=["eservices"],
    )
    stranger = DataUser(issuer, client.client_id, key.as_dict(private=True), scope="eservices")
    resp = call(stranger, "GET", "/applications")
    assert resp.status_code == 403 and resp.json()["error"] == "not_department_system"
    resp = requests.get(f"{issuer}/api/v1/eservices/applications", timeout=30)
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_token"


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://93.184.215.14/hook", "https"),
        ("https://10.1.2.3/hook", "public internet"),
        ("https://169.254.169.254/latest/meta-data", "public internet"),
        ("https://[::ffff:127.0.0.1]/hook", "public internet"),
        ("https://100.100.100.200/hook", "public internet"),
        ("https://user:pw@93.184.215.14/hook", "https"),
        ("ftp://93.184.215.14/hook", "https"),
        ("https://no-such-host.invalid/hook", "does not resolve"),
        ("not a url", "https"),
    ],
)
def test_bad_webhook_urls_are_refused(swd_system, settings, url, reason):
    settings.TUNGBAN_WEBHOOK_ALLOW_LOCAL = False
    resp = call(swd_system, "POST", "/webhooks", {"url": url})
    assert resp.status_code == 422 and resp.json()["error"] == "webhook_url_refused", resp.text
    assert reason in resp.json()["message"] and resp.json()["field"] == "url"
    assert call(swd_system, "GET", "/webhooks").json() == []


def test_unknown_events_and_removing_endpoints(swd_system, fehd_system):
    resp = call(swd_system, "POST", "/webhooks", {"url": "https://93.184.215.14/hook", "events": ["application.eaten"]})
    assert resp.status_code == 422 and resp.json()["error"] == "webhook_events_invalid"
    made = call(swd_system, "POST", "/webhooks", {"url": "https://93.184.215.14/hook"})
    assert made.status_code == 201 and len(made.json()["secret"]) == 64
    assert set(made.json()["events"]) == set(webhooks.EVENT_TYPES)
    listed = call(swd_system, "GET", "/webhooks").json()
    assert [e["id"] for e in listed] == [made.json()["id"]] and "secret" not in listed[0]
    assert call(fehd_system, "DELETE", f"/webhooks/{made.json()['id']}").status_code == 404
    assert call(swd_system, "DELETE", f"/webhooks/{made.json()['id']}").status_code == 204
    assert call(swd_system, "GET", "/webhooks").json() == []


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_signed_deliveries_with_retries_and_a_log(swd_system, resident, receiver, run_tasks, client, swd_officer):
    made = call(swd_system, "POST", "/webhooks", {"url": receiver.url, "events": ["application.rejected"]}).json()
    secret = made["secret"]
    (a,) = submitted_senior_cards(resident, 1)
    receiver.answers = [500]  # the first attempt fails
    resp = call(
        swd_system,
        "POST",
        f"/applications/{a.reference}/reject",
        {"en": "Not eligible.", "zh": "不符合資格。"},
        key="rj-1000001",
    )
    assert resp.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 0  # not delivered in the request
    assert receiver.got == []

    run_tasks()
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.last_status == 500 and delivery.next_attempt_at is not None
    run_tasks(include_deferred=True)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 2
    assert [e["status"] for e in delivery.log] == [500, 200]

    (headers, body), (headers2, body2) = receiver.got
    assert body == body2 and headers["Tungban-Webhook-Id"] == str(delivery.id) == headers2["Tungban-Webhook-Id"]
    payload = json.loads(body)
    assert payload["type"] == "application.rejected" and payload["data"]["reference"] == a.reference
    assert payload["data"]["reason_zh"] == "不符合資格。"
    # The receiver's check, as docs/integrators.md shows it.
    fields = dict(p.split("=", 1) for p in headers2["Tungban-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected) and abs(time.time() - int(fields["t"])) < 300
    assert webhooks.verify(secret, headers2["Tungban-Signature"], body)
    assert not webhooks.verify(secret, headers2["Tungban-Signature"], body + b" ")
    assert not webhooks.verify("another", headers2["Tungban-Signature"], body)
    assert not webhooks.verify(secret, headers2["Tungban-Signature"], body, now=time.time() + 301)

    log = call(swd_system, "GET", "/webhooks/deliveries").json()
    assert log[0]["state"] == "delivered" and [x["status"] for x in log[0]["log"]] == [500, 200]
    login_staff(client, swd_officer)
    page = client.get("/staff/eservices/SWD/webhooks/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'data-delivery="{delivery.id}" data-state="delivered"' in page and receiver.url in page


def test_a_delivery_that_keeps_failing_ends_failed(swd_system, resident, receiver, run_tasks, settings):
    settings.TUNGBAN_TASK_MAX_ATTEMPTS = 3
    # Only the rejection: the submission's own delivery is written with it (the outbox).
    call(swd_system, "POST", "/webhooks", {"url": receiver.url, "events": ["application.rejected"]})
    (a,) = submitted_senior_cards(resident, 1)
    receiver.answers = [503, 503, 503]
    call(swd_system, "POST", f"/applications/{a.reference}/reject", {"en": "No.", "zh": "不。"}, key="rj-2000001")
    run_tasks(include_deferred=True)
    delivery = WebhookDelivery.objects.get(event_type="application.rejected")
    assert delivery.state == DeliveryState.FAILED and delivery.attempts == 3
    assert [e["status"] for e in delivery.log] == [503, 503, 503]


def test_an_endpoint_that_turns_private_is_not_called(swd_system, resident, receiver, run_tasks, settings):
    call(swd_system, "POST", "/webhooks", {"url": receiver.url, "events": ["application.rejected"]})
    (a,) = submitted_senior_cards(resident, 1)
    call(swd_system, "POST", f"/applications/{a.reference}/reject", {"en": "No.", "zh": "不。"}, key="rj-3000001")
    settings.TUNGBAN_WEBHOOK_ALLOW_LOCAL = False  # loopback no longer allowed: checked before each attempt
    settings.TUNGBAN_TASK_MAX_ATTEMPTS = 1
    run_tasks()
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.FAILED and receiver.got == []
    assert "https" in delivery.log[0]["error"]


def test_events_of_another_department_are_not_sent(fehd_system, swd_system, resident, receiver, run_tasks):
    call(fehd_system, "POST", "/webhooks", {"url": receiver.url})
    (a,) = submitted_senior_cards(resident, 1)
    call(swd_system, "POST", f"/applications/{a.reference}/reject", {"en": "No.", "zh": "不。"}, key="rj-4000001")
    run_tasks()
    a.refresh_from_db()
    assert a.state == State.REJECTED  # the event happened, and FEHD's endpoint did not hear of it
    assert WebhookDelivery.objects.count() == 0 and receiver.got == []


def test_register_department_system_command(catalogue):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="no client"):
        call_command("register_department_system", "nobody", "SWD")
    key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    client, _ = oidc.register_client(
        client_id="fsd-cases",
        name_en="FSD cases",
        name_zh="消防處個案系統",
        redirect_uris=["https://fsd.example/cb"],
        jwks={"keys": [key.as_dict(private=False)]},
    )
    with pytest.raises(CommandError, match="no department"):
        call_command("register_department_system", "fsd-cases", "XYZ")
    call_command("register_department_system", "fsd-cases", "fsd")
    client.refresh_from_db()
    assert "eservices" in client.allowed_scopes
    assert client.eservices_system.department_id == "FSD" and not client.eservices_system.user.is_staff


def test_taking_into_review_then_approving(swd_system, fehd_system, resident):
    """The officer's two steps a department system takes (bench/eservices.py's default): assign
    (submitted -> in review, to the system's account), then approve; idempotent; another
    department's system learns nothing."""
    (a,) = submitted_senior_cards(resident, 1)
    path = f"/applications/{a.reference}/assign"
    assert call(fehd_system, "POST", path, key="as-0000001").json()["error"] == "application_unknown"
    first = call(swd_system, "POST", path, key="as-0000002")
    again = call(swd_system, "POST", path, key="as-0000002")
    assert first.status_code == 200, first.text
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
    assert first.json()["state"] == "in_review" and first.json()["assigned_to"] == "system:swd-cases"
    assert ApplicationEvent.objects.filter(application=a, action="review_started").count() == 1
    ok = call(swd_system, "POST", f"/applications/{a.reference}/approve", {"en": "OK", "zh": "批准"}, key="ap-0000009")
    assert ok.status_code == 200 and ok.json()["state"] in ("approved", "licence_issued")
    late = call(swd_system, "POST", path, key="as-0000003")
    assert late.status_code == 409 and late.json()["error"] == "transition_not_allowed"
