"""Security headers on every page (issue 13 item 7): the Content-Security-Policy (also
``wallet/tests/test_csp.py``), a Permissions-Policy that denies powerful features (the
camera only on 認證易, which scans QR codes), HSTS behind TLS (also behind a TLS-terminating
proxy named by ``TUNGBAN_PROXY_SSL_HEADER``), and the API docs that work offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

PAGES = [
    "/",
    "/app/",
    "/api/v1/docs",
    "/api/v1/openapi.json",
    "/admin/login/",
    "/staff/",
    "/verify/",
    "/signing/verify",
    "/oidc/authorize",
    "/.well-known/openid-configuration",
]
DENIED = ["camera", "geolocation", "microphone", "payment", "usb", "serial", "hid", "bluetooth", "display-capture"]


def _policy(header: str) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in header.split(","))


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_csp_and_permissions_policy(client, path):
    response = client.get(path, follow=False)
    assert response.status_code < 500
    assert "default-src 'self'" in response["Content-Security-Policy"]
    policy = _policy(response["Permissions-Policy"])
    for feature in DENIED:
        if feature == "camera" and path == "/verify/":
            continue
        assert policy[feature] == "()", (path, feature)
    # passkeys (the app) stay usable on our own origin
    assert policy["publickey-credentials-get"] == "(self)" and policy["publickey-credentials-create"] == "(self)"


@pytest.mark.django_db
def test_the_verifier_page_may_use_the_camera_for_qr_codes(client):
    policy = _policy(client.get("/verify/")["Permissions-Policy"])
    assert policy["camera"] == "(self)" and policy["microphone"] == "()" and policy["geolocation"] == "()"


@pytest.mark.django_db
def test_hsts_is_sent_over_tls_and_behind_a_tls_proxy(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert "Strict-Transport-Security" not in client.get("/")  # plain HTTP: never
    behind_proxy = client.get("/", HTTP_X_FORWARDED_PROTO="https")
    assert behind_proxy["Strict-Transport-Security"] == "max-age=31536000"
    assert client.get("/", secure=True)["Strict-Transport-Security"] == "max-age=31536000"


def _settings_with(env: dict) -> dict:
    """The security settings ``tungban.settings`` computes from ``env`` (a fresh process)."""
    src = Path(__file__).resolve().parents[2]
    code = (
        "import json, tungban.settings as s; print(json.dumps({k: getattr(s, k, None) for k in "
        "['SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', "
        "'SECURE_PROXY_SSL_HEADER', 'SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE']}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TUNGBAN_HSTS", "TUNGBAN_PROXY", "TUNGBAN_SSL"))}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "PYTHONPATH": str(src), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_hsts_settings_follow_the_issuer_and_the_environment():
    plain = _settings_with({"TUNGBAN_ISSUER": "http://localhost:8000"})
    assert plain["SECURE_HSTS_SECONDS"] == 0 and plain["SECURE_PROXY_SSL_HEADER"] is None
    tls = _settings_with({"TUNGBAN_ISSUER": "https://id.example.gov.hk"})
    assert tls["SECURE_HSTS_SECONDS"] == 31536000 and tls["SESSION_COOKIE_SECURE"] is True
    assert tls["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False and tls["SECURE_HSTS_PRELOAD"] is False
    proxied = _settings_with(
        {
            "TUNGBAN_ISSUER": "https://id.example.gov.hk",
            "TUNGBAN_PROXY_SSL_HEADER": "X-Forwarded-Proto: https",
            "TUNGBAN_HSTS_SECONDS": "600",
            "TUNGBAN_HSTS_INCLUDE_SUBDOMAINS": "1",
        }
    )
    assert proxied["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert proxied["SECURE_HSTS_SECONDS"] == 600 and proxied["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_api_docs_render_offline(issuer, e2e_browser):
    """Every request that leaves the platform's host is blocked; Swagger UI still renders
    the API (it comes from the platform's own static files, not a CDN)."""
    context = e2e_browser.new_context(locale="en-GB")
    own = urlsplit(issuer).netloc
    blocked = []

    def gate(route):
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", gate)
    page = context.new_page()
    page.goto(issuer + "/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info .title:has-text('tungban API')")
    page.wait_for_selector(".swagger-ui .opblock-summary-path[data-path='/api/v1/signing/verify']")
    assert page.locator(".swagger-ui .opblock").count() >= 30
    context.close()
    assert blocked == []
