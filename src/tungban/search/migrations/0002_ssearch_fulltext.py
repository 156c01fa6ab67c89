"""The one search's full-text indexes (issue 22; :mod:`tungban.search.services`): on SQLite
an FTS5 table ``search_fts(title, body)`` whose rowid is the document's id, ranked by BM25; on
PostgreSQL a stored generated column ``search_vector`` (the weighted ``to_tsvector('simple', …)``
of the title and body tokens, so ``ts_rank`` does not parse every matching row again) with a
GIN index; and the index state's one row. The model does not declare ``search_vector``: the
database fills it."""

from django.db import migrations


class VendorSQL(migrations.RunSQL):
    """:class:`~django.db.migrations.RunSQL` applied only on one database vendor."""

    def __init__(self, vendor, sql, reverse_sql):
        self.vendor = vendor
        super().__init__(sql, reverse_sql)

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        return name, [self.vendor, kwargs.pop("sql"), kwargs.pop("reverse_sql")], kwargs

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def _state_row(apps, schema_editor):
    apps.get_model("search", "IndexState").objects.using(schema_editor.connection.alias).get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [
        VendorSQL(
            "sqlite",
            "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, tokenize = 'unicode61')",
            "DROP TABLE IF EXISTS search_fts",
        ),
        VendorSQL(
            "postgresql",
            "ALTER TABLE search_searchdocument ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            "(setweight(to_tsvector('simple', search_title), 'A') || "
            "setweight(to_tsvector('simple', search_body), 'B')) STORED; "
            "CREATE INDEX search_doc_fulltext_gin ON search_searchdocument USING GIN (search_vector)",
            "DROP INDEX IF EXISTS search_doc_fulltext_gin; ALTER TABLE search_searchdocument DROP COLUMN search_vector",
        ),
        migrations.RunPython(_state_row, migrations.RunPython.noop),
    ]
