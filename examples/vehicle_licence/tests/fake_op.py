"""A fake OpenID Provider for the vehicle-licence demo tests (no network, no Django)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
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
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if basic != expected:
            return _response(request, 401, {"error": "invalid_client"})
        auth = self.codes.pop(form.get("code", ""), None)
        if auth is None:
            return _response(request, 400, {"error": "invalid_grant"})
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if challenge != auth.get("code_challenge") or form.get("redirect_uri") != auth["redirect_uri"]:
            return _response(request, 400, {"error": "invalid_grant"})
        access_token = f"at-{len(self.tokens)}"
        self.tokens[access_token] = auth
        token = {"access_token": access_token, "token_type": "Bearer", "expires_in": 600,
                 "scope": auth["scope"]}
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
