"""``tungban load_subsidy_intake [--register PATH]``: the AI Subsidy Scheme's register of
eligible institutions (``subsidy/eligibility/institutions.toml``), the demo call "AI Subsidy
Scheme 2024–2027" with its quarterly batches, and the demo classes of service (issue 20, part
D). Loading again changes nothing."""

from django.core.management.base import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.subsidy.services import eligibility, intake


class Command(BaseCommand):
    help = "Load the AI Subsidy Scheme's register of eligible institutions and its demo call and batches."

    def add_arguments(self, parser):
        parser.add_argument("--register", default=str(eligibility.REGISTER), help="the register file (TOML)")

    def handle(self, *args, **options):
        try:
            count = eligibility.load_institutions(options["register"])
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        call = intake.load_demo_scheme()
        self.stdout.write(f"{count} eligible institutions; call {call.code} with {call.batches.count()} batches")
