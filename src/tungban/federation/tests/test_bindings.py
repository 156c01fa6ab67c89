"""Cross-boundary login at the OpenID provider over a real trust chain (issue 23, part fop).

The live server hosts the trust anchor (its root entity) and the partner's service (a hosted RP
entity under it, trust-marked by the anchor: ``conftest.federation``, part fcore); the test's
``Partner`` row names the anchor's entity, so the service's chain passes through a partner. The
RP side is the hosted service's own protocol key (``entities.protocol_key``) with joserfc: a
signed request object at the authorization endpoint, ``private_key_jwt`` at the token endpoint.
"""

from __future__ import annotations

import re
import secrets
import time

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from tungban.federation.models import Binding, CrossBoundaryRelease, RegisteredClient
from tungban.federation.services import bindings, entities, registration, trustmarks
from tungban.oidc.models import AuthorizationCode, Client, Token
from tungban.testing.factories import PIN, authorize_params, bind_cli, code_from, complete_authorization, pkce
from tungban.wallet.models import ReleaseRecord

pytestmark = [pytest.mark.live_http, pytest.mark.django_db(transaction=True)]

FILING = "GBA-SC-HK-2026-0001"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def world(federation, issuer):
    assert issuer == federation.url  # the provider and the federation: one live server
    entities.add_partner(
        entity_id=federation.anchor.entity_id,
        name_en="Guangdong unified identity authentication platform (demo)",
        name_zh="廣東省統一身份認證平台（示範）",
        jurisdiction="CN-GD",
        legal_basis_en="GBA standard contract for cross-boundary flows of personal information",
        legal_basis_zh="粵港澳大灣區（內地、香港）個人信息跨境流動標準合同",
        filing_reference=FILING,
    )
    return federation


@pytest.fixture
def app(issuer, resident, app_home):
    return bind_cli(issuer, resident, app_home)


class RP:
    """The hosted service acting as the partner's relying party."""

    def __init__(self, world):
        self.world, self.service = world, world.service
        self.entity_id = world.service.entity_id
        self.key = entities.protocol_key(world.service)
        self.redirect = world.service.metadata["openid_relying_party"]["redirect_uris"][0]

    def _sign(self, claims):
        return jwt.encode({"alg": "ES256", "kid": self.key.kid}, claims, self.key, algorithms=["ES256"])

    def authorization(self, scope="openid"):
        verifier, challenge = pkce()
        params = authorize_params(self.entity_id, self.redirect, challenge, scope=scope)
        now = int(time.time())
        request = self._sign({"iss": self.entity_id, "aud": self.world.url, "iat": now, "exp": now + 60, **params})
        return {"client_id": self.entity_id, "request": request}, params, verifier

    def token(self, code, verifier):
        now = int(time.time())
        assertion = self._sign(
            {
                "iss": self.entity_id,
                "sub": self.entity_id,
                "aud": self.world.url,
                "iat": now,
                "exp": now + 60,
                "jti": secrets.token_urlsafe(12),
            }
        )
        return requests.post(
            f"{self.world.url}/oidc/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect,
                "code_verifier": verifier,
                "client_id": self.entity_id,
                "client_assertion_type": JWT_BEARER,
                "client_assertion": assertion,
            },
        )


def _start(world, rp, app, scope="openid"):
    browser = requests.Session()
    query, params, verifier = rp.authorization(scope)
    resp = browser.get(f"{world.url}/oidc/authorize", params=query, allow_redirects=False)
    assert resp.status_code == 200, resp.text[:600]
    rid = re.search(r"/app/approve/([0-9a-f-]{36})", resp.text).group(1)
    return browser, rid, app.show(rid, PIN), params, verifier


def _approve(world, rp, app, browser, rid, params, verifier):
    app.decide(rid, PIN, "approve")
    query = code_from(complete_authorization(browser, world.url, rid))
    assert query["state"] == params["state"]
    return rp.token(query["code"], verifier)


