# The platform key ring moved here from the OpenID Provider app. The table stays
# "oidc_signingkey" (created by oidc.0001_initial), so no row moves: this migration only
# tells Django's state that the model now belongs to "keys"; oidc.0005 removes it there.

from django.db import migrations, models


def _move_content_type(apps, schema_editor):
    """Keep admin log entries and permissions pointing at the moved model."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label="keys", model="signingkey").exists():
        ContentType.objects.using(db).filter(app_label="oidc", model="signingkey").update(app_label="keys")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("oidc", "0004_refresh_tokens"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SigningKey",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kid", models.CharField(max_length=64, unique=True)),
                        ("private_pem", models.BinaryField()),
                        ("public_jwk", models.JSONField()),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("retired_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={"db_table": "oidc_signingkey"},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_move_content_type, migrations.RunPython.noop),
    ]
