"""``tungban load_catalogue [PATH]``: load the e-services catalogue files (departments,
services, forms) in one transaction; prints each problem (file: field: message) and exits 1
when the files are not valid."""

from django.core.management import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.eservices import services


class Command(BaseCommand):
    help = "Load the e-services catalogue (catalogue/README.md): all files or nothing; loading again changes nothing."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="catalogue folder (default: the one shipped with tungban)")

    def handle(self, *args, path=None, **opts):
        try:
            counts = services.load_catalogue(path)
        except DomainError as exc:
            for line in (exc.details or {}).get("problems", []) or [str(exc.message)]:
                self.stderr.write(line)
            if exc.field:
                self.stderr.write(f"{exc.field}: {exc.message}")
            raise CommandError(f"{exc.code}: catalogue not loaded") from None
        self.stdout.write(
            "{departments} departments, {services} services, {forms} forms ({versions_added} new versions)".format(
                **counts
            )
        )
