"""Several writes of one transaction sent as one statement on PostgreSQL (issue 15, round 3).

Inside :func:`joined`, :func:`write` does not send its statement at once on PostgreSQL: it is
kept, and sent as a data-modifying ``WITH`` clause in front of the next statement that needs
an answer (:func:`fetchone`), or alone when the block ends. ``WITH w0 AS (UPDATE …), w1 AS
(INSERT …) INSERT … RETURNING id`` is one round trip (and one parse, one plan) where there
were three. PostgreSQL runs every data-modifying ``WITH`` clause exactly once and to
completion, whether the main statement reads it or not (PostgreSQL manual, 7.8.4
"Data-Modifying Statements in WITH"); constraint errors are raised as for the statements
one by one, and the foreign keys Django makes are checked at the commit (deferred).

The rule for callers: a kept write must not be needed by anything sent before it is (the
clauses of one statement all see the snapshot taken before it, so one clause does not see
another's rows), and nothing else is sent on the connection between a :func:`write` and the
end of the block but through :func:`fetchone` — so the writes keep their order against every
statement that could see them. Only inside ``transaction.atomic()``: the block's writes commit
or roll back together as before. If the block ends with an exception, the kept writes are
dropped (the enclosing transaction or savepoint is rolled back by that exception).

Elsewhere (SQLite; PostgreSQL outside :func:`joined`) each statement is sent at once. SQL
uses ``%s`` placeholders; parameters are always bound, never formatted.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from django.db import DEFAULT_DB_ALIAS, connections

_kept: contextvars.ContextVar[list | None] = contextvars.ContextVar("tungban_onestatement", default=None)


@contextlib.contextmanager
def joined(*, commit: bool = False) -> Iterator[None]:
    """Keep :func:`write`'s statements to be sent with the next :func:`fetchone` (or at the
    block's end), on PostgreSQL, inside the caller's ``transaction.atomic()``.

    ``commit=True`` (issue 15, seventh round) says the block is the last thing its
    transaction does: when that transaction is the outermost ``atomic()`` block (no savepoint,
    not marked for rollback) on psycopg 3, the writes kept at the block's end are sent with the
    transaction's ``COMMIT`` in one round trip (:func:`_send_kept_and_commit`), and the
    transaction is committed when the block ends. The ``atomic()`` block's own commit then
    finds the connection idle and sends nothing (psycopg's ``commit()`` on an idle connection);
    its ``on_commit`` callbacks run as before, after the commit. Anywhere else (nested in
    another block, a savepoint, a test's transaction, SQLite) it is the same as without.

    :raises RuntimeError: outside an atomic block."""
    connection = _connection()
    if not connection.in_atomic_block:
        raise RuntimeError("joined writes belong to one transaction: use them inside transaction.atomic()")
    if connection.vendor != "postgresql" or _kept.get() is not None:
        yield  # SQLite sends each statement at once; a nested block keeps to the outer one's list
        return
    token = _kept.set([])
    try:
        yield
        if commit and _kept.get() and _commits_here(connection):
            _send_kept_and_commit(connection)
        else:
            _send_kept(connection)
    finally:
        _kept.reset(token)


def _connection():
    """This thread's connection itself: each attribute of ``django.db.connection`` (a proxy)
    looks it up again (issue 15, eighth round)."""
    return connections[DEFAULT_DB_ALIAS]


def _commits_here(connection) -> bool:
    """Whether the transaction open on the connection is the outermost ``atomic()`` block's,
    with nothing asking for a rollback, on a psycopg 3 connection that has pipeline mode."""
    if len(connection.atomic_blocks) != 1 or connection.savepoint_ids or connection.needs_rollback:
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3  # PostgreSQL only

    if connection.connection is None or not is_psycopg3:
        return False
    import psycopg

    return psycopg.capabilities.has_pipeline()


def _take() -> tuple[str, list]:
    """The kept writes as a ``WITH`` prefix and its parameters; the list is emptied."""
    kept = _kept.get()
    if not kept:
        return "", []
    clauses, params = [], []
    for i, (sql, values) in enumerate(kept):
        clauses.append(f"w{i} AS ({sql})")
        params.extend(values)
    kept.clear()
    return "WITH " + ", ".join(clauses) + " ", params


def _send_kept(connection) -> None:
    kept = _kept.get()
    if not kept:
        return
    last_sql, last_params = kept.pop()
    prefix, params = _take()
    with connection.cursor() as cursor:
        cursor.execute(prefix + last_sql, [*params, *last_params])


def _send_kept_and_commit(connection) -> None:
    """Send the kept writes as one statement, then ``COMMIT``, in one round trip: psycopg's
    pipeline mode (libpq pipeline mode, PostgreSQL protocol "extended query" messages with a
    single ``Sync``): Parse/Bind/Execute of the statement (prepared as any other), of
    ``COMMIT``, then ``Sync``. PostgreSQL skips every message after an error until the
    ``Sync`` (protocol 55.2.4, pipelining), so a failed write never reaches the ``COMMIT``: the
    error is raised (as Django's database error) and the transaction stays open in its failed
    state for the ``atomic()`` block to roll back. A failing ``COMMIT`` (a deferred constraint)
    raises the same way, the transaction already rolled back by the server."""
    kept = _kept.get()
    last_sql, last_params = kept.pop()
    prefix, params = _take()
    with connection.cursor() as cursor, connection.wrap_database_errors, connection.connection.pipeline():
        cursor.execute(prefix + last_sql, [*params, *last_params])
        cursor.cursor.execute("COMMIT", prepare=False)  # as psycopg's commit() sends it: never prepared


def write(sql: str, params: list) -> None:
    """Run the data-modifying statement ``sql`` (``INSERT``/``UPDATE``/``DELETE`` without a
    ``WITH`` of its own; its row count is not returned), or keep it for the next
    :func:`fetchone` inside :func:`joined` on PostgreSQL."""
    kept = _kept.get()
    if kept is not None:
        kept.append((sql, list(params)))
        return
    with _connection().cursor() as cursor:
        cursor.execute(sql, params)


def fetchone(sql: str, params: list):
    """Run ``sql`` (no ``WITH`` of its own) and return its first row (or None), with the kept
    writes in front of it as ``WITH`` clauses inside :func:`joined` on PostgreSQL."""
    prefix, kept_params = _take()
    with _connection().cursor() as cursor:
        cursor.execute(prefix + sql, [*kept_params, *params])
        return cursor.fetchone()


def pending() -> int:
    """How many writes are kept, not yet sent (0 outside :func:`joined`)."""
    kept = _kept.get()
    return len(kept) if kept else 0


__all__ = ["fetchone", "joined", "pending", "write"]
