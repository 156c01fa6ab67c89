"""The platform's database connections: health-checked, and bounded on PostgreSQL (issue 14
item 8).

* :func:`database_settings` — the ``DATABASES["default"]`` entry for a ``DATABASE_URL``:
  on PostgreSQL a connection pool and server-side prepared statements when configured
  (issue 15 item 1; ``TUNGBAN_DB_POOL``, ``TUNGBAN_DB_PREPARE_THRESHOLD``);
  ``CONN_HEALTH_CHECKS`` (a persistent connection that died with a PostgreSQL restart is
  replaced at the start of the next request instead of failing it) and, on PostgreSQL,
  ``lock_timeout`` and ``statement_timeout`` as connection options (``-c name=value`` in
  libpq's ``options``; PostgreSQL 15 §20.1.4 and §20.11.1), so no web request waits on a lock
  or a runaway statement for ever: it gets ``OperationalError`` (psycopg's
  ``LockNotAvailable``/``QueryCanceled``), which the platform answers with a retryable 503
  (:mod:`tungban.core.faults`).
* :func:`unbounded` — long-running work (``migrate``, ``tungban setup``, ``seed_residents``,
  ``reencrypt_fields``, ``tungban worker``'s bulk jobs) lifts both bounds for its sessions
  (``SET statement_timeout = 0``, ``SET lock_timeout = 0``), on the connections open now and
  on every connection opened until it ends; then ``RESET`` restores the connection's bounds.
* :func:`health_check_needless` — ``CONN_HEALTH_CHECKS`` without a round trip per request
  (issue 15; hooked into Django's check by the platform's backend, ``ENGINE =
  "tungban.core.postgresql"``): a persistent PostgreSQL connection is checked (``SELECT 1``)
  only when its socket has something to read while idle (a restarted or terminated server's
  FATAL message and end of stream) or when it sat idle longer than
  ``TUNGBAN_DB_HEALTH_CHECK_IDLE`` seconds (a middlebox may have dropped it silently).
* :func:`plan_each_statement` — a transaction that grows its tables by thousands of rows plans
  each statement afresh instead of keeping a prepared statement's generic plan.
* :func:`check_ready` — the readiness probe's checks (``/readyz``, :mod:`tungban.core.health`).
"""

from __future__ import annotations

import contextlib
import functools
import select
import threading
import time
from collections.abc import Iterator

import dj_database_url
from django.db import DEFAULT_DB_ALIAS, DatabaseError, Error, ProgrammingError, connections, transaction

_BOUNDS = ("statement_timeout", "lock_timeout")


def database_settings(
    url: str,
    *,
    conn_max_age: int,
    lock_timeout_ms: int,
    statement_timeout_ms: int,
    connect_timeout: int,
    pool: dict | None = None,
    prepare_threshold: int | None = None,
) -> dict:
    """A ``DATABASES`` entry for ``url`` (dj-database-url).

    * Without ``pool``: persistent connections kept ``conn_max_age`` seconds and
      health-checked (``SELECT 1``) before their first use in each request.
    * On PostgreSQL with ``pool`` (a dict of ``psycopg_pool.ConnectionPool`` arguments, e.g.
      ``{"min_size": 2, "max_size": 8, "timeout": 10}``; Django 6.1 ``OPTIONS["pool"]``): each
      worker process keeps a pool; a request borrows a connection on its first query and gives
      it back when it ends (``CONN_MAX_AGE`` is 0 then, as Django requires). The pool checks a
      connection only when asked (``"check"``); a connection that died is discarded when it
      fails or is given back (issue 15 item 1).
    * On PostgreSQL with ``prepare_threshold`` (an int): server-side parameter binding
      (``OPTIONS["server_side_binding"]``) and psycopg's automatic prepared statements after
      ``prepare_threshold`` executions of the same query on a connection (0: at once); not
      through a transaction-mode pooler (PgBouncer < 1.21), see ``docs/operations.md``.
    * On PostgreSQL, each session's ``lock_timeout`` and ``statement_timeout`` (milliseconds,
      0: none) are appended to any ``options`` the URL gives, and libpq's ``connect_timeout``
      (seconds) is set unless the URL sets it.
    """
    database = dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True)
    if database["ENGINE"].endswith("postgresql"):
        database["ENGINE"] = "tungban.core.postgresql"  # Django's, health checks without a round trip
        options = database.setdefault("OPTIONS", {})
        bounds = f"-c lock_timeout={int(lock_timeout_ms)} -c statement_timeout={int(statement_timeout_ms)}"
        options["options"] = f"{options['options']} {bounds}" if options.get("options") else bounds
        options.setdefault("connect_timeout", int(connect_timeout))
        if pool is not None:
            options["pool"] = dict(pool)
            database["CONN_MAX_AGE"] = 0
        if prepare_threshold is not None:
            options["server_side_binding"] = True
            options["prepare_threshold"] = int(prepare_threshold)
    return database


