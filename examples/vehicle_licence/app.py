"""Flask application: a pretend Transport Department vehicle-licence renewal service.

It is a relying party of tungban: it logs in with OpenID Connect (authorization code
flow, PKCE S256, nonce, ``claims`` request parameter) using Authlib's Flask client,
and pre-fills the renewal form from the claims the resident released. It can also
do "anonymous form filling": the same flow without the ``openid`` scope, followed by
a call to tungban's form-data endpoint.

After the form is submitted, the resident signs a declaration PDF (generated here) with
tungban's digital signing (tungban+ accounts): the service asks the platform's signing API with
the resident's access token (the login scope includes ``signing``), shows the approval
link / QR code, polls until the resident has approved in the app, and offers the signed
PDF. Without a login it uses anonymous signing (the service's own token).

填表通 through the Consented Data Exchange Gateway: after login, "Fill my address from the
Water Supplies Department" asks the gateway (as the data user "td", with the service's own
key, ``private_key_jwt``) for the resident's consent to ``wsd.registered-address.v1``, waits
while the resident approves in the app and fills the address in with the data (``address.py``).

Run with ``python -m examples.vehicle_licence`` from the repository root, or
``python examples/vehicle_licence/app.py``. Settings come from ``VL_*`` environment
variables (see ``README.md``) or from the ``config`` dict given to :func:`create_app`.
"""

from __future__ import annotations

if __name__ == "__main__" and not __package__:  # pragma: no cover - script entry point
    # ``python examples/vehicle_licence/app.py``: make the package importable, then
    # run it the same way as ``python -m examples.vehicle_licence``.
    import runpy
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    runpy.run_module("examples.vehicle_licence", run_name="__main__", alter_sys=True)
    raise SystemExit(0)

import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, Response, g, redirect, render_template, request, session, url_for
from joserfc.errors import JoseError

from ..data_user import DataUser, DataUserError
from .address import (
    CONSENT_SECONDS,
    MAX_USES,
    PURPOSES,
    RETRYABLE,
    WSD_PRODUCT,
    resolve_private_jwk,
)
from .address import (
    error_key as address_error_key,
)
from .address import (
    format_address as format_wsd_address,
)
from .claims import FORM_FIELDS, claims_to_form, prefilled_fields
from .declaration import DEFAULT_FONT, build_declaration, file_name
from .forms import validate_form
from .i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGE_NAMES,
    STRINGS,
    both,
    browser_language,
    normalise_language,
    other_language,
    translate,
)
from .signing import SIGNING_SCOPE, SigningClient, SigningError, service_token, signed_document

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent

#: Scopes of the login request (``VL_LOGIN_SCOPE``): ``signing`` lets the service ask the
#: resident to sign the declaration with the login's access token.
LOGIN_SCOPE = "openid profile hkid address phone email billing_address signing"
#: Scopes of anonymous form filling (``VL_FORMFILL_SCOPE``): no ``openid``, so no login and
#: no ``sub``. Signing after anonymous form filling is anonymous signing (the service's token).
FORMFILL_SCOPE = "profile hkid address phone email billing_address"
#: The PDF /Reason of the signature (shown by PDF readers).
SIGNING_REASON = "Declaration, vehicle licence renewal {reference} / 車輛牌照續期申請聲明 {reference}"
#: OIDC Core §5.5 ``claims`` request: name and HKID are essential in userinfo.
CLAIMS_REQUEST = {"userinfo": {"name": {"essential": True}, "hkid": {"essential": True}}}
#: Claims this service cannot work well without (checked after login).
ESSENTIAL_FIELDS = ("name_en", "hkid")

ACR_LABELS = {"urn:tungban:acr:basic": "acr_basic", "urn:tungban:acr:plus": "acr_plus"}
#: The login in plain words for each ``acr`` (issue 16: residents saw ``urn:tungban:acr:plus``).
LOGIN_SUMMARY = {"urn:tungban:acr:basic": "login_summary_basic", "urn:tungban:acr:plus": "login_summary_plus"}


def amr_words_key(amr: Any) -> str | None:
    """The i18n key saying how the resident confirmed the login, from the ID token's ``amr``
    (RFC 8176 values, e.g. ``["swk", "user", "mfa"]``), or ``None`` when it says nothing."""
    values = set(amr if isinstance(amr, list) else str(amr or "").split())
    if not values:
        return None
    if "mfa" in values or ({"swk", "hwk", "otp", "sms"} & values and {"user", "fpt", "face", "pin", "pwd"} & values):
        return "amr_words_two_step"
    if {"swk", "hwk"} & values:
        return "amr_words_app"
    return "amr_words_other"


#: Defaults of every setting; each can be overridden by an environment variable of the
#: same name or by the ``config`` dict given to :func:`create_app`.
DEFAULTS: dict[str, Any] = {
    "VL_ISSUER": "http://localhost:8000",
    "VL_CLIENT_ID": "vehicle-licence-demo",
    "VL_CLIENT_SECRET": None,
    "VL_CLIENT_CONFIG": None,
    "VL_BASE_URL": "http://127.0.0.1:8100",
    "VL_HOST": "127.0.0.1",
    "VL_PORT": 8100,
    "VL_SECRET_KEY": None,
    "VL_MAX_AGE": None,
    "VL_HTTP_TIMEOUT": 10,
    "VL_LOGIN_SCOPE": LOGIN_SCOPE,
    "VL_FORMFILL_SCOPE": FORMFILL_SCOPE,
    # tungban's signing API; default ``{VL_ISSUER}/api/v1/signing``.
    "VL_SIGNING_ENDPOINT": None,
    # A font with Chinese glyphs for the declaration PDF (English only when missing).
    "VL_PDF_FONT": DEFAULT_FONT,
    # How often (seconds) the signing page (and the address page) asks for the result.
    "VL_SIGNING_POLL_SECONDS": 2,
    # The service's private key (a JWK: dict or JSON text) as the data user of tungban's
    # Consented Data Exchange Gateway; else ``cdeg_private_jwk`` in the VL_CLIENT_CONFIG file.
    # Without one, the form offers no "Fill my address from the Water Supplies Department".
    "VL_CDEG_PRIVATE_JWK": None,
    # A discovery document given directly (a dict): skips fetching
    # ``{issuer}/.well-known/openid-configuration``. Used by the tests.
    "VL_SERVER_METADATA": None,
}

LANG_COOKIE = "vl_lang"
CLOCK_LEEWAY = 120  # seconds allowed for clock skew when checking auth_time
HONG_KONG_TIME = dt.timezone(dt.timedelta(hours=8), "HKT")
FLOW_TTL = 600  # seconds a started login may take
MAX_PENDING_FLOWS = 3
CLIENT_NAMES = {"login": "tungban", "anonymous": "formfill"}


