"""Hosted services as relying parties (part frp), over real HTTP: the service's pages on the live
server, the partner platform's OpenID provider a small stand-in on loopback (it checks the
request object and the ``private_key_jwt`` assertion with the service's protocol keys, and
PKCE, and answers with an ID token the test shapes), and the provider's trust chain real: an
entity of the live server's trust anchor whose ``openid_provider`` metadata points at the
stand-in, resolved by :func:`tungban.federation.services.chain.resolve`.

Every bad input on this side gives a refusal page in the resident's language and nothing
logged in: the provider's chain expired / wrongly signed / to an unknown anchor / revoked /
breaking the metadata policy, ``iss`` mismatch, a bad ID token, ``acr`` too low, the resident
declining (``access_denied``), a callback replayed or from another browser.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import socket
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tungban.federation.constants import Role
from tungban.federation.models import Partner, RemoteLogin, Subordinate, TrustAnchor
from tungban.federation.services import chain, entities

pytestmark = [pytest.mark.live_http, pytest.mark.django_db(transaction=True)]

ACR_BASIC = "urn:tungban:acr:basic"
ACR_PLUS = "urn:tungban:acr:plus"
EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-HK"}


class FakeProvider:
    """A partner's OpenID provider reduced to what a hosted service calls: it "authorizes"
    (checks the signed request object, returns a code) and answers the token endpoint (checks
    the client assertion, PKCE, the code), with an ID token shaped by :attr:`id_token_claims`
    and signed with :attr:`signing_key` (its published key unless a test swaps it)."""

    def __init__(self, service_id: str, service_jwks: dict):
        self.service_id, self.service_jwks = service_id, service_jwks
        self.key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
        self.signing_key = self.key
        self.codes: dict[str, dict] = {}
        self.id_token_claims: dict = {}
        self.token_errors: list[str] = []
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, self._app, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self):
        self._server.shutdown()

    def metadata(self) -> dict:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks": {"keys": [self.key.as_dict(private=False)]},
            "response_types_supported": ["code"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "authorization_response_iss_parameter_supported": True,
            "client_registration_types_supported": ["automatic"],
        }

    def authorize(self, authorization_url: str) -> dict:
        """What the provider does with the authorization URL: verify the request object with
        the service's protocol keys; returns its claims plus a fresh ``code``."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
        assert authorization_url.startswith(f"{self.url}/authorize?")
        assert query["client_id"] == self.service_id
        token = jwt.decode(query["request"], KeySet.import_key_set(self.service_jwks), algorithms=["ES256"])
        claims = token.claims
        assert claims["iss"] == claims["client_id"] == self.service_id
        assert claims["aud"] == self.url
        assert 0 < claims["exp"] - claims["iat"] <= 300
        code = secrets.token_urlsafe(16)
        self.codes[code] = claims
        return {**claims, "code": code}

    def _app(self, environ, start_response):
        request = Request(environ)
        if request.path != "/token" or request.method != "POST":
            return Response("not found", 404)(environ, start_response)
        form = request.form
        try:
            assertion = jwt.decode(
                form["client_assertion"], KeySet.import_key_set(self.service_jwks), algorithms=["ES256"]
            )
            assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            assert assertion.claims["iss"] == assertion.claims["sub"] == self.service_id
            assert assertion.claims["aud"] in (self.url, f"{self.url}/token")
            asked = self.codes.pop(form["code"])
            assert form["grant_type"] == "authorization_code"
            assert form["redirect_uri"] == asked["redirect_uri"]
            verifier = form["code_verifier"].encode()
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
            assert challenge == asked["code_challenge"] and asked["code_challenge_method"] == "S256"
        except Exception as exc:  # noqa: BLE001 - any failure is the client's: invalid_grant
            self.token_errors.append(repr(exc))
            body = json.dumps({"error": "invalid_grant"})
            return Response(body, 400, content_type="application/json")(environ, start_response)
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": "pairwise-" + secrets.token_hex(8),
            "aud": self.service_id,
            "iat": now,
            "exp": now + 300,
            "nonce": asked["nonce"],
            "acr": ACR_BASIC,
            **self.id_token_claims,
        }
        claims = {k: v for k, v in claims.items() if v is not None}
        id_token = jwt.encode({"alg": "ES256", "kid": self.signing_key.kid}, claims, self.signing_key)
        body = json.dumps({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "id_token": id_token})
        return Response(body, 200, content_type="application/json")(environ, start_response)


