"""Corporate login (issue 19 A): the ``corpid`` scope, the company chosen in the app (signed),
the ``authority`` claim in the ID token and userinfo, its pairwise organisation identifier,
revocation on the next userinfo call, and every bad input refused with nothing stored."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
import requests
from django.conf import settings
from django.utils import translation

from tungban.corpid import services
from tungban.corpid.models import Mandate, OrganisationSubject
from tungban.corpid.services import login as corp_login
from tungban.oidc.models import AuthorizationCode, Token
from tungban.testing.factories import (
    PIN,
    authorize_params,
    code_from,
    complete_authorization,
    jwt_claims,
    login,
    make_client,
    pkce,
    start_authorization_with_code,
    userinfo,
)
from tungban.wallet.client import AppError
from tungban.wallet.models import ApprovalRequest, RequestStatus

from .conftest import TAI_MAN_BRN, offer

pytestmark = pytest.mark.django_db
RP = "https://biz.example/cb"
RP2 = "https://other.example/cb"
SCOPE = "openid corpid"


@pytest.fixture
def biz(db):
    return make_client(
        "biz", RP, allowed_scopes=["openid", "profile", "corpid"], name_en="Biz Portal", name_zh="商業入口"
    )


@pytest.fixture
def staff(director, employee, app_of, biz):
    """The director's company set up; the employee holds an accepted user mandate for ``biz``
    (view) and is logged in to the app."""
    services.bootstrap(director, TAI_MAN_BRN)
    mandate = offer(director, employee, services_=("biz",), actions=("view",))
    app = app_of(employee)
    app.accept(services.ask_holder(employee, mandate.public_id)["approval_id"])
    mandate.refresh_from_db()
    return {"app": app.app, "mandate": mandate, "director": director}


def _start(issuer, params):
    browser = requests.Session()
    rid, code = start_authorization_with_code(browser, issuer, params)
    return browser, rid, code


def _stored():
    return (AuthorizationCode.objects.count(), Token.objects.count())


def test_discovery_advertises_the_scope_and_the_claim(issuer, db):
    meta = requests.get(f"{issuer}/.well-known/openid-configuration").json()
    assert "corpid" in meta["scopes_supported"]
    assert "authority" in meta["claims_supported"]
    assert meta["authority_claims_supported"] is True


def test_corporate_login_carries_the_authority_claim(issuer, staff, biz, employee):
    _, secret = biz
    app, mandate = staff["app"], staff["mandate"]
    tokens = login(issuer, app, "biz", secret, RP, scope=SCOPE)
    claims = jwt_claims(tokens["id_token"])
    authority = claims["authority"]
    org = mandate.organisation
    assert authority["applies_to"]["registration_number"] == TAI_MAN_BRN
    assert authority["applies_to"]["organization_name"] == org.name_en
    assert authority["applies_to"]["organization_name#zh-Hant"] == org.name_zh
    assert authority["applies_to"]["registered_jurisdiction"] == "HK"
    org_sub = authority["applies_to"]["organization_sub"]
    assert TAI_MAN_BRN not in org_sub and len(org_sub) >= 40
    assert authority["permission"] == [
        {
            "role": "user",
            "function": ["view"],
            "audience": ["biz"],
            "validity": {"start": mandate.valid_from.isoformat(), "end": mandate.valid_until.isoformat()},
            "joint_approval": False,
        }
    ]
    assert authority["granted_by"] == {"method": "appointed", "granting_body": TAI_MAN_BRN}
    assert authority["mandate_id"] == str(mandate.public_id)
    info = userinfo(issuer, tokens["access_token"]).json()
    assert info["sub"] == claims["sub"] and info["authority"] == authority
    # sub stays the person's pairwise subject; the organisation's id is stable for the sector.
    again = jwt_claims(login(issuer, app, "biz", secret, RP, scope=SCOPE)["id_token"])
    assert again["sub"] == claims["sub"] and again["authority"]["applies_to"]["organization_sub"] == org_sub
    # Who used my data: the release names the company.
    history = app.history(PIN)
    assert history[0]["requester_id"] == "biz" and "authority" in history[0]["claims"]
    assert org.name_en in history[0]["requester_name_en"] and TAI_MAN_BRN in history[0]["requester_name_en"]
    assert org.name_zh in history[0]["requester_name_zh"]


def test_the_organisation_id_is_pairwise_per_sector(issuer, staff, employee):
    org = staff["mandate"].organisation
    first = corp_login.organisation_sub(org, "client:1")
    assert first == corp_login.organisation_sub(org, "client:1")
    assert first != corp_login.organisation_sub(org, "client:2")
    assert OrganisationSubject.objects.filter(organisation=org).count() == 2


def test_revocation_stops_the_authority_at_the_next_userinfo_call(issuer, staff, biz):
    _, secret = biz
    tokens = login(issuer, staff["app"], "biz", secret, RP, scope=SCOPE)
    assert userinfo(issuer, tokens["access_token"]).status_code == 200
    services.revoke(staff["director"], TAI_MAN_BRN, staff["mandate"].public_id)
    refused = userinfo(issuer, tokens["access_token"])
    assert refused.status_code == 401
    body = refused.json()
    assert body["error"] == "invalid_token" and "mandate_revoked" in body["error_description"]
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


def test_a_login_without_corpid_is_unchanged(issuer, staff, biz):
    _, secret = biz
    tokens = login(issuer, staff["app"], "biz", secret, RP, scope="openid profile")
    assert "authority" not in jwt_claims(tokens["id_token"])
    assert "authority" not in userinfo(issuer, tokens["access_token"]).json()


def _refused_redirect(issuer, params) -> dict:
    before = (ApprovalRequest.objects.count(), *_stored())
    resp = requests.get(f"{issuer}/oidc/authorize", params=params, allow_redirects=False)
    assert resp.status_code == 302, resp.text[:300]
    assert (ApprovalRequest.objects.count(), *_stored()) == before, "nothing stored"
    return code_from(resp)


def test_corpid_without_openid_is_invalid_scope(issuer, biz):
    _, challenge = pkce()
    query = _refused_redirect(issuer, authorize_params("biz", RP, challenge, scope="corpid profile"))
    assert query["error"] == "invalid_scope" and "openid" in query["error_description"]
    assert query["iss"] == issuer


def _claims(service):
    spec = {"authority": {"essential": True, "service": service}}
    return json.dumps({"userinfo": spec, "id_token": spec})


def test_a_service_the_client_may_not_name_is_refused(issuer, biz):
    _, challenge = pkce()
    query = _refused_redirect(issuer, authorize_params("biz", RP, challenge, scope=SCOPE, claims=_claims("other")))
    assert query["error"] == "invalid_request" and "service" in query["error_description"]
    two = json.dumps(
        {"userinfo": {"authority": {"service": "biz"}}, "id_token": {"authority": {"service": "restaurant-licence"}}}
    )
    query = _refused_redirect(issuer, authorize_params("biz", RP, challenge, scope=SCOPE, claims=two))
    assert query["error"] == "invalid_request"


def test_a_client_names_the_services_registered_for_it(issuer, staff, biz, director, employee, app_of):
    """A client with registered services (as the e-services portal is, for every e-service that
    takes CorpID) names one; the mandate must cover that service, not the client."""
    from tungban.eservices import portal

    assert corp_login._client_services[portal.CLIENT_ID] is portal.takes_corpid  # eservices registered it
    corp_login.register_client_services("biz", lambda slug: slug == "restaurant-licence")
    try:
        _, secret = biz
        services.revoke(director, TAI_MAN_BRN, staff["mandate"].public_id)
        mandate = offer(director, employee, services_=("restaurant-licence",), actions=("apply",))
        staff["app"].decide(services.ask_holder(employee, mandate.public_id)["approval_id"], PIN, "approve")
        tokens = login(issuer, staff["app"], "biz", secret, RP, scope=SCOPE, claims=_claims("restaurant-licence"))
        authority = jwt_claims(tokens["id_token"])["authority"]
        assert authority["permission"][0]["audience"] == ["restaurant-licence"]
        assert authority["permission"][0]["function"] == ["apply"]  # no view: any action lets one log in
    finally:
        corp_login._client_services.pop("biz", None)


def _returned(page) -> dict:
    """The query of the refusal page's link back to the service (access_denied and its reason)."""
    from urllib.parse import parse_qs, urlsplit

    assert page.status_code == 200
    back = page.text.split('href="' + RP, 1)[1].split('"', 1)[0].replace("&amp;", "&")
    return {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}