def load_settings(config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Merge :data:`DEFAULTS`, ``VL_*`` environment variables and ``config`` (highest)."""
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for key in DEFAULTS:
        if environ.get(key):
            settings[key] = environ[key]
    for key, value in (config or {}).items():
        if key in DEFAULTS:
            settings[key] = value
    settings["VL_ISSUER"] = str(settings["VL_ISSUER"]).rstrip("/")
    settings["VL_BASE_URL"] = str(settings["VL_BASE_URL"]).rstrip("/")
    settings["VL_PORT"] = int(settings["VL_PORT"])
    settings["VL_HTTP_TIMEOUT"] = float(settings["VL_HTTP_TIMEOUT"])
    # The page polls at most every 0.5 s; 0 also turns off this service's own throttling (tests).
    settings["VL_SIGNING_POLL_SECONDS"] = max(0.0, float(settings["VL_SIGNING_POLL_SECONDS"]))
    for key in ("VL_LOGIN_SCOPE", "VL_FORMFILL_SCOPE"):
        settings[key] = " ".join(str(settings[key] or "").split())
    if not settings["VL_SIGNING_ENDPOINT"]:
        settings["VL_SIGNING_ENDPOINT"] = f"{settings['VL_ISSUER']}/api/v1/signing"
    if settings["VL_MAX_AGE"] in ("", None):
        settings["VL_MAX_AGE"] = None
    else:
        settings["VL_MAX_AGE"] = int(settings["VL_MAX_AGE"])
    if isinstance(settings["VL_SERVER_METADATA"], str):
        settings["VL_SERVER_METADATA"] = json.loads(settings["VL_SERVER_METADATA"])
    return settings


def resolve_client_credentials(settings: Mapping[str, Any]) -> tuple[str, str | None]:
    """Return ``(client_id, client_secret)``; the secret is None when not configured.

    ``VL_CLIENT_SECRET`` wins. Otherwise the JSON file named by ``VL_CLIENT_CONFIG``
    is read; its ``client_id`` (if any) goes with its ``client_secret``.
    """
    client_id = str(settings["VL_CLIENT_ID"])
    if settings.get("VL_CLIENT_SECRET"):
        return client_id, str(settings["VL_CLIENT_SECRET"])
    path = settings.get("VL_CLIENT_CONFIG")
    if path:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("Cannot read VL_CLIENT_CONFIG %s: %s", path, exc)
            return client_id, None
        if isinstance(data, dict) and data.get("client_secret"):
            return str(data.get("client_id") or client_id), str(data["client_secret"])
    return client_id, None


class MemoryStore:
    """Per-browser-session data kept in this process's memory (demo only, not persistent).

    The signed session cookie holds only a random key; claims and tokens stay here so
    the cookie stays small and never carries personal data.
    """

    def __init__(self, max_entries: int = 1000, ttl: float = 8 * 3600):
        self._data: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.ttl = ttl

    def get(self, key: str | None) -> dict[str, Any] | None:
        """Return the data stored under ``key``, or None if absent or expired."""
        if not key:
            return None
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            if time.time() - item[0] > self.ttl:
                del self._data[key]
                return None
            return item[1]

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` under ``key``, evicting the oldest entries when full."""
        with self._lock:
            self._data[key] = (time.time(), value)
            while len(self._data) > self.max_entries:
                oldest = min(self._data, key=lambda k: self._data[k][0])
                del self._data[oldest]

    def pop(self, key: str | None) -> dict[str, Any] | None:
        """Remove and return the data stored under ``key``."""
        if not key:
            return None
        with self._lock:
            item = self._data.pop(key, None)
        return item[1] if item else None


class FlowError(Exception):
    """A problem to show the user on the bilingual error page."""

    def __init__(
        self,
        key: str,
        status: int = 400,
        code: str | None = None,
        detail: str | None = None,
        action: tuple[str, str] | None = None,
        **params: object,
    ):
        super().__init__(key)
        self.key = key
        self.status = status
        self.code = code
        self.detail = detail
        self.action = action  # (url, label key): the way forward, e.g. log in again
        self.params = params


#: Where a login may return to afterwards (``/login?next=...``): only our own pages.
NEXT_PATH = re.compile(r"^/(?:confirmation|sign)/[A-Za-z0-9-]{1,40}$")
#: Local states of an address request at the gateway (``data["address_fill"]["status"]``).
ADDRESS_FAILED = {"declined", "expired", "revoked", "error"}
#: Platform error codes with their own explanation (``sign_err_<code>``).
SIGNING_ERRORS_EXPLAINED = {
    "plus_required",
    "certificate_revoked",
    "no_device",
    "account_suspended",
    "document_mismatch",
    "result_missing",
}
SIGNING_NOT_ALLOWED = {
    "signing_not_allowed",
    "insufficient_scope",
    "unauthorized_client",
    "invalid_scope",
    "invalid_client",
    "no_signing_scope",
}
SIGNING_LOGIN_AGAIN = {"invalid_token", "insufficient_user_authentication", "token_expired"}


def signing_error_key(code: str | None) -> str:
    """The i18n key explaining why a declaration was not signed (platform or local code)."""
    if code in SIGNING_ERRORS_EXPLAINED:
        return f"sign_err_{code}"
    if code in SIGNING_NOT_ALLOWED:
        return "sign_err_not_allowed"
    if code in SIGNING_LOGIN_AGAIN:
        return "sign_err_login_again"
    return "sign_err_failed"


def hk_time(value: Any) -> tuple[str, float | None]:
    """An ISO 8601 time from the platform as ``("YYYY-MM-DD HH:MM:SS HKT", epoch)``."""
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value or ""), None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(HONG_KONG_TIME).strftime("%Y-%m-%d %H:%M:%S HKT"), when.timestamp()


def qr_svg(uri: str, title: str) -> str | None:
    """An inline SVG QR code of ``uri`` (segno), or None without segno: the link remains."""
    try:
        import segno
    except ImportError:  # pragma: no cover - segno comes with the platform
        return None
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff", title=title)


COMPARE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32


def comparison_code(approval_id: str, digests: list[str]) -> str:
    """The signing request's 6-character comparison code, as tungban defines it
    (``tungban.signing.compare``, issue 16): the first 30 bits of SHA-256 of
    ``"tungban-sign-compare-v1\n" + approval id + "\n" + digests joined by ","`` in
    Crockford's base 32. Computed here from the document this service made, so the code the
    resident compares covers our own PDF, not only what the platform says."""
    message = f"tungban-sign-compare-v1\n{approval_id.lower()}\n{','.join(d.lower() for d in digests)}"
    bits = int.from_bytes(hashlib.sha256(message.encode()).digest()[:4], "big") >> 2
    return "".join(COMPARE_ALPHABET[(bits >> (5 * (5 - i))) & 31] for i in range(6))


