"""``tungban federation_revoke --entity-id … --reason …``: revoke a subordinate of this instance's
root entity. Its subordinate statement is no longer served, so every trust chain through it
fails at its next resolution (issue 23)."""

from django.core.management.base import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.federation.services import entities

from ._common import root_or_fail


class Command(BaseCommand):
    help = "Revoke a subordinate of this instance's root entity."

    def add_arguments(self, parser):
        parser.add_argument("--entity-id", required=True)
        parser.add_argument("--reason", required=True)

    def handle(self, *args, **o):
        try:
            sub = entities.revoke(root_or_fail(), o["entity_id"], reason=o["reason"])
        except DomainError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(f"revoked {sub.entity_id} at {sub.revoked_at:%Y-%m-%dT%H:%M:%SZ}")
