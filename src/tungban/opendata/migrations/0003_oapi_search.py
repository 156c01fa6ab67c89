"""The catalogue search's indexes (issue 21, part oapi; :mod:`tungban.opendata.services.search`):
on SQLite an FTS5 table ranked by BM25, on PostgreSQL a GIN index over
``to_tsvector('simple', search_text)``; nothing on other databases (a ``LIKE`` match)."""

from django.db import migrations, models


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


class Migration(migrations.Migration):
    dependencies = [("opendata", "0002_ofiles_version_schema")]

    operations = [
        migrations.AddIndex(
            model_name="dataset",
            index=models.Index(fields=["state", "id"], name="opendata_ds_state_id"),
        ),
        migrations.AddIndex(
            model_name="dataset",
            index=models.Index(fields=["state", "-metadata_modified"], name="opendata_ds_state_modified"),
        ),
        VendorSQL(
            "sqlite",
            "CREATE VIRTUAL TABLE opendata_search USING fts5(dataset_id UNINDEXED, body, tokenize = 'unicode61')",
            "DROP TABLE IF EXISTS opendata_search",
        ),
        VendorSQL(
            "postgresql",
            "CREATE INDEX opendata_ds_search_gin ON opendata_dataset USING GIN (to_tsvector('simple', search_text))",
            "DROP INDEX IF EXISTS opendata_ds_search_gin",
        ),
    ]
