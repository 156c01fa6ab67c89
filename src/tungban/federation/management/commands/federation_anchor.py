"""``tungban federation_anchor --entity-id … --jwks-file F --name-en … --name-zh …``: accept trust
chains to this trust anchor, its federation keys pinned from the JWK Set received out of band
(§1.2, §10.1). Prints the thumbprints to compare with the anchor's operator."""

from django.core.management.base import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.federation.services import entities

from ._common import emit, read_jwks, thumbprints


class Command(BaseCommand):
    help = "Pin a trust anchor's federation keys."

    def add_arguments(self, parser):
        parser.add_argument("--entity-id", required=True)
        parser.add_argument("--jwks-file", required=True)
        parser.add_argument("--name-en", required=True)
        parser.add_argument("--name-zh", required=True)

    def handle(self, *args, **o):
        try:
            anchor = entities.pin_anchor(
                o["entity_id"], read_jwks(o["jwks_file"]), name_en=o["name_en"], name_zh=o["name_zh"]
            )
        except DomainError as e:
            raise CommandError(str(e)) from None
        emit(self, {"trust_anchor": anchor.entity_id, "thumbprints": thumbprints(anchor.jwks)}, None)
