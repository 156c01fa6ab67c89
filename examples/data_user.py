"""A data user's client for tungban's Consented Data Exchange Gateway (授權數據交換閘).

What a department or bank writes to obtain a resident's data with their consent (see
docs/integrators.md §7). It authenticates with ``private_key_jwt`` (RFC 7523) through
Authlib's :class:`~authlib.oauth2.rfc7523.PrivateKeyJWT`, gets a ``client_credentials``
token with scope ``cdeg`` and calls ``/api/v1/exchange/``. Independent of the platform's
code: the sample service and the benchmark use it as any integrator would.

    user = DataUser("https://tungban.example", "td-vehicle-licensing", private_jwk)
    consent = user.request_consent("wsd.registered-address.v1", "Pre-fill your address", 3600, max_uses=1, sub=sub)
    consent = user.wait_for_consent(consent["id"])          # the resident approves in the app
    answer = user.fetch(consent["id"], "wsd.registered-address.v1")
    answer["data"]   # schema-valid data; answer["signed"] is the gateway's JWS over it
    answer["log"]    # the gateway's signed promise: the record is a log leaf by answer["log"]["merge_by"]
    user.promised_leaf(answer)                               # later: the leaf, once in the log
"""

from __future__ import annotations

import threading
import time
import uuid

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwk


class DataUserError(Exception):
    """An error answer of the gateway: ``code`` (e.g. ``consent_revoked``), HTTP ``status``."""

    def __init__(self, code: str, message: str, status: int):
        super().__init__(f"{code} ({status}): {message}")
        self.code, self.message, self.status = code, message, status


class DataUser:
    """Calls the gateway as one data user. Thread-safe; the token is reused until near expiry.

    :param private_jwk: the data user's private key as a JWK dict (``kid`` included), whose
        public half is registered with the platform.
    """

    def __init__(self, issuer: str, client_id: str, private_jwk: dict, *, timeout: float = 30, scope: str = "cdeg"):
        self.issuer = issuer.rstrip("/")
        self.scope = scope
        self.client_id = client_id
        self.private_jwk = private_jwk
        self.timeout = timeout
        self.http = requests.Session()
        self.http.trust_env = False
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock = threading.Lock()

    def prime_token(self, token: str, expires_at: float) -> None:
        """Use ``token`` (an access token this data user obtained elsewhere, e.g. in another
        process of the same system) until 30 s before ``expires_at`` (seconds since the
        epoch), as :meth:`token` uses the one it fetched."""
        with self._lock:
            self._token, self._token_expires = token, expires_at

    def token_expires_at(self) -> float:
        """When the current access token expires (seconds since the epoch; 0 if none)."""
        return self._token_expires

    def token(self) -> str:
        """An access token for ``self.scope`` (``cdeg`` by default; ``credentials`` for an
        issuer's system): ``client_credentials`` grant, ``private_key_jwt``."""
        with self._lock:
            if self._token and time.time() < self._token_expires - 30:
                return self._token
            token_url = f"{self.issuer}/oidc/token"
            session = OAuth2Session(
                self.client_id,
                jwk.import_key(self.private_jwk),
                scope=self.scope,
                token_endpoint_auth_method=PrivateKeyJWT(token_url, alg=self.private_jwk.get("alg", "ES256")),
            )
            session.trust_env = False
            token = session.fetch_token(token_url, grant_type="client_credentials", timeout=self.timeout)
            self._token, self._token_expires = token["access_token"], time.time() + int(token.get("expires_in", 300))
            return self._token

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        resp = self.http.request(
            method,
            f"{self.issuer}/api/v1/exchange{path}",
            json=body,
            timeout=self.timeout,
            headers={"Authorization": f"Bearer {self.token()}", "Accept": "application/json"},
        )
        try:
            data = resp.json()
        except ValueError:
            raise DataUserError("bad_response", resp.text[:200], resp.status_code) from None
        if resp.status_code >= 400:
            raise DataUserError(data.get("error", "error"), data.get("message", ""), resp.status_code)
        return data

    def request_consent(
        self,
        product: str,
        purpose: str,
        duration_seconds: int,
        *,
        max_uses: int | None = None,
        sub: str | None = None,
        subject: dict | None = None,
    ) -> dict:
        """Ask for consent; returns the consent (``status`` "requested", ``approval_uri``).
        ``subject``: a data subject that is not the resident, e.g. ``{"kind": "organisation",
        "id": "21812345"}`` (a company, by BR number: HKMA CDI); the person who approves (the
        one with ``sub``, or whoever opens ``approval_uri``) must hold a CorpID mandate for it."""
        body = {
            "product": product,
            "purpose": purpose,
            "duration_seconds": duration_seconds,
            "max_uses": max_uses,
            "sub": sub,
            "subject": subject,
        }
        return self._call("POST", "/consents", {k: v for k, v in body.items() if v is not None})

    def consent(self, consent_id: str) -> dict:
        return self._call("GET", f"/consents/{consent_id}")

    def wait_for_consent(self, consent_id: str, timeout: float = 120, interval: float = 0.5) -> dict:
        """Poll until the resident answered (or the request expired); returns the consent."""
        deadline = time.monotonic() + timeout
        while True:
            consent = self.consent(consent_id)
            if consent["status"] != "requested" or time.monotonic() > deadline:
                return consent
            time.sleep(interval)

    def promised_leaf(self, answer: dict, *, search: int = 5000) -> dict | None:
        """The transparency-log entry an answer's ``log`` promise names (kind ``exchange``,
        ``ref`` the exchange id), from the newest ``search`` entries of ``GET
        /api/v1/log/entries`` — or None while it is not in the log yet (the promise allows
        until ``log["merge_by"]``, ms since the epoch: after that, keep the signed answer as
        evidence of a broken promise). The entry's body must hold the promise's ``kind``,
        ``ref`` and ``record_sha256``; check its inclusion under a signed head with
        ``examples/log_verifier.py`` (RFC 9162 §2.1.3.2).

        :raises ValueError: the entry found says something else than the promise.
        """
        import json

        promise = answer["log"]
        size = self.http.get(f"{self.issuer}/api/v1/log/head", timeout=self.timeout).json()["tree_size"]
        end = size - 1
        while end >= max(0, size - search):
            start = max(0, end - 999, size - search)
            page = self.http.get(
                f"{self.issuer}/api/v1/log/entries", params={"start": start, "end": end}, timeout=self.timeout
            ).json()["entries"]
            for entry in reversed(page):
                if entry["kind"] == promise["kind"] and entry["reference"] == promise["ref"]:
                    body = json.loads(entry["body"])
                    if any(body.get(k) != promise[k] for k in ("kind", "ref", "record_sha256")):
                        raise ValueError(f"the log's leaf {entry['leaf_index']} differs from the promise")
                    return entry
            end = start - 1
        return None

    def fetch(self, consent_id: str, product: str, request_id: str | None = None, *, iat: int | None = None) -> dict:
        """Obtain the data; a fresh ``request_id`` unless one is given. ``request_id`` is the
        call's idempotency key: the same id with the same body (``iat`` included) answers the
        first result again; with another body it is refused as a replay. ``iat`` (seconds
        since the epoch) must be within the gateway's clock skew when given.

        :raises DataUserError: e.g. ``consent_revoked``, ``provider_timeout``.
        """
        body = {"consent_id": consent_id, "product": product, "request_id": request_id or uuid.uuid4().hex}
        if iat is not None:
            body["iat"] = iat
        return self._call("POST", "/requests", body)
