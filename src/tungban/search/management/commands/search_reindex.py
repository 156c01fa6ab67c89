"""``tungban search_reindex [--kind KIND] [--queue]``: rebuild the one search's index from the
registered sources (issue 22; :func:`tungban.search.services.reindex`), now or as a background
task (``--queue``: :func:`tungban.search.tasks.reindex_task`, run by ``tungban worker``)."""

import time

from django.core.management.base import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.search import services, tasks
from tungban.search.sources import KINDS


class Command(BaseCommand):
    help = "Rebuild the search index (services, forms, form help, FAQs, datasets) from their sources."

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=KINDS, help="only this kind of document")
        parser.add_argument("--queue", action="store_true", help="queue the rebuild for the worker instead")

    def handle(self, *args, kind=None, queue=False, **options):
        if queue:
            self.stdout.write(f"queued: {tasks.queue_reindex(kind)}")
            return
        t0 = time.perf_counter()
        try:
            counts = services.reindex(kind)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        for k, n in counts.items():
            self.stdout.write(f"{k}: {n}")
        self.stdout.write(f"rebuilt in {time.perf_counter() - t0:.1f} s")
