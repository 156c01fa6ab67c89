"""Applying for a company (CorpID, issue 19): "Apply for a company" asks the provider for a
corporate login naming the e-service; the application records the company (BR number, names,
pairwise organisation id, mandate id) and the person; the person sees it only while a mandate
of theirs covers the service (checked on each request: a revocation counts from the next page);
the pages and the workbench say "<person> for <company>"; company data is labelled with its
department and the company's consent.

The corporate login itself (the app choosing the company, the ``authority`` claim) is the
provider's; here the portal's Authlib client is replaced where a test needs a login's answer,
and the end-to-end test (``test_e2e_company.py``) runs the real one."""

from __future__ import annotations

import json
import uuid

import pytest
from django.http import HttpResponseRedirect
from django.utils import translation

from tungban.core.errors import DomainError
from tungban.corpid import services as corpid
from tungban.corpid.models import Mandate
from tungban.eservices import login, portal
from tungban.eservices.models import Application
from tungban.eservices.services.company import Company
from tungban.eservices.services.prefill import PrefillValue
from tungban.eservices.tests.helpers import HAWKER_ANSWERS, PNG, department_user, submitted_hawker_licence
from tungban.testing.factories import PIN, bind_cli, login_staff

from .conftest import BRN, NAME_EN, NAME_ZH, SLUG


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def mandate_of(issuer, tmp_path, director):
    """``mandate_of(holder, services=..., actions=...)``: a mandate the director grants and the
    holder accepts in their (CLI) app."""

    def make(holder, services=(SLUG,), actions=("view", "apply", "sign")):
        start = corpid.today()
        mandate = corpid.grant(
            director,
            BRN,
            holder_hkid=holder.hkid,
            role="user",
            services=list(services),
            actions=list(actions),
            valid_from=start,
            valid_until=corpid.years_later(start, 1),
        )
        app = bind_cli(issuer, holder, tmp_path / f"app-{uuid.uuid4().hex[:8]}")
        app.decide(corpid.ask_holder(holder, mandate.public_id)["approval_id"], PIN, "approve")
        mandate.refresh_from_db()
        assert mandate.state == "active"
        return mandate

    return make


def company_of(mandate: Mandate) -> Company:
    return Company(BRN, NAME_EN, NAME_ZH, "org-pairwise-1", str(mandate.public_id))


def logged_in(client, resident, company: Company | None = None):
    session = client.session
    session[login.SESSION_KEY] = {
        "resident": str(resident.public_id),
        "sub": "sub-for-tests",
        **({"company": company.as_dict()} if company else {}),
    }
    session.save()
    return client


def start(catalogue, resident, company: Company | None, slug=SLUG):
    return catalogue.start_application(resident, catalogue.get_service(slug), portal_sub="s", for_company=company)


# --- the apply page and the login request ---


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_apply_page_offers_a_company_login_where_the_catalogue_allows_it(client, catalogue, lang):
    client.cookies["tungban_language"] = "zh-hant" if lang == "zh" else "en"
    company_only = client.get(f"/services/{SLUG}/apply").content.decode()
    assert 'id="start-company"' in company_only and 'id="start"' not in company_only  # corpid = "required"
    assert ("Apply for a company" if lang == "en" else "為公司申請") in company_only
    both = client.get("/services/temporary-hawker-licence/apply").content.decode()  # corpid = "allowed"
    assert 'id="start-company"' in both and 'id="start"' in both
    personal = client.get("/services/senior-citizen-card/apply").content.decode()  # corpid = "no"
    assert 'id="start-company"' not in personal and 'id="start"' in personal


def test_a_company_login_asks_for_corpid_and_names_the_service(client, catalogue, monkeypatch):
    asked = []

    class Provider:  # records what the portal asks the provider's authorization page for
        def authorize_redirect(self, request, redirect_uri, **params):
            asked.append(params)
            return HttpResponseRedirect("/authorize")

    monkeypatch.setattr(login, "oauth_client", Provider)
    assert client.get("/services/login", {"service": SLUG, "for": "company"}).status_code == 302
    scopes = asked[-1]["scope"].split()
    assert scopes[0] == "openid" and "corpid" in scopes and "phone" in scopes  # the form maps phone_number
    wanted = {"authority": {"essential": True, "service": SLUG}}
    assert json.loads(asked[-1]["claims"]) == {"userinfo": wanted, "id_token": wanted}
    assert client.session[login.INTENT_KEY]["company"] is True

    client.get("/services/login", {"service": "temporary-hawker-licence"})  # for oneself: no corpid
    assert "corpid" not in asked[-1]["scope"].split() and "claims" not in asked[-1]
    client.get("/services/login", {"service": "senior-citizen-card", "for": "company"})  # corpid = "no"
    assert "corpid" not in asked[-1]["scope"].split() and "company" not in client.session[login.INTENT_KEY]


# --- the login's answer ---


