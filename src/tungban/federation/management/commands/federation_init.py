"""``tungban federation_init --role {anchor,platform} --name-en … --name-zh … [--authority-hint
URL] [--json-out FILE]``: create (or update) this instance's root federation entity and its
federation key; prints its entity identifier, JWK Set and the keys' thumbprints as JSON (to send
to the superior out of band, docs/integrators.md §18). Idempotent."""

from django.core.management.base import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.federation.constants import Role
from tungban.federation.services import entities

from ._common import emit, entity_summary


class Command(BaseCommand):
    help = "Create this instance's root federation entity (trust anchor or platform) and print its keys."

    def add_arguments(self, parser):
        parser.add_argument("--role", required=True, choices=[Role.ANCHOR, Role.PLATFORM])
        parser.add_argument("--name-en", required=True)
        parser.add_argument("--name-zh", required=True)
        parser.add_argument("--organization-en", default="")
        parser.add_argument("--organization-zh", default="")
        parser.add_argument("--authority-hint", action="append", default=[], help="a superior's entity identifier")
        parser.add_argument("--json-out", help="also write the JSON to this file")

    def handle(self, *args, **o):
        if o["role"] == Role.ANCHOR and o["authority_hint"]:
            raise CommandError("a trust anchor has no superior (--authority-hint)")
        try:
            entity = entities.ensure_entity(
                path="",
                role=o["role"],
                name_en=o["name_en"],
                name_zh=o["name_zh"],
                organization_en=o["organization_en"],
                organization_zh=o["organization_zh"],
                authority_hints=o["authority_hint"],
            )
        except DomainError as e:
            raise CommandError(str(e)) from None
        emit(self, entity_summary(entity), o["json_out"])
