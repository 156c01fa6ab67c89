"""The API kit end to end: one error shape from every source (domain errors, auth classes,
ninja's validation and parse errors), the RFC 6750 challenges, and the codes in OpenAPI."""

from __future__ import annotations

import json
import time

import pytest

from tungban.core.errors import declared_errors

APPS = (
    "wallet",
    "identity",
    "signing",
    "exchange",
    "credentials",
    "ledger",
    "oidc",
    "committees",
    "compute",
    "corpid",
    "counter",
    "eservices",
    "miniapps",
    "notify",
    "payments",
    "subsidy",
)
#: Apps whose errors reach pages only (no router in the API).
PAGES_ONLY = {"committees", "compute", "counter"}


def _shape(body: dict) -> None:
    assert set(body) <= {"error", "message", "field", "details"}, body
    assert isinstance(body["error"], str) and isinstance(body["message"], str) and "field" in body


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/signing/requests", "/api/v1/exchange/consents", "/api/v1/credentials/issue"])
def test_bearer_apis_challenge_without_a_token(client, path):
    response = client.post(path, {}, content_type="application/json")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="tungban"'  # RFC 6750 §3: no error code
    body = response.json()
    _shape(body)
    assert body["error"] == "invalid_token"
    other_scheme = client.post(path, {}, content_type="application/json", HTTP_AUTHORIZATION="Basic eDp5")
    assert other_scheme.status_code == 401 and other_scheme.json()["error"] == "invalid_token"


@pytest.mark.django_db
def test_userinfo_without_a_bearer_token_gets_the_bare_challenge(client):
    """RFC 6750 §3.1: a request with no credentials (or another scheme) gets no error code in
    the challenge; Authlib's ``missing_authorization`` is not an RFC 6750 code."""
    for headers in ({}, {"HTTP_AUTHORIZATION": "Basic eDp5"}):
        response = client.get("/oidc/userinfo", **headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="tungban"'
        assert response.content == b""  # no error information at all (issue 13 item 17: one format only)


@pytest.mark.django_db
def test_a_token_without_the_scope_is_insufficient_scope_naming_it(client):
    from tungban.oidc.models import Token, access_token_digest
    from tungban.testing.factories import make_client

    Token.objects.create(
        access_token=access_token_digest("t" * 40),
        client=make_client()[0],
        scope="openid",
        issued_at=int(time.time()),
        expires_in=600,
    )
    response = client.get("/api/v1/signing/requests/x", HTTP_AUTHORIZATION="Bearer " + "t" * 40)
    assert response.status_code == 403 and response.json()["error"] == "insufficient_scope"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="tungban", error="insufficient_scope", scope="signing"'
    unknown = client.get("/api/v1/signing/requests/x", HTTP_AUTHORIZATION="Bearer nope")
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in unknown.headers["WWW-Authenticate"]


@pytest.mark.django_db
def test_device_calls_without_a_proof_are_device_auth_required(client):
    for path in ("/api/v1/wallet/pending", "/api/v1/exchange/app/consents", "/api/v1/credentials/app/credentials"):
        response = client.get(path)
        assert response.status_code == 401, path
        _shape(response.json())
        assert response.json()["error"] == "device_auth_required"


@pytest.mark.django_db
def test_ninja_parse_and_validation_errors_have_the_platform_shape(client):
    unparsable = client.post("/api/v1/wallet/bindings", "{not json", content_type="application/json")
    assert unparsable.status_code == 400
    _shape(unparsable.json())
    assert unparsable.json()["error"] == "invalid_request"
    invalid = client.post("/api/v1/wallet/bindings", {"hkid": 5}, content_type="application/json")
    assert invalid.status_code == 422
    body = invalid.json()
    _shape(body)
    assert body["error"] == "invalid_request" and body["field"] in ("hkid", "activation_code")
    assert isinstance(body["details"]["errors"], list) and body["details"]["errors"][0]["loc"]
    missing = client.get("/api/v1/log/inclusion")
    assert missing.status_code == 422 and missing.json()["field"] == "leaf_index"


@pytest.mark.django_db
def test_domain_errors_keep_their_codes_and_messages(client):
    response = client.post(
        "/api/v1/wallet/bindings",
        json.dumps({"hkid": "A123456", "activation_code": "x"}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "hkid_format",
        "message": "An HKID number is 1 or 2 letters, 6 digits and a check digit, e.g. A123456(3).",
        "field": "hkid",
    }


@pytest.mark.django_db
def test_openapi_has_one_error_schema_and_every_apps_codes(client):
    doc = client.get("/api/v1/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert "ErrorOut" in schemas and "Error" not in schemas
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorOut"), (method, path, status)
            if operation.get("security"):
                assert "401" in operation["responses"], (method, path)
    published = {c["code"] for t in doc["tags"] for c in t["x-error-codes"]}
    import importlib

    for app in APPS:
        if app == "oidc":  # client registration codes; the bearer ones are in the description
            continue
        if app in PAGES_ONLY:  # no JSON API: their codes reach pages only
            continue
        module = importlib.import_module(f"tungban.{app}.errors")
        assert {e.code for e in declared_errors(module)} <= published, app
    assert "`invalid_token` (401), `insufficient_scope` (403)" in doc["info"]["description"]
    wallet = next(t for t in doc["tags"] if t["name"] == "wallet")
    assert "| `no_request` | 404 | This request does not exist. |" in wallet["description"]


def test_the_oidc_domain_services_do_not_import_the_authorization_server():
    import ast
    from pathlib import Path

    import tungban.oidc.services as services

    tree = ast.parse(Path(services.__file__).read_text())
    imported = {
        alias.name if node.module is None else f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    } | {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(name in ("server", "resource") or name.endswith((".server", ".resource")) for name in imported)


def test_every_declared_message_keeps_its_zh_hant_translation():
    """Declaring a code must not orphan its msgid: each translatable default message is
    translated (plain str defaults are operator-facing and stay English)."""
    import importlib

    from django.utils import translation
    from django.utils.functional import Promise

    untranslated = []
    for app in APPS:
        for error in declared_errors(importlib.import_module(f"tungban.{app}.errors")):
            if not isinstance(error.default_message, Promise):
                continue
            with translation.override("en"):
                english = str(error.default_message)
            with translation.override("zh-hant"):
                chinese = str(error.default_message)
            if chinese == english:
                untranslated.append(error.code)
    assert untranslated == []
