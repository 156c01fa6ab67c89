"""Helpers for the apps' hand-written migration steps (imported by migrations: keep each
function's behaviour fixed once a migration uses it)."""

from __future__ import annotations


def drop_pattern_ops_indexes(tables):
    """A ``RunPython`` forward function: drop every ``varchar_pattern_ops`` /
    ``text_pattern_ops`` index of ``tables`` on PostgreSQL (Django's ``<name>_like`` index
    for a unique or indexed ``CharField``, kept only for ``LIKE 'prefix%'`` queries, which the
    platform never runs on these columns; issue 15, third round: each was one more index every
    insert updated). Found in the catalogue, so whatever Django named them. Nothing on
    another database (SQLite has no such index). Django's migration state does not track
    these indexes, so it is unchanged; a later ``AlterField`` that changes such a column's
    type would make one again, which the hot-table index tests catch."""

    def forward(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT CAST(i.indexrelid AS regclass) FROM pg_index i "
                "JOIN pg_opclass o ON o.oid = ANY (CAST(i.indclass AS oid[])) "
                "WHERE i.indrelid = ANY (CAST(%s AS regclass[])) "
                "AND o.opcname IN ('varchar_pattern_ops', 'text_pattern_ops')",
                [list(tables)],
            )
            names = sorted({str(name) for (name,) in cursor.fetchall()})
        for name in names:
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    return forward
