"""``tungban load_committee [PATH]``: load a committee, its criteria and members from a TOML
file (default: the AI Subsidy Scheme's demo committee, ``committees/data/ai_subsidy_scheme.toml``,
seed 000 §12–13). Idempotent."""

from pathlib import Path

from django.core.management.base import BaseCommand

from tungban.committees import services

DEFAULT = Path(__file__).resolve().parents[2] / "data" / "ai_subsidy_scheme.toml"


class Command(BaseCommand):
    help = "Load a committee (criteria, members) from a TOML file; default: the AI Subsidy Scheme's."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(DEFAULT))

    def handle(self, *args, path, **options):
        committee = services.load_committee(path)
        self.stdout.write(
            f"{committee.code}: {committee.criteria.count()} criteria, {committee.members.count()} members"
        )
