"""``tungban load_fees [PATH]``: load the fee schedule files (``payments/fees/*.toml``) in one
transaction; prints each problem (file: where: message) and exits 1 when they are not valid."""

from django.core.management import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.payments import services


class Command(BaseCommand):
    help = "Load the fee schedule (payments/fees/README.md): all files or nothing; loading again changes nothing."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="folder of fee files (default: the one shipped with tungban)")

    def handle(self, *args, path=None, **opts):
        try:
            counts = services.load_fees(path)
        except DomainError as exc:
            for line in (exc.details or {}).get("problems", []) or [str(exc.message)]:
                self.stderr.write(line)
            raise CommandError(f"{exc.code}: fee schedule not loaded") from None
        self.stdout.write("{items} fee items, {versions} versions ({versions_added} new)".format(**counts))