def _authority(brn=BRN, mandate_id="m-1"):
    return {
        "applies_to": {
            "registration_number": brn,
            "organization_name": NAME_EN,
            "organization_name#zh-Hant": NAME_ZH,
            "registered_jurisdiction": "HK",
            "organization_sub": "org-pairwise-1",
        },
        "permission": [{"role": "user", "function": ["view", "apply"], "audience": [SLUG]}],
        "granted_by": {"method": "delegated", "granting_body": brn},
        "mandate_id": mandate_id,
    }


def test_the_authority_claim_names_the_company(db):
    from tungban.eservices.services import company

    found = company.from_claims({"sub": "x", "authority": _authority()})
    assert found == Company(BRN, NAME_EN, NAME_ZH, "org-pairwise-1", "m-1")
    assert found.name("zh") == NAME_ZH and found.name("en") == NAME_EN
    for claims in ({}, {"authority": "21812345"}, {"authority": _authority(brn="2181234")}):
        with pytest.raises(DomainError) as refused:
            company.from_claims(claims)
        assert refused.value.code == "company_not_named"


class _Answer:
    """The portal's Authlib client after the app approved: the token and the userinfo claims."""

    def __init__(self, claims):
        self.claims = claims

    def __call__(self):
        return self

    def authorize_access_token(self, request):
        return {"userinfo": {"sub": self.claims["sub"]}}

    def userinfo(self, token):
        return self.claims


def _callback(client, monkeypatch, claims, *, company=True):
    session = client.session
    session[login.INTENT_KEY] = {"service": SLUG, "key": "k1", **({"company": True} if company else {})}
    session.save()
    client.cookies["tungban_language"] = "en"
    monkeypatch.setattr(login, "oauth_client", _Answer(claims))
    return client.get("/services/login/callback", {"code": "c", "state": "s"})


def test_the_login_for_a_company_starts_its_application(client, director, monkeypatch):
    from tungban.oidc import services as oidc
    from tungban.oidc.models import Client as OidcClient

    portal.ensure_portal()
    sub = oidc.pairwise_sub(director, OidcClient.objects.get(client_id=portal.CLIENT_ID))
    mandate = corpid.authority(director, BRN, SLUG, "apply")
    claims = {"sub": sub, "family_name": "CHAN", "authority": _authority(mandate_id=str(mandate.public_id))}
    response = _callback(client, monkeypatch, claims)
    assert response.status_code == 302 and "/page/" in response["Location"]
    app = Application.objects.get(resident=director)
    assert (app.org_br_number, app.org_name_en, app.org_name_zh, app.org_sub, app.mandate_id) == (
        BRN,
        NAME_EN,
        NAME_ZH,
        "org-pairwise-1",
        str(mandate.public_id),
    )
    assert app.get_answers()["contact_family_name"] == "CHAN"
    assert client.session[login.SESSION_KEY]["company"]["br_number"] == BRN


def test_a_login_that_names_no_company_starts_nothing(client, director, monkeypatch):
    from tungban.oidc import services as oidc
    from tungban.oidc.models import Client as OidcClient

    portal.ensure_portal()
    sub = oidc.pairwise_sub(director, OidcClient.objects.get(client_id=portal.CLIENT_ID))
    response = _callback(client, monkeypatch, {"sub": sub})
    assert response.status_code == 403
    assert "did not say which company" in response.content.decode()
    assert not Application.objects.exists()
    # The company service without a company login: refused, nothing stored.
    response = _callback(client, monkeypatch, {"sub": sub}, company=False)
    assert response.status_code == 403 and "This service is for companies" in response.content.decode()
    assert not Application.objects.exists()


# --- starting, seeing and losing a company's application ---


def test_who_may_start_for_a_company(catalogue, director, employee, mandate_of):
    mandate = corpid.authority(director, BRN, SLUG, "apply")
    refusals = [
        (employee, company_of(mandate), SLUG, "no_mandate"),
        (director, None, SLUG, "company_login_required"),
        (director, company_of(mandate), "senior-citizen-card", "company_not_allowed"),
    ]
    for resident, company, slug, code in refusals:
        with pytest.raises(DomainError) as refused:
            start(catalogue, resident, company, slug)
        assert refused.value.code == code
    assert not Application.objects.exists()
    viewer = mandate_of(employee, actions=("view",))  # may see, may not apply
    with pytest.raises(DomainError) as refused:
        start(catalogue, employee, company_of(viewer))
    assert refused.value.code == "mandate_out_of_scope"
    assert not Application.objects.exists()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_company_application_is_seen_only_while_the_mandate_is_in_force(
    client, catalogue, director, employee, mandate_of, lang
):
    mandate = mandate_of(employee)
    app = start(catalogue, employee, company_of(mandate))
    own = start(catalogue, employee, None, "temporary-hawker-licence")
    browser = logged_in(client, employee, company_of(mandate))
    client.cookies["tungban_language"] = "zh-hant" if lang == "zh" else "en"
    acting = (
        "WONG, Siu Ling for Tai Man Demo Trading Company Limited" if lang == "en" else "黃小玲代表大文示範貿易有限公司"
    )
    status = browser.get(f"/services/my/{app.reference}/")
    assert status.status_code == 200 and acting in status.content.decode()
    assert acting in browser.get(f"/services/my/{app.reference}/page/company").content.decode()
    mine = browser.get("/services/my/").content.decode()
    assert app.reference in mine and own.reference in mine and acting in mine

    corpid.revoke(director, BRN, mandate.public_id)  # counts from the next request
    before = (app.get_answers(), Application.objects.get(pk=app.pk).updated_at)
    status = browser.get(f"/services/my/{app.reference}/")
    assert status.status_code == 403
    assert ("revoked" if lang == "en" else "撤銷") in status.content.decode()
    saved = browser.post(
        f"/services/my/{app.reference}/page/company",
        {"form_version": app.form_version.digest, "company_name_en": "Changed"},
    )
    assert saved.status_code == 403
    app.refresh_from_db()
    assert (app.get_answers(), app.updated_at) == before  # nothing stored
    mine = browser.get("/services/my/").content.decode()
    assert app.reference not in mine and own.reference in mine  # one's own applications stay
    with pytest.raises(DomainError) as refused:
        catalogue.get_application(app.reference, resident=employee)
    assert refused.value.code == "mandate_revoked"


