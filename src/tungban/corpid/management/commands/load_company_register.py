"""``tungban load_company_register FILE``: load the Companies Registry stand-in's register
(companies and their officers) into CorpID, all or nothing."""

from django.core.management.base import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.corpid import services


class Command(BaseCommand):
    help = "Load the register of companies and officers (JSON) into CorpID."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            count = services.load_register(file)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(f"{count} companies loaded from {file}")
