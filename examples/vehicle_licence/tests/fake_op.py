"""A fake OpenID Provider for the vehicle-licence demo tests (no network, no Django).

It also plays tungban's signing API (``/api/v1/signing/requests``) and the
``client_credentials`` grant, just enough for the "sign the declaration" step, and the
Consented Data Exchange Gateway (``/api/v1/exchange/``, tokens by ``private_key_jwt``)
for the address from the Water Supplies Department.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from examples.vehicle_licence import create_app

ISSUER = "http://op.test"
BASE_URL = "http://rp.test:8100"
CLIENT_ID = "vehicle-licence-demo"
CLIENT_SECRET = "test-secret"

METADATA = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/oidc/authorize",
    "token_endpoint": f"{ISSUER}/oidc/token",
    "userinfo_endpoint": f"{ISSUER}/oidc/userinfo",
    "jwks_uri": f"{ISSUER}/oidc/jwks",
    "end_session_endpoint": f"{ISSUER}/oidc/logout",
    "tungban_formdata_endpoint": f"{ISSUER}/oidc/formdata",
    "id_token_signing_alg_values_supported": ["RS256"],
    "code_challenge_methods_supported": ["S256"],
    "token_endpoint_auth_methods_supported": ["client_secret_basic"],
}

CLAIMS = {
    "sub": "pairwise-sub-123",
    "name": "CHAN Tai Man",
    "family_name": "CHAN",
    "given_name": "Tai Man",
    "name#zh-Hant": "陳大文",
    "gender": "male",
    "birthdate": "1980-02-29",
    "email": "taiman@example.hk",
    "phone_number": "+852 9123 4567",
    "address": {
        "formatted": "Flat A, 10/F, 1 Harbour Road\nWan Chai\nHong Kong",
        "street_address": "Flat A, 10/F, 1 Harbour Road",
        "locality": "Wan Chai",
        "region": "Hong Kong",
        "country": "HK",
    },
    "hkid": "A123456(3)",
    "billing_address": {
        "street_address": "Room 5, 2/F, 8 Nathan Road",
        "locality": "Tsim Sha Tsui",
        "region": "Kowloon",
        "country": "HK",
    },
}


#: The gateway's data product and what the (fake) Water Supplies Department holds.
WSD_PRODUCT = "wsd.registered-address.v1"
WSD_DATA = {
    "address": {"lines": ["Flat 12A, 8 Nathan Road", "Tsim Sha Tsui"], "district": "Yau Tsim Mong", "region": "KLN"},
    "address_zh": "九龍尖沙咀彌敦道8號12A室",
    "registered_since": "2010-04-01",
}


def _response(request: requests.PreparedRequest, status: int, body) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp._content = json.dumps(body).encode()
    resp.headers["Content-Type"] = "application/json"
    resp.url = request.url
    resp.request = request
    resp.encoding = "utf-8"
    return resp


_KEYS: dict[str, RSAKey | ECKey] = {}


def data_user_key() -> ECKey:
    """The service's own key as a data user of the gateway (its public half is "registered")."""
    if "data-user" not in _KEYS:
        _KEYS["data-user"] = ECKey.generate_key("P-256", {"alg": "ES256", "kid": "td-1"})
    return _KEYS["data-user"]  # type: ignore[return-value]


def signing_key(alg: str = "RS256") -> RSAKey | ECKey:
    """One key per algorithm and test session (generating RSA keys is slow)."""
    if alg not in _KEYS:
        if alg == "ES256":
            _KEYS[alg] = ECKey.generate_key("P-256", parameters={"kid": f"test-{alg}"})
        else:
            _KEYS[alg] = RSAKey.generate_key(2048, parameters={"kid": f"test-{alg}"})
    return _KEYS[alg]


