"""Issue 15 (userinfo: the database round trips of every hot request): a persistent
PostgreSQL connection is health-checked without a round trip per request.

Django's ``CONN_HEALTH_CHECKS`` sends ``SELECT 1`` before the first query of every request
(one round trip of two or three on a hot path). The platform's backend
(:mod:`tungban.core.postgresql`, :func:`tungban.core.db.health_check_needless`) keeps the guarantee it gives (issue 14 item 8: after a PostgreSQL restart the next request
reconnects instead of failing) by checking only a connection whose socket has something to
read (a restarted or terminated server's FATAL message and end of stream) or that sat idle
longer than ``TUNGBAN_DB_HEALTH_CHECK_IDLE`` seconds. The round trips are counted on the wire
(:mod:`tungban.testing.pgwire`), so the health check's ``SELECT 1`` (sent on psycopg's cursor,
past Django's execute wrappers), ``BEGIN`` and ``COMMIT`` are all seen. A request here is what
the WSGI handler does around the view: ``request_started``, the view's queries,
``request_finished``."""

from __future__ import annotations

import pytest
from django.core.signals import request_finished, request_started
from django.db import ProgrammingError, connection, connections

from tungban.testing.pgwire import relayed

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's persistent connections"),
]


def _request(sql: str = "SELECT 42") -> list:
    """One request's cycle as ``django.core.handlers.wsgi.WSGIHandler`` runs it (the test
    client leaves out ``close_old_connections``, so it is not used here)."""
    request_started.send(sender=None, environ={})
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        request_finished.send(sender=None)


@pytest.fixture
def wire():
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    assert connection.settings_dict["CONN_MAX_AGE"] != 0
    with relayed(connection) as counter:
        _request()  # opens the connection (a new connection is not checked)
        counter.clear()
        yield counter


def test_the_platform_uses_its_postgresql_backend():
    from django.conf import settings

    from tungban.core import db as core_db

    assert settings.DATABASES["default"]["ENGINE"] == "tungban.core.postgresql"
    assert (
        core_db.database_settings(
            "postgres://u@h/d", conn_max_age=60, lock_timeout_ms=1, statement_timeout_ms=1, connect_timeout=1
        )["ENGINE"]
        == "tungban.core.postgresql"
    )


def test_a_quiet_recently_used_connection_is_not_checked_again(wire):
    """Whatever the order of ``request_started``'s receivers (the test client disconnects and
    reconnects Django's ``close_old_connections``, which then runs last)."""
    from django.test import Client

    Client().get("/healthz")
    for _ in range(3):
        assert _request() == [(42,)]
    assert wire.statements == ["SELECT 42"] * 3


def test_a_connection_the_server_closed_is_replaced_at_the_next_request(wire):
    """As after ``pg_ctl restart``: the server's side of every connection is gone."""
    wire.kill()
    assert _request() == [(42,)]
    assert wire.statements[-1] == "SELECT 42"


def test_a_connection_terminated_by_the_server_is_replaced_at_the_next_request(wire):
    """``pg_terminate_backend`` is what a restart does to each session (SIGTERM: a FATAL
    message, then the end of the stream)."""
    pid = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
            assert cursor.fetchone() == (True,)
    finally:
        other.close()
    assert _request() == [(42,)]
    assert connection.connection.info.backend_pid != pid


def test_a_connection_idle_longer_than_the_bound_is_checked(wire, settings):
    settings.TUNGBAN_DB_HEALTH_CHECK_IDLE = 0
    assert _request() == [(42,)]
    assert wire.statements == ["SELECT 1", "SELECT 42"]


def test_a_request_after_a_failed_statement_still_checks_the_connection(wire):
    """Django's own check after an error (``errors_occurred``, at the end of the failed
    request) is kept."""
    with pytest.raises(ProgrammingError):
        _request("SELECT * FROM no_such_table")
    assert _request() == [(42,)]
    assert wire.statements == ["SELECT * FROM no_such_table", "SELECT 1", "SELECT 42"]
