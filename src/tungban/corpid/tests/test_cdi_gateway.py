"""HKMA CDI through the gateway (issue 19, second wave): the demo bank (``examples/bank/cdi.py``,
over HTTP with its own key) asks a company's consent for the CR and IRD products; the company's
director approves in the app; the CR and IRD demo providers (separate processes, the one
register file) answer for the company; a mandate revoked, or the consent revoked by an
administrator, refuses the very next exchange; the administrators see every exchange. A
resident's consent on the same products and gateway is unchanged."""

from __future__ import annotations

import contextlib

import pytest
from joserfc import jwt

from examples.bank import cdi
from examples.data_user import DataUserError
from tungban.corpid import services
from tungban.exchange import catalogue
from tungban.exchange import services as exchange
from tungban.exchange.models import Consent, ExchangeRecord
from tungban.exchange.tests.conftest import make_data_user
from tungban.keys import services as keys
from tungban.ledger.models import LogLeaf
from tungban.testing.factories import PIN

from .conftest import TAI_MAN_BRN, offer

pytestmark = [pytest.mark.live_http, pytest.mark.django_db(transaction=True)]
CR, TAX = cdi.PRODUCTS


@pytest.fixture
def providers(issuer):
    """The CR and IRD demo providers as processes on loopback, registered with the gateway."""
    from examples.providers.launch import start_provider, stop_provider

    started = []
    for department in ("cr", "ird"):
        proc, url = start_provider(department, issuer)
        started.append(proc)
        catalogue.register_bundled({department: url})
    yield
    for proc in started:
        with contextlib.suppress(Exception):
            stop_provider(proc)


def refused(call, code: str, status: int):
    with pytest.raises(DataUserError) as info:
        call()
    assert (info.value.code, info.value.status) == (code, status), info.value


def approve_all(app, consents: dict) -> None:
    for consent in consents.values():
        app.decide(consent["approval_uri"], PIN, "approve")


def test_the_bank_obtains_company_data_under_the_company_consent(
    issuer, providers, register, director, employee, app_of
):
    services.bootstrap(director, TAI_MAN_BRN)
    bank = make_data_user(issuer, "sme-bank", kind="bank", name_en="Sample SME Bank", name_zh="樣本中小企銀行")

    # A product with no form for an organisation, and a company number in a wrong format: refused.
    refused(
        lambda: bank.request_consent(
            "wsd.registered-address.v1", cdi.PURPOSE, 60, subject={"kind": "organisation", "id": TAI_MAN_BRN}
        ),
        "no_subject_form",
        400,
    )
    refused(lambda: cdi.ask(bank, "2181234"), "br_number_format", 400)
    assert not Consent.objects.exists()

    # The director approves both in the app (an open request: checked on whoever approves).
    consents = cdi.ask(bank, TAI_MAN_BRN)
    director_app = app_of(director).app
    shown = director_app.show(consents[CR]["approval_uri"], PIN)
    assert shown["consent"]["data_subject"]["id"] == TAI_MAN_BRN
    approve_all(director_app, consents)
    consents = {p: bank.consent(c["id"]) for p, c in consents.items()}
    assert all(
        c["status"] == "active" and c["subject"] == {"kind": "organisation", "id": TAI_MAN_BRN}
        for c in consents.values()
    )

    data = cdi.fetch(bank, consents)
    assert data[CR]["name_en"] == "Tai Man Demo Trading Company Limited" and data[CR]["br_number"] == TAI_MAN_BRN
    assert data[CR]["directors"] == [{"name_en": "CHAN Tai Man", "name_zh": "陳大文"}]
    assert data[TAX] == {
        "br_number": TAI_MAN_BRN,
        "business_registration_valid_until": "2027-09-14",
        "last_year_of_assessment": "2025/26",
        "profits_tax_return_filed": True,
        "no_outstanding_tax": True,
    }
    assert cdi.assessment(data)["eligible"] is True
    # The artefact names the company as the data subject; the log names it, never a person.
    artefact = jwt.decode(consents[TAX]["artefact"], keys.public_keyset(), algorithms=["ES256"]).claims
    assert artefact["data_subject"]["id"] == TAI_MAN_BRN and artefact["given_by"]["service"] == "sme-bank-client"
    records = list(ExchangeRecord.objects.order_by("at"))
    assert [r.outcome for r in records] == ["delivered", "delivered"]
    assert {exchange.record_fields(r)["data_subject"] for r in records} == {f"organisation:{TAI_MAN_BRN}"}
    assert all(r.resident_id is None for r in records)
    assert not any(director.hkid in body for body in LogLeaf.objects.values_list("body", flat=True))

    # An employee's consent under a mandate that is then revoked: refused on the next exchange.
    mandate = offer(director, employee, actions=("view", "apply"))
    staff = app_of(employee)
    staff.accept(services.ask_holder(employee)["approval_id"])
    again = cdi.ask(bank, TAI_MAN_BRN)
    approve_all(staff.app, again)
    assert cdi.fetch(bank, again)[CR]["company_number"] == "0812345"
    services.revoke(director, TAI_MAN_BRN, mandate.public_id)
    refused(lambda: bank.fetch(again[CR]["id"], CR), "mandate_revoked", 403)

    # The director's consent, revoked by an administrator: refused on the next exchange.
    services.revoke_company_consent(director, TAI_MAN_BRN, consents[TAX]["id"])
    refused(lambda: bank.fetch(consents[TAX]["id"], TAX), "consent_revoked", 403)
    assert bank.fetch(consents[CR]["id"], CR)["data"]["br_number"] == TAI_MAN_BRN  # the other one stands

    # The administrators see every exchange of the company's data, refusals included.
    seen = [(x.product_id, x.outcome) for x in services.company_exchanges(director, TAI_MAN_BRN)]
    assert seen[:3] == [(CR, "delivered"), (TAX, "consent_revoked"), (CR, "mandate_revoked")]
    assert len(seen) == 7 and seen.count((TAX, "delivered")) == 2
    listed = app_of(director)("GET", f"/organisations/{TAI_MAN_BRN}/exchanges").json()
    assert [x["outcome"] for x in listed][:3] == ["delivered", "consent_revoked", "mandate_revoked"]
    # None of it is the director's or the employee's own history.
    assert exchange.history_of(director) == [] and exchange.history_of(employee) == []


def test_a_resident_consent_on_the_same_gateway_is_unchanged(issuer, providers, register, director, app_of):
    """The CR product still answers for a person (the companies they are an officer of)."""
    from tungban.oidc import services as oidc
    from tungban.oidc.models import Client

    bank = make_data_user(issuer, "sme-bank", kind="bank")
    sub = oidc.pairwise_sub(director, Client.objects.get(client_id=bank.client_id))
    consent = bank.request_consent(CR, cdi.PURPOSE, 600, sub=sub)
    app_of(director).app.decide(consent["approval_uri"], PIN, "approve")
    data = bank.fetch(consent["id"], CR)["data"]
    assert [(c["br_number"], c["role"]) for c in data["companies"]] == [
        (TAI_MAN_BRN, "director"),
        ("74567890", "director"),  # the sample university (the AI Subsidy Scheme's demo)
    ]
    refused(lambda: bank.request_consent(TAX, cdi.PURPOSE, 600, sub=sub), "no_subject_form", 400)
    assert exchange.history_of(director)[0].outcome == "delivered"
