# Written by hand (issue 15, fourth round). A migration of its own: Django creates the
# primary key's _like index with 0011's deferred SQL, at the end of that migration.

from django.db import migrations

from tungban.core.migration_ops import drop_pattern_ops_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("oidc", "0011_client_tokens"),
    ]

    operations = [
        # The primary key's varchar_pattern_ops copy (Django's _like index) on PostgreSQL:
        # nothing queries a digest with LIKE, and every insert would update it (pgdiet).
        # Reverse: nothing (a database without it answers every query alike).
        migrations.RunPython(drop_pattern_ops_indexes(["oidc_clienttoken"]), migrations.RunPython.noop),
    ]
