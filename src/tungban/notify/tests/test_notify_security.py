"""Security review of issue 16's notifications (fixb): push endpoints must be public internet
hosts (H2: SSRF at subscribe and at send time, no redirects, a total deadline and a body cap
on the push service's answer), an ``Idempotency-Key`` is per key kind (M1), and a sender whose
OpenID client is deactivated cannot send (L4)."""

from __future__ import annotations

import http.server
import ipaddress
import threading
import time

import pytest
import requests

from tungban.notify import services
from tungban.notify.models import Notification, PushDelivery, PushSubscription
from tungban.oidc import services as oidc
from tungban.testing.factories import PIN, bind_cli, make_client
from tungban.testing.pushservice import subscription_keys
from tungban.testing.tasks import run_queued_tasks

pytestmark = pytest.mark.django_db

INTERNAL = (
    "https://169.254.169.254/latest/meta-data/",
    "https://127.0.0.1:5432/",
    "https://[::1]:8000/admin/",
    "https://localhost/",
    "https://10.0.0.5/internal",
    "https://[::ffff:127.0.0.1]/",
    "https://100.100.100.200/",
    "https://[fd00:ec2::254]/",
    "https://224.0.1.1/",
    "https://0.0.0.0/",
)


@pytest.fixture
def td():
    client, _ = make_client("td-notify", "https://td.example/cb")
    sender = services.create_sender("td", "Transport Department", "運輸署", client.client_id)
    t = services.create_template(sender, "t", subject_en="S", subject_zh="S", body_en="B", body_zh="B")
    return sender, t


@pytest.fixture
def app(issuer, resident, tmp_path):
    return bind_cli(issuer, resident, tmp_path / "app")


def _subscribe(app, endpoint):
    keys = subscription_keys()
    return app._call(
        "POST",
        "/api/v1/notify/app/push/subscriptions",
        {"endpoint": endpoint, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}},
        device_key=app.load_key(PIN),
    )


def _send(issuer, sender, template, resident, key, **headers):
    return requests.post(
        f"{issuer}/api/v1/notify/notifications",
        json={"template_id": str(template.id), "sub": oidc.pairwise_sub(resident, sender.client)},
        headers={"Authorization": f"Bearer {key}", **headers},
        timeout=30,
    )


@pytest.mark.parametrize("allow_local", [False, True])
def test_internal_endpoints_are_refused_at_subscribe(app, settings, allow_local):
    settings.TUNGBAN_PUSH_ALLOW_HTTP = allow_local
    for ep in INTERNAL:
        host = ep.split("//")[1].split("/")[0]
        if allow_local and host in ("127.0.0.1:5432", "[::1]:8000", "localhost", "[::ffff:127.0.0.1]"):
            assert ep in [s["endpoint"] for s in _subscribe(app, ep)["subscriptions"]]
            continue  # loopback: the local test push service, when the deployment allows it
        with pytest.raises(Exception) as exc:
            _subscribe(app, ep)
        assert exc.value.code == "invalid_subscription", ep
    for ep in (
        "http://10.0.0.5/push",
        "http://push.example/x",
        "ftp://127.0.0.1/",
        "https://u:p@127.0.0.1/",
    ):  # http: only to loopback, only when allowed
        with pytest.raises(Exception) as exc:
            _subscribe(app, ep)
        assert exc.value.code == "invalid_subscription", ep
    kept = [s.endpoint for s in PushSubscription.objects.all()]
    assert all(any(h in ep for h in ("127.0.0.1", "[::1]", "localhost")) for ep in kept), kept
    assert len(kept) == (4 if allow_local else 0)


def test_a_name_that_resolves_to_an_internal_address_is_refused(app, settings, monkeypatch):
    settings.TUNGBAN_PUSH_ALLOW_HTTP = False
    answers = {
        "push.good.example": ["93.184.215.14"],
        "push.evil.example": ["93.184.215.14", "10.1.2.3"],  # every address must be public
    }
    monkeypatch.setattr(services, "_resolve", lambda host, port: [ipaddress.ip_address(a) for a in answers[host]])
    assert _subscribe(app, "https://push.good.example/x")["subscriptions"]
    with pytest.raises(Exception) as exc:
        _subscribe(app, "https://push.evil.example/x")
    assert exc.value.code == "invalid_subscription"


def test_send_time_check_refuses_an_internal_endpoint_and_keeps_the_subscription(
    issuer, td, resident, app, settings, monkeypatch
):
    """A subscription stored while its name was public and now resolves inside: no POST, the
    push fails (not retried) and the subscription is not deleted (no 404/410 port-scan oracle)."""
    settings.TUNGBAN_PUSH_ALLOW_HTTP = False
    answers = {"push.rebind.example": ["93.184.215.14"]}
    monkeypatch.setattr(services, "_resolve", lambda host, port: [ipaddress.ip_address(a) for a in answers[host]])
    _subscribe(app, "https://push.rebind.example/x")
    answers["push.rebind.example"] = ["169.254.169.254"]
    posted = []
    monkeypatch.setattr(services, "webpush", lambda *a, **k: posted.append(a))
    sender, template = td
    key = services.create_api_key(sender, "k", "live")[1]
    assert _send(issuer, sender, template, resident, key).status_code == 201
    run_queued_tasks()
    assert posted == []
    delivery = PushDelivery.objects.get()
    assert (delivery.state, delivery.last_status) == ("failed", None)
    assert PushSubscription.objects.count() == 1


