# SigningKey moved to the keys app (tungban.keys) with its table: drop it from this app's
# state only. The table "oidc_signingkey" and its rows stay; keys.0001 adopts them.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("oidc", "0004_refresh_tokens"),
        ("keys", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="SigningKey")],
            database_operations=[],
        ),
    ]
