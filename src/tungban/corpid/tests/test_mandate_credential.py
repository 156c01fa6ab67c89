"""The mandate as an SD-JWT VC (issue 19, acceptance 2): issued into the holder's app when the
holder accepts; verified by the independent OpenWallet Foundation TypeScript verifier (the one
acceptance 1 of issue #5 uses, reading the status list itself); after revocation the status
list says revoked. Its status follows the mandate in the change's transaction: revocation, the
source of a delegation ending, the organisation's suspension and its recovery."""

from __future__ import annotations

import datetime as dt
import json
import secrets

import pytest
from django.core.management import call_command
from django.utils import timezone

from tungban.core.errors import DomainError
from tungban.corpid import services
from tungban.corpid.models import AuditEvent, Mandate
from tungban.credentials import services as credentials
from tungban.credentials import summaries
from tungban.credentials.tests.conftest import Holder
from tungban.credentials.tests.test_independent_verifier import job_for, run_node, ts_verifier  # noqa: F401
from tungban.credentials.verify import DatabaseTrust, verify_presentation
from tungban.ledger import transparency
from tungban.testing.factories import PIN

from .conftest import TAI_MAN_BRN, offer, year_from_today
from .test_mandates import accepted


def holder_of(resident, caller) -> Holder:
    """The holder as its app: the resident and the app's device key (to make KB-JWTs)."""
    return Holder(resident, caller.app.load_key(PIN).private_key)


def test_acceptance_2_the_mandate_verifies_independently_and_shows_revoked(ts_verifier, director, employee, app_of):  # noqa: F811
    services.bootstrap(director, TAI_MAN_BRN)
    mandate = offer(director, employee, services_=("svc-a", "cr-annual-return"), actions=("view", "apply", "sign"))
    assert mandate.credential_id is None  # an offer is no mandate yet
    caller = app_of(employee)
    answer = services.ask_holder(employee, mandate.public_id)
    caller.accept(answer["approval_id"])
    mandate.refresh_from_db()
    assert mandate.state == "active" and mandate.credential_id is not None
    event = AuditEvent.objects.get(mandate=mandate, action="accepted")
    assert event.detail["credential"] == str(mandate.credential_id)

    credential = credentials.get_credential(mandate.credential_id)
    assert credential.issuer_id == "corpid" and credential.holder == employee
    assert credential.holder_device is not None  # bound to the app that accepted it
    _start, end = year_from_today()
    assert timezone.localtime(credential.expires_at).date() == end + dt.timedelta(days=1)
    assert credentials.issued_claims(credential) == {
        "family_name": "WONG",
        "given_name": "Siu Ling",
        "name_zh": "黃小玲",
        "br_number": TAI_MAN_BRN,
        "organisation_name_en": mandate.organisation.name_en,
        "organisation_name_zh": mandate.organisation.name_zh,
        "role": "user",
        "services": ["svc-a", "cr-annual-return"],
        "actions": ["view", "apply", "sign"],
        "valid_from": mandate.valid_from.isoformat(),
        "valid_until": mandate.valid_until.isoformat(),
        "joint_approval": False,
        "may_delegate": False,
        "mandate_id": str(mandate.public_id),
    }
    holder = holder_of(employee, caller)

    # The independent verifier: issuer signature, disclosures, KB-JWT, status list, type metadata.
    nonce = secrets.token_urlsafe(12)
    presentation = holder.present(credential.sd_jwt, None, nonce=nonce)
    out = run_node(ts_verifier, job_for(credential, presentation, nonce=nonce))
    assert out["verified"], out
    assert out["payload"]["iss"] == credentials.issuer_url("corpid")
    assert out["payload"]["vct"] == credentials.vct_url("corpid-mandate")
    assert out["claims"]["mandate_id"] == str(mandate.public_id) and out["claims"]["role"] == "user"
    assert out["status"]["value"] == 0
    assert out["type_metadata"]["name"] == "CorpID mandate"

    # The holder's name is selectively disclosable: the company and the role without it.
    nonce = secrets.token_urlsafe(12)
    partial = holder.present(credential.sd_jwt, ["organisation_name_en", "br_number", "role", "actions"], nonce=nonce)
    out = run_node(ts_verifier, job_for(credential, partial, nonce=nonce))
    assert out["verified"], out
    assert set(out["claims"]) == {"organisation_name_en", "br_number", "role", "actions"}
    assert not {"family_name", "given_name", "name_zh"} & set(out["payload"])

    # tungban's own verifier agrees and says what the mandate is.
    ours = verify_presentation(holder.present(credential.sd_jwt, None), DatabaseTrust())
    assert ours.valid, ours.problems
    said = summaries.describe(ours.type_id, ours.claims, "en")
    assert said == (
        f"WONG Siu Ling may act for {mandate.organisation.name_en} ({TAI_MAN_BRN}) as User "
        f"(svc-a, cr-annual-return; View, Apply, Sign; until {mandate.valid_until.isoformat()})"
    )
    assert summaries.describe(ours.type_id, ours.claims, "zh-hant").startswith(
        f"黃小玲可代表{mandate.organisation.name_zh}（{TAI_MAN_BRN}），角色為使用者（"
    )

    # The issuance is in the transparency log, as every credential's (a leaf naming the
    # issuer-signed JWT's digest, never the claims).
    transparency.integrate_pending()
    leaf = transparency.leaf_for("credential.issued", credential.digest)
    assert leaf is not None and "WONG" not in leaf.body and TAI_MAN_BRN not in leaf.body

    # Revoked: the status list says so, read by the independent side.
    services.revoke(director, TAI_MAN_BRN, mandate.public_id)
    credential.refresh_from_db()
    assert credential.status == "revoked"
    nonce = secrets.token_urlsafe(12)
    out = run_node(ts_verifier, job_for(credential, holder.present(credential.sd_jwt, None, nonce=nonce), nonce=nonce))
    assert not out["verified"] and out["stage"] == "status", out
    assert out["status"]["value"] == 1
    ours = verify_presentation(holder.present(credential.sd_jwt, None), DatabaseTrust())
    assert not ours.valid and ours.status == "revoked"
    transparency.integrate_pending()
    assert transparency.leaf_for("credential.revoked", credential.digest) is not None


