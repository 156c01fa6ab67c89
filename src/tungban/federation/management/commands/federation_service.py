"""``tungban federation_service --slug … --name-en … --name-zh … --department … --required-acr …
--redirect-uri … [--scope "openid profile"] [--json-out FILE]``: create (or update) a hosted
online service at ``/federation/services/<slug>`` (a relying party, subordinate of this
instance's root entity) with its federation and protocol keys; prints its identifier and keys."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.federation.constants import OPENID_RELYING_PARTY, Role
from tungban.federation.services import entities

from ._common import emit, entity_summary


class Command(BaseCommand):
    help = "Create a hosted cross-boundary service (relying party) under this instance's root entity."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name-en", required=True)
        parser.add_argument("--name-zh", required=True)
        parser.add_argument("--organization-en", default="")
        parser.add_argument("--organization-zh", default="")
        parser.add_argument("--department", default="")
        parser.add_argument("--required-acr", default="")
        parser.add_argument("--redirect-uri", action="append", default=[], help="default: the service's callback")
        parser.add_argument("--scope", default="openid")
        parser.add_argument("--json-out")

    def handle(self, *args, **o):
        slug = o["slug"].strip("/")
        path = entities.SERVICE_PATH_PREFIX + slug
        redirect = o["redirect_uri"] or [f"{settings.TUNGBAN_ISSUER}/{path}/callback"]
        try:
            entity = entities.ensure_entity(
                path=path,
                role=Role.SERVICE,
                name_en=o["name_en"],
                name_zh=o["name_zh"],
                organization_en=o["organization_en"],
                organization_zh=o["organization_zh"],
                department=o["department"],
                required_acr=o["required_acr"],
                metadata={
                    OPENID_RELYING_PARTY: {"client_name": o["name_en"], "redirect_uris": redirect, "scope": o["scope"]}
                },
            )
        except DomainError as e:
            raise CommandError(str(e)) from None
        emit(self, entity_summary(entity), o["json_out"])