def digest_groups(hex_digest: str) -> list[str]:
    """A SHA-256 hex digest in groups of 8, as the tungban app shows it."""
    return [hex_digest[i : i + 8] for i in range(0, len(hex_digest), 8)]


def create_app(config: dict | None = None) -> Flask:
    """Create the vehicle-licence demo application.

    ``config`` may hold any ``VL_*`` setting (see :data:`DEFAULTS`), which override the
    environment, and any ordinary Flask setting (e.g. ``TESTING``).
    """
    config = dict(config or {})
    settings = load_settings(config)
    app = Flask(
        __name__,
        template_folder=str(HERE / "templates"),
        static_folder=str(HERE / "static"),
    )
    app.config.update(
        SECRET_KEY=settings["VL_SECRET_KEY"] or secrets.token_hex(32),
        SESSION_COOKIE_NAME="vl_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["VL_BASE_URL"].startswith("https://"),
        VL=settings,
    )
    app.config.update({k: v for k, v in config.items() if k not in DEFAULTS})

    store = MemoryStore()
    oauth = OAuth(app)
    client_id, client_secret = resolve_client_credentials(settings)
    common_kwargs = {
        "token_endpoint_auth_method": "client_secret_basic",
        "code_challenge_method": "S256",
        "default_timeout": settings["VL_HTTP_TIMEOUT"],
    }
    for flow, scope in (("login", settings["VL_LOGIN_SCOPE"]), ("anonymous", settings["VL_FORMFILL_SCOPE"])):
        discovery: dict[str, Any]
        if settings["VL_SERVER_METADATA"]:
            discovery = dict(settings["VL_SERVER_METADATA"])
        else:
            discovery = {"server_metadata_url": f"{settings['VL_ISSUER']}/.well-known/openid-configuration"}
        # Without ``openid`` in the scope Authlib sends no nonce and so never tries to
        # parse an ID token: exactly what anonymous form filling needs.
        oauth.register(
            CLIENT_NAMES[flow],
            client_id=client_id,
            client_secret=client_secret,
            client_kwargs={"scope": scope, **common_kwargs},
            **discovery,
        )
    app.extensions["vl_store"] = store
    app.extensions["vl_oauth"] = oauth
    signing_api = SigningClient(settings["VL_SIGNING_ENDPOINT"], timeout=settings["VL_HTTP_TIMEOUT"])
    service_tokens: dict[str, dict[str, Any]] = {}  # the service's own signing token, cached
    app.extensions["vl_signing"] = signing_api

    redirect_uri = f"{settings['VL_BASE_URL']}/callback"
    post_logout_uri = f"{settings['VL_BASE_URL']}/"

    # ------------------------------------------------------------------ helpers
    def client_for(flow: str):
        return oauth.create_client(CLIENT_NAMES[flow])

    def ensure_credentials() -> None:
        """Pick up credentials written after start-up (e.g. by a setup script)."""
        login_client = client_for("login")
        if login_client.client_secret:
            return
        new_id, new_secret = resolve_client_credentials(settings)
        if not new_secret:
            raise FlowError("err_config", status=503)
        for flow in CLIENT_NAMES:
            client = client_for(flow)
            client.client_id, client.client_secret = new_id, new_secret

    def metadata() -> dict[str, Any]:
        """Load (once) and check the discovery document for both clients."""
        result: dict[str, Any] = {}
        for flow in CLIENT_NAMES:
            client = client_for(flow)
            try:
                result = client.load_server_metadata()
            except requests.RequestException as exc:
                log.warning("Discovery failed: %s", exc)
                raise FlowError("err_unreachable", status=502, issuer=settings["VL_ISSUER"])
            except ValueError as exc:
                raise FlowError("err_discovery", status=502, detail=str(exc), problem="not JSON")
            problem = None
            issuer = str(result.get("issuer", "")).rstrip("/")
            if issuer != settings["VL_ISSUER"]:
                problem = f"issuer {result.get('issuer')!r} != VL_ISSUER {settings['VL_ISSUER']!r}"
            elif not result.get("authorization_endpoint") or not result.get("token_endpoint"):
                problem = "authorization_endpoint / token_endpoint missing"
            if problem:
                client.server_metadata.pop("_loaded_at", None)  # fetch again next time
                raise FlowError("err_discovery", status=502, detail=problem, problem=problem)
        return result

    def current_data() -> dict[str, Any] | None:
        return store.get(session.get("vl_sid"))

    def start_session(data: dict[str, Any]) -> None:
        """Store fresh data under a new key (new key on every login: no fixation)."""
        store.pop(session.get("vl_sid"))
        sid = secrets.token_urlsafe(32)
        store.put(sid, data)
        session["vl_sid"] = sid
        session["csrf"] = secrets.token_urlsafe(32)

    def check_csrf() -> None:
        sent = request.form.get("csrf_token", "")
        if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
            raise FlowError("err_csrf", code="csrf")

    def csrf_token() -> str:
        token = session.get("csrf")
        if not token:
            token = session["csrf"] = secrets.token_urlsafe(32)
        return token

    def t(key: str, **params: object) -> str:
        return translate(key, g.lang, **params)

    def error_page(exc: FlowError) -> tuple[str, int]:
        lang = getattr(g, "lang", DEFAULT_LANGUAGE)
        if exc.detail:  # English text of the OP or a library: for the log, not the resident's page
            log.info("Error page %s (%s): %s", exc.key, exc.code, exc.detail)
        return (
            render_template(
                "error.html",
                heading=both("error_heading", first=lang),
                messages=both(exc.key, first=lang, **exc.params),
                next_steps=both(f"next_{exc.key}", first=lang) if f"next_{exc.key}" in STRINGS else None,
                both_what_to_do=both("what_to_do", first=lang),
                code=exc.code,
                action=exc.action,
            ),
            exc.status,
        )

    def begin(flow: str, params: dict[str, str], next_path: str | None = None) -> Response:
        """Start an authorization request (PKCE S256; nonce when ``openid``). ``next_path``:
        where to go after the login instead of the form (one of our own pages)."""
        client = client_for(flow)
        rv = client.create_authorization_url(redirect_uri, **params)
        # Keep the cookie small: Authlib only needs the state data, not the long URL.
        client.save_authorize_data(redirect_uri=redirect_uri, **{k: v for k, v in rv.items() if k != "url"})
        now = time.time()
        flows = {s: info for s, info in (session.get("vl_flows") or {}).items() if now - info.get("t", 0) < FLOW_TTL}
        flows[rv["state"]] = {"flow": flow, "t": now, "max_age": params.get("max_age")}
        if next_path and NEXT_PATH.match(next_path):
            flows[rv["state"]]["next"] = next_path
        while len(flows) > MAX_PENDING_FLOWS:
            oldest = min(flows, key=lambda s: flows[s]["t"])
            client_for(flows.pop(oldest)["flow"]).framework.clear_state_data(session, oldest)
        for name in list(session):
            if name.startswith("_state_") and not any(name.endswith("_" + s) for s in flows):
                session.pop(name)
        session["vl_flows"] = flows
        return redirect(rv["url"])

    def finish_login(client, token: dict[str, Any], info: Mapping[str, Any]) -> None:
        id_claims = token.get("userinfo")  # the validated ID token (Authlib naming)
        if not id_claims or not id_claims.get("sub"):
            raise FlowError("err_id_token", code="missing_id_token")
        max_age = info.get("max_age")
        if max_age not in (None, ""):
            auth_time = id_claims.get("auth_time")
            too_old = not isinstance(auth_time, (int, float)) or (time.time() - auth_time > int(max_age) + CLOCK_LEEWAY)
            if too_old:
                raise FlowError("err_max_age", code="auth_time")
        try:
            userinfo = dict(client.userinfo(token=token))
        except (requests.RequestException, ValueError, OAuthError) as exc:
            raise FlowError("err_userinfo", status=502, detail=str(exc))
        if userinfo.get("sub") != id_claims["sub"]:  # OIDC Core §5.3.2
            raise FlowError("err_userinfo", status=502, code="sub_mismatch")
        previous = current_data() or {}
        same_person = previous.get("mode") == "login" and (previous.get("login") or {}).get("sub") == id_claims["sub"]
        scope = token.get("scope")
        start_session(
            {
                "mode": "login",
                "claims": userinfo,
                "id_token": token.get("id_token"),
                # The access token stays here (server side) for the signing API.
                "token": {
                    "access_token": token.get("access_token"),
                    "scope": " ".join(scope) if isinstance(scope, list) else scope,
                    "expires_at": token.get("expires_at"),
                },
                "login": {
                    "sub": id_claims["sub"],
                    "acr": id_claims.get("acr"),
                    "auth_time": id_claims.get("auth_time"),
                    "amr": id_claims.get("amr"),
                },
                # Logging in again (e.g. to sign) keeps the same person's applications.
                "submissions": (previous.get("submissions") or {}) if same_person else {},
            }
        )

    def finish_anonymous(client, token: dict[str, Any]) -> None:
        meta = metadata()
        endpoint = meta.get("tungban_formdata_endpoint") or f"{settings['VL_ISSUER']}/oidc/formdata"
        try:
            resp = client.get(endpoint, token=token)
            resp.raise_for_status()
            data = resp.json()
        except (requests.RequestException, ValueError, OAuthError) as exc:
            raise FlowError("err_userinfo", status=502, detail=str(exc))
        if not isinstance(data, dict):
            raise FlowError("err_userinfo", status=502, code="formdata_not_object")
        data.pop("sub", None)  # anonymous: never keep an identifier
        start_session({"mode": "anonymous", "claims": data})

    # ------------------------------------------------------------------ request hooks
    @app.before_request
    def choose_language() -> None:
        g.lang = (
            normalise_language(request.args.get("lang"))
            or normalise_language(request.cookies.get(LANG_COOKIE))
            or browser_language(request.accept_languages.values())
            or DEFAULT_LANGUAGE
        )

    @app.after_request
    def finish_response(response: Response) -> Response:
        asked = normalise_language(request.args.get("lang"))
        if asked and asked != request.cookies.get(LANG_COOKIE):
            response.set_cookie(LANG_COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        response.vary.add("Accept-Language")  # the page's language may follow the browser's
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
        )
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.context_processor
    def template_helpers() -> dict[str, Any]:
        lang = getattr(g, "lang", DEFAULT_LANGUAGE)
        other = other_language(lang)
        return {
            "lang": lang,
            "html_lang": "zh-Hant-HK" if lang == "zh-HK" else "en",
            "t": lambda key, **params: translate(key, lang, **params),
            "other_lang": other,
            "other_lang_name": LANGUAGE_NAMES[other],
            "other_html_lang": "zh-Hant-HK" if other == "zh-HK" else "en",
            "lang_switch_url": language_switch_url(other),
            "csrf_token": csrf_token,
        }

    def language_switch_url(other: str) -> str:
        """Same page in the other language; only harmless query parameters are kept."""
        endpoint = request.endpoint
        keep: tuple[str, ...] = ()
        if endpoint == "index":
            keep = ("msg",)
        elif endpoint == "callback" and request.args.get("error"):
            keep = ("error", "error_description")  # keep the OP's error, never replay a code
        elif endpoint not in ("form", "confirmation", "sign_page", "address_page"):
            endpoint = "index"
        args = {k: request.args[k] for k in keep if k in request.args}
        view_args = (request.view_args or {}) if endpoint == request.endpoint else {}
        return url_for(endpoint, **view_args, **args, lang=other)

    @app.errorhandler(FlowError)
    def on_flow_error(exc: FlowError):
        return error_page(exc)

    @app.errorhandler(404)
    def on_not_found(_exc):
        return error_page(FlowError("err_not_found", status=404))

    @app.errorhandler(Exception)
    def on_unexpected(exc: Exception):
        from werkzeug.exceptions import HTTPException

        if isinstance(exc, HTTPException):
            return exc
        log.exception("Unexpected error")
        return error_page(FlowError("err_unexpected", status=500))

    # ------------------------------------------------------------------ pages
    @app.get("/")
    def index():
        """Home page with the two tungban buttons."""
        message = None
        if request.args.get("state"):
            try:
                client_for("login").validate_logout_response()
                message = "msg_logged_out_op"
            except OAuthError:
                message = None
        elif request.args.get("msg") in ("logged_out", "cleared"):
            message = "msg_" + request.args["msg"]
        secret = client_for("login").client_secret or resolve_client_credentials(settings)[1]
        return render_template("index.html", message=message, data=current_data(), configured=bool(secret))

    @app.get("/healthz")
    def healthz():
        """Liveness probe for scripts that start the demo."""
        return {"status": "ok"}

    @app.get("/login")
    def login():
        """Start OIDC login (``?prompt=login`` re-authenticates; ``?max_age=N`` optional)."""
        ensure_credentials()
        metadata()
        params = {"ui_locales": g.lang, "claims": json.dumps(CLAIMS_REQUEST, separators=(",", ":"))}
        if request.args.get("prompt") == "login":
            params["prompt"] = "login"
        max_age = request.args.get("max_age", settings["VL_MAX_AGE"])
        if max_age not in (None, ""):
            try:
                value = int(max_age)
            except (TypeError, ValueError):
                value = -1
            if value >= 0:
                params["max_age"] = str(value)
        return begin("login", params, next_path=request.args.get("next"))

    @app.get("/anonymous")
    def anonymous():
        """Start anonymous form filling (no ``openid`` scope, no ID token, no ``sub``)."""
        ensure_credentials()
        metadata()
        return begin("anonymous", {"ui_locales": g.lang})

    @app.get("/callback")
    def callback():
        """Redirect URI: finish either flow, or show the OP's error."""
        state = request.args.get("state") or ""
        flows = dict(session.get("vl_flows") or {})
        info = flows.pop(state, None) if state else None
        session["vl_flows"] = flows
        error = request.args.get("error")
        if error:
            if state:
                for flow in CLIENT_NAMES:
                    client_for(flow).framework.clear_state_data(session, state)
            key = f"op_{error}" if f"op_{error}" in _KNOWN_OP_ERRORS else "op_other"
            raise FlowError(key, status=400, code=error, detail=request.args.get("error_description"))
        if info is None or time.time() - info.get("t", 0) > FLOW_TTL:
            raise FlowError("err_state", code="invalid_state")
        client = client_for(info["flow"])
        try:
            token = client.authorize_access_token()
        except MismatchingStateError:
            raise FlowError("err_state", code="invalid_state")
        except OAuthError as exc:
            raise FlowError("err_token", status=502, code=exc.error, detail=exc.description)
        except requests.RequestException as exc:
            log.warning("Token request failed: %s", exc)
            raise FlowError("err_unreachable", status=502, issuer=settings["VL_ISSUER"])
        except (JoseError, AuthlibBaseError, ValueError) as exc:
            log.warning("ID token rejected: %r", exc)
            raise FlowError("err_id_token", code=type(exc).__name__, detail=str(exc))
        if info["flow"] == "login":
            finish_login(client, token, info)
            next_path = info.get("next")
            if next_path and NEXT_PATH.match(next_path):
                return redirect(next_path)
        else:
            finish_anonymous(client, token)
        return redirect(url_for("form"))

    def form_context(
        values: dict[str, str], prefilled: set[str], errors: dict[str, str], *, fill_messages: bool = False
    ):
        data = current_data() or {}
        fill = data.get("address_fill") or {}
        address_wsd = address_from_wsd(fill, values.get("address"))
        address_messages, address_error = None, None
        if fill_messages and fill.get("status") in ADDRESS_FAILED:
            address_messages = both(address_error_key(fill["status"], fill.get("error")), first=g.lang)
            address_error = fill.get("error")
        missing = []
        if data.get("mode") == "login":
            missing = [t(f"label_{name}") for name in ESSENTIAL_FIELDS if name not in prefilled]
        login_info = data.get("login") or {}
        auth_time = login_info.get("auth_time")
        auth_time_text = None
        if isinstance(auth_time, (int, float)):
            when = dt.datetime.fromtimestamp(auth_time, tz=HONG_KONG_TIME)
            auth_time_text = when.strftime("%Y-%m-%d %H:%M (HKT)")
        amr = login_info.get("amr")
        return {
            "values": values,
            "prefilled": prefilled,
            "errors": errors,
            "error_order": [name for name in FORM_FIELDS if name in errors],
            "mode": data.get("mode"),
            "login": login_info,
            "acr_label": ACR_LABELS.get(login_info.get("acr") or ""),
            "auth_time_text": auth_time_text,
            "amr_text": " ".join(amr) if isinstance(amr, list) else (amr or ""),
            "login_summary_key": LOGIN_SUMMARY.get(login_info.get("acr") or "", "login_summary_other"),
            "amr_words_key": amr_words_key(amr),
            "missing_essential": "、".join(missing) if g.lang == "zh-HK" else ", ".join(missing),
            # 填表通 through the exchange gateway (after login, with the service's key)
            "address_fill_offered": data.get("mode") == "login"
            and bool(login_info.get("sub"))
            and gateway_configured(),
            "address_wsd": address_wsd,
            "address_exchange_id": fill.get("exchange_id") if address_wsd else None,
            "address_pending": fill_messages and fill.get("status") == "pending",
            "address_messages": address_messages,
            "address_fill_status": fill.get("status"),
            "address_error": address_error,
        }

    @app.route("/form", methods=["GET", "POST"])
    def form():
        """The renewal form, pre-filled from released claims; POST validates it."""
        data = current_data() or {}
        claimed = claims_to_form(data.get("claims"))
        if request.method == "GET":
            # What the resident had typed before fetching the address (see address_start).
            draft = {k: v for k, v in (data.get("draft") or {}).items() if k in FORM_FIELDS}
            values = {**{name: "" for name in FORM_FIELDS}, **claimed, **draft}
            prefilled = {n for n in prefilled_fields(claimed) if values.get(n) == claimed[n]}
            context = form_context(values, prefilled, {}, fill_messages=True)
            return render_template("form.html", **context)

        check_csrf()
        values, errors = validate_form(request.form)
        # The note stays only where the value is still the one tungban released.
        prefilled = {n for n in prefilled_fields(claimed) if values.get(n) == claimed[n]}
        if errors:
            return render_template("form.html", **form_context(values, prefilled, errors)), 400
        if not data:
            start_session({"mode": None})
            data = current_data()
        reference = f"VL-{dt.date.today():%Y%m%d}-{secrets.token_hex(3).upper()}"
        fill = data.pop("address_fill", None) or {}
        data.pop("draft", None)
        data.setdefault("submissions", {})[reference] = {
            "values": values,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            # Where the address came from: the exchange record at the gateway, if any.
            "address_exchange_id": fill.get("exchange_id") if address_from_wsd(fill, values["address"]) else None,
        }
        return redirect(url_for("confirmation", reference=reference))

    @app.get("/confirmation/<reference>")
    def confirmation(reference: str):
        """Bilingual confirmation page with the reference number."""
        data, submission = submission_for(reference)
        signing = submission.get("signing")
        return render_template(
            "confirmation.html",
            reference=reference,
            values=submission["values"],
            heading=both("confirm_heading", first=g.lang),
            fields=FORM_FIELDS,
            signing=signing,
            signed=bool(signing and signing["status"] == "signed"),
            mode=data.get("mode"),
            acr_basic=(data.get("login") or {}).get("acr") == "urn:tungban:acr:basic",
            login_again_url=login_to_sign(reference)[0],
        )

    # ------------------------------------------------------------------ signing the declaration
    def submission_for(reference: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """This browser session's data and its submission ``reference`` (404 otherwise)."""
        data = current_data() or {}
        submission = (data.get("submissions") or {}).get(reference)
        if submission is None:
            raise FlowError("err_not_found", status=404)
        return data, submission

    def declaration_pdf(submission: dict[str, Any], reference: str) -> bytes:
        """The declaration PDF, made once: what the resident previews is what is signed."""
        pdf = submission.get("declaration_pdf")
        if pdf is None:
            pdf = build_declaration(submission["values"], reference, font_path=settings["VL_PDF_FONT"])
            submission["declaration_pdf"] = pdf
        return pdf

    def login_to_sign(reference: str, max_age: Any = None) -> tuple[str, str]:
        args: dict[str, Any] = {"prompt": "login", "next": url_for("confirmation", reference=reference)}
        if isinstance(max_age, int) and max_age >= 0:
            args["max_age"] = max_age
        return url_for("login", **args), "btn_login_to_sign"

    def signing_token(data: dict[str, Any], reference: str, mode: str) -> str:
        """The bearer token for the signing API: the login's access token (signing after
        login) or, without a login, the service's own token (anonymous signing).

        :raises FlowError: the login is gone or expired, or lacks the ``signing`` scope.
        """
        if mode == "login":
            tok = data.get("token") or {}
            expires_at = tok.get("expires_at")
            if not tok.get("access_token") or (isinstance(expires_at, (int, float)) and expires_at < time.time() + 5):
                raise FlowError(
                    "sign_err_login_again", status=401, code="token_expired", action=login_to_sign(reference)
                )
            scope = tok.get("scope")
            if isinstance(scope, str) and SIGNING_SCOPE not in scope.split():
                raise FlowError("sign_err_not_allowed", status=403, code="no_signing_scope")
            return tok["access_token"]
        cached = service_tokens.get("signing")
        if cached and cached["expires_at"] > time.time() + 30:
            return cached["access_token"]
        ensure_credentials()
        meta = metadata()
        client = client_for("login")
        try:
            fresh = service_token(
                meta["token_endpoint"], client.client_id, client.client_secret, settings["VL_HTTP_TIMEOUT"]
            )
        except SigningError as exc:
            raise signing_flow_error(exc, reference, mode)
        service_tokens["signing"] = fresh
        return fresh["access_token"]

    def signing_flow_error(exc: SigningError, reference: str, mode: str) -> FlowError:
        """A bilingual error page for a refused signing request."""
        code = exc.code
        detail = exc.message or None
        if mode == "service" and code == "invalid_token":
            service_tokens.clear()
        if code in SIGNING_LOGIN_AGAIN and mode == "login":
            return FlowError(
                "sign_err_login_again",
                status=401,
                code=code,
                detail=detail,
                action=login_to_sign(reference, exc.details.get("max_age")),
            )
        if code == "unreachable":
            return FlowError("sign_err_unreachable", status=502, code=code, issuer=settings["VL_ISSUER"])
        key = signing_error_key(code)
        if key == "sign_err_failed":
            return FlowError("sign_err_platform", status=502, code=code, detail=detail)
        return FlowError(key, status=exc.status if exc.status >= 400 else 403, code=code, detail=detail)

    def pending_expired(signing: dict[str, Any]) -> bool:
        epoch = hk_time(signing.get("expires_at"))[1]
        return epoch is not None and epoch < time.time()

    def apply_result(signing: dict[str, Any], submission: dict[str, Any], result: dict[str, Any]) -> None:
        status = result.get("status")
        if status == "signed":
            try:
                submission["signed_pdf"] = signed_document(result, submission["declaration_pdf"])
            except SigningError as exc:
                signing.update(status="error", error=exc.code)
                return
            signer = result.get("signer") or {}
            signing.update(
                status="signed",
                signed_at=result.get("signed_at"),
                signer_name=str(signer.get("name") or ""),
                serial=str(signer.get("serial") or ""),
            )
        elif status in ("declined", "expired", "failed"):
            signing.update(
                status=status, error=(result.get("error") or "signing_failed") if status == "failed" else None
            )

    def refresh_signing(data: dict[str, Any], submission: dict[str, Any], reference: str) -> dict[str, Any] | None:
        """Ask the platform for a pending request's result (at most once per poll interval)."""
        signing = submission.get("signing")
        if not signing or signing["status"] != "pending":
            return signing
        now = time.time()
        if now - signing.get("checked_at", 0) < settings["VL_SIGNING_POLL_SECONDS"] * 0.75:
            return signing
        signing["checked_at"] = now
        try:
            result = signing_api.get(signing_token(data, reference, signing["mode"]), signing["id"])
        except FlowError as exc:  # the login's token has expired: the result cannot be fetched
            signing.update(status="error", error=exc.code or "token_expired")
            return signing
        except SigningError as exc:
            if exc.code in ("unreachable", "bad_response") or exc.status >= 500:
                signing["problem"] = exc.code  # transient: keep asking
            else:
                if signing["mode"] == "service" and exc.code == "invalid_token":
                    service_tokens.clear()
                signing.update(status="error", error=exc.code)
            return signing
        signing["problem"] = None
        apply_result(signing, submission, result)
        return signing

    @app.get("/declaration/<reference>.pdf")
    def declaration(reference: str):
        """The declaration to sign (not signed), to read before signing."""
        _data, submission = submission_for(reference)
        response = Response(declaration_pdf(submission, reference), mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="{file_name(reference)}"'
        return response

    @app.post("/sign/<reference>")
    def sign_start(reference: str):
        """Generate the declaration and ask tungban for the resident's signature."""
        check_csrf()
        data, submission = submission_for(reference)
        current = submission.get("signing")
        if current and (
            current["status"] == "signed" or (current["status"] == "pending" and not pending_expired(current))
        ):
            return redirect(url_for("sign_page", reference=reference), code=303)
        mode = "login" if data.get("mode") == "login" else "service"
        token = signing_token(data, reference, mode)
        pdf = declaration_pdf(submission, reference)
        digest = hashlib.sha256(pdf).hexdigest()
        try:
            result = signing_api.create(
                token, [(file_name(reference), pdf)], reason=SIGNING_REASON.format(reference=reference)
            )
        except SigningError as exc:
            raise signing_flow_error(exc, reference, mode)
        approval_uri = str(result.get("approval_uri") or "")
        docs = result.get("documents") or [{}]
        if not approval_uri.startswith(settings["VL_ISSUER"] + "/") or docs[0].get("sha256") != digest:
            # Never send the resident to another site, nor wait for another document.
            raise FlowError("sign_err_platform", status=502, code="bad_response")
        code = comparison_code(approval_uri.rstrip("/").rsplit("/", 1)[-1], [digest])
        if result.get("comparison_code") not in (None, code):
            raise FlowError("sign_err_platform", status=502, code="bad_response")
        submission.pop("signed_pdf", None)
        submission["signing"] = {
            "id": str(result["id"]),
            "mode": mode,
            "status": result["status"],
            "approval_uri": approval_uri,
            "expires_at": result.get("expires_at"),
            "document_name": file_name(reference),
            "sha256": digest,
            "comparison_code": code,
            "checked_at": time.time(),
            "problem": None,
            "error": None,
        }
        return redirect(url_for("sign_page", reference=reference), code=303)

    @app.get("/sign/<reference>")
    def sign_page(reference: str):
        """Approve in the app (link / QR code), then the result: signed, or why not."""
        data, submission = submission_for(reference)
        signing = refresh_signing(data, submission, reference)
        if not signing:
            return redirect(url_for("confirmation", reference=reference))
        status = signing["status"]
        context: dict[str, Any] = {"reference": reference, "signing": signing, "status": status, "action": None}
        if status == "pending":
            expires_text, expires_epoch = hk_time(signing.get("expires_at"))
            context.update(
                heading=both("sign_heading", first=g.lang),
                qr_svg=qr_svg(signing["approval_uri"], t("sign_qr_title")),
                expires_text=expires_text,
                expires_epoch=int(expires_epoch) if expires_epoch else "",
                digest_groups=digest_groups(signing["sha256"]),
                compare_code=signing.get("comparison_code")
                or comparison_code(signing["approval_uri"].rstrip("/").rsplit("/", 1)[-1], [signing["sha256"]]),
                poll_ms=int(settings["VL_SIGNING_POLL_SECONDS"] * 1000),
            )
        elif status == "signed":
            signed_text, _epoch = hk_time(signing.get("signed_at"))
            context.update(
                heading=both("sign_done_heading", first=g.lang),
                messages=both("sign_signed_by", first=g.lang, name=signing.get("signer_name") or "?", time=signed_text),
            )
        else:
            key = {"declined": "sign_declined", "expired": "sign_expired"}.get(status) or signing_error_key(
                signing.get("error")
            )
            if key == "sign_err_login_again" and signing["mode"] == "login":
                context["action"] = login_to_sign(reference)
            context.update(
                heading=both("sign_not_signed_heading", first=g.lang),
                messages=both(key, first=g.lang),
                # Signing again cannot help until the account itself changes.
                retry=key not in ("sign_err_plus_required", "sign_err_account_suspended", "sign_err_not_allowed"),
            )
        return render_template("sign.html", **context)

    @app.get("/sign/<reference>/status")
    def sign_status(reference: str):
        """Polled by the signing page: ``{"status": pending|signed|declined|expired|failed|error}``."""
        data, submission = submission_for(reference)
        signing = refresh_signing(data, submission, reference)
        if not signing:
            return {"status": "none"}, 404
        return {"status": signing["status"], "problem": bool(signing.get("problem"))}

    @app.get("/sign/<reference>/signed.pdf")
    def signed_pdf(reference: str):
        """Download the signed declaration (kept by this service once signed)."""
        _data, submission = submission_for(reference)
        pdf = submission.get("signed_pdf")
        if not pdf:
            raise FlowError("err_not_found", status=404)
        response = Response(pdf, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'attachment; filename="declaration-{reference}-signed.pdf"'
        return response

    # ------------------------------------------------------------------ 填表通: address from the WSD
    gateway: dict[str, Any] = {}  # the DataUser, made (again) when the key or client id changes
    fill_lock = threading.Lock()

    def data_user() -> DataUser | None:
        """The service's client of the exchange gateway, or None without a key. The key is
        read each time, so one written after start-up (``tungban demo``) is picked up."""
        key = resolve_private_jwk(settings)
        if not key:
            return None
        client_id = client_for("login").client_id
        if not client_for("login").client_secret:
            client_id = resolve_client_credentials(settings)[0]
        ident = (client_id, json.dumps(key, sort_keys=True))
        with fill_lock:
            if gateway.get("ident") != ident:
                gateway["ident"] = ident
                gateway["user"] = DataUser(settings["VL_ISSUER"], client_id, key, timeout=settings["VL_HTTP_TIMEOUT"])
            return gateway["user"]

    def gateway_configured() -> bool:
        return resolve_private_jwk(settings) is not None

    def gateway_call(method, *args, **kwargs) -> dict[str, Any]:
        """Call a :class:`DataUser` method; every failure becomes a :class:`DataUserError`
        (``unreachable`` for the network, the OAuth error code for a refused token)."""
        try:
            result = method(*args, **kwargs)
        except DataUserError as exc:
            if exc.code == "invalid_token":
                gateway.clear()  # a fresh client gets a fresh token next time
            raise
        except requests.RequestException as exc:
            log.warning("Exchange gateway unreachable: %s", exc)
            raise DataUserError("unreachable", str(exc), 0) from None
        except AuthlibBaseError as exc:  # the token endpoint refused the client
            log.warning("Exchange gateway token refused: %s", exc)
            raise DataUserError(exc.error or "invalid_client", str(exc.description or ""), 401) from None
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            log.warning("Exchange gateway call failed: %r", exc)
            raise DataUserError("bad_key" if isinstance(exc, JoseError) else "bad_response", str(exc), 0) from None
        if not isinstance(result, dict):
            raise DataUserError("bad_response", "not a JSON object", 0)
        return result

    def address_from_wsd(fill: Mapping[str, Any], value: str | None) -> bool:
        """Whether the address box still holds what the gateway supplied."""
        return fill.get("status") == "filled" and (value or "").strip() == str(fill.get("value") or "").strip() != ""

    def fetch_address(data: dict[str, Any], fill: dict[str, Any], user: DataUser) -> None:
        """Obtain the address under the active consent and put it into the form's draft."""
        try:
            answer = gateway_call(user.fetch, fill["consent_id"], WSD_PRODUCT)
            value = format_wsd_address(answer.get("data"))
        except DataUserError as exc:
            fill.update(status="error", error=exc.code, problem=None)
            return
        except ValueError:
            fill.update(status="error", error="provider_bad_data", problem=None)
            return
        fill.update(
            status="filled", value=value, exchange_id=str(answer.get("exchange_id") or ""), error=None, problem=None
        )
        data.setdefault("draft", {})["address"] = value

    def advance_fill(data: dict[str, Any], fill: dict[str, Any], user: DataUser) -> None:
        """Ask the gateway about the consent; once active, fetch the address (once)."""
        try:
            consent = gateway_call(user.consent, fill["consent_id"])
        except DataUserError as exc:
            if exc.code in ("unreachable", "bad_response") or exc.status >= 500:
                fill["problem"] = exc.code  # transient: keep asking until the request expires
                epoch = hk_time(fill.get("expires_at"))[1]
                if epoch is not None and epoch + 30 < time.time():
                    fill.update(status="expired", problem=None)
            else:
                fill.update(status="error", error=exc.code, problem=None)
            return
        fill["problem"] = None
        status = consent.get("status")
        if status == "requested":
            return
        if status == "active":
            fetch_address(data, fill, user)
        elif status in ("declined", "expired", "revoked"):
            fill.update(status=status, error=None)
        else:  # exhausted (used elsewhere) or unknown
            fill.update(status="error", error=f"consent_{status}")

    def refresh_fill(data: dict[str, Any]) -> dict[str, Any] | None:
        """Advance a waiting address request (at most once per poll interval, one at a time:
        the consent allows a single use)."""
        fill = data.get("address_fill")
        if not fill or fill["status"] != "pending":
            return fill
        now = time.time()
        with fill_lock:
            if fill.get("busy") or now - fill.get("checked_at", 0) < settings["VL_SIGNING_POLL_SECONDS"] * 0.75:
                return fill
            fill.update(busy=True, checked_at=now)
        try:
            user = data_user()
            if user is None:
                fill.update(status="error", error="not_configured")
            else:
                advance_fill(data, fill, user)
        finally:
            fill["busy"] = False
        return fill

    def back_to_address() -> Response:
        return redirect(url_for("form", _anchor="address"), code=303)

    @app.post("/address/wsd")
    def address_start():
        """The form's "Fill my address from the Water Supplies Department": keep what was
        typed, ask the gateway for the resident's consent, show the approval link."""
        check_csrf()
        data = current_data() or {}
        sub = (data.get("login") or {}).get("sub")
        if data.get("mode") != "login" or not sub:
            raise FlowError(
                "addr_err_login_again", status=401, code="login_required", action=(url_for("login"), "btn_login")
            )
        data["draft"] = {name: str(request.form.get(name, "") or "") for name in FORM_FIELDS}
        user = data_user()
        if user is None:
            raise FlowError("addr_err_not_configured", status=503, code="not_configured")
        old = data.get("address_fill") or {}
        if old.get("status") == "pending":
            epoch = hk_time(old.get("expires_at"))[1]
            if epoch is None or epoch > time.time():
                return redirect(url_for("address_page"), code=303)  # already waiting for this one
        if old.get("status") == "error" and old.get("error") in RETRYABLE and old.get("consent_id"):
            # A failed request does not use the consent up: try again under the same one.
            try:
                active = gateway_call(user.consent, old["consent_id"]).get("status") == "active"
            except DataUserError:
                active = False
            if active:
                fetch_address(data, old, user)
                return back_to_address()
        try:
            consent = gateway_call(
                user.request_consent, WSD_PRODUCT, PURPOSES[g.lang], CONSENT_SECONDS, max_uses=MAX_USES, sub=sub
            )
        except DataUserError as exc:
            data["address_fill"] = {"status": "error", "error": exc.code}
            return back_to_address()
        approval_uri = str(consent.get("approval_uri") or "")
        if (
            consent.get("status") != "requested"
            or not consent.get("id")
            or not approval_uri.startswith(settings["VL_ISSUER"] + "/")
        ):
            # Never send the resident to another site.
            data["address_fill"] = {"status": "error", "error": "bad_response"}
            return back_to_address()
        data["address_fill"] = {
            "status": "pending",
            "consent_id": str(consent["id"]),
            "approval_uri": approval_uri,
            "expires_at": consent.get("approval_expires_at"),
            "checked_at": time.time(),
            "problem": None,
            "error": None,
        }
        return redirect(url_for("address_page"), code=303)

    @app.get("/address/wsd")
    def address_page():
        """Approve in the app (link / QR code); back to the form once answered."""
        data = current_data() or {}
        fill = refresh_fill(data)
        if not fill or fill["status"] != "pending":
            return redirect(url_for("form", _anchor="address"))
        expires_text, expires_epoch = hk_time(fill.get("expires_at"))
        return render_template(
            "address.html",
            fill=fill,
            heading=both("addr_heading", first=g.lang),
            purpose=PURPOSES[g.lang],
            qr_svg=qr_svg(fill["approval_uri"], t("addr_qr_title")),
            expires_text=expires_text if expires_epoch else "",
            expires_epoch=int(expires_epoch) if expires_epoch else "",
            poll_ms=int(settings["VL_SIGNING_POLL_SECONDS"] * 1000),
        )

    @app.get("/address/wsd/status")
    def address_status():
        """Polled by the address page: ``{"status": pending|filled|declined|expired|revoked|error}``."""
        fill = refresh_fill(current_data() or {})
        if not fill:
            return {"status": "none"}, 404
        return {"status": fill["status"], "problem": bool(fill.get("problem"))}

    @app.post("/address/wsd/cancel")
    def address_cancel():
        """Stop waiting (the request then expires at the gateway unanswered)."""
        check_csrf()
        data = current_data() or {}
        if (data.get("address_fill") or {}).get("status") == "pending":
            data.pop("address_fill")
        return back_to_address()

    @app.route("/logout", methods=["GET", "POST"])
    def logout():
        """Forget local data; after a login, also RP-initiated logout at tungban."""
        data = store.pop(session.pop("vl_sid", None)) or {}
        session.pop("csrf", None)
        if data.get("mode") == "login" and data.get("id_token"):
            client = client_for("login")
            try:
                meta = client.load_server_metadata()
            except (requests.RequestException, ValueError):
                meta = {}
            if meta.get("end_session_endpoint"):
                return client.logout_redirect(
                    post_logout_redirect_uri=post_logout_uri,
                    id_token_hint=data["id_token"],
                    client_id=client.client_id,
                    ui_locales=g.lang,
                )
        msg = "logged_out" if data.get("mode") == "login" else "cleared"
        return redirect(url_for("index", msg=msg))

    return app


_KNOWN_OP_ERRORS = {
    "op_access_denied",
    "op_login_required",
    "op_consent_required",
    "op_interaction_required",
    "op_invalid_request",
    "op_invalid_scope",
    "op_unauthorized_client",
    "op_server_error",
    "op_temporarily_unavailable",
}


def main() -> None:
    """Start the development server on ``VL_HOST``:``VL_PORT``."""
    logging.basicConfig(level=logging.INFO)
    app = create_app()
    settings = app.config["VL"]
    app.run(host=settings["VL_HOST"], port=settings["VL_PORT"], debug=False)


if __name__ == "__main__":  # pragma: no cover
    main()
