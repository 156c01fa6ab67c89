"""The bundled issuers and credential types (issue #5, MISSION §4): the Social Welfare
Department's electronic Senior Citizen Card, the Civil Service Bureau's Common Recruitment
Examination and Basic Law and National Security Law Test results, and the Fire Services
Department's fire service installations certificate, and the Food and Environmental Hygiene
Department's temporary hawker licence (issue 17), and the CorpID platform's mandate to act for a
company (issue 19). Definitions are in ``types/*.json``:
names, a JSON Schema (draft 2020-12) of the claims, the claims filled from the holder's
identity (``holder_claims``), an optional minimum age, the validity and the display template.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction

from . import services
from .models import CredentialType, Issuer

ISSUERS = [
    {"id": "swd", "name_en": "Social Welfare Department", "name_zh": "社會福利署"},
    {"id": "csb", "name_en": "Civil Service Bureau", "name_zh": "公務員事務局"},
    {"id": "fsd", "name_en": "Fire Services Department", "name_zh": "消防處"},
    {"id": "fehd", "name_en": "Food and Environmental Hygiene Department", "name_zh": "食物環境衞生署"},
    # The CorpID platform (issue 19): mandates to act for a company, issued by the platform itself
    # (constants.PLATFORM_ISSUERS), never by an officer.
    {"id": "corpid", "name_en": "CorpID platform", "name_zh": "數碼企業身份平台"},
]

TYPES_DIR = Path(__file__).with_name("types")


def type_definitions() -> list[dict]:
    """Every bundled type definition (the parsed ``types/*.json``), sorted by id."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(TYPES_DIR.glob("*.json"))]


@transaction.atomic
def ensure_type(type_id: str) -> CredentialType:
    """The active bundled credential type ``type_id``, creating it and its issuer (with a
    signing key) from the bundled definitions when this database has not registered them yet
    (a platform set up before the type was added; an app that issues through the platform on
    its own, such as CorpID's mandates).

    :raises NotFound: ``credential_type_unknown`` when no bundled type has this id.
    """
    found = CredentialType.objects.select_related("issuer").filter(id=type_id, active=True).first()
    if found is not None:
        return found
    definition = next((d for d in type_definitions() if d["id"] == type_id), None)
    if definition is None:
        return services.get_type(type_id)  # raises credential_type_unknown
    issuer = next(i for i in ISSUERS if i["id"] == definition["issuer"])
    row, _created = Issuer.objects.get_or_create(
        id=issuer["id"], defaults={k: v for k, v in issuer.items() if k != "id"}
    )
    services.ensure_issuer_key(row)
    _save_type(definition)
    return services.get_type(type_id)


def _save_type(d: dict) -> None:
    CredentialType.objects.update_or_create(
        id=d["id"],
        defaults={
            "issuer_id": d["issuer"],
            "name_en": d["name_en"],
            "name_zh": d["name_zh"],
            "description_en": d["description_en"],
            "description_zh": d["description_zh"],
            "schema": d["schema"],
            "validity_days": d["validity_days"],
            "display": d["display"],
            "holder_claims": d.get("holder_claims", {}),
            "min_age": d.get("min_age"),
        },
    )


@transaction.atomic
def register_bundled() -> None:
    """Create or update the bundled issuers (each with a signing key) and credential types.
    Idempotent."""
    for issuer in ISSUERS:
        row, _created = Issuer.objects.update_or_create(
            id=issuer["id"], defaults={k: v for k, v in issuer.items() if k != "id"}
        )
        services.ensure_issuer_key(row)
    for d in type_definitions():
        _save_type(d)