def _decide_refused(app, rid, code, **kw) -> str:
    with pytest.raises(AppError) as caught:
        app.decide(rid, PIN, "approve", code=code, **kw)
    return caught.value.code


@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_no_company_refuses_with_a_page_and_access_denied(issuer, biz, employee, app_of, lang):
    app = app_of(employee).app
    _, challenge = pkce()
    browser, rid, code = _start(issuer, authorize_params("biz", RP, challenge, scope=SCOPE))
    details = app._call("GET", f"/api/v1/wallet/requests/{rid}", device_key=app.load_key(PIN))
    assert details["choice"]["options"] == [] and details["choice"]["none"]
    assert _decide_refused(app, rid, code) == "no_mandate_for_service"
    assert ApprovalRequest.objects.get(pk=rid).status == RequestStatus.FAILED
    browser.cookies.set(settings.LANGUAGE_COOKIE_NAME, lang)  # the resident's language on the platform
    page = complete_authorization(browser, issuer, rid)
    assert page.status_code == 200
    with translation.override(lang):
        assert translation.gettext("You cannot act for a company here") in page.text
        assert translation.gettext("You have no mandate in force to act for a company at this service.") in page.text
    assert 'lang="' + ("en" if lang == "en" else "zh") in page.text
    back = _returned(page)
    assert back["error"] == "access_denied" and "no_mandate_for_service" in back["error_description"]
    assert back["iss"] == issuer
    assert _stored() == (0, 0)


