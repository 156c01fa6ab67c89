"""Fixtures: a federation hosted on the test's live server (issue 23 unit tests).

One instance hosts the trust anchor (its root entity) and services under it, so every chain
here is leaf → anchor over real HTTP; ``TUNGBAN_ISSUER`` is the live server's address and
``TUNGBAN_FEDERATION_ALLOW_PRIVATE`` is on (the server is on 127.0.0.1)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tungban.federation.constants import Role
from tungban.federation.models import Entity
from tungban.federation.services import entities, trustmarks
from tungban.testing.federation import federation_template_dir  # noqa: F401 - the multi-instance tests' fixture

RP_POLICY = {
    "openid_relying_party": {
        "token_endpoint_auth_method": {"one_of": ["private_key_jwt"]},
        "grant_types": {"subset_of": ["authorization_code"]},
        "response_types": {"subset_of": ["code"]},
        "scope": {"subset_of": ["openid", "profile"]},
        "client_registration_types": {"subset_of": ["automatic"]},
    }
}


@dataclass
class World:
    url: str
    anchor: Entity
    service: Entity
    mark_type: object
    mark: object

    @property
    def anchors(self) -> dict:
        return {self.anchor.entity_id: entities.federation_jwks(self.anchor)}

    @property
    def mark_type_id(self) -> str:
        return self.mark_type.trust_mark_type


def make_service(slug: str, *, scope: str = "openid profile", redirect: str | None = None) -> Entity:
    from django.conf import settings

    return entities.ensure_entity(
        path=f"federation/services/{slug}",
        role=Role.SERVICE,
        name_en=f"Service {slug}",
        name_zh=f"服務 {slug}",
        department="DH",
        metadata={
            "openid_relying_party": {
                "client_name": f"Service {slug}",
                "redirect_uris": [redirect or f"{settings.TUNGBAN_ISSUER}/federation/services/{slug}/callback"],
                "scope": scope,
            }
        },
    )


@pytest.fixture
def federation(live_server, settings, transactional_db) -> World:
    settings.TUNGBAN_ISSUER = live_server.url
    settings.TUNGBAN_FEDERATION_ALLOW_PRIVATE = True
    anchor = entities.ensure_entity(
        path="", role=Role.ANCHOR, name_en="GBA cross-boundary trust anchor", name_zh="粵港跨境通辦信任錨"
    )
    entities.pin_anchor(
        anchor.entity_id, entities.federation_jwks(anchor), name_en=anchor.name_en, name_zh=anchor.name_zh
    )
    mark_type = trustmarks.ensure_type(anchor, name_en="Cross-boundary service", name_zh="跨境通辦服務")
    service = make_service("hk-cross-boundary")
    sub = entities.enrol(
        anchor,
        entity_id=service.entity_id,
        jwks=entities.federation_jwks(service),
        entity_types=["federation_entity", "openid_relying_party"],
        name_en=service.name_en,
        name_zh=service.name_zh,
        metadata_policy=RP_POLICY,
    )
    assert sub.revoked_at is None
    mark, token = trustmarks.issue(
        mark_type, service.entity_id, department_en="Department of Health", department_zh="衞生署"
    )
    entities.receive_trust_mark(service, token)
    service.refresh_from_db()
    return World(live_server.url, anchor, service, mark_type, mark)
