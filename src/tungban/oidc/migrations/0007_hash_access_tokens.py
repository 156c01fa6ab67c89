"""Issue 13 item 10: access tokens are stored as their SHA-256 (hex), like refresh tokens.

Every token stored before is hashed in place, so tokens already handed to services keep
working (they are looked up by their hash from now on). Irreversible in effect: reversing
leaves the digests, which the older code cannot match (those tokens then stop working;
services get new ones at their next login or refresh).
"""

import hashlib

from django.db import migrations, models

BATCH = 500


def digest(value: str) -> str:
    """As :func:`tungban.oidc.models.access_token_digest` (copied: migrations keep their code)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def hash_access_tokens(apps, schema_editor):
    Token = apps.get_model("oidc", "Token")
    batch = []
    for token in Token.objects.only("pk", "access_token").iterator(chunk_size=BATCH):
        token.access_token = digest(token.access_token)
        batch.append(token)
        if len(batch) >= BATCH:
            Token.objects.bulk_update(batch, ["access_token"])
            batch = []
    if batch:
        Token.objects.bulk_update(batch, ["access_token"])


class Migration(migrations.Migration):
    dependencies = [
        ("oidc", "0006_pairwise_sector_per_client"),
    ]

    operations = [
        migrations.AlterField(
            model_name="token",
            name="access_token",
            field=models.CharField(
                help_text="SHA-256 (hex) of the access token (never the token itself)", max_length=255, unique=True
            ),
        ),
        migrations.RunPython(hash_access_tokens, migrations.RunPython.noop),
    ]