def _counts():
    return tuple(
        m.objects.count()
        for m in (Client, RegisteredClient, AuthorizationCode, Token, Binding, CrossBoundaryRelease, ReleaseRecord)
    )


def _refused(world, rp, code):
    before = _counts()
    query, _params, _verifier = rp.authorization()
    resp = requests.get(
        f"{world.url}/oidc/authorize", params=query, headers={"Accept-Language": "en"}, allow_redirects=False
    )
    assert resp.status_code in (403, 502) and "Location" not in resp.headers, resp.text[:300]
    assert code in resp.text and "This cross-boundary sign-in was refused" in resp.text
    assert _counts()[2:] == before[2:]  # no code, token, binding or release


def test_login_over_a_real_chain_binds_releases_and_removal_asks_again(world, app, resident):
    rp = RP(world)
    browser, rid, req, params, verifier = _start(world, rp, app)
    client = Client.objects.get(client_id=rp.entity_id)
    assert client.jwks == entities.protocol_jwks(world.service) and client.redirect_uris == [rp.redirect]
    assert RegisteredClient.objects.get(client=client).anchor == world.anchor.entity_id
    assert req["binds"]["cross_boundary"]["claims"] == ["sub", "acr"] and req["claims"] == []

    token = _approve(world, rp, app, browser, rid, params, verifier)
    assert token.status_code == 200, token.text
    provider_keys = KeySet.import_key_set(requests.get(f"{world.url}/oidc/jwks").json())
    id_token = jwt.decode(token.json()["id_token"], provider_keys).claims
    assert id_token["aud"] == rp.entity_id and id_token["acr"]
    assert not {"name", "hkid", "given_name", "family_name"} & set(id_token)  # minimisation
    binding = Binding.objects.get(resident=resident)
    release = CrossBoundaryRelease.objects.get()
    assert release.binding == binding and release.filing_reference == FILING and release.claims == ["sub", "acr"]
    assert release.release.requester_id == rp.entity_id

    # Second login: the usual approval.
    browser, rid, req, params, verifier = _start(world, rp, app)
    assert "cross_boundary" not in req["binds"]
    assert _approve(world, rp, app, browser, rid, params, verifier).status_code == 200
    assert Binding.objects.count() == 1

    # Removed: the token is refused, nothing released, the next login asks again.
    bindings.remove(resident, binding.id)
    releases = CrossBoundaryRelease.objects.count()
    info = requests.get(
        f"{world.url}/oidc/userinfo", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert info.status_code == 401 and info.json()["error"] == "invalid_token"
    assert CrossBoundaryRelease.objects.count() == releases
    _browser, _rid, req, _params, _verifier = _start(world, rp, app)
    assert req["binds"]["cross_boundary"]["partner"] == world.anchor.entity_id


def test_revoked_member_refused(world):
    entities.revoke(world.anchor, world.service.entity_id, reason="test")
    _refused(world, RP(world), "invalid_trust_chain")


def test_revoked_trust_mark_refused(world):
    trustmarks.revoke(world.mark, reason="test")
    _refused(world, RP(world), "invalid_trust_mark")


def test_no_partner_refused(world):
    from tungban.federation.models import Partner

    Partner.objects.all().delete()
    _refused(world, RP(world), "unknown_partner")


def test_unknown_anchor_refused(world):
    from tungban.federation.models import TrustAnchor

    TrustAnchor.objects.all().delete()
    _refused(world, RP(world), "invalid_trust_anchor")


def test_policy_violation_refused(world):
    from tungban.federation.models import Subordinate

    sub = Subordinate.objects.get(superior=world.anchor, entity_id=world.service.entity_id)
    sub.metadata_policy = {
        "openid_relying_party": {
            "scope": {"subset_of": ["openid"]},
            "client_name": {"essential": True, "one_of": ["another name"]},
        }
    }
    sub.save()
    _refused(world, RP(world), "invalid_metadata")


def test_trust_mark_type_is_the_anchors(world):
    assert registration.trust_mark_type(world.anchor.entity_id) == world.mark_type_id
