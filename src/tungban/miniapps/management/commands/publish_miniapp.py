"""``tungban publish_miniapp DIR [--sector SECTOR]``: publish a mini-program bundle (a folder
with ``manifest.json``) as its current version."""

from django.core.management.base import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.miniapps import services


class Command(BaseCommand):
    help = "Publish a mini-program bundle (a folder holding manifest.json) as its current version."

    def add_arguments(self, parser):
        parser.add_argument("directory")
        parser.add_argument(
            "--sector",
            default=None,
            help="Share pairwise ids with this sector (e.g. the department's web service's); '' for its own",
        )

    def handle(self, directory, sector, **options):
        try:
            version = services.publish(services.read_bundle(directory), sector_identifier=sector)
        except (DomainError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        app = version.miniapp
        self.stdout.write(f"{app.id} {version.version} sha256={version.sha256} -> {services.entry_url(app)}")
