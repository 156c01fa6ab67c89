"""``tungban sync_usage``: import the scheduler's accounting once (for cron, with
``TUNGBAN_COMPUTE_SYNC_INTERVAL=0``; the worker otherwise runs it on its schedule)."""

from django.core.management.base import BaseCommand

from tungban.compute import services


class Command(BaseCommand):
    help = "Import the jobs and GPU-minutes from the scheduler's accounting (sacct) since the last import."

    def handle(self, *args, **options):
        count = services.sync_usage()
        self.stdout.write(f"{count} jobs created or changed")
