"""``tungban seed_opendata``: the open-data portal's demo data (:mod:`tungban.opendata.seed`):
20 providers, the 19 categories, over 200 datasets with real-shaped CSV resources and each
department's catalogue entries. Idempotent; ``tungban setup --demo`` runs it too."""

import time

from django.core.management import BaseCommand

from tungban.core.db import unbounded
from tungban.opendata import seed


class Command(BaseCommand):
    help = "Load the open-data demo datasets and departmental catalogue entries (idempotent)."

    def handle(self, *args, **opts):
        started = time.monotonic()
        with unbounded():
            added = seed.seed()
        self.stdout.write(
            f"Open data: {added['datasets']} datasets and {added['entries']} catalogue entries added"
            f" ({len(seed.plan())} datasets planned) in {time.monotonic() - started:.1f} s."
        )
