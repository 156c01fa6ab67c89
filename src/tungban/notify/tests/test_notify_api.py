"""Notifications (issue 16): the sender's API (keys per kind, templates with placeholders,
idempotent create, rate limit per key, documented errors, delivery status), the app's inbox and
push subscriptions, delivery with retries on the task queue, and the platform's signature.

Over HTTP: the platform in-process (:mod:`tungban.testing.http`), a bound CLI app; Web Push
to the local test push service (:mod:`tungban.testing.pushservice`).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import requests
from django.utils import timezone
from joserfc.jwk import KeySet

from tungban.core import retention
from tungban.identity.models import ResidentStatus
from tungban.notify import services
from tungban.notify.models import ApiKey, Notification, PushSubscription
from tungban.oidc import services as oidc
from tungban.testing.factories import PIN, bind_cli, make_client
from tungban.testing.pushservice import decrypt, running_push_service, subscription_keys
from tungban.testing.tasks import run_queued_tasks
from tungban.wallet.cli import main
from tungban.wallet.client import verify_message

pytestmark = pytest.mark.django_db

BODY_EN = "Dear ((name)), your vehicle licence ((plate)) expires on ((date))."
BODY_ZH = "((name))您好，您的車輛牌照 ((plate)) 將於 ((date)) 到期。"


@pytest.fixture
def td():
    client, _ = make_client("td-notify", "https://td.example/cb")
    sender = services.create_sender("td", "Transport Department", "運輸署", client.client_id)
    template = services.create_template(
        sender,
        "licence-expiry",
        subject_en="Vehicle licence renewal",
        subject_zh="車輛牌照續期",
        body_en=BODY_EN,
        body_zh=BODY_ZH,
    )
    return sender, template


@pytest.fixture
def app(issuer, resident, tmp_path):
    return bind_cli(issuer, resident, tmp_path / "app")


def _key(sender, kind="live"):
    return services.create_api_key(sender, f"{kind} key", kind)[1]


def _send(issuer, key, template, sub, *, idem=None, **extra):
    headers = {"Authorization": f"Bearer {key}", "Accept-Language": "en"}
    if idem:
        headers["Idempotency-Key"] = f'"{idem}"'
    body = {
        "template_id": str(template.id),
        "sub": sub,
        "personalisation": {"name": "Chan Tai Man", "plate": "AB 1234", "date": "1 January 2027"},
        **extra,
    }
    return requests.post(f"{issuer}/api/v1/notify/notifications", json=body, headers=headers, timeout=30)


def _sub(resident, sender):
    return oidc.pairwise_sub(resident, sender.client)


# --- Templates and keys ---------------------------------------------------------------------


def test_template_placeholders_both_languages(td):
    sender, template = td
    assert services.placeholders(template.subject_en, template.body_en) == ["name", "plate", "date"]
    assert services.render(BODY_EN, {"name": "A", "plate": "B", "date": "C"}) == (
        "Dear A, your vehicle licence B expires on C."
    )
    with pytest.raises(services.errors.MissingPersonalisation) as exc:
        services.render(BODY_EN, {"name": "A"})
    assert "plate, date" in exc.value.message
    with pytest.raises(services.errors.InvalidTemplate):
        services.create_template(sender, "bad", subject_en="x", subject_zh="x", body_en="((a))", body_zh="((b))")
    services.update_template(template, subject_en="S", subject_zh="S", body_en=BODY_EN, body_zh=BODY_ZH)
    assert template.version == 2


def test_api_key_hashed_shown_once_and_revocable(td):
    sender, _ = td
    row, key = services.create_api_key(sender, "live", "live")
    assert key.startswith("tbn_live_") and row.key_id in key
    assert key.rsplit("_", 1)[1] not in row.secret_sha256  # only the digest is stored
    assert services.authenticate(key) == row
    with pytest.raises(services.errors.KeyInvalid):
        services.authenticate(key[:-1] + ("0" if key[-1] != "0" else "1"))
    services.revoke_api_key(row)
    with pytest.raises(services.errors.KeyInvalid):
        services.authenticate(key)
    with pytest.raises(services.errors.InvalidKind):
        services.create_api_key(sender, "x", "gold")


# --- Sending ---------------------------------------------------------------------------------


def test_send_by_pairwise_sub_status_and_inbox(issuer, td, resident, app):
    sender, template = td
    key = _key(sender)
    resp = _send(issuer, key, template, _sub(resident, sender), reference="ref-1")
    assert resp.status_code == 201, resp.text
    sent = resp.json()
    assert sent["status"] == "created" and sent["reference"] == "ref-1" and sent["key_kind"] == "live"
    assert sent["template"]["version"] == 1

    assert run_queued_tasks() == 1
    status = requests.get(
        f"{issuer}/api/v1/notify/notifications/{sent['id']}", headers={"Authorization": f"Bearer {key}"}, timeout=30
    ).json()
    assert status["status"] == "delivered" and status["completed_at"]

    [message] = app.inbox(PIN)
    assert message["id"] == sent["id"] and message["read"] is False
    assert message["body_en"] == "Dear Chan Tai Man, your vehicle licence AB 1234 expires on 1 January 2027."
    assert message["body_zh"].startswith("Chan Tai Man您好")
    assert message["verified_sender"] == {"id": "td", "name_en": "Transport Department", "name_zh": "運輸署"}

    # The texts are encrypted at rest.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT body_en FROM notify_notification WHERE id = %s", [sent["id"].replace("-", "")])
        row = cursor.fetchone() or ()
    if not row:
        with connection.cursor() as cursor:
            cursor.execute("SELECT body_en FROM notify_notification")
            row = cursor.fetchone()
    assert row[0].startswith("a1:") and "Chan" not in row[0]


def test_send_errors_are_documented(issuer, td, resident):
    sender, template = td
    key = _key(sender)
    assert requests.post(f"{issuer}/api/v1/notify/notifications", json={}, timeout=30).json()["error"] == (
        "api_key_required"
    )
    bad = _send(issuer, "tbn_live_0123456789abcdef_" + "0" * 64, template, "x")
    assert bad.status_code == 401 and bad.json()["error"] == "api_key_invalid"
    unknown = _send(issuer, key, template, "not-a-sub")
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_subject"
    missing = _send(issuer, key, template, _sub(resident, sender), personalisation={"name": "A"})
    assert missing.status_code == 400 and missing.json()["error"] == "missing_personalisation"
    # Another department's sub for the same resident does not address them here.
    other, _ = make_client("other-dept", "https://other.example/cb")
    foreign = _send(issuer, key, template, oidc.pairwise_sub(resident, other))
    assert foreign.status_code == 404 and foreign.json()["error"] == "unknown_subject"
    assert Notification.objects.count() == 0


def test_idempotency_key_gives_the_same_notification(issuer, td, resident):
    sender, template = td
    key = _key(sender)
    first = _send(issuer, key, template, _sub(resident, sender), idem="notify-once-123")
    again = _send(issuer, key, template, _sub(resident, sender), idem="notify-once-123")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert Notification.objects.count() == 1


def test_team_and_test_keys(issuer, td, resident, officer, app):
    from tungban.testing.factories import make_resident

    sender, template = td
    sub = _sub(resident, sender)
    stranger = _sub(make_resident(officer), sender)
    sender.team_subs = [sub]
    sender.save()
    team = _key(sender, "team")
    assert _send(issuer, team, template, sub).status_code == 201
    refused = _send(issuer, team, template, stranger)
    assert refused.status_code == 403 and refused.json()["error"] == "recipient_not_in_team"

    test = _send(issuer, _key(sender, "test"), template, sub).json()
    assert test["status"] == "delivered" and test["key_kind"] == "test"
    run_queued_tasks()
    assert [m["key_kind"] for m in Notification.objects.filter(pk=test["id"]).values("key_kind")] == ["test"]
    assert test["id"] not in [m["id"] for m in app.inbox(PIN)]  # a test key reaches nobody


def test_rate_limit_per_key(issuer, td, resident, settings):
    sender, template = td
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "notify_key": "2/m"}
    key, other = _key(sender), _key(sender)
    sub = _sub(resident, sender)
    assert [_send(issuer, key, template, sub).status_code for _ in range(2)] == [201, 201]
    third = _send(issuer, key, template, sub)
    assert third.status_code == 429 and third.json()["error"] == "rate_limited" and third.headers["Retry-After"]
    assert _send(issuer, other, template, sub).status_code == 201  # per key


def test_suspended_resident_is_a_permanent_failure(issuer, td, resident):
    sender, template = td
    key = _key(sender)
    sent = _send(issuer, key, template, _sub(resident, sender)).json()
    resident.status = ResidentStatus.SUSPENDED
    resident.save()
    run_queued_tasks()
    assert Notification.objects.get(pk=sent["id"]).status == "permanent-failure"


# --- Signature ------------------------------------------------------------------------------


def test_signature_verifies_and_detects_tampering(issuer, td, resident, app):
    sender, template = td
    _send(issuer, _key(sender), template, _sub(resident, sender))
    run_queued_tasks()
    [message] = app.inbox(PIN)
    keyset = KeySet.import_key_set(requests.get(f"{issuer}/oidc/jwks", timeout=30).json())
    assert verify_message(message, keyset)["id"] == "td"
    assert verify_message({**message, "body_en": "Pay HK$500 at http://phish.example"}, keyset) is None
    assert verify_message({**message, "sender": {**message["sender"], "id": "ird"}}, keyset) is None
    assert verify_message({**message, "signature": message["signature"][:-4] + "AAAA"}, keyset) is None


# --- The app: inbox, read state, CLI ------------------------------------------------------------


def test_inbox_read_unread_and_cli(issuer, td, resident, app, capsys):
    sender, template = td
    sent = _send(issuer, _key(sender), template, _sub(resident, sender)).json()
    run_queued_tasks()
    key = app.load_key(PIN)
    read = app._call("POST", f"/api/v1/notify/app/inbox/{sent['id']}/read", {"read": True}, device_key=key)
    assert read["read"] is True
    assert app._call("GET", f"/api/v1/notify/app/inbox/{sent['id']}", device_key=key)["read"] is True
    unread = app._call("POST", f"/api/v1/notify/app/inbox/{sent['id']}/read", {"read": False}, device_key=key)
    assert unread["read"] is False

    assert main(["--server", issuer, "--home", str(app.home), "inbox", "--pin", PIN]) == 0
    out = capsys.readouterr().out
    assert "Vehicle licence renewal" in out and "verified sender: Transport Department / 運輸署" in out


# --- Web Push: subscriptions, delivery, retries ---------------------------------------------------


def _subscribe(app, endpoint, keys, lang="en"):
    return app._call(
        "POST",
        "/api/v1/notify/app/push/subscriptions",
        {"endpoint": endpoint, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}, "lang": lang},
        device_key=app.load_key(PIN),
    )


def test_subscribe_validates_and_unsubscribes(app, monkeypatch):
    import ipaddress

    # push.example stands for a push service on the internet (no DNS here; see check_endpoint)
    monkeypatch.setattr(services, "_resolve", lambda host, port: [ipaddress.ip_address("93.184.215.14")])
    keys = subscription_keys()
    config = app._call("GET", "/api/v1/notify/app/push", device_key=app.load_key(PIN))
    assert len(config["application_server_key"]) == 87 and config["subscriptions"] == []  # 65 bytes, base64url
    done = _subscribe(app, "https://push.example/abc", keys)
    assert [s["endpoint"] for s in done["subscriptions"]] == ["https://push.example/abc"]
    with pytest.raises(Exception) as exc:
        app._call(
            "POST",
            "/api/v1/notify/app/push/subscriptions",
            {"endpoint": "https://push.example/x", "keys": {"p256dh": "AAAA", "auth": keys.auth}},
            device_key=app.load_key(PIN),
        )
    assert exc.value.code == "invalid_subscription"
    left = app._call(
        "POST",
        "/api/v1/notify/app/push/unsubscribe",
        {"endpoint": "https://push.example/abc"},
        device_key=app.load_key(PIN),
    )
    assert left["subscriptions"] == []


def test_push_is_encrypted_with_vapid_and_decrypts(issuer, td, resident, app):
    sender, template = td
    keys = subscription_keys()
    with running_push_service() as push:
        _subscribe(app, push.endpoint("phone"), keys, lang="en")
        sent = _send(issuer, _key(sender), template, _sub(resident, sender)).json()
        run_queued_tasks()
        message = push.wait_for("phone")
    assert message.headers["content-encoding"] == "aes128gcm"
    assert message.headers["authorization"].startswith("vapid t=")  # RFC 8292 §3
    assert message.headers["ttl"] and message.headers["urgency"] == "normal"
    payload = json.loads(decrypt(message.body, keys))
    assert payload["id"] == sent["id"]
    assert payload["title"] == "Transport Department: Vehicle licence renewal"
    assert payload["url"] == f"/app/#inbox/{sent['id']}"
    assert Notification.objects.get(pk=sent["id"]).status == "delivered"


def test_push_retries_429_and_5xx_then_delivers(issuer, td, resident, app, settings):
    settings.TUNGBAN_TASK_RETRY_DELAY = 0
    sender, template = td
    keys = subscription_keys()
    key = _key(sender)
    with running_push_service() as push:
        push.answers["phone"] = [429, 503]
        _subscribe(app, push.endpoint("phone"), keys)
        sent = _send(issuer, key, template, _sub(resident, sender)).json()
        run_queued_tasks()  # first attempt: 429, retry deferred
        n = Notification.objects.get(pk=sent["id"])
        assert n.status == "sending"
        assert [(p.state, p.last_status) for p in n.pushes.all()] == [("retrying", 429)]
        run_queued_tasks(include_deferred=True)
        assert len(push.messages("phone")) == 3
    status = requests.get(
        f"{issuer}/api/v1/notify/notifications/{sent['id']}", headers={"Authorization": f"Bearer {key}"}, timeout=30
    ).json()
    assert status["status"] == "delivered"
    assert status["pushes"] == [{"state": "sent", "attempts": 3, "last_status": 201}]


def test_push_gives_up_after_max_attempts(issuer, td, resident, app, settings):
    settings.TUNGBAN_TASK_RETRY_DELAY = 0
    settings.TUNGBAN_TASK_MAX_ATTEMPTS = 2
    sender, template = td
    with running_push_service() as push:
        push.answers["phone"] = [500, 500, 500]
        _subscribe(app, push.endpoint("phone"), subscription_keys())
        sent = _send(issuer, _key(sender), template, _sub(resident, sender)).json()
        run_queued_tasks(include_deferred=True)
    n = Notification.objects.get(pk=sent["id"])
    assert n.status == "temporary-failure"
    assert [(p.state, p.attempts) for p in n.pushes.all()] == [("failed", 2)]
    assert sent["id"] in [m["id"] for m in app.inbox(PIN)]  # still in the inbox


@pytest.mark.parametrize("gone", [404, 410])
def test_push_gone_removes_the_subscription(issuer, td, resident, app, gone):
    sender, template = td
    with running_push_service() as push:
        push.answers["phone"] = [gone]
        _subscribe(app, push.endpoint("phone"), subscription_keys())
        sent = _send(issuer, _key(sender), template, _sub(resident, sender)).json()
        run_queued_tasks()
    assert PushSubscription.objects.count() == 0
    n = Notification.objects.get(pk=sent["id"])
    assert n.status == "delivered"
    assert [(p.state, p.last_status) for p in n.pushes.all()] == [("gone", gone)]


# --- Retention ------------------------------------------------------------------------------------


def test_retention_is_registered_and_purges_old_messages(issuer, td, resident, settings):
    sender, template = td
    sent = _send(issuer, _key(sender), template, _sub(resident, sender)).json()
    assert "notify" in retention.registered()
    later = timezone.now() + dt.timedelta(seconds=settings.TUNGBAN_NOTIFY_RETENTION + 1)
    purge = retention.registered()["notify"]
    assert purge(timezone.now()) == {"notify.Notification": 0, "notify.PushSubscription": 0}
    assert purge(later) == {"notify.Notification": 1, "notify.PushSubscription": 0}
    assert not Notification.objects.filter(pk=sent["id"]).exists()
    assert ApiKey.objects.count() == 1


def test_unbound_phone_subscriptions_are_purged(app):
    _subscribe(app, "https://127.0.0.1/abc", subscription_keys())  # loopback: allowed in tests
    assert retention.registered()["notify"](timezone.now())["notify.PushSubscription"] == 0
    app.unbind(PIN)
    assert retention.registered()["notify"](timezone.now())["notify.PushSubscription"] == 1
    assert not PushSubscription.objects.exists()


# --- The OpenAPI document -------------------------------------------------------------------------


def test_openapi_documents_the_api_its_errors_and_idempotency(issuer):
    doc = requests.get(f"{issuer}/api/v1/openapi.json", timeout=30).json()
    send = doc["paths"]["/api/v1/notify/notifications"]["post"]
    assert send["security"] == [{"ApiKeyBearer": []}]
    assert "Idempotency-Key" in [p["name"] for p in send["parameters"] if p["in"] == "header"]
    assert {"201", "401", "404", "429"} <= set(send["responses"])
    [tag] = [t for t in doc["tags"] if t["name"] == "notifications"]
    codes = {c["code"] for c in tag["x-error-codes"]}
    assert {"api_key_invalid", "unknown_subject", "recipient_not_in_team", "missing_personalisation"} <= codes
    for path in ("/api/v1/notify/app/inbox", "/api/v1/notify/app/push/subscriptions", "/api/v1/notify/templates"):
        assert path in doc["paths"]
