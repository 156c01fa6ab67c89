"""A company's consent to share its data (issue 19, second wave): asked of a person holding a
mandate with ``apply``, approved in their app, recorded with the organisation, the person and
the mandate; the artefact names the organisation as the data subject; checked when asked, at
the approval and before every exchange; the company's administrators see and revoke every
consent and see every exchange, on ``/business/<BRN>/`` and in the API. Each bad input is a
documented error and stores nothing.

(The exchanges themselves, through the gateway and the demo providers, are in
``src/tungban/exchange/tests/test_company_data.py``.)"""

from __future__ import annotations

import pytest
from django.utils import translation
from joserfc import jwt

from tungban.core.errors import DomainError
from tungban.corpid import services
from tungban.corpid.models import AuditEvent
from tungban.exchange import catalogue
from tungban.exchange import services as exchange
from tungban.exchange.models import Consent, ExchangeRecord
from tungban.exchange.models import Organisation as DataUser
from tungban.exchange.tests.conftest import make_data_user
from tungban.keys import services as keys

from .conftest import KEUNG_KEE_BRN, TAI_MAN_BRN, offer
from .test_pages import log_in

CR = "cr.company-particulars.v1"
TAX = "ird.business-tax-status.v1"
PURPOSE = "SME loan application: company particulars"


@pytest.fixture
def bank(issuer, register):
    catalogue.register_bundled({})
    make_data_user(issuer, "sme-bank", kind="bank", name_en="Sample SME Bank", name_zh="樣本中小企銀行")
    return DataUser.objects.get(id="sme-bank")


@pytest.fixture
def company(director):
    return services.bootstrap(director, TAI_MAN_BRN).organisation


def ask(resident, bank, product=CR, br=TAI_MAN_BRN, service="sme-bank-client", **kw):
    return services.company_consent(
        resident,
        br,
        bank,
        product_id=product,
        purpose=kw.pop("purpose", PURPOSE),
        duration_seconds=kw.pop("duration_seconds", 3600),
        service=service,
        **kw,
    )


def refused(code: str, call) -> DomainError:
    with pytest.raises(DomainError) as info:
        call()
    assert info.value.code == code, info.value
    return info.value


def test_a_director_consents_for_the_company_in_the_app(company, director, bank, app_of):
    consent = ask(director, bank)
    mandate = services.authority(director, TAI_MAN_BRN, "sme-bank-client", "apply")
    # Recorded: the organisation, the person asked, the mandate, the service.
    assert (consent.subject_kind, consent.subject_id, consent.given_by, consent.resident) == (
        "organisation",
        TAI_MAN_BRN,
        director,
        None,
    )
    assert (consent.given_under, consent.service, consent.status) == (
        str(mandate.public_id),
        "sme-bank-client",
        "requested",
    )
    # The app's approval is the director's only and names the company and what it shares.
    terms = consent.approval.context["consent"]
    assert consent.approval.resident == director
    assert terms["data_subject"] == {
        "kind": "organisation",
        "id": TAI_MAN_BRN,
        "name_en": "Tai Man Demo Trading Company Limited",
        "name_zh": "大文示範貿易有限公司",
    }
    assert [f["name"] for f in terms["product"]["fields"]][-1] == "directors"  # the organisation form
    assert "Tai Man Demo Trading" in consent.approval.context["details"][0]["value"]["en"]

    app_of(director).accept(str(consent.approval.id))
    consent.refresh_from_db()
    assert consent.status == "active" and consent.given_by == director and consent.resident is None
    claims = jwt.decode(consent.artefact, keys.public_keyset(), algorithms=["ES256"]).claims
    assert claims["data_subject"]["kind"] == "organisation" and claims["data_subject"]["id"] == TAI_MAN_BRN
    assert claims["data_subject"]["name_en"] == "Tai Man Demo Trading Company Limited"
    assert claims["given_by"] == {
        "sub_at_data_user": consent.consumer_sub,
        "authority": str(mandate.public_id),
        "service": "sme-bank-client",
    }
    assert claims["product"] == CR and claims["data_user"]["id"] == "sme-bank"
    # The director's own consents and history are not the company's.
    assert exchange.consents_of(director) == []


def test_bad_input_is_refused_and_nothing_is_stored(company, director, employee, third, bank, app_of):
    def nothing_stored():
        assert Consent.objects.count() == 0

    # No mandate for the company at all.
    refused("no_mandate", lambda: ask(employee, bank))
    nothing_stored()
    # A mandate without "apply" (view only), or for other services only.
    view_only = offer(director, employee, actions=("view",))
    app_of(employee).accept(services.ask_holder(employee)["approval_id"])
    refused("mandate_out_of_scope", lambda: ask(employee, bank))
    other = offer(director, third, services_=("another-service",), actions=("apply",))
    app_of(third).accept(services.ask_holder(third)["approval_id"])
    refused("mandate_out_of_scope", lambda: ask(third, bank))
    nothing_stored()
    # A mandate revoked.
    services.revoke(director, TAI_MAN_BRN, other.public_id)
    refused("mandate_revoked", lambda: ask(third, bank, service="another-service"))
    # A product that has no form for an organisation (the WSD address is a person's).
    refused("no_subject_form", lambda: ask(director, bank, product="wsd.registered-address.v1"))
    # A wrong BR number, a company not on the register, a kind of subject nobody registered.
    refused("br_number_format", lambda: ask(director, bank, br="1234567"))
    refused("br_number_not_registered", lambda: ask(director, bank, br="12345678"))
    unknown = refused(
        "unknown_subject_kind",
        lambda: exchange.request_consent(
            bank, product_id=CR, purpose=PURPOSE, duration_seconds=60, subject=("trust", "1"), given_by=director
        ),
    )
    assert unknown.field == "subject.kind"
    # A resident cannot be the data subject of a company-only product.
    refused(
        "no_subject_form", lambda: exchange.request_consent(bank, product_id=TAX, purpose=PURPOSE, duration_seconds=60)
    )
    nothing_stored()
    # The organisation suspended: its only administrator's mandate ended.
    company.mandates.filter(holder=director).update(valid_until=services.today().replace(year=2000))
    refused("organisation_suspended", lambda: ask(director, bank))
    nothing_stored()
    assert view_only.state == "offered"  # (the offer as made; accepted in the app above)