class World:
    def __init__(self, url, anchor, service, op_entity, provider):
        self.url, self.anchor, self.service, self.op_entity, self.provider = url, anchor, service, op_entity, provider

    @property
    def page(self) -> str:
        return f"{self.url}/federation/services/svc/"

    def start(self, browser: requests.Session, headers=EN) -> requests.Response:
        return browser.get(
            f"{self.page}login", params={"provider": self.op_entity.entity_id}, headers=headers, allow_redirects=False
        )

    def login(self, browser: requests.Session, *, headers=EN, iss: str | None = "", **callback) -> requests.Response:
        started = self.start(browser, headers)
        assert started.status_code == 302, started.text[:500]
        asked = self.provider.authorize(started.headers["Location"])
        params = {"state": asked["state"], "code": asked["code"], "iss": self.provider.url if iss == "" else iss}
        params.update(callback)
        return browser.get(
            f"{self.page}callback", params={k: v for k, v in params.items() if v is not None}, headers=headers
        )


@pytest.fixture
def world(live_server, settings):
    settings.TUNGBAN_ISSUER = live_server.url
    settings.TUNGBAN_FEDERATION_ALLOW_PRIVATE = True
    anchor = entities.ensure_entity(path="", role=Role.ANCHOR, name_en="Anchor", name_zh="信任錨")
    entities.pin_anchor(anchor.entity_id, entities.federation_jwks(anchor), name_en="Anchor", name_zh="信任錨")
    service = entities.ensure_entity(
        path="federation/services/svc",
        role=Role.SERVICE,
        name_en="Sample cross-boundary service",
        name_zh="跨境示範服務",
        department="DH",
        required_acr=ACR_BASIC,
        metadata={"openid_relying_party": {"redirect_uris": [f"{live_server.url}/federation/services/svc/callback"]}},
    )
    provider = FakeProvider(service.entity_id, entities.protocol_jwks(service))
    # The partner's provider as an entity of this anchor (served under federation/services/: the
    # only path entities this instance publishes); its declared metadata is the provider's.
    op_entity = entities.ensure_entity(
        path="federation/services/partner-op",
        role=Role.SERVICE,
        name_en="Partner platform",
        name_zh="伙伴平台",
        metadata={"openid_provider": provider.metadata()},
    )
    entities.enrol(
        anchor,
        entity_id=op_entity.entity_id,
        jwks=entities.federation_jwks(op_entity),
        entity_types=["federation_entity", "openid_provider"],
        name_en="Partner platform",
        name_zh="伙伴平台",
    )
    entities.add_partner(
        entity_id=op_entity.entity_id,
        name_en="Partner platform",
        name_zh="伙伴平台",
        jurisdiction="CN-GD",
        legal_basis_en="Standard contract",
        legal_basis_zh="標準合同",
        filing_reference="GBA-SC-TEST-0001",
    )
    yield World(live_server.url, anchor, service, op_entity, provider)
    provider.stop()


def refusal(resp: requests.Response) -> tuple[str, str]:
    """(error code, message) of a refusal page."""
    m = re.search(r'id="refusal-message" data-code="([a-z_]+)">([^<]+)<', resp.text)
    assert m, resp.text[:1500]
    return m.group(1), m.group(2).strip()


def test_login_shows_the_pairwise_identifier_and_the_level(world):
    browser = requests.Session()
    resp = world.login(browser)
    assert resp.status_code == 200 and resp.url == world.page
    login = RemoteLogin.objects.get()
    assert login.completed_at and login.error == ""
    assert login.acr == ACR_BASIC and login.subject.startswith("pairwise-")
    assert f'id="received-sub">{login.subject}<' in resp.text
    assert f'data-acr="{ACR_BASIC}"' in resp.text
    assert login.state_hash != "" and login.browser_hash not in browser.cookies.values()  # digests only
    # The page is the browser's: another browser sees the login button; logout forgets it.
    other = requests.Session().get(world.page, headers=EN)
    assert "received-sub" not in other.text and world.op_entity.entity_id in other.text
    csrf = browser.get(world.page).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', csrf).group(1)
    out = browser.post(f"{world.page}logout", data={"csrfmiddlewaretoken": token}, headers={"Referer": world.page})
    assert out.status_code == 200 and "received-sub" not in out.text


def test_the_request_carries_pkce_nonce_acr_values_and_the_language(world):
    browser = requests.Session()
    started = world.start(browser, ZH)
    asked = world.provider.authorize(started.headers["Location"])
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert asked["scope"] == "openid" and asked["response_type"] == "code"
    assert asked["redirect_uri"] == f"{world.url}/federation/services/svc/callback"
    assert ACR_BASIC in asked["acr_values"].split()
    assert asked["ui_locales"] == "zh-Hant"
    assert RemoteLogin.objects.get().nonce == asked["nonce"]