# --- Long-running work ---------------------------------------------------------------------

_lock = threading.Lock()
_depth = 0  # process-wide: the connections every thread of the command opens are unbounded


def is_unbounded() -> bool:
    """Whether this process is running long work (:func:`unbounded`)."""
    return _depth > 0


_LIFTED = "_tungban_unbounded"  # marks a psycopg connection whose session bounds are lifted


def _set_bounds(connection, lifted: bool) -> None:
    if connection.vendor != "postgresql" or connection.connection is None:
        return
    with connection.cursor() as cursor:
        for name in _BOUNDS:
            cursor.execute(f"SET {name} = 0" if lifted else f"RESET {name}")
    # A pooled connection may go back to the pool while lifted: the next borrower restores it.
    setattr(connection.connection, _LIFTED, lifted)


@contextlib.contextmanager
def unbounded() -> Iterator[None]:
    """Lift ``statement_timeout`` and ``lock_timeout`` for long-running work (a management
    command, the worker): on the open PostgreSQL connections, and on every connection opened
    meanwhile (:func:`on_connection_created`); restored on exit. Nests. No-op on SQLite."""
    global _depth
    with _lock:
        _depth += 1
        first = _depth == 1
    try:
        if first:
            for connection in connections.all(initialized_only=True):
                _set_bounds(connection, lifted=True)
        yield
    finally:
        with _lock:
            _depth -= 1
            last = _depth == 0
        if last:
            for connection in connections.all(initialized_only=True):
                with contextlib.suppress(Error):  # a connection lost meanwhile is replaced, bounded
                    _set_bounds(connection, lifted=False)


def plan_each_statement(using: str = DEFAULT_DB_ALIAS) -> None:
    """For the rest of the current transaction, have PostgreSQL plan every statement for its
    own parameters and the tables' current sizes (``SET LOCAL plan_cache_mode =
    force_custom_plan``; PostgreSQL 15 §20.7.4) instead of reusing a prepared statement's
    generic plan. For one transaction that grows its tables by thousands of rows (a statement
    import): a generic plan made while a table was nearly empty (a sequential scan, even by
    primary key) is otherwise kept until the connection ends or the table is analysed, and
    ``ANALYZE`` cannot see the rows the transaction has not committed, so each line read the
    whole table again. No-op on SQLite. Raises ``TransactionManagementError`` outside
    ``transaction.atomic`` (``SET LOCAL`` would do nothing there)."""
    connection = connections[using]
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError("plan_each_statement() needs a transaction")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")