class _Rec(http.server.BaseHTTPRequestHandler):
    hits: list = []
    target = ""

    def do_POST(self):
        _Rec.hits.append((self.server.server_port, self.path))
        if self.path == "/push":
            self.send_response(307)
            self.send_header("Location", _Rec.target)
            self.end_headers()
        else:
            self.send_response(201)
            self.end_headers()

    def log_message(self, *a):
        pass


def _serve(handler, threading_server=False):
    cls = http.server.ThreadingHTTPServer if threading_server else http.server.HTTPServer
    srv = cls(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def test_push_does_not_follow_redirects(issuer, td, resident, app):
    s1, s2 = _serve(_Rec), _serve(_Rec)
    _Rec.hits = []
    _Rec.target = f"http://127.0.0.1:{s2.server_port}/internal/admin?x=1"
    try:
        _subscribe(app, f"http://127.0.0.1:{s1.server_port}/push")  # stands for https://attacker/push
        sender, template = td
        key = services.create_api_key(sender, "k", "live")[1]
        assert _send(issuer, sender, template, resident, key).status_code == 201
        run_queued_tasks()
    finally:
        s1.shutdown()
        s2.shutdown()
    assert _Rec.hits == [(s1.server_port, "/push")]
    assert PushDelivery.objects.get().state == "failed"


class _Drip(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(201)
        self.send_header("Content-Length", "8")
        self.end_headers()
        try:
            for _ in range(8):
                time.sleep(1)
                self.wfile.write(b"x")
                self.wfile.flush()
        except OSError:
            pass

    def log_message(self, *a):
        pass


def test_push_timeout_is_a_total_deadline(issuer, td, resident, app, settings):
    settings.TUNGBAN_PUSH_TIMEOUT = 2
    srv = _serve(_Drip, threading_server=True)
    try:
        _subscribe(app, f"http://127.0.0.1:{srv.server_port}/push")
        sender, template = td
        key = services.create_api_key(sender, "k", "live")[1]
        assert _send(issuer, sender, template, resident, key).status_code == 201
        started = time.monotonic()
        run_queued_tasks()
        took = time.monotonic() - started
    finally:
        srv.shutdown()
    assert took < 6.5, took  # the dripping answer would hold it 8 s or more
    assert PushDelivery.objects.get().state == "sent"


class _Big(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(201)
        self.send_header("Content-Length", str(64 * 1024 * 1024))
        self.end_headers()
        try:
            for _ in range(1024):
                self.wfile.write(b"x" * 65536)
        except OSError:
            pass

    def log_message(self, *a):
        pass


def test_push_answer_body_is_capped(settings):
    settings.TUNGBAN_PUSH_TIMEOUT = 5
    srv = _serve(_Big, threading_server=True)
    try:
        response = services.PushSession().post(f"http://127.0.0.1:{srv.server_port}/push", data=b"x", timeout=99)
    finally:
        srv.shutdown()
    assert response.status_code == 201
    assert len(response.content) <= services.PUSH_BODY_CAP == 4096


def test_idempotency_key_is_per_key_kind(issuer, td, resident):
    """A test key's replay must not answer a live key's request with the same Idempotency-Key."""
    sender, template = td
    test_key = services.create_api_key(sender, "t", "test")[1]
    live_key = services.create_api_key(sender, "l", "live")[1]
    first = _send(issuer, sender, template, resident, test_key, **{"Idempotency-Key": '"order-42"'})
    live = _send(issuer, sender, template, resident, live_key, **{"Idempotency-Key": '"order-42"'})
    assert first.status_code == live.status_code == 201
    assert live.json()["key_kind"] == "live" and "Idempotent-Replayed" not in live.headers
    assert Notification.objects.filter(key_kind="live").count() == 1
    again = _send(issuer, sender, template, resident, live_key, **{"Idempotency-Key": '"order-42"'})
    assert again.json()["id"] == live.json()["id"]  # still idempotent within the kind


def test_sender_of_a_deactivated_client_cannot_send(issuer, td, resident):
    from tungban.oidc.models import Client

    sender, template = td
    key = services.create_api_key(sender, "k", "live")[1]
    Client.objects.filter(pk=sender.client_id).update(is_active=False)
    r = _send(issuer, sender, template, resident, key)
    assert r.status_code == 403 and r.json()["error"] == "sender_inactive", r.text
    assert not Notification.objects.exists()
