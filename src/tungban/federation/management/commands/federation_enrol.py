"""``tungban federation_enrol --entity-id … --jwks-file F --entity-type … [--entity-type …]
[--policy-file F] [--constraints-file F] [--name-en … --name-zh …]``: enrol a subordinate of this
instance's root entity with its federation keys pinned (the JWK Set received out of band; compare
the printed thumbprints with the subordinate's operator by telephone or letter before going on)
and a metadata policy (§6.1). Re-enrolling updates it and clears a revocation."""

from django.core.management.base import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.federation.services import entities

from ._common import emit, read_json, read_jwks, root_or_fail, thumbprints


class Command(BaseCommand):
    help = "Enrol a subordinate (partner platform or service) under this instance's root entity."

    def add_arguments(self, parser):
        parser.add_argument("--entity-id", required=True)
        parser.add_argument("--jwks-file", required=True)
        parser.add_argument("--entity-type", action="append", required=True)
        parser.add_argument("--policy-file")
        parser.add_argument("--metadata-file")
        parser.add_argument("--constraints-file")
        parser.add_argument("--name-en", default="")
        parser.add_argument("--name-zh", default="")
        parser.add_argument("--enrolled-by", default="")

    def handle(self, *args, **o):
        top = root_or_fail()
        jwks = read_jwks(o["jwks_file"])
        policy = read_json(o["policy_file"], "policy file") if o["policy_file"] else None
        metadata = read_json(o["metadata_file"], "metadata file") if o["metadata_file"] else None
        constraints = read_json(o["constraints_file"], "constraints file") if o["constraints_file"] else None
        try:
            sub = entities.enrol(
                top,
                entity_id=o["entity_id"],
                jwks=jwks,
                entity_types=o["entity_type"],
                name_en=o["name_en"] or o["entity_id"],
                name_zh=o["name_zh"] or o["name_en"] or o["entity_id"],
                metadata_policy=policy,
                metadata=metadata,
                constraints=constraints,
                enrolled_by=o["enrolled_by"] or "federation_enrol",
            )
        except DomainError as e:
            raise CommandError(str(e)) from None
        emit(
            self,
            {"superior": top.entity_id, "entity_id": sub.entity_id, "thumbprints": thumbprints(sub.jwks)},
            None,
        )
