from django.core.management import BaseCommand

from tungban.signing import services


class Command(BaseCommand):
    help = "Delete submitted PDFs and signed results older than TUNGBAN_SIGNING_RESULT_TTL (names and digests stay). Run it from cron."

    def handle(self, *args, **opts):
        self.stdout.write(f"Purged {services.purge_expired()} signing request(s).")
