"""``tungban load_subsidy_scheme [PATH] [--release-started]``: load the AI Subsidy Scheme's
bundled figures (classes of service, price book, capacity plan, the fund's planned releases);
loading again changes nothing."""

from django.core.management import BaseCommand

from tungban.subsidy.services import scheme


class Command(BaseCommand):
    help = "Load the AI Subsidy Scheme's classes of service, prices, capacity and planned releases (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="the scheme file (default: the one shipped with tungban)")
        parser.add_argument(
            "--release-started",
            action="store_true",
            help="also release the planned funds of the financial years that have begun (demo)",
        )

    def handle(self, *args, path=None, release_started=False, **opts):
        counts = scheme.load_scheme(path, release_started=release_started)
        self.stdout.write(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()))
