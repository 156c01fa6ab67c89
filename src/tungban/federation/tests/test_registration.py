"""The OpenID provider's side of cross-boundary login (issue 23, part fop): automatic
registration of a federation RP (OpenID Federation 1.0 §12.1), the cross-boundary consent in the
app, the binding, releases with the legal basis, removal, and every refusal with nothing released.

The trust chain is :func:`tungban.federation.services.chain.resolve`'s (part fcore); here it is
replaced by a fake that answers as the interface says (``TrustChain``) or raises the federation
errors, so that this part's rules are tested on their own. The RP side (signed request objects,
``private_key_jwt``) is written with joserfc, as a partner's service would.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import translation
from joserfc import jwt
from joserfc.jwk import ECKey

from tungban.federation import errors
from tungban.federation.models import Binding, CrossBoundaryRelease, Partner, RegisteredClient
from tungban.federation.services import bindings, chain, registration
from tungban.oidc.models import AuthorizationCode, Client, Token
from tungban.testing.factories import PIN, authorize_params, bind_cli, code_from, complete_authorization, pkce
from tungban.wallet.models import ReleaseRecord

pytestmark = pytest.mark.django_db

ANCHOR = "https://anchor.example"
GD = "https://gd.example"
SERVICE = f"{GD}/federation/services/gd-government-services"
REDIRECT = f"{GD}/federation/services/gd-government-services/callback"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FILING = "GBA-SC-HK-2026-0001"


@dataclass(frozen=True)
class FakeChain:
    """A resolved trust chain as :class:`tungban.federation.services.chain.TrustChain` gives it."""

    subject: str
    anchor: str
    path: tuple
    statements: tuple
    metadata: dict
    trust_marks: tuple
    expires_at: int = field(default_factory=lambda: int(time.time()) + 600)


class PartnerService:
    """The partner's service (an RP): its protocol key, request objects, client assertions."""

    def __init__(self, issuer, entity_id=SERVICE):
        self.issuer, self.entity_id = issuer, entity_id
        self.key = ECKey.generate_key("P-256", parameters={"kid": "gd-1"}, private=True)

    def jwks(self):
        return {"keys": [self.key.as_dict(private=False)]}

    def metadata(self, **overrides):
        rp = {
            "client_name": "Guangdong government services (demo)",
            "client_name#zh-Hant": "廣東政務服務網（示範）",
            "redirect_uris": [REDIRECT],
            "jwks": self.jwks(),
            "token_endpoint_auth_method": "private_key_jwt",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "scope": "openid profile",
            "client_registration_types": ["automatic"],
            **overrides,
        }
        return {"openid_relying_party": rp, "federation_entity": {"organization_name": "Guangdong (demo)"}}

    def request_object(self, params, key=None):
        now = int(time.time())
        claims = {"iss": self.entity_id, "aud": self.issuer, "iat": now, "exp": now + 60, **params}
        return jwt.encode({"alg": "ES256", "kid": "gd-1"}, claims, key or self.key, algorithms=["ES256"])

    def assertion(self):
        now = int(time.time())
        claims = {
            "iss": self.entity_id,
            "sub": self.entity_id,
            "aud": self.issuer,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode({"alg": "ES256", "kid": "gd-1"}, claims, self.key, algorithms=["ES256"])

    def token(self, code, verifier):
        return requests.post(
            f"{self.issuer}/oidc/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
                "client_id": self.entity_id,
                "client_assertion_type": JWT_BEARER,
                "client_assertion": self.assertion(),
            },
        )


@pytest.fixture
def partner(db):
    return Partner.objects.create(
        entity_id=GD,
        name_en="Guangdong unified identity authentication platform (demo)",
        name_zh="廣東省統一身份認證平台（示範）",
        jurisdiction="CN-GD",
        legal_basis_en="GBA standard contract for cross-boundary flows of personal information",
        legal_basis_zh="粵港澳大灣區（內地、香港）個人信息跨境流動標準合同",
        filing_reference=FILING,
    )


@pytest.fixture
def service(issuer):
    return PartnerService(issuer)


