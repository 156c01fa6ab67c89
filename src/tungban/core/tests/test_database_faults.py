"""Database faults (issue 14 item 8): after ``pg_ctl restart`` some exchanges got ``500
bad_response`` and some issuances Django's HTML "Server Error (500)". A request that meets a
lost or unavailable database gets a retryable 503 with ``Retry-After`` — JSON on the API and
the OAuth endpoints, a short page elsewhere; any other unhandled error under ``/api/`` is a
JSON 500; ``/healthz`` and ``/readyz`` tell a load balancer when to stop sending traffic; and
statements are bounded on PostgreSQL (``lock_timeout``, ``statement_timeout``) except in the
long-running commands."""

from __future__ import annotations

import contextlib
import json
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import InterfaceError, OperationalError, connection, transaction
from django.http.multipartparser import MultiPartParserError
from django.test import Client, RequestFactory

from tungban.core import db as core_db

#: Statements the test's own transaction needs when a request fails (savepoint handling).
_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK")


@contextlib.contextmanager
def database_down(error: Exception | None = None):
    """Every query of this thread fails as with a restarted PostgreSQL (``server closed the
    connection unexpectedly``), through Django's own hook (``connection.execute_wrapper``)."""
    error = error or OperationalError("server closed the connection unexpectedly")

    def fail(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(_TRANSACTION_CONTROL):
            return execute(sql, params, many, context)
        raise error

    with connection.execute_wrapper(fail):
        yield


def _assert_retryable(response, settings) -> dict:
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(settings.TUNGBAN_UNAVAILABLE_RETRY_AFTER)
    assert response["Cache-Control"] == "no-store"
    return response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "error",
    [OperationalError("server closed the connection unexpectedly"), InterfaceError("connection already closed")],
)
def test_an_api_request_meeting_a_lost_connection_gets_a_json_503(client, settings, error):
    with database_down(error):
        response = client.get("/api/v1/log/head", HTTP_ACCEPT_LANGUAGE="en")
    body = _assert_retryable(response, settings)
    assert body == {
        "error": "service_unavailable",
        "message": f"The service is temporarily unavailable: try again in {settings.TUNGBAN_UNAVAILABLE_RETRY_AFTER} seconds.",
        "field": None,
        "details": {"retry_after": settings.TUNGBAN_UNAVAILABLE_RETRY_AFTER},
    }


@pytest.mark.django_db
def test_a_creating_api_call_meeting_a_lost_connection_gets_a_json_503_in_the_requests_language(client, settings):
    """A POST (an issuance) with its auth lookup failing: the platform's error body, translated."""
    with database_down():
        response = client.post(
            "/api/v1/credentials/issue",
            {},
            content_type="application/json",
            HTTP_AUTHORIZATION="Bearer " + "t" * 40,
            HTTP_ACCEPT_LANGUAGE="zh-HK",
        )
    body = _assert_retryable(response, settings)
    assert body["error"] == "service_unavailable"
    assert body["message"] == f"服務暫時無法使用，請於 {settings.TUNGBAN_UNAVAILABLE_RETRY_AFTER} 秒後再試。"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/oidc/token", "/oidc/par", "/oidc/revoke", "/oidc/userinfo", "/oidc/jwks"])