def test_a_tampered_choice_is_refused(issuer, staff, biz, director):
    app = staff["app"]
    _, challenge = pkce()
    director_mandate = Mandate.objects.get(holder=director)
    for chosen, code_expected in ((str(director_mandate.public_id), "no_mandate"), ("not-a-uuid", "no_mandate")):
        browser, rid, code = _start(issuer, authorize_params("biz", RP, challenge, scope=SCOPE))
        assert _decide_refused(app, rid, code, choice=chosen) == code_expected
        query = _returned(complete_authorization(browser, issuer, rid))
        assert query["error"] == "access_denied" and code_expected in query["error_description"]
    assert _stored() == (0, 0)


@pytest.mark.parametrize("change", ["revoked", "expired", "out_of_scope"])
def test_a_mandate_no_longer_good_at_approval(issuer, staff, biz, change):
    app, mandate = staff["app"], staff["mandate"]
    _, challenge = pkce()
    browser, rid, code = _start(issuer, authorize_params("biz", RP, challenge, scope=SCOPE))
    details = app._call("GET", f"/api/v1/wallet/requests/{rid}", device_key=app.load_key(PIN))
    chosen = details["choice"]["options"][0]["id"]
    assert chosen == str(mandate.public_id)
    if change == "revoked":
        services.revoke(staff["director"], TAI_MAN_BRN, mandate.public_id)
    elif change == "expired":
        Mandate.objects.filter(pk=mandate.pk).update(valid_until=services.today() - dt.timedelta(days=1))
    else:
        Mandate.objects.filter(pk=mandate.pk).update(services=["elsewhere"])
    expected = {"revoked": "mandate_revoked", "expired": "mandate_expired", "out_of_scope": "mandate_out_of_scope"}
    assert _decide_refused(app, rid, code, choice=chosen) == expected[change]
    query = _returned(complete_authorization(browser, issuer, rid))
    assert query["error"] == "access_denied" and expected[change] in query["error_description"]
    assert _stored() == (0, 0)


def test_a_mandate_revoked_before_the_code_is_exchanged(issuer, staff, biz):
    _, secret = biz
    verifier, challenge = pkce()
    params = authorize_params("biz", RP, challenge, scope=SCOPE)
    browser, rid, code = _start(issuer, params)
    staff["app"].decide(rid, PIN, "approve", code=code)
    query = code_from(complete_authorization(browser, issuer, rid))
    services.revoke(staff["director"], TAI_MAN_BRN, staff["mandate"].public_id)
    resp = requests.post(
        f"{issuer}/oidc/token",
        data={"grant_type": "authorization_code", "code": query["code"], "redirect_uri": RP, "code_verifier": verifier},
        auth=("biz", secret),
    )
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"
    assert Token.objects.count() == 0


def test_the_choice_is_signed(issuer, staff, biz):
    """The company is part of what the device signs: a decision whose payload names another
    choice than the one sent alongside cannot exist, so check the stored decision's JWS."""
    _, challenge = pkce()
    browser, rid, code = _start(issuer, authorize_params("biz", RP, challenge, scope=SCOPE))
    staff["app"].decide(rid, PIN, "approve", code=code)
    req = ApprovalRequest.objects.get(pk=rid)
    payload = jwt_claims(req.signature)
    assert payload["choice"] == req.context["chosen"] == str(staff["mandate"].public_id)
    assert uuid.UUID(payload["choice"])


def test_a_refresh_judges_the_mandate_again(issuer, staff, employee):
    _, secret = make_client("biz-long", RP2, allowed_scopes=["openid", "corpid", "offline_access"])
    mandate = staff["mandate"]
    Mandate.objects.filter(pk=mandate.pk).update(services=["biz", "biz-long"])
    tokens = login(issuer, staff["app"], "biz-long", secret, RP2, scope="openid corpid offline_access")

    def refresh(token):
        return requests.post(
            f"{issuer}/oidc/token",
            data={"grant_type": "refresh_token", "refresh_token": token},
            auth=("biz-long", secret),
        )

    renewed = refresh(tokens["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert jwt_claims(renewed.json()["id_token"])["authority"]["mandate_id"] == str(mandate.public_id)
    services.revoke(staff["director"], TAI_MAN_BRN, mandate.public_id)
    refused = refresh(renewed.json()["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
