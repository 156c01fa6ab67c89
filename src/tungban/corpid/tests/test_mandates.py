"""CorpID's rules (issue 19, first wave): setting up, granting, answering in the app,
delegating, revoking and checking authority; each bad input is its documented error and leaves
nothing stored."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from tungban.core.errors import DomainError
from tungban.corpid import brn, services
from tungban.corpid.models import AuditEvent, Mandate, Organisation
from tungban.testing.factories import valid_hkid
from tungban.wallet.models import ApprovalRequest

from .conftest import KEUNG_KEE_BRN, TAI_MAN_BRN, offer, year_from_today


def counts():
    return (Organisation.objects.count(), Mandate.objects.count(), AuditEvent.objects.count())


def refused(code: str, call, *args, **kwargs) -> DomainError:
    before = counts()
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.code
    assert counts() == before, "nothing stored"
    return caught.value


def accepted(holder, mandate, app_of):
    app = app_of(holder)
    answer = services.ask_holder(holder, mandate.public_id)
    app.accept(answer["approval_id"])
    mandate.refresh_from_db()
    return mandate


# --- Business Registration numbers --------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,canonical",
    [
        ("21812345", "21812345"),
        (" 2181 2345 ", "21812345"),
        ("21812345-000-09-26-1", "21812345"),
        ("c0012345", "C0012345"),
        ("F0001234", "F0001234"),
    ],
)
def test_br_number_forms(raw, canonical):
    assert brn.normalize(raw) == canonical


@pytest.mark.parametrize(
    "raw", ["", "2181234", "218123456", "ABCDEFGH", "2181234X", "21-812345", "21812345-000", "C00123456"]
)
def test_br_number_wrong_format(raw):
    with pytest.raises(DomainError) as caught:
        brn.normalize(raw)
    assert caught.value.code == "br_number_format" and caught.value.field == "br_number"


def test_the_register_is_the_providers_file(register):
    """CorpID's register and the CR provider's cr.company-particulars.v1 records are one file."""
    from examples.providers import data

    records = data.RECORDS["cr.company-particulars.v1"]
    assert {c["br_number"] for r in records.values() for c in r["companies"]} == {
        TAI_MAN_BRN,
        KEUNG_KEE_BRN,
        "52987654",
        "74567890",  # Sha Tin Sample University Limited (the AI Subsidy Scheme's demo university)
        "73456789",  # Kwun Tong Sample AI Limited (its demo AI start-up)
    }
    company = services.company(TAI_MAN_BRN)
    assert services.is_director(company, "A1234563") and not services.is_director(company, "Y6543217")
    assert company.name_zh == records["A1234563"]["companies"][0]["name_zh"]


def test_a_broken_register_loads_nothing(db, tmp_path):
    bad = tmp_path / "register.json"
    bad.write_text(
        '{"companies": [{"br_number": "12345678", "name_en": "A", "status": "live", "incorporated_on": "2020-01-01"}, {"br_number": "1234", "name_en": "B", "status": "live", "incorporated_on": "2020-01-01"}]}'
    )
    with pytest.raises(DomainError) as caught:
        services.load_register(bad)
    assert caught.value.code == "invalid_register"
    from tungban.corpid.models import RegisteredCompany

    assert not RegisteredCompany.objects.exists()


# --- setting up -----------------------------------------------------------------------------------


def test_a_director_sets_up_and_becomes_administrator(director):
    mandate = services.bootstrap(director, "2181 2345")
    org = mandate.organisation
    assert (org.br_number, org.name_en, org.name_zh, org.status) == (
        TAI_MAN_BRN,
        "Tai Man Demo Trading Company Limited",
        "大文示範貿易有限公司",
        "active",
    )
    assert (mandate.role, mandate.state, mandate.basis, mandate.services) == (
        "administrator",
        "active",
        "register",
        ["*"],
    )
    assert services.authority(director, TAI_MAN_BRN, "anything", "sign") == mandate
    assert [e.action for e in services.events_of(org)][::-1] == ["set_up", "administrator_from_register"]
    assert all(e.actor == director for e in services.events_of(org))


def test_bad_br_numbers_and_non_directors_store_nothing(director, employee):
    refused("br_number_format", services.bootstrap, director, "2181234")
    refused("br_number_not_registered", services.bootstrap, director, "12345678")
    refused("not_a_director", services.bootstrap, employee, TAI_MAN_BRN)
    refused("not_a_director", services.bootstrap, director, KEUNG_KEE_BRN)  # a director of another company


def test_a_company_set_up_once(director):
    services.bootstrap(director, TAI_MAN_BRN)
    refused("organisation_already_set_up", services.bootstrap, director, TAI_MAN_BRN)


def test_errors_in_both_languages(director):
    for lang, text in (("en", "Business Registration number is 8 digits"), ("zh-hant", "商業登記號碼")):
        with translation.override(lang):
            with pytest.raises(DomainError) as caught:
                services.bootstrap(director, "123")
            assert text in str(caught.value.message)


# --- administrators ---------------------------------------------------------------------------------


def test_at_most_two_administrators(director, employee, third, app_of):
    services.bootstrap(director, TAI_MAN_BRN)
    second = offer(director, employee, role="administrator", actions=["view", "apply", "pay", "sign"])
    refused("too_many_administrators", offer, director, third, role="administrator")  # an offer counts
    accepted(employee, second, app_of)
    refused("too_many_administrators", offer, director, third, role="administrator")
    assert offer(director, third, role="sub_administrator").state == "offered"


def test_the_last_administrator_cannot_be_removed(director, employee, app_of):
    own = services.bootstrap(director, TAI_MAN_BRN)
    refused("last_administrator", services.revoke, director, TAI_MAN_BRN, own.public_id)
    second = accepted(employee, offer(director, employee, role="administrator"), app_of)
    assert second.state == "active"
    services.revoke(director, TAI_MAN_BRN, own.public_id)  # another administrator is in force
    refused("last_administrator", services.revoke, employee, TAI_MAN_BRN, second.public_id)
    assert Organisation.objects.get().status == "active"


def test_no_administrator_in_force_suspends_the_company(director, employee, app_of):
    own = services.bootstrap(director, TAI_MAN_BRN)
    user = accepted(employee, offer(director, employee), app_of)
    Mandate.objects.filter(pk=own.pk).update(valid_until=services.today() - dt.timedelta(days=1))
    refused("organisation_suspended", services.authority, employee, TAI_MAN_BRN, "svc", "view")
    refused("organisation_suspended", offer, director, employee)
    # A director on the register sets it up again (Corppass: the registered officer recovers it).
    services.bootstrap(director, TAI_MAN_BRN)
    assert services.authority(employee, TAI_MAN_BRN, "svc", "view") == user


# --- the holder's answer ----------------------------------------------------------------------------


def test_the_holder_accepts_in_the_app(director, employee, app_of):
    services.bootstrap(director, TAI_MAN_BRN)
    mandate = offer(director, employee)
    refused("mandate_not_accepted", services.authority, employee, TAI_MAN_BRN, "svc", "view")
    app = app_of(employee)
    answer = services.ask_holder(employee)
    approval = ApprovalRequest.objects.get(pk=answer["approval_id"])
    assert approval.kind == "corpid.mandate" and approval.resident == employee
    assert approval.context["binds"] == {
        "mandate": str(mandate.public_id),
        "mandate_sha256": services.terms_digest(mandate),
    }
    app.accept(answer["approval_id"])
    mandate.refresh_from_db()
    assert mandate.state == "active"
    assert services.authority(employee, TAI_MAN_BRN, "svc", "apply") == mandate
    event = services.events_of(mandate.organisation)[0]
    assert (event.action, event.actor, event.mandate) == ("accepted", employee, mandate)


def test_the_holder_declines_in_the_app(director, employee, app_of):
    services.bootstrap(director, TAI_MAN_BRN)
    mandate = offer(director, employee)
    app = app_of(employee)
    app.accept(services.ask_holder(employee)["approval_id"], "decline")
    mandate.refresh_from_db()
    assert mandate.state == "declined"
    refused("mandate_declined", services.authority, employee, TAI_MAN_BRN, "svc", "view")
    with pytest.raises(DomainError) as caught:
        services.ask_holder(employee, mandate.public_id)
    assert caught.value.code == "mandate_not_offered"


def test_an_offer_revoked_before_the_answer_stays_revoked(director, employee, app_of):
    services.bootstrap(director, TAI_MAN_BRN)
    mandate = offer(director, employee)
    app = app_of(employee)
    approval_id = services.ask_holder(employee)["approval_id"]
    services.revoke(director, TAI_MAN_BRN, mandate.public_id)
    app.accept(approval_id)
    mandate.refresh_from_db()
    assert mandate.state == "revoked"


def test_nobody_answers_anothers_offer(director, employee, third):
    services.bootstrap(director, TAI_MAN_BRN)
    mandate = offer(director, employee)
    with pytest.raises(DomainError) as caught:
        services.ask_holder(third, mandate.public_id)
    assert caught.value.code == "no_such_mandate"


# --- granting: bad input ------------------------------------------------------------------------------


def test_bad_grants_store_nothing(director, employee, third, app_of):
    services.bootstrap(director, TAI_MAN_BRN)
    start, end = year_from_today()
    refused("invalid_scope", offer, director, employee, actions=["view", "approve"])
    refused("invalid_scope", offer, director, employee, services_=[])
    refused("invalid_scope", offer, director, employee, services_=["Bad Service!"])
    refused("invalid_dates", offer, director, employee, valid_until=start - dt.timedelta(days=1))
    refused("invalid_dates", offer, director, employee, valid_from=start - dt.timedelta(days=1))
    refused("invalid_dates", offer, director, employee, valid_until=services.years_later(start, 25))
    with pytest.raises(DomainError) as caught:
        services.grant(
            director,
            TAI_MAN_BRN,
            holder_hkid="A1234567",
            role="user",
            services=["*"],
            actions=["view"],
            valid_from=start,
            valid_until=end,
        )
    assert (caught.value.code, caught.value.field) == ("hkid_check_digit", "holder_hkid")
    refused(
        "unknown_holder",
        services.grant,
        director,
        TAI_MAN_BRN,
        holder_hkid=valid_hkid("Z", "683905"),
        role="user",
        services=["*"],
        actions=["view"],
        valid_from=start,
        valid_until=end,
    )
    refused("no_organisation", offer, director, employee, br=KEUNG_KEE_BRN)
    refused("br_number_format", offer, director, employee, br="2181234")
    refused("not_an_administrator", offer, employee, third)  # no mandate at all
    offer(director, employee)
    refused("mandate_exists", offer, director, employee)


def test_users_and_sub_administrators_grant_only_within_their_mandate(director, employee, third, officer, app_of):
    from tungban.testing.factories import make_resident

    services.bootstrap(director, TAI_MAN_BRN)
    start, end = year_from_today()
    sub = accepted(
        employee,
        offer(
            director,
            employee,
            role="sub_administrator",
            services_=["svc-a", "svc-b"],
            actions=["view", "apply"],
            valid_until=end - dt.timedelta(days=30),
        ),
        app_of,
    )
    assert sub.state == "active"
    error = refused("delegation_exceeds_mandate", offer, employee, third, actions=["view", "sign"])
    assert "actions" in str(error.message)
    refused("delegation_exceeds_mandate", offer, employee, third, services_=["*"])
    refused("delegation_exceeds_mandate", offer, employee, third, services_=["svc-c"])
    refused("delegation_exceeds_mandate", offer, employee, third, valid_until=end)
    refused("delegation_exceeds_mandate", offer, employee, third, role="sub_administrator", services_=["svc-a"])
    refused("delegation_exceeds_mandate", offer, employee, third, services_=["svc-a"], may_delegate=True)
    user = accepted(
        third,
        offer(employee, third, services_=["svc-a"], actions=["view"], valid_until=end - dt.timedelta(days=30)),
        app_of,
    )
    assert (user.basis, user.granted_by) == ("granted", employee)
    # A user without delegation passes nothing on.
    fourth = make_resident(officer)
    refused(
        "delegation_exceeds_mandate",
        offer,
        third,
        fourth,
        services_=["svc-a"],
        actions=["view"],
        valid_until=end - dt.timedelta(days=30),
    )


def test_delegation_chain_is_in_force_only_while_its_source_is(director, employee, third, app_of):
    services.bootstrap(director, TAI_MAN_BRN)
    start, end = year_from_today()
    source = accepted(
        employee, offer(director, employee, services_=["svc-a"], actions=["view", "pay"], may_delegate=True), app_of
    )
    refused("delegation_exceeds_mandate", offer, employee, third, services_=["svc-a"], actions=["sign"])
    refused(
        "delegation_exceeds_mandate",
        offer,
        employee,
        third,
        services_=["svc-a"],
        actions=["view"],
        valid_from=start + dt.timedelta(days=1),
        valid_until=end + dt.timedelta(days=1),
    )
    chained = accepted(third, offer(employee, third, services_=["svc-a"], actions=["pay"]), app_of)
    assert (chained.basis, chained.parent) == ("delegated", source)
    assert services.authority(third, TAI_MAN_BRN, "svc-a", "pay") == chained
    services.revoke(director, TAI_MAN_BRN, source.public_id)
    refused("mandate_revoked", services.authority, third, TAI_MAN_BRN, "svc-a", "pay")


# --- authority ----------------------------------------------------------------------------------------


def test_authority_refusals(director, employee, third, app_of):
    refused("br_number_format", services.authority, employee, "12", "svc", "view")
    refused("br_number_not_registered", services.authority, employee, "12345678", "svc", "view")
    refused("no_mandate", services.authority, employee, TAI_MAN_BRN, "svc", "view")  # not set up yet
    services.bootstrap(director, TAI_MAN_BRN)
    refused("no_mandate", services.authority, employee, TAI_MAN_BRN, "svc", "view")
    start, end = year_from_today()
    mandate = accepted(
        employee,
        offer(
            director, employee, services_=["svc-a"], actions=["view", "apply"], valid_from=start + dt.timedelta(days=2)
        ),
        app_of,
    )
    refused("mandate_not_yet_valid", services.authority, employee, TAI_MAN_BRN, "svc-a", "view")
    on = start + dt.timedelta(days=3)
    assert services.authority(employee, TAI_MAN_BRN, "svc-a", "apply", on=on) == mandate
    refused("mandate_out_of_scope", services.authority, employee, TAI_MAN_BRN, "svc-a", "sign", on=on)
    refused("mandate_out_of_scope", services.authority, employee, TAI_MAN_BRN, "svc-b", "view", on=on)
    refused(
        "mandate_expired", services.authority, employee, TAI_MAN_BRN, "svc-a", "view", on=end + dt.timedelta(days=1)
    )
    refused("invalid_scope", services.authority, employee, TAI_MAN_BRN, "svc-a", "approve", on=on)
    services.revoke(director, TAI_MAN_BRN, mandate.public_id)
    refused("mandate_revoked", services.authority, employee, TAI_MAN_BRN, "svc-a", "view", on=on)
    refused("mandate_not_live", services.revoke, director, TAI_MAN_BRN, mandate.public_id)


def test_joint_approval_travels_with_the_mandate(director, employee, app_of):
    services.bootstrap(director, TAI_MAN_BRN)
    mandate = accepted(employee, offer(director, employee, actions=["sign"], joint_approval=True), app_of)
    assert services.authority(employee, TAI_MAN_BRN, "svc", "sign").joint_approval is True
    assert mandate.joint_approval


def test_who_may_revoke(director, employee, third, app_of):
    services.bootstrap(director, TAI_MAN_BRN)
    a = accepted(employee, offer(director, employee), app_of)
    b = offer(director, third)
    refused("not_an_administrator", services.revoke, employee, TAI_MAN_BRN, b.public_id)
    services.revoke(employee, TAI_MAN_BRN, a.public_id)  # one's own
    event = services.events_of(a.organisation)[0]
    assert (event.action, event.actor, event.mandate) == ("revoked", employee, a)