def test_the_oauth_json_endpoints_answer_a_json_503(client, settings, path):
    data = {"grant_type": "authorization_code", "code": "x", "client_id": "c", "client_secret": "s", "token": "t"}
    with database_down():
        send = client.get if path == "/oidc/jwks" else client.post
        response = send(path, data, secure=True, HTTP_AUTHORIZATION="Bearer " + "t" * 40)
    body = _assert_retryable(response, settings)
    # RFC 6749 §5.2's shape (ASCII error_description), as the OAuth endpoints' other errors
    assert body["error"] == "service_unavailable"
    assert body["error_description"].startswith("The service is temporarily unavailable")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "language, first, second",
    [
        ("en", "Service temporarily unavailable", "服務暫時無法使用"),
        ("zh-HK", "服務暫時無法使用", "Service temporarily unavailable"),
    ],
)
def test_a_page_meeting_a_lost_connection_gets_a_short_bilingual_503_page(client, settings, language, first, second):
    with database_down():
        response = client.get("/oidc/authorize?client_id=c&response_type=code", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == str(settings.TUNGBAN_UNAVAILABLE_RETRY_AFTER)
    page = response.content.decode()
    assert first in page and second in page and page.index(first) < page.index(second)
    assert "Server Error" not in page


@pytest.mark.django_db
def test_the_authorization_pages_status_poll_answers_a_json_503(settings):
    """The page's script polls ``/oidc/authorize/<id>/status`` for JSON: a fault there is the
    API's JSON 503, not the page. (The browser that started the request has its secret in
    its binding cookie: without one the poll is a 404 that reads nothing.)"""
    from tungban.oidc import binding

    approval_id = "7f6c8a52-6a1e-4c1e-9d8e-1f2a3b4c5d6e"
    client = Client(raise_request_exception=False)
    client.cookies[binding.cookie_name()] = f"{approval_id}:{'s' * 32}"
    with database_down():
        response = client.get(f"/oidc/authorize/{approval_id}/status", HTTP_ACCEPT_LANGUAGE="en")
    assert _assert_retryable(response, settings)["error"] == "service_unavailable"


@pytest.mark.django_db
def test_a_fault_met_in_a_middleware_is_a_503_too(settings):
    """A session cookie makes the staff-session middleware load the session before any view:
    its failure goes through ``handler500``, which answers 503 for a database fault."""
    client = Client(raise_request_exception=False)
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32
    with database_down():
        page = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
        api = client.get("/api/v1/log/head", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 503 and "Service temporarily unavailable" in page.content.decode()
    assert _assert_retryable(api, settings)["error"] == "service_unavailable"


@pytest.mark.django_db
def test_an_unhandled_error_under_the_api_is_a_json_500(client):
    with mock.patch("tungban.ledger.transparency.signed_tree_head", side_effect=RuntimeError("boom")):
        response = client.get("/api/v1/log/head", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": "server_error",
        "message": "An unexpected error occurred on the server; it has been logged.",
        "field": None,
    }
    assert "boom" not in response.content.decode()


def test_the_error_handler_answers_json_under_the_api():
    """``handler500`` (errors outside views) answers in the API's shape under ``/api/``."""
    from django.urls import get_resolver

    from tungban.core.faults import server_error

    assert get_resolver().resolve_error_handler(500) is server_error
    request = RequestFactory().get("/api/v1/log/head")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        response = server_error(request)
    assert response.status_code == 500 and json.loads(response.content)["error"] == "server_error"


# --- Health and readiness -------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_without_the_database(client):
    with database_down():
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_is_ready_with_the_database_and_its_migrations(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


@pytest.mark.django_db
def test_readyz_is_503_while_the_database_is_down(client, settings):
    with database_down():
        response = client.get("/readyz")
    body = _assert_retryable(response, settings)
    assert body["error"] == "service_unavailable"
    assert body["details"]["checks"] == {"database": "unavailable", "migrations": "unknown"}


@pytest.mark.django_db
def test_readyz_is_503_while_migrations_are_pending(client, settings):
    leaves = {*core_db.migration_leaves(), ("core", "9999_not_yet_applied")}
    with mock.patch("tungban.core.db.migration_leaves", return_value=leaves):
        response = client.get("/readyz")
    body = _assert_retryable(response, settings)
    assert body["details"]["checks"] == {"database": "ok", "migrations": "pending"}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_a_load_balancer_whatever_the_host_and_scheme(client, settings, path):
    """A load balancer probes a backend by address over plain HTTP: no 400 for the host, no
    redirect to HTTPS, no rate limit (they come before every other middleware)."""
    settings.ALLOWED_HOSTS = ["gov.example"]
    settings.SECURE_SSL_REDIRECT = True
    assert settings.MIDDLEWARE[0] == "tungban.core.health.ProbeMiddleware"
    for _ in range(3):
        response = client.get(path, HTTP_HOST="10.0.0.7:8000")
        assert response.status_code == 200, response.content


# --- Connection settings --------------------------------------------------------------------


def test_postgresql_connections_are_health_checked_and_bounded():
    database = core_db.database_settings(
        "postgres://u:p@db.internal:5432/tungban?options=-c%20search_path%3Dtungban",
        conn_max_age=120,
        lock_timeout_ms=4000,
        statement_timeout_ms=20000,
        connect_timeout=3,
    )
    assert database["CONN_MAX_AGE"] == 120 and database["CONN_HEALTH_CHECKS"] is True
    assert database["OPTIONS"]["options"] == "-c search_path=tungban -c lock_timeout=4000 -c statement_timeout=20000"
    assert database["OPTIONS"]["connect_timeout"] == 3


def test_the_platform_settings_bound_postgresql_statements(settings):
    from django.conf import settings as django_settings

    assert settings.TUNGBAN_DB_LOCK_TIMEOUT_MS == 5000 and settings.TUNGBAN_DB_STATEMENT_TIMEOUT_MS == 30000
    assert django_settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    if django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        options = django_settings.DATABASES["default"]["OPTIONS"]["options"]
        assert "-c lock_timeout=5000" in options and "-c statement_timeout=30000" in options


def _pg_setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT setting FROM pg_settings WHERE name = %s", [name])
        return cursor.fetchone()[0]


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="statement bounds are PostgreSQL settings"
)


@postgresql_only
@pytest.mark.django_db
def test_a_postgresql_session_has_the_configured_bounds(settings):
    """Also after the test database's ``migrate``, which ran unbounded."""
    assert _pg_setting("lock_timeout") == str(settings.TUNGBAN_DB_LOCK_TIMEOUT_MS)
    assert _pg_setting("statement_timeout") == str(settings.TUNGBAN_DB_STATEMENT_TIMEOUT_MS)


@postgresql_only
@pytest.mark.django_db
def test_a_statement_over_the_timeout_is_cancelled_as_an_operational_error():
    """psycopg's QueryCanceled is an OperationalError: a request cut off answers 503."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 50")
        with pytest.raises(OperationalError):
            cursor.execute("SELECT pg_sleep(1)")


@pytest.mark.django_db
def test_long_running_work_is_unbounded_and_bounded_again():
    assert not core_db.is_unbounded()
    with core_db.unbounded():
        assert core_db.is_unbounded()
        if connection.vendor == "postgresql":
            assert _pg_setting("statement_timeout") == "0" and _pg_setting("lock_timeout") == "0"
    assert not core_db.is_unbounded()
    if connection.vendor == "postgresql":
        assert _pg_setting("statement_timeout") != "0"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "command, args, target",
    [
        ("seed_residents", ["1"], "tungban.identity.seeding.seed_residents"),
        ("worker", ["--batch"], "tungban.core.management.commands.worker._Worker.run"),
        ("setup", [], "tungban.setup.management.commands.setup.call_command"),
        ("purge_expired", [], "tungban.core.retention.purge_all"),
        ("reencrypt_fields", [], "tungban.core.management.commands.reencrypt_fields.Command._reencrypt"),
    ],
)
def test_long_running_commands_run_unbounded(command, args, target):
    """Seeding millions of residents, the worker's bulk jobs and migrations must not be cut
    off by the web's statement timeout."""
    from django.core.management import call_command

    seen = []

    def record(*a, **k):
        seen.append(core_db.is_unbounded())
        if connection.vendor == "postgresql":
            seen.append(_pg_setting("statement_timeout"))
        raise RuntimeError("stop here")

    with mock.patch(target, side_effect=record), pytest.raises(RuntimeError, match="stop here"):
        call_command(command, *args)
    assert seen[0] is True and seen[1:] in ([], ["0"])
    assert not core_db.is_unbounded()


@pytest.mark.django_db
def test_migrate_runs_unbounded():
    from django.core.management import call_command
    from django.db.models.signals import pre_migrate

    seen = []

    def record(sender, **kwargs):
        seen.append(core_db.is_unbounded())

    pre_migrate.connect(record, dispatch_uid="test-migrate-unbounded")
    try:
        call_command("migrate", verbosity=0)
    finally:
        pre_migrate.disconnect(dispatch_uid="test-migrate-unbounded")
    assert seen and seen[-1] is True  # the receivers after core's see it unbounded
    assert not core_db.is_unbounded()


@pytest.mark.parametrize(
    "exc, status, code",
    [
        (PermissionDenied(), 403, "forbidden"),
        (SuspiciousOperation(), 400, "invalid_request"),
        (MultiPartParserError(), 400, "invalid_request"),
        (OperationalError("too many clients already"), 503, "service_unavailable"),
        (ValueError("boom"), 500, "server_error"),
    ],
)
def test_api_exceptions_keep_djangos_statuses_in_the_platforms_shape(settings, exc, status, code):
    from tungban.core.faults import api_exception_response

    response = api_exception_response(RequestFactory().post("/api/v1/wallet/bindings"), exc)
    body = json.loads(response.content)
    assert response.status_code == status and body["error"] == code and body["field"] is None


@postgresql_only
@pytest.mark.django_db
def test_a_transaction_that_grows_a_table_plans_each_statement_for_its_size():
    """A prepared statement planned while its table was empty keeps its generic plan (a
    sequential scan, even by primary key) as the transaction fills the table; after
    :func:`core_db.plan_each_statement` the same statement is planned for the table as it is."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE grows (id integer PRIMARY KEY, v integer) ON COMMIT DROP")
        cursor.execute("ANALYZE grows")  # empty, as a fresh platform's tables
        cursor.execute("PREPARE by_id(integer) AS SELECT v FROM grows WHERE id = $1")
        for _ in range(6):  # past the custom plans PostgreSQL tries first: the generic one stays
            cursor.execute("EXECUTE by_id(1)")

        def plan() -> str:
            cursor.execute("EXPLAIN EXECUTE by_id(1)")
            return " ".join(row[0] for row in cursor.fetchall())

        cursor.execute("INSERT INTO grows SELECT n, n FROM generate_series(1, 20000) AS n")
        assert "Seq Scan" in plan()
        core_db.plan_each_statement()
        assert "Index" in plan() and "Seq Scan" not in plan()
        cursor.execute("DEALLOCATE by_id")


def test_planning_each_statement_needs_a_transaction():
    with pytest.raises(transaction.TransactionManagementError):
        core_db.plan_each_statement()
