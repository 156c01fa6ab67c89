"""A local Web Push service for tests (issue 16, "Notifications"): it records the encrypted
push messages the platform sends, and answers as the test asks (e.g. 429, 503, 410).

Headless Chromium cannot subscribe to push at all: ``PushManager.subscribe`` fails with
``AbortError: Registration failed - permission denied`` even with the notifications permission
granted (seen with Debian's Chromium 156, headless); and a headed Chromium
subscribes only with the browser vendor's own push service (Firebase Cloud Messaging), never a
local one. So a test makes the subscription's keys itself
(:func:`subscription_keys`: the phone's P-256 key pair and 16-byte auth secret, RFC 8291 §3)
and gives the page a ``PushManager.subscribe`` that returns them with an endpoint on this
server (:func:`fake_subscribe_script`); the app then registers that subscription through the
platform's API exactly as it registers a real one, and the test decrypts what arrives here
with the private key (:func:`decrypt`, ``http_ece``: RFC 8188 aes128gcm as RFC 8291 uses it).

::

    with running_push_service() as push:
        keys = subscription_keys()
        endpoint = push.endpoint("phone-1")
        ...
        message = push.wait_for("phone-1")
        payload = json.loads(decrypt(message.body, keys))
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class SubscriptionKeys:
    """A phone's push keys: its P-256 private key and the auth secret; ``p256dh`` and ``auth``
    are what ``PushSubscription.toJSON().keys`` holds (base64url)."""

    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def p256dh(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return _b64u(raw)

    @property
    def auth(self) -> str:
        return _b64u(self.auth_secret)


def subscription_keys() -> SubscriptionKeys:
    """Fresh subscription keys (RFC 8291 §3: a P-256 key pair and 16 random bytes)."""
    import secrets

    return SubscriptionKeys(ec.generate_private_key(ec.SECP256R1()), secrets.token_bytes(16))


def decrypt(body: bytes, keys: SubscriptionKeys) -> bytes:
    """The plaintext of a push message (``Content-Encoding: aes128gcm``, RFC 8291 §4)."""
    return http_ece.decrypt(body, private_key=keys.private_key, auth_secret=keys.auth_secret, version="aes128gcm")


@dataclass
class PushMessage:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class PushService:
    """The running server: ``received`` lists every message; ``answers[token]`` is a list of
    statuses to answer with, one per message, in order (then 201)."""

    base_url: str
    received: list[PushMessage] = field(default_factory=list)
    answers: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def endpoint(self, token: str) -> str:
        return f"{self.base_url}/push/{token}"

    def messages(self, token: str) -> list[PushMessage]:
        with self.lock:
            return [m for m in self.received if m.path == f"/push/{token}"]

    def wait_for(self, token: str, count: int = 1, timeout: float = 15) -> PushMessage:
        """The ``count``-th message to ``token`` once it has arrived (polls; fails after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages(token)
            if len(found) >= count:
                return found[count - 1]
            time.sleep(0.05)
        raise AssertionError(f"no push message #{count} for {token} within {timeout} s")


def _handler(service: PushService):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            token = self.path.rsplit("/", 1)[-1]
            with service.lock:
                service.received.append(PushMessage(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                queued = service.answers.get(token) or []
                status = queued.pop(0) if queued else 201
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "1")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


@contextlib.contextmanager
def running_push_service() -> Iterator[PushService]:
    """A push service on ``http://127.0.0.1:<free port>`` for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    service = PushService(f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


def fake_subscribe_script(endpoint: str, keys: SubscriptionKeys) -> str:
    """A page init script: ``PushManager.prototype.subscribe`` and ``getSubscription`` answer
    with a subscription to ``endpoint`` carrying ``keys`` (see the module's docstring for why);
    ``unsubscribe`` forgets it. The rest (permission, service worker, the platform's API) is
    the browser's own."""
    sub = json.dumps({"endpoint": endpoint, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}})
    return (
        "(() => {\n"
        f"  const json = {sub};\n"
        "  const FLAG = 'tungban-test-push-subscribed';  // kept across page loads, as the browser keeps it\n"
        "  const make = () => ({ endpoint: json.endpoint, toJSON: () => json,\n"
        "    unsubscribe: async () => { localStorage.removeItem(FLAG); return true; } });\n"
        "  if (!self.PushManager) return;\n"
        "  PushManager.prototype.subscribe = async function () {\n"
        "    if (Notification.permission !== 'granted') throw new DOMException('denied', 'NotAllowedError');\n"
        "    localStorage.setItem(FLAG, '1'); return make(); };\n"
        "  PushManager.prototype.getSubscription = async function () { return localStorage.getItem(FLAG) ? make() : null; };\n"
        "})();"
    )