class FakeOP:
    """Just enough of an OpenID Provider to exercise the relying party end to end."""

    def __init__(self, alg: str = "RS256"):
        self.alg = alg
        self.key = signing_key(alg)
        self.metadata = {**METADATA, "id_token_signing_alg_values_supported": [alg]}
        self.claims = dict(CLAIMS)
        self.formdata = {k: v for k, v in CLAIMS.items() if k != "sub"}
        self.acr = "urn:tungban:acr:plus"
        self.auth_time = int(time.time())
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self.requests: list[requests.PreparedRequest] = []
        self.token_requests: list[dict] = []
        self.nonce_override: str | None = None
        self.id_token_sub: str | None = None
        self.reachable = True
        # -- signing ---------------------------------------------------------------
        #: Open signing requests by id: {"status", "documents": [{"name","sha256","content"}], ...}.
        self.signing: dict[str, dict] = {}
        #: The service's own tokens (client_credentials) and the scope they get.
        self.service_tokens: dict[str, str] = {}
        self.client_credentials_scope = "signing"
        #: ``(status, error, message, details)`` to refuse the next signing requests with.
        self.sign_refusal: tuple | None = None
        #: Return a signed PDF that is not an update of the submitted one.
        self.sign_tamper = False
        self.signer = {
            "name": "CHAN Tai Man 陳大文",
            "certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "serial": "5ca1ab1e",
        }
        self.signed_at = "2025-01-02T03:04:05.123456Z"
        self.approval_base = f"{ISSUER}/app/approve/"
        # -- the exchange gateway ----------------------------------------------------
        #: Consents by id, as the gateway returns them.
        self.consents: dict[str, dict] = {}
        #: Data requests received (``POST /requests`` bodies) and the data answered.
        self.exchanges: list[dict] = []
        self.cdeg_tokens: set[str] = set()
        self.wsd_data = json.loads(json.dumps(WSD_DATA))
        #: ``(status, error)`` to refuse the next consent requests / data requests with.
        self.consent_refusal: tuple[int, str] | None = None
        self.exchange_refusal: tuple[int, str] | None = None
        self.approval_uri_base = f"{ISSUER}/app/approve/"

    # -- the browser side ------------------------------------------------------
    def authorize(self, location: str) -> str:
        """Approve the authorization request at ``location``; return the callback URL."""
        parts = urlsplit(location)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        code = f"code-{len(self.codes)}"
        self.codes[code] = params
        return f"{params['redirect_uri']}?code={code}&state={params['state']}"

    # -- the back channel ------------------------------------------------------
    def send(self, request: requests.PreparedRequest, **_kwargs) -> requests.Response:
        """Replacement for ``HTTPAdapter.send`` answering requests to the issuer."""
        self.requests.append(request)
        if not self.reachable:
            raise requests.ConnectionError("fake OP is down")
        path = urlsplit(request.url).path
        if path == "/.well-known/openid-configuration":
            return _response(request, 200, self.metadata)
        if path == "/oidc/jwks":
            return _response(request, 200, {"keys": [self.key.as_dict(private=False)]})
        if path == "/oidc/token":
            return self._token(request)
        if path.startswith("/api/v1/exchange/"):
            return self._exchange(request, path.removeprefix("/api/v1/exchange"))
        if path == "/api/v1/signing/requests" and request.method == "POST":
            return self._sign_create(request)
        match = re.fullmatch(r"/api/v1/signing/requests/([^/]+)", path)
        if match and request.method == "GET":
            return self._sign_get(request, match.group(1))
        if path in ("/oidc/userinfo", "/oidc/formdata"):
            auth = request.headers.get("Authorization", "")
            grant = self.tokens.get(auth.removeprefix("Bearer "))
            if grant is None:
                return _response(request, 401, {"error": "invalid_token"})
            if path == "/oidc/userinfo":
                return _response(request, 200, self.claims)
            return _response(request, 200, self.formdata)
        return _response(request, 404, {"error": "not_found"})

    def _token(self, request):
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        form = {k: v[0] for k, v in parse_qs(body).items()}
        basic = request.headers.get("Authorization", "")
        self.token_requests.append({"form": form, "authorization": basic})
        if "client_assertion" in form:
            return self._private_key_jwt(request, form)
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if basic != expected:
            return _response(request, 401, {"error": "invalid_client"})
        if form.get("grant_type") == "client_credentials":
            access_token = f"svc-{len(self.service_tokens)}"
            scope = " ".join(s for s in form.get("scope", "").split() if s in self.client_credentials_scope.split())
            self.service_tokens[access_token] = scope
            return _response(
                request, 200, {"access_token": access_token, "token_type": "Bearer", "expires_in": 600, "scope": scope}
            )
        auth = self.codes.pop(form.get("code", ""), None)
        if auth is None:
            return _response(request, 400, {"error": "invalid_grant"})
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != auth.get("code_challenge") or form.get("redirect_uri") != auth["redirect_uri"]:
            return _response(request, 400, {"error": "invalid_grant"})
        access_token = f"at-{len(self.tokens)}"
        self.tokens[access_token] = auth
        token = {"access_token": access_token, "token_type": "Bearer", "expires_in": 600, "scope": auth["scope"]}
        if "openid" in auth["scope"].split():
            now = int(time.time())
            claims = {
                "iss": ISSUER,
                "sub": self.id_token_sub or self.claims["sub"],
                "aud": CLIENT_ID,
                "iat": now,
                "exp": now + 600,
                "nonce": self.nonce_override or auth.get("nonce"),
                "acr": self.acr,
                "auth_time": self.auth_time,
                "amr": ["pwd", "otp"],
            }
            token["id_token"] = jwt.encode({"alg": self.alg, "kid": self.key.kid}, claims, self.key)
        return _response(request, 200, token)

    def _private_key_jwt(self, request, form):
        """``client_credentials`` with ``private_key_jwt`` (RFC 7523): the gateway's token."""
        try:
            token = jwt.decode(form["client_assertion"], data_user_key())
        except Exception:  # noqa: BLE001 - any bad assertion is invalid_client
            return _response(request, 401, {"error": "invalid_client"})
        claims = token.claims
        if (
            form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            or claims.get("iss") != CLIENT_ID
            or claims.get("sub") != CLIENT_ID
            or claims.get("aud") not in (f"{ISSUER}/oidc/token", [f"{ISSUER}/oidc/token"])
            or form.get("grant_type") != "client_credentials"
            or "cdeg" not in form.get("scope", "").split()
        ):
            return _response(request, 401, {"error": "invalid_client"})
        access_token = f"cdeg-{len(self.cdeg_tokens)}"
        self.cdeg_tokens.add(access_token)
        return _response(
            request, 200, {"access_token": access_token, "token_type": "Bearer", "expires_in": 300, "scope": "cdeg"}
        )

    # -- the exchange gateway ------------------------------------------------------
    def _exchange(self, request, path):
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.cdeg_tokens:
            return _response(request, 401, {"error": "invalid_token", "message": "The access token is not valid."})
        body = json.loads(request.body) if request.body else {}
        if path == "/consents" and request.method == "POST":
            if self.consent_refusal:
                status, code = self.consent_refusal
                return _response(request, status, {"error": code, "message": code, "field": None})
            cid = str(uuid.uuid4())
            self.consents[cid] = {
                "id": cid,
                "status": "requested",
                "product": body["product"],
                "purpose": body["purpose"],
                "duration_seconds": body["duration_seconds"],
                "max_uses": body.get("max_uses"),
                "uses": 0,
                "sub": body.get("sub"),
                "approval_uri": self.approval_uri_base + cid,
                "approval_expires_at": "2099-01-01T00:00:00Z",
                "granted_at": None,
                "valid_until": None,
                "revoked_at": None,
                "artefact": None,
            }
            return _response(request, 201, self.consents[cid])
        match = re.fullmatch(r"/consents/([^/]+)", path)
        if match and request.method == "GET":
            consent = self.consents.get(match.group(1))
            if consent is None:
                return _response(request, 404, {"error": "unknown_consent", "message": "There is no such consent."})
            return _response(request, 200, consent)
        if path == "/requests" and request.method == "POST":
            self.exchanges.append(body)
            consent = self.consents.get(body.get("consent_id"))
            if consent is None:
                return _response(request, 404, {"error": "unknown_consent", "message": "There is no such consent."})
            if consent["status"] != "active":
                code = {"requested": "consent_pending"}.get(consent["status"], f"consent_{consent['status']}")
                return _response(request, 409 if code == "consent_pending" else 403, {"error": code, "message": code})
            if self.exchange_refusal:
                status, code = self.exchange_refusal
                return _response(request, status, {"error": code, "message": code, "field": None})
            consent["uses"] += 1
            if consent["max_uses"] and consent["uses"] >= consent["max_uses"]:
                consent["status"] = "exhausted"
            return _response(
                request,
                200,
                {
                    "exchange_id": f"x-{len(self.exchanges)}",
                    "consent_id": consent["id"],
                    "product": body["product"],
                    "provider": "wsd",
                    "request_id": body["request_id"],
                    "delivered_at": "2025-01-02T03:04:05Z",
                    "payload_sha256": "0" * 64,
                    "data": self.wsd_data,
                    "signed": "x.y.z",
                },
            )
        return _response(request, 404, {"error": "not_found", "message": path})

    def decide(self, status: str = "active", cid: str | None = None) -> str:
        """The resident answers the consent request in the app: ``active`` (approved),
        ``declined``, or the request ``expired``/was ``revoked``. Default: the latest one."""
        cid = cid or list(self.consents)[-1]
        self.consents[cid].update(status=status, approval_uri=None)
        return cid

    # -- the signing API ---------------------------------------------------------
    def _bearer_scope(self, request) -> tuple[str, str] | None:
        """``(token, scope)`` of the request's bearer token, or None."""
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in self.tokens:
            return token, self.tokens[token]["scope"]
        if token in self.service_tokens:
            return token, self.service_tokens[token]
        return None

    def _sign_auth(self, request):
        found = self._bearer_scope(request)
        if found is None:
            return None, _response(
                request, 401, {"error": "invalid_token", "message": "The access token is not valid."}
            )
        if "signing" not in found[1].split():
            return None, _response(
                request, 403, {"error": "insufficient_scope", "message": "The token lacks the signing scope."}
            )
        return found[0], None

    def _sign_create(self, request):
        token, error = self._sign_auth(request)
        if error is not None:
            return error
        if self.sign_refusal:
            status, code, message, *details = self.sign_refusal
            body = {"error": code, "message": message, "field": None}
            if details and details[0]:
                body["details"] = details[0]
            return _response(request, status, body)
        payload = json.loads(request.body)
        docs = []
        for item in payload["documents"]:
            content = base64.b64decode(item["pdf"], validate=True)
            assert content.startswith(b"%PDF-"), "the service must send a PDF"
            docs.append({"name": item["name"], "sha256": hashlib.sha256(content).hexdigest(), "content": content})
        rid = str(uuid.uuid4())
        self.signing[rid] = {
            "status": "pending",
            "error": None,
            "documents": docs,
            "reason": payload.get("reason", ""),
            "token": token,
        }
        return _response(request, 201, self._sign_result(rid))

    def _sign_get(self, request, rid):
        token, error = self._sign_auth(request)
        if error is not None:
            return error
        if rid not in self.signing:
            return _response(
                request, 404, {"error": "no_signing_request", "message": "This signing request does not exist."}
            )
        return _response(request, 200, self._sign_result(rid))

    def _sign_result(self, rid):
        req = self.signing[rid]
        signed = req["status"] == "signed"
        documents = []
        for i, doc in enumerate(req["documents"]):
            signed_pdf = None
            if signed:
                base = b"%PDF-1.7 something else\n" if self.sign_tamper else doc["content"]
                signed_pdf = base64.b64encode(base + b"\n% fake incremental update with a signature\n%%EOF\n").decode()
            documents.append(
                {"index": i, "name": doc["name"], "sha256": doc["sha256"], "signature": None, "signed_pdf": signed_pdf}
            )
        return {
            "id": rid,
            "status": req["status"],
            "format": "pades",
            "approval_uri": self.approval_base + rid,
            "expires_at": "2099-01-01T00:00:00Z" if req["status"] == "pending" else "2025-01-02T03:05:00Z",
            "signed_at": self.signed_at if signed else None,
            "error": req["error"],
            "signer": dict(self.signer) if signed else None,
            "documents": documents,
        }

    def answer(self, rid=None, status="signed", error=None):
        """The resident answers in the app: ``signed`` | ``declined`` | ``expired`` |
        ``failed`` (with ``error``, e.g. ``plus_required``). Default: the latest request."""
        rid = rid or list(self.signing)[-1]
        self.signing[rid].update(status=status, error=error if status == "failed" else None)
        return rid


def make_app(**config):
    """Create a test app with the fake OP's metadata (no discovery fetch) by default."""
    settings = {
        "TESTING": True,
        "VL_ISSUER": ISSUER,
        "VL_BASE_URL": BASE_URL,
        "VL_CLIENT_ID": CLIENT_ID,
        "VL_CLIENT_SECRET": CLIENT_SECRET,
        "VL_SECRET_KEY": "test-key",
        "VL_SERVER_METADATA": METADATA,
    }
    settings.update(config)
    return create_app(settings)
