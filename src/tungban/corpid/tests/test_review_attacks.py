"""Review of issue 19's CorpID as an attacker (the crev review): each test is an attack that
must be refused, with nothing stored."""

from __future__ import annotations

import pytest

from tungban.core.errors import DomainError
from tungban.corpid import services
from tungban.corpid.models import AuditEvent, Mandate
from tungban.exchange.models import Consent

from .conftest import TAI_MAN_BRN, offer
from .test_api import grant_body
from .test_company_consents import ask, bank, company, refused  # noqa: F401  (fixtures)
from .test_mandates import accepted


def test_a_joint_approval_mandate_alone_does_not_give_the_companys_consent(company, director, employee, bank, app_of):  # noqa: F811  (fixtures)
    """The company asked that a second person approve each action of this mandate: one
    person cannot share the company's data with a bank alone."""
    accepted(
        employee,
        offer(director, employee, services_=["sme-bank-client"], actions=["view", "apply"], joint_approval=True),
        app_of,
    )
    before = Consent.objects.count()
    refused("joint_approval_required", lambda: ask(employee, bank))
    assert Consent.objects.count() == before


def test_a_sub_administrator_revokes_no_consent_outside_its_scope(company, director, employee, bank, app_of):  # noqa: F811  (fixtures)
    accepted(
        employee,
        offer(director, employee, role="sub_administrator", services_=["svc-a"], actions=["view", "apply"]),
        app_of,
    )
    consent = ask(director, bank)  # for the service sme-bank-client: outside svc-a
    app_of(director).accept(str(consent.approval.id))
    refused("not_an_administrator", lambda: services.revoke_company_consent(employee, TAI_MAN_BRN, consent.id))
    consent.refresh_from_db()
    assert consent.status == "active"
    # Inside its scope (svc-a, apply): it may; and it sees only those consents (finding 5).
    mine = ask(director, bank, service="svc-a")
    app_of(director).accept(str(mine.approval.id))
    assert [c.id for c in services.company_consents(employee, TAI_MAN_BRN)] == [mine.id]
    assert {c.id for c in services.company_consents(director, TAI_MAN_BRN)} == {mine.id, consent.id}
    assert services.revoke_company_consent(employee, TAI_MAN_BRN, mine.id).status == "revoked"
    # The administrator revokes any.
    assert services.revoke_company_consent(director, TAI_MAN_BRN, consent.id).status == "revoked"


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"services": "svc-a"}, 422, "invalid_request"),
        ({"services": []}, 400, "invalid_scope"),
        ({"services": ["svc-a"] * 51}, 400, "invalid_scope"),
        ({"services": ["../etc"]}, 400, "invalid_scope"),
        ({"actions": []}, 400, "invalid_scope"),
        ({"valid_from": "not-a-date"}, 422, "invalid_request"),
        ({"valid_from": "2000-01-01"}, 400, "invalid_dates"),
        ({"holder_hkid": None}, 422, "invalid_request"),
        ({"holder_hkid": "Z6789014"}, 404, "unknown_holder"),
    ],
)
def test_malformed_grants_are_documented_json_errors_and_store_nothing(director, employee, app_of, body, status, code):
    boss = app_of(director)
    services.bootstrap(director, TAI_MAN_BRN)
    before = (Mandate.objects.count(), AuditEvent.objects.count())
    answer = boss("POST", f"/organisations/{TAI_MAN_BRN}/mandates", grant_body(employee, **body), key=f"bad-{code}")
    assert (answer.status_code, answer.json()["error"]) == (status, code), answer.text
    assert (Mandate.objects.count(), AuditEvent.objects.count()) == before


def test_the_new_refusal_is_published(client):
    document = client.get("/api/v1/openapi.json").json()
    tag = next(t for t in document["tags"] if t["name"] == "corpid")
    assert "joint_approval_required" in {c["code"] for c in tag["x-error-codes"]}


def test_an_offer_lapses_when_its_maker_may_no_longer_make_it(company, director, employee, third, app_of):  # noqa: F811  (fixtures)
    """A sub-administrator's offer, revoked with its maker's mandate, cannot be accepted after:
    it would give authority no one holds any more (review finding 6); the app's approval fails
    and the offer gives nothing."""
    sub = accepted(
        employee,
        offer(director, employee, role="sub_administrator", services_=["svc-a"], actions=["view", "apply"]),
        app_of,
    )
    pending = offer(employee, third, services_=["svc-a"], actions=["view"])
    answer = services.ask_holder(third, pending.public_id)
    services.revoke(director, TAI_MAN_BRN, sub.public_id)
    with pytest.raises(Exception) as info:
        app_of(third).accept(answer["approval_id"])
    assert "offer_lapsed" in str(info.value)
    pending.refresh_from_db()  # withdrawn, audited: no longer waiting in the holder's app
    assert (pending.state, pending.credential_id) == ("revoked", None)
    assert AuditEvent.objects.filter(mandate=pending, action="lapsed").count() == 1
    with pytest.raises(DomainError):
        services.authority(third, TAI_MAN_BRN, "svc-a", "view")
    # An administrator's offer still stands while the administrator's mandate is in force.
    fresh = offer(director, third, services_=["svc-a"], actions=["view"])
    assert accepted(third, fresh, app_of).state == "active"