def _expire_statements(monkeypatch):
    class Later:
        monotonic = staticmethod(time.monotonic)

        @staticmethod
        def time():
            return time.time() + 3 * 86400

    monkeypatch.setattr(chain, "time", Later)


def _wrong_keys(world):
    other = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    Subordinate.objects.filter(entity_id=world.op_entity.entity_id).update(
        jwks={"keys": [other.as_dict(private=False)]}
    )


def _unknown_anchor(world):
    TrustAnchor.objects.all().delete()
    stranger = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    entities.pin_anchor(
        "https://anchor.example.org", {"keys": [stranger.as_dict(private=False)]}, name_en="Other", name_zh="其他"
    )


def _revoked(world):
    entities.revoke(world.anchor, world.op_entity.entity_id, reason="agreement ended")


def _policy_violation(world):
    Subordinate.objects.filter(entity_id=world.op_entity.entity_id).update(
        metadata_policy={
            "openid_provider": {"token_endpoint_auth_methods_supported": {"superset_of": ["tls_client_auth"]}}
        }
    )


CHAIN_FAULTS = {
    "expired": ("invalid_trust_chain", lambda world, mp: _expire_statements(mp)),
    "wrongly_signed": ("invalid_trust_chain", lambda world, mp: _wrong_keys(world)),
    "unknown_anchor": ("invalid_trust_anchor", lambda world, mp: _unknown_anchor(world)),
    "revoked": ("invalid_trust_chain", lambda world, mp: _revoked(world)),
    "policy_violation": ("invalid_metadata", lambda world, mp: _policy_violation(world)),
}


@pytest.mark.parametrize("fault", list(CHAIN_FAULTS))
def test_a_provider_whose_chain_fails_is_refused_in_both_languages(world, monkeypatch, fault):
    code, breaks = CHAIN_FAULTS[fault]
    breaks(world, monkeypatch)
    messages = {}
    for lang, headers in (("en", EN), ("zh", ZH)):
        resp = world.start(requests.Session(), headers)
        assert resp.status_code == 403, resp.text[:500]
        got, messages[lang] = refusal(resp)
        assert got == code
    assert messages["en"] != messages["zh"]  # translated, not the English twice
    assert re.search(r"[\u4e00-\u9fff]", messages["zh"])
    assert not RemoteLogin.objects.exists()  # nothing started


def test_a_chain_revoked_before_the_callback_refuses_the_login(world):
    browser = requests.Session()
    started = world.start(browser)
    asked = world.provider.authorize(started.headers["Location"])
    _revoked(world)
    resp = browser.get(
        f"{world.page}callback", params={"state": asked["state"], "code": asked["code"], "iss": world.provider.url}
    )
    assert resp.status_code == 403 and refusal(resp)[0] == "invalid_trust_chain"
    assert RemoteLogin.objects.get().subject == ""


def test_an_unknown_partner_is_refused(world):
    Partner.objects.update(is_active=False)
    resp = world.start(requests.Session(), ZH)
    assert resp.status_code == 403 and refusal(resp)[0] == "unknown_partner"
    assert not RemoteLogin.objects.exists()


@pytest.mark.parametrize("iss", [None, "http://127.0.0.1:9/elsewhere"])
def test_an_answer_without_or_with_another_iss_is_refused(world, iss):
    resp = world.login(requests.Session(), iss=iss)
    assert resp.status_code == 403 and refusal(resp)[0] == "issuer_mismatch"
    login = RemoteLogin.objects.get()
    assert login.error == "issuer_mismatch" and login.subject == ""


BAD_ID_TOKENS = {
    "wrong_signature": None,
    "wrong_nonce": {"nonce": "not-the-nonce"},
    "wrong_audience": {"aud": "https://someone.else.example"},
    "wrong_issuer": {"iss": "https://someone.else.example"},
    "expired": {"exp": int(time.time()) - 3600},
    "no_subject": {"sub": None},
}


@pytest.mark.parametrize("fault", list(BAD_ID_TOKENS))
def test_a_bad_id_token_is_refused(world, fault):
    if fault == "wrong_signature":
        world.provider.signing_key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    else:
        world.provider.id_token_claims = BAD_ID_TOKENS[fault]
    resp = world.login(requests.Session(), headers=ZH)
    assert resp.status_code == 403 and refusal(resp)[0] == "invalid_id_token"
    assert RemoteLogin.objects.get().subject == ""


