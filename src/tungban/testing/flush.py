"""Emptying the test database after a transactional test: only the tables that have rows,
and without re-creating what ``migrate`` made once.

Django's ``TransactionTestCase`` (pytest-django's ``transactional_db``, ``live_server``, the
browser tests) ends every test with ``flush``: ``TRUNCATE`` of every one of this project's
~200 tables on PostgreSQL (``DELETE`` of each on SQLite), then the ``post_migrate`` signal,
whose receivers query every app to re-create the content types, the permissions and the
counter's groups (:func:`tungban.counter.roles.ensure_groups`) that the truncation removed.
On a quiet two-core machine that is 0.37 s per test on PostgreSQL (0.19 s the truncation,
0.18 s the signal; ``call_command("flush")`` timed on a migrated database), and the
PostgreSQL pass of ``.ci/run`` ran about 500 such tests.

:func:`flush` gives the same empty state for the common case:

* the tables ``post_migrate`` fills (:data:`KEPT`: content types, permissions, groups and
  their permissions) are **kept**, not emptied and re-made: their rows are what ``migrate``
  made, which no test in this project changes (no test creates or edits a content type,
  permission or group), and their ids stay the same (Django's content-type cache stays
  right);
* every other table of the installed models that has a row (one ``UNION ALL`` of
  ``EXISTS`` probes finds them) is emptied with ``DELETE``, in one transaction: Django's
  foreign keys are ``DEFERRABLE INITIALLY DEFERRED`` on PostgreSQL and SQLite, and a row
  can only reference a row of a table that has rows, so the order does not matter; this
  project has no triggers of its own.

Anything else — ``reset_sequences``, ``allow_cascade`` (``available_apps``), an inhibited
``post_migrate`` (serialized rollback) — goes to Django's ``flush`` unchanged. Used by the
root ``conftest.py`` for the test suite only.
"""

from __future__ import annotations

#: Tables that ``post_migrate`` fills (``django.contrib.contenttypes``, ``django.contrib.auth``
#: and :func:`tungban.counter.roles.ensure_groups`), kept across flushes.
KEPT = frozenset({"django_content_type", "auth_permission", "auth_group", "auth_group_permissions"})
_PROBES = 400


def handles(options: dict) -> bool:
    """Whether :func:`flush` gives what ``call_command("flush", **options)`` would: a
    non-interactive flush that resets no sequence, cascades nothing and sends
    ``post_migrate``."""
    return (
        options.get("interactive") is False
        and not options.get("reset_sequences", True)
        and not options.get("allow_cascade", False)
        and not options.get("inhibit_post_migrate", False)
        and set(options)
        <= {"verbosity", "interactive", "database", "reset_sequences", "allow_cascade", "inhibit_post_migrate"}
    )


def flush(database: str = "default") -> list[str]:
    """Empty every table of the installed models on connection ``database`` but
    :data:`KEPT`, deleting rows only from tables that have them, in one transaction.

    Returns the names of the tables emptied. Raises what the database raises (nothing is
    deleted then: one transaction)."""
    from django.db import connections, transaction

    connection = connections[database]
    tables = [
        name
        for name in connection.introspection.django_table_names(only_existing=True, include_views=False)
        if name not in KEPT
    ]
    if not tables:
        return []
    quote = connection.ops.quote_name
    filled = []
    with transaction.atomic(using=database, savepoint=False), connection.cursor() as cursor:
        for start in range(0, len(tables), _PROBES):  # SQLite's compound SELECT limit is 500
            chunk = range(start, min(start + _PROBES, len(tables)))
            cursor.execute(
                " UNION ALL ".join(f"SELECT {i} WHERE EXISTS (SELECT 1 FROM {quote(tables[i])})" for i in chunk)
            )
            filled += [tables[row[0]] for row in cursor.fetchall()]
        for name in filled:
            cursor.execute(f"DELETE FROM {quote(name)}")
    return filled
