"""PostgreSQL connection pool and server-side prepared statements (issue 15 item 1): the
settings, and no session state — an advisory lock, lifted statement bounds — left on a
connection that goes back to the pool (or stays open for the next request)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest
from django.db import connection

from tungban.core import db as core_db
from tungban.core import idempotency

postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL sessions")


def test_postgresql_gets_a_pool_and_prepared_statements_when_configured():
    database = core_db.database_settings(
        "postgres://u:p@db.internal:5432/tungban",
        conn_max_age=60,
        lock_timeout_ms=5000,
        statement_timeout_ms=30000,
        connect_timeout=5,
        pool={"min_size": 2, "max_size": 8, "timeout": 10, "check": None},
        prepare_threshold=1,
    )
    options = database["OPTIONS"]
    assert options["pool"] == {"min_size": 2, "max_size": 8, "timeout": 10, "check": None}
    assert database["CONN_MAX_AGE"] == 0  # Django: a pool and persistent connections exclude each other
    assert options["server_side_binding"] is True and options["prepare_threshold"] == 1
    assert "-c lock_timeout=5000" in options["options"]


def test_without_a_pool_connections_persist_and_statements_are_not_prepared():
    database = core_db.database_settings(
        "postgres://u:p@db.internal:5432/tungban",
        conn_max_age=60,
        lock_timeout_ms=5000,
        statement_timeout_ms=30000,
        connect_timeout=5,
    )
    assert database["CONN_MAX_AGE"] == 60 and "pool" not in database["OPTIONS"]
    assert "server_side_binding" not in database["OPTIONS"] and "prepare_threshold" not in database["OPTIONS"]


def test_sqlite_ignores_the_postgresql_connection_settings():
    database = core_db.database_settings(
        "sqlite:////tmp/x.sqlite3",
        conn_max_age=0,
        lock_timeout_ms=5000,
        statement_timeout_ms=30000,
        connect_timeout=5,
        pool={"min_size": 2},
        prepare_threshold=1,
    )
    assert "pool" not in database.get("OPTIONS", {}) and "server_side_binding" not in database.get("OPTIONS", {})


def _advisory_locks_of(pid: int) -> int:
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"], port=settings["PORT"] or None
    ) as other:
        return other.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = %s", [pid]
        ).fetchone()[0]


@postgresql
@pytest.mark.django_db(transaction=True)
def test_an_idempotency_session_lock_never_outlives_its_request_on_the_connection():
    """A staged call's session-level advisory lock (``pg_try_advisory_lock``) that cannot be
    released — the session is in an aborted transaction — must not stay on the connection,
    which the pool would lend to another request holding the lock."""
    lock = idempotency._lock_id("client:x", "key-that-stays-locked")
    assert idempotency._try_lock(lock, session=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    assert _advisory_locks_of(pid) == 1
    raw = connection.connection
    raw.execute("BEGIN")
    with pytest.raises(psycopg.errors.DivisionByZero):
        raw.execute("SELECT 1 / 0")  # the session is now in an aborted transaction
    idempotency._unlock(lock)
    assert _advisory_locks_of(pid) == 0
    with connection.cursor() as cursor:  # the next query gets a fresh, healthy connection
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


@postgresql
@pytest.mark.django_db(transaction=True)
def test_a_connection_lifted_by_long_work_is_bounded_again_when_borrowed_later():
    """``unbounded()`` lifts the statement bounds of the connections it sees; one given back
    to the pool meanwhile (out of its reach when it restores them) is bounded again by the
    ``connection_created`` signal Django sends when it is borrowed."""

    def timeout() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            return cursor.fetchone()[0]

    bounded = timeout()
    assert bounded != "0"
    with core_db.unbounded():
        assert timeout() == "0"
        raw, connection.connection = connection.connection, None  # given back to the pool
    connection.connection = raw  # borrowed again by a later request
    core_db.on_connection_created(sender=None, connection=connection)
    assert timeout() == bounded


def _platform_database(tmp_path, **env) -> dict:
    """``DATABASES["default"]`` as the platform's settings build it from ``env``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TUNGBAN_DB_", "DATABASE_URL"))}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, tungban.settings as s; print(json.dumps(s.DATABASES['default'], default=str))",
        ],
        env={**base, "TUNGBAN_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_production_postgresql_defaults_to_prepared_statements_on_persistent_connections(tmp_path):
    database = _platform_database(tmp_path, DATABASE_URL="postgres://u:p@db.internal:5432/tungban")
    options = database["OPTIONS"]
    assert options["server_side_binding"] is True and options["prepare_threshold"] == 5
    assert "pool" not in options and database["CONN_MAX_AGE"] == 60


def test_the_pool_is_chosen_and_prepared_statements_turned_off_by_the_environment(tmp_path):
    database = _platform_database(
        tmp_path,
        DATABASE_URL="postgres://u:p@db.internal:5432/tungban",
        TUNGBAN_DB_POOL="1",
        TUNGBAN_DB_PREPARE_THRESHOLD="off",
    )
    pool = database["OPTIONS"]["pool"]
    assert pool["min_size"] == 2 and pool["max_size"] == 16 and "check" not in pool  # Django's check
    assert database["CONN_MAX_AGE"] == 0 and "server_side_binding" not in database["OPTIONS"]
