"""Issue 13 item 18: a client's pairwise sector is now its own (``client:<pk>``) instead of
the host of its first redirect URI, so two services on one host no longer share ``sub``.

Data-safe: a client registered before whose former sector (that host) already holds
pairwise subjects keeps it, written into ``sector_identifier`` where an administrator can
see it — none of its residents' ``sub`` changes. Clients nobody logged in to yet (no
subject at their host) get their own sector. Reversing leaves the values in place (the
sectors they name are the ones those clients had).
"""

from urllib.parse import urlsplit

from django.db import migrations, models


def former_sector(client) -> str:
    """The sector before this migration (``Client.sector`` of migration 0005's code)."""
    return urlsplit(client.redirect_uris[0]).hostname if client.redirect_uris else client.client_id


def keep_sectors_in_use(apps, schema_editor):
    Client = apps.get_model("oidc", "Client")
    PairwiseSubject = apps.get_model("oidc", "PairwiseSubject")
    for client in Client.objects.filter(sector_identifier="").only("pk", "client_id", "redirect_uris"):
        sector = former_sector(client)
        if sector and PairwiseSubject.objects.filter(sector=sector).exists():
            Client.objects.filter(pk=client.pk).update(sector_identifier=sector[:200])


class Migration(migrations.Migration):
    dependencies = [
        ("oidc", "0005_move_signingkey_to_keys"),
    ]

    operations = [
        migrations.AlterField(
            model_name="client",
            name="sector_identifier",
            field=models.CharField(
                blank=True,
                help_text="Leave empty: this service gets its own pairwise subject identifiers (sub). Services given the same sector (e.g. a department's host name) share them on purpose (OIDC Core §8.1). Changing it changes the sub every resident has at this service.",
                max_length=200,
                verbose_name="Sector identifier",
            ),
        ),
        migrations.RunPython(keep_sectors_in_use, migrations.RunPython.noop),
    ]