def test_the_mandate_is_checked_again_when_the_person_approves(company, director, employee, bank, app_of):
    mandate = offer(director, employee, actions=("apply",))
    staff = app_of(employee)
    staff.accept(services.ask_holder(employee)["approval_id"])
    consent = ask(employee, bank)
    services.revoke(director, TAI_MAN_BRN, mandate.public_id)
    with pytest.raises(Exception) as info:  # the app's approval fails with the mandate's refusal
        staff.accept(str(consent.approval.id))
    assert "mandate_revoked" in str(info.value)
    consent.refresh_from_db()
    assert consent.status == "declined" and not consent.artefact and consent.granted_at is None


def test_an_open_request_is_checked_on_whoever_approves_it(company, director, employee, bank, app_of):
    """A data user that does not know the person (no ``sub``) shows ``approval_uri``: whoever
    approves it must hold a mandate with apply for the data user's client."""
    consent = exchange.request_consent(
        bank, product_id=CR, purpose=PURPOSE, duration_seconds=600, subject=("organisation", "2181 2345")
    )
    assert (consent.subject_id, consent.given_by, consent.service) == (TAI_MAN_BRN, None, "sme-bank-client")
    with pytest.raises(Exception) as info:
        app_of(employee).accept(str(consent.approval.id))
    assert "no_mandate" in str(info.value)
    consent.refresh_from_db()
    assert consent.status == "declined"

    again = exchange.request_consent(
        bank, product_id=CR, purpose=PURPOSE, duration_seconds=600, subject=("organisation", TAI_MAN_BRN)
    )
    app_of(director).accept(str(again.approval.id))
    again.refresh_from_db()
    assert again.status == "active" and again.given_by == director and again.given_under
    # A company without CorpID set up cannot be asked.
    refused(
        "no_organisation",
        lambda: exchange.request_consent(
            bank, product_id=CR, purpose=PURPOSE, duration_seconds=60, subject=("organisation", KEUNG_KEE_BRN)
        ),
    )


def test_administrators_see_and_revoke_consents_only_of_their_company(company, director, officer, bank, app_of, client):
    from tungban.testing.factories import make_resident

    keung = make_resident(officer, hkid="Y6543217", family_name_en="CHEUNG", given_name_en="Chi Keung")
    services.bootstrap(keung, KEUNG_KEE_BRN)
    consent = ask(director, bank)
    app_of(director).accept(str(consent.approval.id))
    # Another company's administrator: no such consent (nothing changes).
    refused("unknown_consent", lambda: services.revoke_company_consent(keung, KEUNG_KEE_BRN, consent.id))
    refused("not_an_administrator", lambda: services.revoke_company_consent(keung, TAI_MAN_BRN, consent.id))
    assert services.company_consents(keung, KEUNG_KEE_BRN) == []
    consent.refresh_from_db()
    assert consent.status == "active"

    boss = app_of(director)
    listed = boss("GET", f"/organisations/{TAI_MAN_BRN}/consents").json()
    assert [(c["id"], c["status"], c["given_by"], c["data_user"]["id"]) for c in listed] == [
        (str(consent.id), "active", "Tai Man CHAN", "sme-bank")
    ]
    assert listed[0]["mandate_id"] == consent.given_under and listed[0]["product"]["id"] == CR
    other = app_of(keung)("POST", f"/organisations/{KEUNG_KEE_BRN}/consents/{consent.id}/revoke")
    assert (other.status_code, other.json()["error"]) == (404, "unknown_consent")
    denied = app_of(keung)("GET", f"/organisations/{TAI_MAN_BRN}/consents")
    assert (denied.status_code, denied.json()["error"]) == (403, "not_an_administrator")

    # The administrators' page lists it, in both languages, and revokes it.
    log_in(client, director)
    page = client.get(f"/business/{TAI_MAN_BRN}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'data-consent="{consent.id}"' in page and "Sample SME Bank" in page and "Revoke the consent" in page
    client.cookies["django_language"] = "zh-hant"
    page_zh = client.get(f"/business/{TAI_MAN_BRN}/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert "樣本中小企銀行" in page_zh and "分享公司資料的同意" in page_zh
    client.cookies["django_language"] = "en"
    done = client.post(f"/business/{TAI_MAN_BRN}/consents/{consent.id}/revoke", HTTP_ACCEPT_LANGUAGE="en")
    assert done.status_code == 302
    consent.refresh_from_db()
    assert consent.status == "revoked"
    assert AuditEvent.objects.filter(action="consent_revoked", actor=director).count() == 1
    again = boss("POST", f"/organisations/{TAI_MAN_BRN}/consents/{consent.id}/revoke")
    assert again.status_code == 200 and again.json()["status"] == "revoked"
    assert AuditEvent.objects.filter(action="consent_revoked").count() == 1  # once
    wrong = client.post(f"/business/{TAI_MAN_BRN}/consents/not-a-consent/revoke", HTTP_ACCEPT_LANGUAGE="en")
    assert wrong.status_code == 404 and "There is no such consent." in wrong.content.decode()
    assert not ExchangeRecord.objects.exists()
    with translation.override("en"):
        assert boss("GET", f"/organisations/{TAI_MAN_BRN}/exchanges").json() == []
