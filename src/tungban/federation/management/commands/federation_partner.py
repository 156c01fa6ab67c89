"""``tungban federation_partner --entity-id … --name-en … --name-zh … --jurisdiction CN-GD
--legal-basis-en … --legal-basis-zh … --filing-reference … [--acr-map JSON]``: record a partner
platform and the legal basis for personal data sent to its services (the GBA standard contract
and its filing reference). A service whose chain passes through no partner receives nothing."""

import json

from django.core.management.base import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.federation.services import entities


class Command(BaseCommand):
    help = "Record a partner platform with the legal basis of transfers to it."

    def add_arguments(self, parser):
        parser.add_argument("--entity-id", required=True)
        parser.add_argument("--name-en", required=True)
        parser.add_argument("--name-zh", required=True)
        parser.add_argument("--jurisdiction", required=True)
        parser.add_argument("--legal-basis-en", required=True)
        parser.add_argument("--legal-basis-zh", required=True)
        parser.add_argument("--filing-reference", required=True)
        parser.add_argument("--acr-map", default="{}", help='JSON, e.g. {"urn:gd:loa:2": "urn:tungban:acr:basic"}')

    def handle(self, *args, **o):
        try:
            acr_map = json.loads(o["acr_map"])
        except ValueError as e:
            raise CommandError(f"--acr-map: {e}") from None
        if not isinstance(acr_map, dict):
            raise CommandError("--acr-map must be a JSON object")
        try:
            partner = entities.add_partner(
                entity_id=o["entity_id"],
                name_en=o["name_en"],
                name_zh=o["name_zh"],
                jurisdiction=o["jurisdiction"],
                legal_basis_en=o["legal_basis_en"],
                legal_basis_zh=o["legal_basis_zh"],
                filing_reference=o["filing_reference"],
                acr_map=acr_map,
            )
        except DomainError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(f"partner {partner.entity_id} ({partner.filing_reference})")
