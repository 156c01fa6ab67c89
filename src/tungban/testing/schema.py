"""What PostgreSQL holds for a table, for tests of the hot tables' shape (issue 15, pgdiet):
every index an ``INSERT`` must update and every foreign-key check it queues costs the
database's CPU on each request, so the tests pin the indexes and constraints each hot table
carries.

Both helpers read the catalogue of the current database (``django.db.connection``), which must
be PostgreSQL: SQLite's schema is built from the same models but has no ``varchar_pattern_ops``
indexes nor deferred constraint triggers to watch.
"""

from __future__ import annotations

import re

from django.db import connection

_INDEXDEF = re.compile(r"CREATE (UNIQUE )?INDEX \S+ ON \S+ USING (.*)")


def index_definitions(table: str) -> set[str]:
    """The indexes of ``table`` as ``pg_get_indexdef`` gives them without the index's and the
    table's names, e.g. ``"UNIQUE btree (id)"``, ``"btree (client_id, nonce)"``,
    ``"btree (resident_id) WHERE (resident_id IS NOT NULL)"``; a ``varchar_pattern_ops`` index
    (Django's ``_like`` index) reads ``"btree (code varchar_pattern_ops)"``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = CAST(%s AS regclass)", [table]
        )
        found = set()
        for (definition,) in cursor.fetchall():
            match = _INDEXDEF.fullmatch(definition)
            assert match, definition
            found.add(f"{match.group(1) or ''}{match.group(2)}")
        return found


def foreign_keys(table: str) -> set[str]:
    """The columns of ``table`` checked by a foreign-key constraint, as ``"column → table"``,
    e.g. ``"client_id → oidc_client"``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname, CAST(c.confrelid AS regclass) FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
            "WHERE c.conrelid = CAST(%s AS regclass) AND c.contype = 'f'",
            [table],
        )
        return {f"{column} → {target}" for column, target in cursor.fetchall()}