def _submitted_hawker_for_the_company(catalogue, director):
    """A temporary hawker licence (``corpid = "allowed"``) applied for the company by its
    director (an administrator: every service), submitted."""
    mandate = corpid.authority(director, BRN, "temporary-hawker-licence", "apply")
    app = start(catalogue, director, company_of(mandate), "temporary-hawker-licence")
    applicant = {"family_name": "CHAN", "given_name": "Tai Man", "hkid": director.hkid, "phone": "91234567"}
    catalogue.save_draft(app, director, applicant, page="applicant")
    catalogue.save_draft(app, director, HAWKER_ANSWERS["stall"], page="stall")
    photo = catalogue.add_attachment(app, director, "photo", "me.png", PNG)
    catalogue.save_draft(app, director, {"photo": str(photo.id)}, page="documents")
    catalogue.save_draft(app, director, HAWKER_ANSWERS["declaration"], page="declaration")
    return catalogue.submit(app, director), mandate


def test_the_workbench_shows_the_person_for_the_company(client, catalogue, director):
    """FEHD's case page names the person and the company, its BR number and the mandate."""
    app, mandate = _submitted_hawker_for_the_company(catalogue, director)
    officer = department_user("fehd-officer", "FEHD")
    login_staff(client, officer)
    client.cookies["tungban_language"] = "en"
    page = client.get(f"/staff/eservices/cases/{app.reference}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "CHAN, Tai Man for Tai Man Demo Trading Company Limited" in html
    assert BRN in html and str(mandate.public_id) in html


def test_the_department_api_names_the_company(issuer, catalogue, director, resident):
    import requests

    from tungban.eservices.tests.staffing import department_system

    app, mandate = _submitted_hawker_for_the_company(catalogue, director)
    own = submitted_hawker_licence(catalogue, resident)
    system = department_system(issuer, "FEHD")
    listed = requests.get(
        f"{issuer}/api/v1/eservices/applications",
        headers={"Authorization": f"Bearer {system.token()}"},
        timeout=30,
    ).json()
    found = {row["reference"]: row["organisation"] for row in listed}
    assert found[app.reference] == {
        "br_number": BRN,
        "name_en": NAME_EN,
        "name_zh": NAME_ZH,
        "mandate_id": str(mandate.public_id),
    }
    assert found[own.reference] is None


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_company_data_is_labelled_with_its_department_and_the_company_consent(client, catalogue, director, lang):
    from tungban.exchange import catalogue as exchange_catalogue

    exchange_catalogue.register_bundled({})
    mandate = corpid.authority(director, BRN, SLUG, "apply")
    app = start(catalogue, director, company_of(mandate))
    consent_id = str(uuid.uuid4())
    catalogue.add_prefill(
        app,
        director,
        {
            "company_name_en": PrefillValue(NAME_EN, "company", consent_id, "cr"),
            "br_number": PrefillValue(BRN, "company", consent_id, "cr"),
        },
    )
    app.refresh_from_db()
    assert app.prefill["br_number"] == {
        "source": "company",
        "ref": consent_id,
        "digest": catalogue.prefill_digest(BRN),
        "status": "verified",
        "provider": "cr",
    }
    browser = logged_in(client, director, company_of(mandate))
    client.cookies["tungban_language"] = "zh-hant" if lang == "zh" else "en"
    html = browser.get(f"/services/my/{app.reference}/page/company").content.decode()
    assert (
        "From the Companies Registry, with your company&#x27;s consent"
        if lang == "en"
        else "來自公司註冊處，已獲你的公司同意"
    ) in html
    button = "Fill from the Companies Registry, with the company" if lang == "en" else "由公司註冊處填寫"
    assert button in html
