"""One complete login, step by step, in-process (issue 15 acceptance 2): the query-count
tests of each step and ``bench/login_steps.py`` (CPU and queries per step) drive the same
requests the login benchmark (``bench/oidc.py``, ``LoginDriver``) sends over HTTP.

Steps, in order (:data:`STEPS`): ``authorize`` (the browser opens the authorization page),
``app_request`` (the app reads the request with a device proof), ``decision`` (the app
approves, signed by the device key), ``complete`` (the browser comes back and is redirected
with the code), ``token`` (the relying party redeems the code), ``userinfo``.

The device proofs and the signed decision are made before each step is timed (they are the
app's work, not the server's); each is real and fresh (a new ``jti`` per call).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from contextlib import contextmanager
from urllib.parse import urlencode

from django.conf import settings
from django.test import Client
from joserfc import jws
from joserfc.jwk import ECKey

from tungban.wallet.client import device_proof

STEPS = ("authorize", "app_request", "decision", "complete", "token", "userinfo")
REDIRECT_URI = "https://rp.example/cb"
SCOPE = "openid profile"


def setup_login(client_id: str = "login-steps-rp", residents: int = 1):
    """A relying party and ``residents`` synthetic residents with seeded CLI devices.

    :returns: ``(client_id, secret, devices)``, ``devices`` as
        :func:`tungban.wallet.seeding.seed_devices` returns them."""
    from tungban.identity.models import Resident
    from tungban.identity.seeding import seed_residents, seeded_residents
    from tungban.keys import services as keys
    from tungban.oidc import services as oidc
    from tungban.wallet.seeding import seed_devices

    if not keys.public_jwks().get("keys"):
        keys.create_key()
    client, secret = oidc.register_client(
        client_id=client_id,
        name_en="Login steps RP",
        name_zh="登入步驟服務",
        redirect_uris=[REDIRECT_URI],
        allowed_scopes=["openid", "profile"],
    )
    result = seed_residents(residents)
    found: list[Resident] = seeded_residents(result.start, result.count)
    return client.client_id, secret, seed_devices(found)


class LoginSteps:
    """Drives logins through Django's test :class:`~django.test.Client` (no network).

    :param measure: a context manager factory ``measure(step)`` wrapped around each step's
        request only (e.g. one that counts queries or CPU time)."""

    def __init__(self, client_id: str, secret: str, device: dict, measure: Callable | None = None):
        self.client_id, self.secret = client_id, secret
        self.device_id = device["device_id"]
        self.key = ECKey.import_key(device["private_jwk"])
        self.measure = measure or (lambda step: _nothing())
        self.issuer = settings.TUNGBAN_ISSUER
        self.clients = _clients()
        self.basic = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()

    def _proof(self, method: str, path: str) -> str:
        return "Device " + device_proof(self.key, self.device_id, method, self.issuer + path)

    def login(self) -> dict:
        """One login; returns the userinfo answer. :raises AssertionError: at the failing step."""
        browser, app, rp = self.clients
        browser.cookies.clear()  # a new browser for each login
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": SCOPE,
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        with self.measure("authorize"):
            page = browser.get("/oidc/authorize", params, secure=True)
        assert page.status_code == 200, page.content[:300]
        text = page.content.decode()
        rid = re.search(r"/app/approve/([0-9a-f-]{36})", text).group(1)
        shown = re.search(r'id="user-code"[^>]*>\s*([0-9]+)\s*<', text).group(1)
        path = f"/api/v1/wallet/requests/{rid}"
        proof = self._proof("GET", path)
        with self.measure("app_request"):
            got = app.get(path, HTTP_AUTHORIZATION=proof, secure=True)
        assert got.status_code == 200, got.content[:300]
        req = got.json()
        decision = {
            "request_id": rid,
            "requester": req["requester"]["id"],
            "nonce": req["nonce"],
            "decision": "approve",
            "claims": sorted(c["name"] for c in req["claims"]),
            "code": shown,
        }
        signature = jws.serialize_compact(
            {"alg": "ES256", "kid": self.device_id}, json.dumps(decision).encode(), self.key
        )
        body = json.dumps({"signature": signature})
        proof = self._proof("POST", path + "/decision")
        with self.measure("decision"):
            decided = app.post(
                path + "/decision", body, content_type="application/json", HTTP_AUTHORIZATION=proof, secure=True
            )
        assert decided.status_code == 200, decided.content[:300]
        with self.measure("complete"):
            done = browser.get(f"/oidc/authorize/{rid}/complete", secure=True)
        assert done.status_code == 302, done.content[:300]
        code = re.search(r"[?&]code=([^&]+)", done["Location"]).group(1)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        }
        with self.measure("token"):
            token = rp.post(
                "/oidc/token",
                urlencode(form),
                "application/x-www-form-urlencoded",
                HTTP_AUTHORIZATION=self.basic,
                secure=True,
            )
        assert token.status_code == 200, token.content[:300]
        bearer = "Bearer " + token.json()["access_token"]
        with self.measure("userinfo"):
            info = rp.get("/oidc/userinfo", HTTP_AUTHORIZATION=bearer, secure=True)
        assert info.status_code == 200, info.content[:300]
        return info.json()


_shared: tuple[Client, Client, Client] | None = None


def _clients() -> tuple[Client, Client, Client]:
    """The browser's, the app's and the relying party's clients, made once per process: a
    Client loads the middleware on first use (whitenoise scans the static files), which is
    no part of a request's cost. Logins run one after another."""
    global _shared
    if _shared is None:
        _shared = Client(), Client(), Client()
    return _shared


@contextmanager
def _nothing():
    yield


class StepMeter:
    """A ``measure`` for :class:`LoginSteps`: per step, the SQL queries (``queries[step]``:
    a list of lists of SQL text, one per login) and CPU seconds (``cpu[step]``)."""

    def __init__(self, connection=None):
        from django.db import connection as default

        self.connection = connection or default
        self.queries: dict[str, list[list[str]]] = {s: [] for s in STEPS}
        self.cpu: dict[str, list[float]] = {s: [] for s in STEPS}

    @contextmanager
    def __call__(self, step: str):
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(self.connection) as ctx:
            t0 = time.process_time()
            yield
            self.cpu[step].append(time.process_time() - t0)
        self.queries[step].append([q["sql"] for q in ctx.captured_queries])