def on_connection_created(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver (sent for each connection opened, and with a pool for
    each one borrowed): a connection opened during :func:`unbounded` work (after a reconnect,
    in another thread) is unbounded too; a pooled connection given back while unbounded work
    ran is bounded again when borrowed after it (issue 15 item 1)."""
    if is_unbounded():
        _set_bounds(connection, lifted=True)
    elif getattr(connection.connection, _LIFTED, False):
        _set_bounds(connection, lifted=False)


_migration: list[contextlib.AbstractContextManager] = []  # the open migrate's scope, if any


def on_pre_migrate(sender, **kwargs) -> None:
    """``pre_migrate`` receiver (core's app config only: once per ``migrate``): migrations and
    data migrations on millions of rows run unbounded until ``post_migrate``."""
    if not _migration:
        scope = unbounded()
        scope.__enter__()
        _migration.append(scope)


def on_post_migrate(sender, **kwargs) -> None:
    """``post_migrate`` receiver: the end of :func:`on_pre_migrate`'s scope (``flush`` also
    sends ``post_migrate``, with no scope open: nothing to do)."""
    if _migration:
        _migration.pop().__exit__(None, None, None)


# --- Health checks without a round trip (issue 15) -----------------------------------------

_LAST_USED = "_tungban_last_used"  # time.monotonic() when its check last fell due (or it was opened)


def _quiet(raw) -> bool:
    """Whether the idle psycopg connection ``raw`` has nothing waiting on its socket: an idle
    PostgreSQL session sends nothing unasked, except a ``NOTIFY`` to a listener and, when it
    ends (``pg_ctl restart``/``stop``, ``pg_terminate_backend``, a crash), a FATAL
    ``ErrorResponse`` and the end of the stream (PostgreSQL 15 §55.2.8); a reset connection
    polls as readable too. One ``poll(2)`` system call, no round trip."""
    try:
        poller = select.poll()
        poller.register(raw.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except (OSError, ValueError, Error):  # closed, or no socket: let Django's check decide
        return False


def health_check_needless(connection) -> bool:
    """Whether the persistent PostgreSQL ``connection`` (a Django wrapper whose
    ``CONN_HEALTH_CHECKS`` check is due: its first query of a request) may skip the check's
    ``SELECT 1``: its socket is quiet (:func:`_quiet`) and its last check fell due (or it was
    opened) at most ``settings.TUNGBAN_DB_HEALTH_CHECK_IDLE`` seconds ago. Notes this use.

    What the check is for still holds (issue 14 item 8): a connection whose server restarted,
    or that was terminated, has the server's last message and end of stream waiting, so it is
    checked and replaced before the request's first query; a connection left idle long is
    checked too. Django's own check after an error (``errors_occurred``, at the end of that
    request) is untouched, and a pooled connection is the pool's to check. The race Django's
    check has as well remains: a server that dies between this poll and the request's first
    statement fails that request (a retryable 503, :mod:`tungban.core.faults`)."""
    from django.conf import settings

    raw = connection.connection
    if getattr(connection, "pool", None) is not None:
        return False
    now = time.monotonic()
    last = getattr(raw, _LAST_USED, None)
    with contextlib.suppress(AttributeError):
        setattr(raw, _LAST_USED, now)
    return last is not None and now - last <= settings.TUNGBAN_DB_HEALTH_CHECK_IDLE and _quiet(raw)


def note_use(connection) -> None:
    """A connection just opened counts as checked now (:func:`health_check_needless`)."""
    if connection.connection is not None:
        with contextlib.suppress(AttributeError):
            setattr(connection.connection, _LAST_USED, time.monotonic())


# --- Readiness --------------------------------------------------------------------------------


@functools.cache
def migration_leaves() -> frozenset[tuple[str, str]]:
    """The latest migration of each app on disk, as ``(app_label, name)`` (read once per
    process: the code does not change under a running process)."""
    from django.db.migrations.loader import MigrationLoader

    return frozenset(MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes())


def check_ready(*, timeout_ms: int, using: str = DEFAULT_DB_ALIAS) -> dict[str, str]:
    """``{"database": "ok"|"unavailable", "migrations": "ok"|"pending"|"unknown"}``: a
    ``SELECT 1`` (under a ``statement_timeout`` of ``timeout_ms`` on PostgreSQL), then whether
    every app's latest migration on disk is recorded as applied. Takes no lock (on SQLite no
    transaction: the platform's are ``BEGIN IMMEDIATE``)."""
    connection = connections[using]
    postgresql = connection.vendor == "postgresql"
    no_table = ProgrammingError if postgresql else DatabaseError  # SQLite: OperationalError "no such table"
    try:
        with transaction.atomic(using=using) if postgresql else contextlib.nullcontext():
            with connection.cursor() as cursor:
                if postgresql:
                    cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(int(timeout_ms))])
                cursor.execute("SELECT 1")
                try:
                    with transaction.atomic(using=using) if postgresql else contextlib.nullcontext():
                        cursor.execute("SELECT app, name FROM django_migrations")
                        applied = set(cursor.fetchall())
                except no_table:  # no table yet: nothing migrated
                    applied = set()
    except Error:
        return {"database": "unavailable", "migrations": "unknown"}
    pending = migration_leaves() - {tuple(row) for row in applied}
    return {"database": "ok", "migrations": "pending" if pending else "ok"}
