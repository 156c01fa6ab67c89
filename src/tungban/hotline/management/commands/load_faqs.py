"""``tungban load_faqs [PATH]``: load the 1823 FAQ files (:func:`tungban.hotline.services.faqs.load`)."""

from django.core.management import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.hotline.services import faqs


class Command(BaseCommand):
    help = "Load the 1823 FAQ files (default: the ones shipped in hotline/data/faqs/) and index them for search."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=None, help="a folder of *.toml FAQ files, or one file")

    def handle(self, *args, path=None, **opts):
        try:
            count = faqs.load(path)
        except DomainError as exc:
            problems = (exc.details or {}).get("problems") or [str(exc.message)]
            raise CommandError("\n".join(problems)) from None
        if opts.get("verbosity", 1) >= 1:
            self.stdout.write(f"{count} FAQ entries published.")
