"""``tungban federation_receive_trust_mark --path … --file F``: store a trust mark issued to the
hosted entity at ``--path`` ("" for the root, ``federation/services/<slug>`` for a service); its
entity configuration publishes it in ``trust_marks`` from then on."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.federation.models import Entity
from tungban.federation.services import entities


class Command(BaseCommand):
    help = "Store a trust mark received for a hosted entity."

    def add_arguments(self, parser):
        parser.add_argument("--path", required=True)
        parser.add_argument("--file", required=True)

    def handle(self, *args, **o):
        entity = Entity.objects.filter(path=o["path"].strip("/")).first()
        if entity is None:
            raise CommandError(f"no hosted entity at {o['path']!r}")
        try:
            token = Path(o["file"]).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise CommandError(f"{o['file']}: {e}") from None
        try:
            entry = entities.receive_trust_mark(entity, token)
        except DomainError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(f"{entity.entity_id} now publishes {entry['trust_mark_type']}")