def test_the_verify_page_says_who_may_act_for_whom_then_revoked(director, employee, app_of, client):
    services.bootstrap(director, TAI_MAN_BRN)
    mandate = accepted(employee, offer(director, employee, services_=("svc-a",), actions=("view",)), app_of)
    credential = credentials.get_credential(mandate.credential_id)
    # A paper copy (no KB-JWT): the page checks the issuer, the disclosures and the status.
    from sd_jwt.holder import SDJWTHolder

    paper = SDJWTHolder(credential.sd_jwt)
    paper.create_presentation({k: True for k in credentials.issued_claims(credential)})
    text = paper.sd_jwt_presentation
    page = client.post("/verify/", {"credential": text}, HTTP_ACCEPT_LANGUAGE="en")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-status="valid"' in body and 'id="credential-summary" data-valid="true"' in body
    assert f"WONG Siu Ling may act for {mandate.organisation.name_en} ({TAI_MAN_BRN}) as User" in body

    services.revoke(director, TAI_MAN_BRN, mandate.public_id)
    page = client.post("/verify/", {"credential": text}, HTTP_ACCEPT_LANGUAGE="en")
    body = page.content.decode()
    assert 'data-status="revoked"' in body and 'data-valid="false"' in body


def test_the_offline_verifier_says_it_from_a_trust_bundle(director, employee, app_of, tmp_path, capsys):
    services.bootstrap(director, TAI_MAN_BRN)
    mandate = accepted(employee, offer(director, employee, services_=("svc-a",), actions=("view",)), app_of)
    credential = credentials.get_credential(mandate.credential_id)
    from sd_jwt.holder import SDJWTHolder

    paper = SDJWTHolder(credential.sd_jwt)
    paper.create_presentation({k: True for k in credentials.issued_claims(credential)})
    (tmp_path / "vc.txt").write_text(paper.sd_jwt_presentation)
    (tmp_path / "bundle.json").write_text(json.dumps(credentials.trust_bundle()))
    call_command("verify_credential", str(tmp_path / "vc.txt"), "--bundle", str(tmp_path / "bundle.json"))
    printed = capsys.readouterr().out
    assert f"Says:    WONG Siu Ling may act for {mandate.organisation.name_en} ({TAI_MAN_BRN}) as User" in printed
    assert "VALID" in printed

    services.revoke(director, TAI_MAN_BRN, mandate.public_id)
    (tmp_path / "bundle.json").write_text(json.dumps(credentials.trust_bundle()))
    with pytest.raises(Exception) as caught:
        call_command("verify_credential", str(tmp_path / "vc.txt"), "--bundle", str(tmp_path / "bundle.json"))
    assert "NOT VALID" in str(caught.value) and "revoked" in capsys.readouterr().out