@pytest.fixture
def fake_chain(monkeypatch, service, partner):
    """``chain.resolve`` answering for the partner's service; ``fake_chain.refuse = error`` makes
    it raise, ``fake_chain.metadata``/``path``/``marks`` change what it answers."""

    class Federation:
        refuse = None
        calls: list = []
        metadata = service.metadata()
        path = (SERVICE, GD, ANCHOR)
        marks = ({"trust_mark_type": registration.trust_mark_type(ANCHOR), "iss": ANCHOR, "sub": SERVICE},)

    def resolve(entity_id, *, entity_type=None, required_trust_marks=(), anchors=None):
        Federation.calls.append((entity_id, entity_type))
        if Federation.refuse is not None:
            raise Federation.refuse
        return FakeChain(
            subject=entity_id,
            anchor=ANCHOR,
            path=Federation.path,
            statements=(),
            metadata=Federation.metadata,
            trust_marks=Federation.marks,
        )

    monkeypatch.setattr(chain, "resolve", resolve, raising=False)
    Federation.calls = []
    return Federation


@pytest.fixture
def app(issuer, resident, app_home):
    return bind_cli(issuer, resident, app_home)


def _authorize(service, scope="openid", *, signed=True, key=None, **extra):
    verifier, challenge = pkce()
    params = authorize_params(service.entity_id, REDIRECT, challenge, scope=scope, **extra)
    if signed:
        query = {"client_id": service.entity_id, "request": service.request_object(params, key=key)}
    else:
        query = params
    return query, params, verifier


def _open(issuer, browser, query):
    return browser.get(f"{issuer}/oidc/authorize", params=query, allow_redirects=False)


def _login(issuer, service, app, scope="openid"):
    """Up to the app's approval: ``(browser, request id, request details, params, verifier)``."""
    browser = requests.Session()
    query, params, verifier = _authorize(service, scope)
    resp = _open(issuer, browser, query)
    assert resp.status_code == 200, resp.text[:800]
    rid = re.search(r"/app/approve/([0-9a-f-]{36})", resp.text).group(1)
    return browser, rid, app.show(rid, PIN), params, verifier


def _finish(issuer, service, app, browser, rid, params, verifier):
    app.decide(rid, PIN, "approve")
    query = code_from(complete_authorization(browser, issuer, rid))
    assert query["state"] == params["state"]
    return service.token(query["code"], verifier)


def _counts():
    return (
        Client.objects.count(),
        RegisteredClient.objects.count(),
        AuthorizationCode.objects.count(),
        Token.objects.count(),
        Binding.objects.count(),
        CrossBoundaryRelease.objects.count(),
        ReleaseRecord.objects.count(),
    )