def test_a_level_below_the_services_is_refused(world):
    world.service.required_acr = ACR_PLUS
    world.service.save(update_fields=["required_acr"])
    resp = world.login(requests.Session())
    assert resp.status_code == 403 and refusal(resp)[0] == "assurance_too_low"
    assert RemoteLogin.objects.get().subject == ""
    world.provider.id_token_claims = {"acr": ACR_PLUS}
    assert world.login(requests.Session()).status_code == 200


def test_the_partners_acr_map_translates_its_levels(world):
    Partner.objects.update(acr_map={"urn:gd:level:2": ACR_PLUS, "urn:gd:level:1": ACR_BASIC})
    world.service.required_acr = ACR_PLUS
    world.service.save(update_fields=["required_acr"])
    browser = requests.Session()
    started = world.start(browser)
    asked = world.provider.authorize(started.headers["Location"])
    assert asked["acr_values"].split() == ["urn:gd:level:2"]  # only the partner's levels that reach ours
    world.provider.id_token_claims = {"acr": "urn:gd:level:2"}
    resp = browser.get(
        f"{world.page}callback", params={"state": asked["state"], "code": asked["code"], "iss": world.provider.url}
    )
    assert resp.status_code == 200 and RemoteLogin.objects.get().acr == ACR_PLUS


def test_the_resident_declining_is_shown_in_both_languages(world):
    for headers in (EN, ZH):
        browser = requests.Session()
        started = world.start(browser, headers)
        asked = world.provider.authorize(started.headers["Location"])
        resp = browser.get(
            f"{world.page}callback",
            params={"state": asked["state"], "error": "access_denied", "iss": world.provider.url},
            headers=headers,
        )
        assert resp.status_code == 403 and refusal(resp)[0] == "login_declined"
    assert set(RemoteLogin.objects.values_list("error", flat=True)) == {"login_declined"}


def test_a_callback_is_used_once_and_only_in_the_browser_that_started_it(world):
    browser = requests.Session()
    started = world.start(browser)
    asked = world.provider.authorize(started.headers["Location"])
    params = {"state": asked["state"], "code": asked["code"], "iss": world.provider.url}
    stolen = requests.Session().get(f"{world.page}callback", params=params)
    assert stolen.status_code == 404 and refusal(stolen)[0] == "login_unknown"
    assert browser.get(f"{world.page}callback", params=params).status_code == 200
    replay = browser.get(f"{world.page}callback", params=params)
    assert replay.status_code == 404 and refusal(replay)[0] == "login_unknown"


def test_an_unknown_service_is_not_found(world):
    resp = requests.get(f"{world.url}/federation/services/nothing-here/", headers=EN)
    assert resp.status_code == 404 and refusal(resp)[0] == "not_found"


def test_abandoned_logins_are_purged_and_finished_ones_kept(world):
    import datetime as dt

    from django.utils import timezone

    from tungban.core import retention
    from tungban.federation.services import rp

    assert retention.registered()["federation.rp"] is rp.purge_abandoned_logins
    world.login(requests.Session())  # finished
    world.start(requests.Session())  # abandoned
    assert rp.purge_abandoned_logins(timezone.now()) == {"federation.RemoteLogin": 0}  # not yet expired
    later = timezone.now() + dt.timedelta(seconds=rp.LOGIN_LIFETIME + 1)
    assert rp.purge_abandoned_logins(later) == {"federation.RemoteLogin": 1}
    assert RemoteLogin.objects.get().completed_at is not None


def test_the_cross_boundary_page_lists_hosted_services_and_partners(world):
    from tungban.federation.services import trustmarks

    mark_type = trustmarks.ensure_type(world.anchor, name_en="Cross-boundary service", name_zh="跨境通辦服務")
    _mark, token = trustmarks.issue(
        mark_type, world.service.entity_id, department_en="Department of Health", department_zh="衞生署"
    )
    entities.receive_trust_mark(world.service, token)
    for headers, words in ((EN, "Cross-boundary service of Department of Health"), (ZH, "衞生署的跨境通辦服務")):
        page = requests.get(f"{world.url}/cross-boundary/", headers=headers)
        assert page.status_code == 200
        hosted = dict(re.findall(r'<li class="card hosted-service" data-entity="([^"]+)">(.*?)</li>', page.text, re.S))
        assert words in hosted[world.service.entity_id]
        # The partner here publishes no list endpoint (it is no platform root): shown as unreachable.
        partner = re.search(r'<section class="partner" data-entity="([^"]+)"(.*?)</section>', page.text, re.S)
        assert partner.group(1) == world.op_entity.entity_id and "partner-service" not in partner.group(2)
        assert 'class="hint"' in partner.group(2)