def test_a_delegations_credential_is_revoked_with_its_source(director, employee, third, app_of):
    services.bootstrap(director, TAI_MAN_BRN)
    source = accepted(employee, offer(director, employee, may_delegate=True), app_of)
    start, end = year_from_today()
    delegated = services.grant(
        employee,
        TAI_MAN_BRN,
        holder_hkid=third.hkid,
        role="user",
        services=["*"],
        actions=["view"],
        valid_from=start,
        valid_until=end,
    )
    delegated = accepted(third, delegated, app_of)
    claims = credentials.issued_claims(credentials.get_credential(delegated.credential_id))
    assert claims["delegated_from"] == str(source.public_id)

    services.revoke(director, TAI_MAN_BRN, source.public_id)
    assert credentials.get_credential(source.credential_id).status == "revoked"
    child = credentials.get_credential(delegated.credential_id)
    assert child.status == "revoked"  # in the revocation's transaction
    assert child.status_changes.get().reason == "the mandate it was delegated from ended"
    delegated.refresh_from_db()
    assert delegated.state == "active"  # the mandate row is unchanged; authority refuses it by its source
    with pytest.raises(DomainError) as caught:
        services.authority(third, TAI_MAN_BRN, "svc-a", "view")
    assert caught.value.code == "mandate_revoked"


def test_suspension_suspends_the_credentials_and_recovery_reinstates_them(director, employee, app_of):
    admin = services.bootstrap(director, TAI_MAN_BRN)
    assert credentials.get_credential(admin.credential_id).status == "valid"  # the director's own
    mandate = accepted(employee, offer(director, employee), app_of)
    org = mandate.organisation

    # The administrator's mandate ends by its date: the worker's sweep suspends the organisation
    # and its credentials in one transaction.
    later = timezone.now() + dt.timedelta(days=366 * 26)
    assert services.sweep_suspensions(later) == {"corpid_organisation": 1}
    org.refresh_from_db()
    assert org.status == "suspended"
    assert credentials.get_credential(mandate.credential_id).status == "suspended"
    assert credentials.get_credential(admin.credential_id).status == "suspended"
    assert services.sweep_suspensions(later) == {"corpid_organisation": 0}

    services.refresh_status(org)  # today an administrator is in force again
    org.refresh_from_db()
    assert org.status == "active"
    assert credentials.get_credential(mandate.credential_id).status == "valid"

    # Revoked stays revoked, whatever the organisation does next.
    services.revoke(director, TAI_MAN_BRN, mandate.public_id)
    services.sweep_suspensions(later)
    services.refresh_status(org)
    assert credentials.get_credential(mandate.credential_id).status == "revoked"


def test_a_declined_offer_gets_no_credential(director, employee, app_of):
    services.bootstrap(director, TAI_MAN_BRN)
    mandate = offer(director, employee)
    caller = app_of(employee)
    caller.accept(services.ask_holder(employee, mandate.public_id)["approval_id"], "decline")
    mandate.refresh_from_db()
    assert mandate.state == "declined" and mandate.credential_id is None
    assert not Mandate.objects.filter(holder=employee, credential_id__isnull=False).exists()


def test_no_officer_or_department_system_issues_mandate_credentials(director, django_user_model):
    from tungban.credentials.models import Issuer

    services.bootstrap(director, TAI_MAN_BRN)  # the platform's issuer exists from the first mandate
    root = django_user_model.objects.create_superuser("root", "root@example.org", "x" * 20)
    assert "corpid" not in [i.id for i in credentials.issuers_for_officer(root)]
    with pytest.raises(DomainError) as caught:
        credentials.require_officer(root, Issuer.objects.get(id="corpid"))
    assert caught.value.code == "not_an_issuer_officer"


def test_the_holder_sees_it_in_the_app_with_the_companys_name(director, employee, app_of):
    import requests

    from tungban.wallet.client import device_proof

    services.bootstrap(director, TAI_MAN_BRN)
    caller = app_of(employee)
    mandate = offer(director, employee, services_=("svc-a",), actions=("view",))
    caller.accept(services.ask_holder(employee, mandate.public_id)["approval_id"])
    org = mandate.organisation
    url = caller.app.server + "/api/v1/credentials/app/credentials"
    seen = {}
    for lang in ("en", "zh-HK"):
        proof = device_proof(caller.app.load_key(PIN), caller.app.meta["device_id"], "GET", url)
        answer = requests.get(url, headers={"Authorization": f"Device {proof}", "Accept-Language": lang}, timeout=30)
        assert answer.status_code == 200, answer.text
        (card,) = answer.json()
        seen[lang] = card
    assert seen["en"]["type_name"] == f"Mandate for {org.name_en}"
    assert seen["en"]["issuer_name"] == "CorpID platform" and seen["en"]["status"] == "valid"
    assert seen["zh-HK"]["type_name"] == f"代表{org.name_zh}的授權"
    assert seen["zh-HK"]["issuer_name"] == "數碼企業身份平台"
    shown = {c["name"]: c["value"] for c in seen["en"]["claims"]}
    assert shown["organisation_name_en"] == org.name_en and shown["role"] == "User" and shown["actions"] == "view"