def test_first_login_binds_then_second_login_asks_nothing_more(issuer, service, fake_chain, app, resident):
    browser, rid, req, params, verifier = _login(issuer, service, app)
    # Registered from the resolved metadata: the entity identifier, private_key_jwt, its keys.
    client = Client.objects.get(client_id=SERVICE)
    assert client.token_endpoint_auth_method == "private_key_jwt"
    assert client.redirect_uris == [REDIRECT] and client.jwks == service.jwks()
    assert client.allowed_scopes == ["openid", "profile"] and client.name_zh == "廣東政務服務網（示範）"
    assert fake_chain.calls == [(SERVICE, "openid_relying_party")]
    # The consent: exactly the claims that cross, the partner, the legal basis, bound to the signature.
    consent = req["binds"]["cross_boundary"]
    assert consent == {"partner": GD, "service": SERVICE, "claims": ["sub", "acr"], "filing_reference": FILING}
    assert req["claims"] == []  # nothing from e-ME is asked
    lines = {line["label"]: line["value"] for line in req["details"]}
    assert lines["Partner platform"] == "Guangdong unified identity authentication platform (demo)"
    assert lines["Filing reference"] == FILING
    assert "GBA standard contract" in lines["Legal basis"]
    assert "identifier for this service only" in lines["What crosses the boundary"]
    assert "name" not in lines["What crosses the boundary"].lower().replace("identifier", "")
    assert not Binding.objects.exists()

    token = _finish(issuer, service, app, browser, rid, params, verifier)
    assert token.status_code == 200, token.text
    binding = Binding.objects.get(resident=resident)
    assert binding.partner.entity_id == GD and binding.claims == [] and binding.removed_at is None
    release = CrossBoundaryRelease.objects.get()
    assert release.binding == binding and release.recipient == SERVICE
    assert release.claims == ["sub", "acr"] and release.filing_reference == FILING
    assert "GBA standard contract" in release.legal_basis and release.acr
    assert release.release is not None and release.release.requester_id == SERVICE
    assert FILING in release.release.requester_name_en  # the app's history shows the basis
    # UserInfo: the pairwise sub only, recorded as a release too (the reference path, not the fast one).
    info = requests.get(f"{issuer}/oidc/userinfo", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert info.status_code == 200 and set(info.json()) == {"sub"}
    assert CrossBoundaryRelease.objects.count() == 2

    # Second login: the usual approval, no new consent; still one binding.
    browser, rid, req, params, verifier = _login(issuer, service, app)
    assert "cross_boundary" not in req["binds"] and req["details"] == []
    assert _finish(issuer, service, app, browser, rid, params, verifier).status_code == 200
    assert Binding.objects.count() == 1 and CrossBoundaryRelease.objects.count() == 3


def test_profile_names_cross_only_when_asked_and_allowed(issuer, service, fake_chain, app, resident):
    browser, rid, req, params, verifier = _login(issuer, service, app, scope="openid profile")
    asked = [c["name"] for c in req["claims"]]
    assert asked and req["binds"]["cross_boundary"]["claims"] == ["sub", "acr", *asked]
    assert _finish(issuer, service, app, browser, rid, params, verifier).status_code == 200
    assert Binding.objects.get().claims == asked
    # A service whose metadata does not allow profile gets openid only: no names asked.
    fake_chain.metadata = service.metadata(scope="openid")
    browser, rid, req, params, verifier = _login(issuer, service, app, scope="openid profile")
    assert req["claims"] == [] and Client.objects.get(client_id=SERVICE).allowed_scopes == ["openid"]


def test_removed_binding_revokes_tokens_and_next_login_asks_again(issuer, service, fake_chain, app, resident):
    browser, rid, req, params, verifier = _login(issuer, service, app)
    token = _finish(issuer, service, app, browser, rid, params, verifier).json()
    binding = Binding.objects.get()
    key = app.load_key(PIN)
    listed = app._call("GET", "/api/v1/federation/app/bindings", device_key=key)
    assert [b["id"] for b in listed] == [str(binding.id)] and listed[0]["partner"]["filing_reference"] == FILING
    removed = app._call("DELETE", f"/api/v1/federation/app/bindings/{binding.id}", device_key=key)
    assert removed["removed_at"]
    releases = CrossBoundaryRelease.objects.count()
    info = requests.get(f"{issuer}/oidc/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert info.status_code == 401 and info.json()["error"] == "invalid_token"
    assert CrossBoundaryRelease.objects.count() == releases
    assert app._call("GET", "/api/v1/federation/app/bindings", device_key=key) == []
    with pytest.raises(errors.BindingUnknown):
        bindings.remove(resident, binding.id)
    # The next login asks again.
    _browser, _rid, req, _params, _verifier = _login(issuer, service, app)
    assert req["binds"]["cross_boundary"]["partner"] == GD


def test_code_redeemed_after_removal_releases_nothing(issuer, service, fake_chain, app, resident):
    browser, rid, req, params, verifier = _login(issuer, service, app)
    app.decide(rid, PIN, "approve")
    query = code_from(complete_authorization(browser, issuer, rid))
    bindings.remove(resident, Binding.objects.get().id)
    before = _counts()
    resp = service.token(query["code"], verifier)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"
    assert _counts()[3:] == before[3:]  # no token, no release


@pytest.mark.parametrize(
    "refusal",
    [
        errors.InvalidTrustAnchor(),
        errors.InvalidTrustChain(),
        errors.InvalidTrustMark(),
        errors.InvalidMetadata(),
        errors.FetchFailed(),
    ],
    ids=lambda e: e.code,
)
def test_refused_chain_is_a_page_in_both_languages_and_nothing_is_stored(issuer, service, fake_chain, refusal):
    fake_chain.refuse = refusal
    before = _counts()
    query, _params, _verifier = _authorize(service)
    browser = requests.Session()
    resp = browser.get(
        f"{issuer}/oidc/authorize", params=query, headers={"Accept-Language": "en"}, allow_redirects=False
    )
    assert resp.status_code == refusal.status and "Location" not in resp.headers
    assert "This cross-boundary sign-in was refused" in resp.text and refusal.code in resp.text
    zh = browser.get(
        f"{issuer}/oidc/authorize", params=query, headers={"Accept-Language": "zh-hant"}, allow_redirects=False
    )
    assert "此跨境登入已被拒絕" in zh.text and zh.status_code == refusal.status
    with translation.override("zh-hant"):
        assert str(refusal.message) in zh.text and str(refusal.message) not in resp.text
    assert _counts() == before


def test_revoked_member_loses_its_client_and_tokens(issuer, service, fake_chain, app, resident):
    browser, rid, req, params, verifier = _login(issuer, service, app)
    token = _finish(issuer, service, app, browser, rid, params, verifier).json()
    fake_chain.refuse = (
        errors.MemberRemoved()
    )  # the anchor revoked the partner's service (its fetch endpoint: not_found)
    resp = _open(issuer, requests.Session(), _authorize(service)[0])
    assert resp.status_code == 403
    assert not Client.objects.get(client_id=SERVICE).is_active
    info = requests.get(f"{issuer}/oidc/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert info.status_code == 401


def test_missing_trust_mark_refused(issuer, service, fake_chain):
    fake_chain.marks = ({"trust_mark_type": "https://other.example/trust-marks/x", "iss": ANCHOR, "sub": SERVICE},)
    before = _counts()
    resp = _open(issuer, requests.Session(), _authorize(service)[0])
    assert resp.status_code == 403 and "invalid_trust_mark" in resp.text
    assert _counts() == before


def test_no_partner_refused(issuer, service, fake_chain):
    fake_chain.path = (SERVICE, "https://elsewhere.example", ANCHOR)
    before = _counts()
    resp = _open(issuer, requests.Session(), _authorize(service)[0])
    assert resp.status_code == 403 and "unknown_partner" in resp.text
    assert _counts() == before


def test_unsigned_request_refused_before_resolving(issuer, service, fake_chain):
    before = _counts()
    resp = _open(issuer, requests.Session(), _authorize(service, signed=False)[0])
    assert resp.status_code == 403 and "unsigned_request" in resp.text and "Location" not in resp.headers
    assert fake_chain.calls == [] and _counts() == before


def test_request_object_signed_with_a_key_not_in_the_metadata_refused(issuer, service, fake_chain):
    other = ECKey.generate_key("P-256", parameters={"kid": "gd-1"}, private=True)
    before = _counts()
    resp = _open(issuer, requests.Session(), _authorize(service, key=other)[0])
    if resp.status_code == 302:  # to the redirect URI the chain vouches for (RFC 9101 §6.3)
        error = parse_qs(urlsplit(resp.headers["Location"]).query)["error"][0]
        assert urlsplit(resp.headers["Location"])._replace(query="").geturl() == REDIRECT
    else:
        error = "invalid_request_object" if "invalid_request_object" in resp.text else resp.text[:200]
    assert error == "invalid_request_object"
    assert _counts()[2:] == before[2:]  # no code, token, binding or release


def test_par_registers_with_private_key_jwt_and_refuses_as_json(issuer, service, fake_chain, app):
    _query, params, verifier = _authorize(service, signed=False)
    auth = {"client_id": SERVICE, "client_assertion_type": JWT_BEARER}
    resp = requests.post(f"{issuer}/oidc/par", data={**params, **auth, "client_assertion": service.assertion()})
    assert resp.status_code == 201, resp.text
    browser = requests.Session()
    page = _open(issuer, browser, {"client_id": SERVICE, "request_uri": resp.json()["request_uri"]})
    assert page.status_code == 200 and len(fake_chain.calls) == 1  # registered at the push
    # Without private_key_jwt: refused before resolving, as JSON.
    plain = requests.post(f"{issuer}/oidc/par", data={**params, "client_id": SERVICE, "client_secret": "x"})
    assert plain.status_code == 401 and plain.json()["error"] == "invalid_client"
    assert plain.json()["error_description"].startswith("private_key_jwt_required")
    # A refused chain: the federation's code first in the description.
    fake_chain.refuse = errors.UnknownPartner()
    refused = requests.post(f"{issuer}/oidc/par", data={**params, **auth, "client_assertion": service.assertion()})
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert refused.json()["error_description"].startswith("unknown_partner: ")
    assert verifier


def test_ordinary_clients_never_call_the_federation(issuer, fake_chain, app):
    from tungban.testing.factories import login, make_client

    _client, secret = make_client("svc-plain", "https://plain.example/cb")
    tokens = login(issuer, app, "svc-plain", secret, "https://plain.example/cb")
    assert tokens["access_token"] and fake_chain.calls == []
    assert not CrossBoundaryRelease.objects.exists()


def test_cli_app_shows_the_consent_and_history_shows_the_basis(issuer, service, fake_chain, app, app_home, capsys):
    from tungban.wallet.cli import main

    browser, rid, _req, params, verifier = _login(issuer, service, app)
    capsys.readouterr()
    assert main(["--home", str(app_home), "show", rid, "--pin", PIN]) == 0
    shown = capsys.readouterr().out
    assert "Partner platform: Guangdong unified identity authentication platform (demo)" in shown
    assert f"Filing reference: {FILING}" in shown and "Legal basis: GBA standard contract" in shown
    assert _finish(issuer, service, app, browser, rid, params, verifier).status_code == 200
    history = app.history(PIN)
    assert [h["requester_id"] for h in history] == [SERVICE]
    assert FILING in history[0]["requester_name_en"] and FILING in history[0]["requester_name_zh"]
    assert history[0]["claims"] == ["sub", "acr"]


def test_bindings_card_lists_partners_in_the_request_language(issuer, service, fake_chain, app, resident):
    from tungban.federation.cards import bindings_card

    assert bindings_card(resident)["state"] == "empty"
    browser, rid, _req, params, verifier = _login(issuer, service, app)
    _finish(issuer, service, app, browser, rid, params, verifier)
    with translation.override("zh-hant"):
        card = bindings_card(resident)
    assert card["state"] == "ok" and card["items"][0]["label"] == "廣東省統一身份認證平台（示範）"
    assert FILING in card["items"][0]["value"] and "法律依據" in card["items"][0]["value"]


def test_a_login_request_binds_only_the_optional_cross_boundary_consent(db):
    from tungban.wallet import services as wallet

    common = dict(kind="login", requester_id="x", requester_name_en="X", requester_name_zh="X", requested_claims=[])
    assert "cross_boundary" in wallet.create_request(**common, binds={"cross_boundary": {"a": 1}}).context["binds"]
    assert wallet.create_request(**common).context["binds"] == {}
    with pytest.raises(ValueError):
        wallet.create_request(**common, binds={"documents": ["x"]})


def test_cli_app_lists_and_removes_bindings(issuer, service, fake_chain, app, app_home, capsys):
    from tungban.wallet.cli import main

    browser, rid, _req, params, verifier = _login(issuer, service, app)
    _finish(issuer, service, app, browser, rid, params, verifier)
    binding = Binding.objects.get()
    capsys.readouterr()
    assert main(["--home", str(app_home), "bindings", "--pin", PIN]) == 0
    listed = capsys.readouterr().out
    assert str(binding.id) in listed and FILING in listed and "廣東省統一身份認證平台（示範）" in listed
    assert main(["--home", str(app_home), "remove-binding", str(binding.id), "--pin", PIN]) == 0
    assert "removed" in capsys.readouterr().out
    binding.refresh_from_db()
    assert binding.removed_at is not None
    assert main(["--home", str(app_home), "remove-binding", str(binding.id), "--pin", PIN]) != 0
    assert "binding_unknown" in "".join(capsys.readouterr())


def test_administrators_may_not_take_a_federation_identifier(db):
    from django.core.exceptions import ValidationError

    from tungban.core.errors import DomainError
    from tungban.testing.factories import make_client

    with pytest.raises(DomainError) as refused:
        make_client(SERVICE, REDIRECT)
    assert refused.value.code == "invalid_client_metadata" and refused.value.field == "client_id"
    with pytest.raises(ValidationError):
        Client(client_id=SERVICE, name_en="X", name_zh="X", redirect_uris=[REDIRECT]).clean()
    assert not Client.objects.filter(client_id=SERVICE).exists()


def test_a_service_asking_beyond_the_binding_asks_again_and_widens_it(issuer, service, fake_chain, app, resident):
    browser, rid, req, params, verifier = _login(issuer, service, app)  # openid only
    _finish(issuer, service, app, browser, rid, params, verifier)
    assert Binding.objects.get().claims == []
    browser, rid, req, params, verifier = _login(issuer, service, app, scope="openid profile")
    asked = [c["name"] for c in req["claims"]]
    assert asked and req["binds"]["cross_boundary"]["claims"] == ["sub", "acr", *asked]
    assert any(line["label"] == "What crosses the boundary" for line in req["details"])
    assert _finish(issuer, service, app, browser, rid, params, verifier).status_code == 200
    binding = Binding.objects.get()  # the same binding, widened
    assert binding.claims == asked and binding.removed_at is None
