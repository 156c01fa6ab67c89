"""``tungban purge_expired``: delete expired protocol state once (issue 14 item 7).

The same purge that ``tungban worker`` runs every ``TUNGBAN_PURGE_INTERVAL`` seconds
(:mod:`tungban.core.retention`), for a cron job where no worker runs. Prints what it deleted.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from tungban.core import retention
from tungban.core.db import unbounded


class Command(BaseCommand):
    help = "Delete expired codes, tokens, approval requests, nonces and jtis (see docs/operations.md)."

    def handle(self, *args, **options):
        with unbounded():  # a first purge of a large backlog: no web statement bounds (issue 14 item 8)
            counts = retention.purge_all()
        for table, count in sorted(counts.items()):
            self.stdout.write(f"{table}: {count}")
