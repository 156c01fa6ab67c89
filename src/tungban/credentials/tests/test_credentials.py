"""Issuance, selective disclosure, tampering, status and bulk issuance (issue #5, acceptance 2
and "bad input")."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import time
import zlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.issuer import SDJWTIssuer

from tungban.core.errors import DomainError
from tungban.credentials import services
from tungban.credentials.models import Credential, StatusList
from tungban.credentials.verify import BundleTrust, DatabaseTrust, verify_presentation
from tungban.keys import services as keys
from tungban.ledger import audit
from tungban.ledger import transparency as ledger

from .conftest import make_holder


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def check(presentation: str, **kw):
    return verify_presentation(presentation, DatabaseTrust(), **kw)


def disclosure_names(presentation: str) -> list[str]:
    return [json.loads(b64d(d))[1] for d in presentation.split("~")[1:-1]]


# --- issuance and a full presentation ---------------------------------------------------------


def test_issued_credential_is_an_sd_jwt_vc_bound_to_the_holder(senior_card, holder):
    header = json.loads(b64d(senior_card.sd_jwt.split(".")[0]))
    payload = json.loads(b64d(senior_card.sd_jwt.split("~")[0].split(".")[1]))
    assert header["typ"] == "dc+sd-jwt" and header["alg"] == "ES256"
    assert header["kid"] in {k["kid"] for k in services.issuer_jwks(senior_card.issuer)["keys"]}
    assert payload["iss"].endswith("/issuers/swd") and payload["vct"].endswith("/credentials/types/senior-citizen-card")
    assert payload["cnf"]["jwk"] == holder.resident.devices.get().public_jwk
    assert payload["status"]["status_list"] == {
        "idx": senior_card.status_index,
        "uri": services.status_list_url(senior_card.status_list),
    }
    # No personal data in the clear: every claim is a salted digest.
    assert "CHAN" not in json.dumps(payload) and "1950" not in json.dumps(payload)
    assert len(payload["_sd"]) == 6
    assert services.issued_claims(senior_card) == {
        "family_name": "CHAN",
        "given_name": "Tai Man",
        "name_zh": "陳大文",
        "birthdate": "1950-03-02",
        "age_over_65": True,
        "card_number": "SC12345678",
    }


def test_full_presentation_verifies_with_binding_status_and_log(senior_card, holder):
    result = check(holder.present(senior_card.sd_jwt, None))
    assert result.valid, result.problems
    assert result.claims["given_name"] == "Tai Man" and result.claims["birthdate"] == "1950-03-02"
    assert result.undisclosed == 0
    assert result.issuer_name_en == "Social Welfare Department" and result.type_id == "senior-citizen-card"
    assert result.status == "valid" and result.holder_binding == "verified"
    assert result.log == {
        "leaf_index": senior_card.log_index,
        "tree_size": ledger.signed_tree_head()["tree_size"],
        "included": True,
    }


def test_issuance_is_logged_without_personal_data(senior_card):
    leaf = ledger.leaf_for("credential.issued", senior_card.digest)
    assert leaf.index == senior_card.log_index
    body = json.loads(leaf.body)
    assert body["ref"] == senior_card.digest == hashlib.sha256(senior_card.sd_jwt.split("~")[0].encode()).hexdigest()
    assert body["status_index"] == senior_card.status_index
    assert senior_card.holder.hkid not in leaf.body and "CHAN" not in leaf.body


# --- selective disclosure ---------------------------------------------------------------------


def test_selective_disclosure_hides_undisclosed_claims(senior_card, holder):
    presentation = holder.present(senior_card.sd_jwt, ["age_over_65"])
    assert disclosure_names(presentation) == ["age_over_65"]
    assert "1950-03-02" not in json.dumps([json.loads(b64d(d)) for d in presentation.split("~")[1:-1]])
    result = check(presentation)
    assert result.valid, result.problems
    assert result.claims == {"age_over_65": True}
    assert result.undisclosed == 5


def test_presentation_with_no_disclosures_shows_only_issuer_and_type(senior_card, holder):
    result = check(holder.present(senior_card.sd_jwt, []))
    assert result.valid and result.claims == {} and result.undisclosed == 6 and result.type_name_zh == "長者咭"


# --- tampering --------------------------------------------------------------------------------


def test_altered_claim_in_the_signed_jwt_fails(senior_card, holder):
    presentation = holder.present(senior_card.sd_jwt, None)
    jwt, rest = presentation.split("~", 1)
    header, payload, signature = jwt.split(".")
    claims = json.loads(b64d(payload))
    claims["vct"] = claims["vct"].replace("senior-citizen-card", "fire-safety-certificate")
    forged = ".".join([header, b64e(json.dumps(claims).encode()), signature]) + "~" + rest
    result = check(forged)
    assert not result.valid and "signature_invalid" in result.codes()


def test_altered_disclosure_fails(senior_card, holder):
    presentation = holder.present(senior_card.sd_jwt, ["birthdate"], bind=False)
    jwt, disclosure, _ = presentation.split("~")
    salt, name, _value = json.loads(b64d(disclosure))
    forged = f"{jwt}~{b64e(json.dumps([salt, name, '1940-03-02']).encode())}~"
    result = check(forged)
    assert not result.valid and "disclosure_invalid" in result.codes()
    assert "birthdate" not in result.claims


def test_added_disclosure_is_refused(senior_card, holder):
    jwt = senior_card.sd_jwt.split("~")[0]
    invented = b64e(json.dumps([secrets.token_urlsafe(16), "age_over_65", True]).encode())
    result = check(f"{jwt}~{invented}~")
    assert "disclosure_invalid" in result.codes() and not result.valid


def test_disclosure_swapped_after_key_binding_fails(senior_card, holder):
    presentation = holder.present(senior_card.sd_jwt, ["age_over_65"])
    all_disclosures = senior_card.sd_jwt.split("~")[1:-1]
    jwt, _d, kb = presentation.split("~")
    other = next(d for d in all_disclosures if json.loads(b64d(d))[1] == "birthdate")
    result = check(f"{jwt}~{other}~{kb}")
    assert not result.valid and "holder_binding_invalid" in result.codes()


def test_key_binding_by_another_key_fails(senior_card):
    from .conftest import Holder

    thief = Holder(senior_card.holder, ec.generate_private_key(ec.SECP256R1()))
    result = check(thief.present(senior_card.sd_jwt, ["age_over_65"]))
    assert not result.valid and "holder_binding_invalid" in result.codes()


def test_stale_or_misaddressed_key_binding_fails(senior_card, holder, settings):
    presentation = holder.present(senior_card.sd_jwt, ["age_over_65"])
    later = check(presentation, now=time.time() + settings.TUNGBAN_PRESENTATION_MAX_AGE + 120)
    assert "presentation_stale" in later.codes() and not later.valid
    elsewhere = holder.present(senior_card.sd_jwt, ["age_over_65"], aud="https://phisher.example/verify")
    assert "holder_binding_invalid" in check(elsewhere).codes()
    nonce = holder.present(senior_card.sd_jwt, ["age_over_65"], aud="https://bank.example", nonce="n-123")
    assert check(nonce, expected_aud="https://bank.example", expected_nonce="n-123").valid
    assert "holder_binding_invalid" in check(nonce, expected_aud="https://bank.example", expected_nonce="other").codes()


def test_paper_copy_without_key_binding_is_valid_but_says_so(senior_card, holder):
    result = check(senior_card.sd_jwt)
    assert result.valid and result.holder_binding == "not_presented" and len(result.claims) == 6


def test_credential_signed_with_a_key_the_issuer_never_published_fails(senior_card, holder, bundled):
    rogue = JWK.from_pyca(ec.generate_private_key(ec.SECP256R1()))
    payload = json.loads(b64d(senior_card.sd_jwt.split("~")[0].split(".")[1]))
    claims = {k: payload[k] for k in ("iss", "vct", "iat", "nbf", "status")}
    claims[SDObj("age_over_65")] = True
    real_kid = json.loads(b64d(senior_card.sd_jwt.split(".")[0]))["kid"]
    same_kid = SDJWTIssuer(
        claims, rogue, sign_alg="ES256", extra_header_parameters={"typ": "dc+sd-jwt", "kid": real_kid}
    ).sd_jwt_issuance
    assert "signature_invalid" in check(same_kid).codes()
    other_kid = SDJWTIssuer(
        claims, rogue, sign_alg="ES256", extra_header_parameters={"typ": "dc+sd-jwt", "kid": "rogue"}
    ).sd_jwt_issuance
    assert "issuer_key_unknown" in check(other_kid).codes()
    # Another department's genuine key does not make a Social Welfare Department credential.
    fsd_key = services.issuer_keys._signing_key(services.get_type("fire-safety-certificate").issuer)
    cross = SDJWTIssuer(
        claims, fsd_key.jwcrypto, sign_alg="ES256", extra_header_parameters={"typ": "dc+sd-jwt", "kid": fsd_key.kid}
    ).sd_jwt_issuance
    assert "issuer_key_unknown" in check(cross).codes()


def test_unknown_issuer_and_malformed_text(senior_card):
    jwt = senior_card.sd_jwt.split("~")[0]
    header, payload, sig = jwt.split(".")
    claims = json.loads(b64d(payload))
    claims["iss"] = "https://elsewhere.example/issuers/swd"
    assert check(f"{header}.{b64e(json.dumps(claims).encode())}.{sig}~").codes() == ["issuer_unknown"]
    for text in ("", "hello", "a.b~", "x" * 70000):
        with pytest.raises(DomainError) as err:
            check(text)
        assert err.value.code == "credential_malformed"


# --- validity and status ----------------------------------------------------------------------


def test_expired_credential_fails(holder):
    ctype = services.get_type("fire-safety-certificate")
    credential = services.issue(
        ctype,
        holder.resident,
        {
            "certificate_number": "FS1234567",
            "premises": "G/F, 1 Queen's Road Central",
            "installations": "Sprinklers, fire alarm",
            "inspection_date": "2026-11-01",
        },
        issued_by="officer:test",
    )
    presentation = holder.present(credential.sd_jwt, ["certificate_number"])
    assert check(presentation).valid
    after = credential.expires_at.timestamp() + 3600
    result = check(presentation, now=after, expected_aud=services.verifier_audience(), expected_nonce=None)
    assert "credential_expired" in result.codes() and not result.valid


def test_revocation_shows_on_the_next_status_fetch(senior_card, holder, client):
    presentation = holder.present(senior_card.sd_jwt, ["age_over_65"])
    url = services.status_list_url(senior_card.status_list).split("localhost:8000", 1)[1]

    def fetched_status() -> int:
        token = client.get(url).content.decode()
        lst = json.loads(b64d(token.split(".")[1]))["status_list"]
        raw = zlib.decompress(b64d(lst["lst"]))
        return (raw[senior_card.status_index // 4] >> (2 * (senior_card.status_index % 4))) & 0b11

    assert fetched_status() == 0
    services.change_status(senior_card, "suspended", reason="card reported lost", changed_by="officer:test")
    assert fetched_status() == 2
    assert "credential_suspended" in check(presentation).codes()
    services.change_status(senior_card, "valid", reason="card found", changed_by="officer:test")
    assert fetched_status() == 0 and check(presentation).valid
    services.change_status(senior_card, "revoked", reason="deceased", changed_by="officer:test")
    assert fetched_status() == 1
    result = check(presentation)
    assert not result.valid and result.status == "revoked" and "credential_revoked" in result.codes()
    # Revocation is final, and every change is in the log.
    with pytest.raises(DomainError) as err:
        services.change_status(senior_card, "valid", changed_by="officer:test")
    assert err.value.code == "status_transition"
    kinds = [json.loads(leaf.body)["kind"] for leaf in ledger.leaves_for(senior_card.digest)]
    assert kinds == ["credential.issued", "credential.suspended", "credential.reinstated", "credential.revoked"]
    assert "deceased" not in json.dumps([leaf.body for leaf in ledger.leaves_for(senior_card.digest)])


def test_status_list_is_cacheable_with_an_etag(senior_card, client, settings):
    url = services.status_list_url(senior_card.status_list).split("localhost:8000", 1)[1]
    first = client.get(url)
    assert first["Content-Type"] == "application/statuslist+jwt"
    assert first["Cache-Control"] == f"public, max-age={settings.TUNGBAN_STATUS_LIST_TTL}"
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    header = json.loads(b64d(first.content.decode().split(".")[0]))
    claims = json.loads(b64d(first.content.decode().split(".")[1]))
    assert header["typ"] == "statuslist+jwt" and claims["sub"] == services.status_list_url(senior_card.status_list)
    assert claims["status_list"]["bits"] == 2 and claims["ttl"] == settings.TUNGBAN_STATUS_LIST_TTL


def test_offline_verification_from_a_trust_bundle(senior_card, holder):
    bundle = json.loads(json.dumps(services.trust_bundle()))  # as a verifier would store it
    presentation = holder.present(senior_card.sd_jwt, ["age_over_65"])
    leaf = ledger.leaf_for("credential.issued", senior_card.digest)
    proof = ledger.inclusion_proof(leaf.index, bundle["tree_head"]["tree_size"])
    offline = verify_presentation(
        presentation,
        BundleTrust(
            bundle,
            {
                senior_card.digest: {
                    "leaf_index": leaf.index,
                    "body": leaf.body,
                    "inclusion_path": proof["inclusion_path"],
                }
            },
        ),
    )
    assert offline.valid, offline.problems
    assert offline.log["included"] is True and offline.status == "valid"
    without_proof = verify_presentation(presentation, BundleTrust(bundle))
    assert without_proof.valid and without_proof.log["included"] is None
    # A revocation after the bundle was fetched is only seen with a fresher bundle.
    services.change_status(senior_card, "revoked", changed_by="officer:test")
    assert "credential_revoked" in verify_presentation(presentation, BundleTrust(services.trust_bundle())).codes()
    # A forged tree head is refused.
    bad = json.loads(json.dumps(bundle))
    bad["tree_head"]["root_hash"] = base64.b64encode(b"\0" * 32).decode()
    assert "log_head_invalid" in verify_presentation(presentation, BundleTrust(bad)).codes()


def test_altered_stored_leaf_makes_inclusion_fail(senior_card, holder):
    from tungban.ledger.models import LogLeaf

    LogLeaf.objects.filter(index=senior_card.log_index).update(
        body=LogLeaf.objects.get(index=senior_card.log_index).body.replace('"swd"', '"fsd"')
    )
    result = check(holder.present(senior_card.sd_jwt, ["age_over_65"]))
    assert "not_logged" in result.codes() and not result.valid


# --- issuance errors --------------------------------------------------------------------------


def test_issue_refuses_bad_claims_and_stores_nothing(holder, bundled):
    ctype = services.get_type("senior-citizen-card")
    before = (Credential.objects.count(), ledger.signed_tree_head()["tree_size"])
    for inputs, code, field in [
        ({"card_number": "12345678"}, "claims_invalid", "card_number"),
        ({}, "claims_invalid", "card_number"),
        ({"card_number": "SC12345678", "colour": "red"}, "claims_invalid", "colour"),
    ]:
        with pytest.raises(DomainError) as err:
            services.issue(ctype, holder.resident, inputs, issued_by="officer:test")
        assert (err.value.code, err.value.field) == (code, field)
    young = make_holder(date_of_birth=dt.date(1990, 1, 1))
    with pytest.raises(DomainError) as err:
        services.issue(ctype, young.resident, {"card_number": "SC12345678"}, issued_by="officer:test")
    assert err.value.code == "holder_too_young"
    assert (Credential.objects.count(), ledger.signed_tree_head()["tree_size"]) == before


def test_holder_without_the_app_gets_an_unbound_credential(bundled):
    paper = make_holder(with_device=False)
    credential = services.issue(
        services.get_type("bl-nsl-test-result"),
        paper.resident,
        {"test_date": "2026-10-03", "score": "85", "result": "Pass"},
        issued_by="officer:test",
    )
    payload = json.loads(b64d(credential.sd_jwt.split("~")[0].split(".")[1]))
    assert "cnf" not in payload and services.issued_claims(credential)["score"] == 85
    result = check(credential.sd_jwt)
    assert result.valid and result.holder_binding == "unbound"


def csv_for(rows: list[dict], header: str = "hkid,card_number") -> str:
    return "\n".join([header, *(f"{r['hkid']},{r['card_number']}" for r in rows)]) + "\n"


def test_bulk_file_with_bad_rows_issues_nothing_unless_asked(bundled, run_tasks):
    good = [make_holder().resident for _ in range(3)]
    young = make_holder(date_of_birth=dt.date(2000, 1, 1)).resident
    rows = [
        {"hkid": good[0].hkid, "card_number": "SC00000001"},
        {"hkid": "A123456(0)", "card_number": "SC00000002"},  # wrong check digit
        {"hkid": good[1].hkid, "card_number": "SC0000003"},  # bad card number
        {"hkid": young.hkid, "card_number": "SC00000004"},
        {"hkid": good[2].hkid, "card_number": "SC00000005"},
        {"hkid": good[0].hkid, "card_number": "SC00000006"},  # duplicate holder
    ]
    ctype = services.get_type("senior-citizen-card")
    tree = ledger.signed_tree_head()["tree_size"]
    rejected = services.submit_bulk(ctype, csv_for(rows), issued_by="officer:test", filename="seniors.csv")
    assert rejected.state == "queued"
    run_tasks()
    rejected.refresh_from_db()
    assert rejected.state == "rejected"
    assert [(e["row"], e["error"]) for e in rejected.errors] == [
        (3, "hkid_check_digit"),
        (4, "claims_invalid"),
        (5, "holder_too_young"),
        (7, "duplicate_holder"),
    ]
    assert rejected.errors[1]["field"] == "card_number"
    assert (
        Credential.objects.count() == 0 and rejected.rows_issued == 0 and ledger.signed_tree_head()["tree_size"] == tree
    )

    batch = services.submit_bulk(
        ctype, csv_for(rows), issued_by="officer:test", filename="seniors.csv", issue_valid_rows=True
    )
    run_tasks()
    batch.refresh_from_db()
    assert batch.state == "done"
    assert (batch.rows_total, batch.rows_issued, batch.rows_rejected) == (6, 2, 4)
    issued = Credential.objects.filter(batch=batch)
    assert sorted(c.holder_id for c in issued) == sorted([good[0].pk, good[2].pk])
    assert ledger.signed_tree_head()["tree_size"] == tree + 2
    assert len({c.status_index for c in issued}) == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe not utf-8", "UTF-8"),
        ("card_number\nSC00000001\n", "hkid"),
        ("hkid,card_number,shoe_size\n", "shoe_size"),
        ("hkid\nA1234563\n", "card_number"),
    ],
)
def test_unreadable_bulk_files_are_refused(bundled, data, message):
    with pytest.raises(DomainError) as err:
        services.submit_bulk(services.get_type("senior-citizen-card"), data, issued_by="officer:test")
    assert err.value.code == "csv_invalid" and message in str(err.value.message)


def test_bulk_issuance_spills_into_a_new_status_list(bundled, run_tasks):
    residents = [make_holder().resident for _ in range(5)]
    swd = services.get_type("senior-citizen-card").issuer
    StatusList.objects.create(issuer=swd, number=1, size=8, allocated=5)
    text = csv_for([{"hkid": r.hkid, "card_number": f"SC{i:08d}"} for i, r in enumerate(residents)])
    services.submit_bulk(services.get_type("senior-citizen-card"), text, issued_by="officer:test")
    run_tasks()
    placed = sorted(Credential.objects.values_list("status_list__number", "status_index"))
    assert placed == [(1, 5), (1, 6), (1, 7), (2, 0), (2, 1)]


def test_verify_credential_command_online_and_offline(senior_card, holder, tmp_path):
    from django.core.management import CommandError, call_command

    presentation = tmp_path / "presented.txt"
    presentation.write_text(f"https://localhost:8000/verify/#vc={holder.present(senior_card.sd_jwt, ['age_over_65'])}")
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(services.trust_bundle()))
    leaf = ledger.leaf_for("credential.issued", senior_card.digest)
    proof = tmp_path / "proof.json"
    proof.write_text(
        json.dumps(
            {
                "leaf_index": leaf.index,
                "body": leaf.body,
                "inclusion_path": ledger.inclusion_proof(
                    leaf.index, json.loads(bundle.read_text())["tree_head"]["tree_size"]
                )["inclusion_path"],
            }
        )
    )
    out = tmp_path / "out.json"
    with out.open("w") as fh:
        call_command(
            "verify_credential", str(presentation), "--bundle", str(bundle), "--proof", str(proof), "--json", stdout=fh
        )
    result = json.loads(out.read_text().split("\nVALID")[0])
    assert result["valid"] and result["log"]["included"] is True and result["claims"] == {"age_over_65": True}
    services.change_status(senior_card, "revoked", changed_by="officer:test")
    with pytest.raises(CommandError, match="credential_revoked"):
        call_command("verify_credential", str(presentation))


def test_claim_errors_name_the_claim_in_the_users_language(holder, bundled):
    from django.utils import translation

    cases = [
        ("senior-citizen-card", {"card_number": "12345678"}, "card_number", "Card number", "SC and eight digits"),
        (
            "bl-nsl-test-result",
            {"test_date": "2026-13-40", "score": "85", "result": "Pass"},
            "test_date",
            "Test date",
            "date",
        ),
        (
            "bl-nsl-test-result",
            {"test_date": "2026-10-03", "score": "185", "result": "Pass"},
            "score",
            "Score",
            "0 to 100",
        ),
        (
            "bl-nsl-test-result",
            {"test_date": "2026-10-03", "score": "85", "result": "Passed"},
            "result",
            "Result",
            "Pass, Fail",
        ),
        (
            "cre-result",
            {"exam_date": "2026-10-03", "candidate_number": "12345678"},
            None,
            "Use of Chinese",
            "at least one",
        ),
    ]
    with translation.override("en"):
        for type_id, inputs, field, label, hint in cases:
            with pytest.raises(DomainError) as err:
                services.issue(services.get_type(type_id), holder.resident, inputs, issued_by="officer:test")
            assert (err.value.code, err.value.field) == ("claims_invalid", field)
            assert label in str(err.value.message) and hint in str(err.value.message)
    with translation.override("zh-hant"), pytest.raises(DomainError) as err:
        services.issue(
            services.get_type("senior-citizen-card"), holder.resident, {"card_number": "1"}, issued_by="officer:test"
        )
    assert "長者咭號碼" in str(err.value.message)


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", ""])
def test_unknown_credential_ids_are_not_found(bundled, bad_id):
    with pytest.raises(DomainError) as err:
        services.get_credential(bad_id)
    assert (err.value.code, err.value.status) == ("credential_unknown", 404)


# --- review findings: each a scenario that used to pass or crash ------------------------------


def test_a_copied_qr_stripped_of_its_holder_proof_is_refused(senior_card, holder):
    presentation = holder.present(senior_card.sd_jwt, ["age_over_65"])
    stripped = presentation.rsplit("~", 1)[0] + "~"
    result = check(stripped)
    assert not result.valid and "holder_binding_missing" in result.codes()
    # A verifier that sent a nonce needs the holder's proof even for the whole credential.
    assert (
        "holder_binding_missing"
        in check(senior_card.sd_jwt, expected_aud="https://shop.example", expected_nonce="n1").codes()
    )
    # The printed copy (every claim) stays valid for a person who also checks the HKID card.
    assert check(senior_card.sd_jwt).valid


def test_crafted_credentials_give_problems_not_crashes(senior_card, holder):
    jwt, rest = senior_card.sd_jwt.split("~", 1)
    header, payload, signature = jwt.split(".")

    def with_header(**changes):
        h = json.loads(b64d(header))
        h.update(changes)
        return f"{b64e(json.dumps(h).encode())}.{payload}.{signature}~{rest}"

    def with_payload(**changes):
        p = json.loads(b64d(payload))
        p.update(changes)
        return f"{header}.{b64e(json.dumps(p).encode())}.{signature}~{rest}"

    assert "format_unsupported" in check(with_header(typ=["x"])).codes()
    assert "issuer_key_unknown" in check(with_header(kid=[])).codes()
    assert check(with_payload(iss=5)).codes() == ["issuer_unknown"]
    assert "type_unknown" in check(with_payload(vct=["a"])).codes()
    with pytest.raises(DomainError) as err:
        check(f"{header}.{payload}.sigé~")
    assert err.value.code == "credential_malformed"
    repeated = holder.present(senior_card.sd_jwt, ["age_over_65"], bind=False)
    j, d, _ = repeated.split("~")
    assert check(f"{j}~{d}~{d}~").codes() == ["disclosure_invalid"]


def test_key_binding_with_a_nonsense_time_is_stale(senior_card, holder):
    presentation = holder.present(senior_card.sd_jwt, ["age_over_65"])
    jwt, d, kb = presentation.split("~")
    h, p, s = kb.split(".")
    claims = json.loads(b64d(p))
    claims["iat"] = float("nan")
    result = check(f"{jwt}~{d}~{h}.{b64e(json.dumps(claims).encode())}.{s}")
    assert not result.valid  # the signature no longer matches, or the time is refused


def test_a_lost_phone_cannot_present(senior_card, holder):
    from tungban.wallet.models import Device, DeviceStatus

    presentation = holder.present(senior_card.sd_jwt, ["age_over_65"])
    assert check(presentation).valid
    Device.objects.filter(resident=holder.resident).update(status=DeviceStatus.UNBOUND)
    result = check(presentation)
    assert not result.valid and result.codes() == ["holder_device_unbound"]


def test_tree_heads_still_verify_after_a_platform_key_rotation(senior_card, holder, settings):
    presentation = holder.present(senior_card.sd_jwt, ["age_over_65"])
    old = ledger.signed_tree_head()
    keys.rotate()
    settings.TUNGBAN_KEY_RETIREMENT_DAYS = 0  # the old key has left the published JWKS
    head = ledger.signed_tree_head()
    assert (head["tree_size"], head["root_hash"]) == (old["tree_size"], old["root_hash"]) and head["signature"] != old[
        "signature"
    ]
    assert json.loads(b64d(head["signature"].split(".")[0]))["kid"] in {k["kid"] for k in keys.public_jwks()["keys"]}
    assert check(presentation).valid
    assert audit.verify_log().ok


def test_the_apps_inclusion_proof_checks_offline_after_the_log_grew(senior_card, holder, bundled):
    bundle = json.loads(json.dumps(services.trust_bundle()))
    services.issue(
        services.get_type("senior-citizen-card"),
        make_holder().resident,
        {"card_number": "SC99999999"},
        issued_by="officer:test",
    )
    proof = services.holder_inclusion_proof(holder.resident, senior_card.id)
    assert proof["tree_head"]["tree_size"] > bundle["tree_head"]["tree_size"]
    presentation = holder.present(senior_card.sd_jwt, ["age_over_65"])
    result = verify_presentation(presentation, BundleTrust(bundle, {senior_card.digest: proof}))
    assert result.valid and result.log["included"] is True, result.problems
    forged = {**proof, "tree_head": {**proof["tree_head"], "tree_size": proof["tree_head"]["tree_size"] + 1}}
    assert "not_logged" in verify_presentation(presentation, BundleTrust(bundle, {senior_card.digest: forged})).codes()
    broken = {**proof, "inclusion_path": ["not base64!"]}
    assert "not_logged" in verify_presentation(presentation, BundleTrust(bundle, {senior_card.digest: broken})).codes()


def test_valid_from_must_be_near_and_zoned(holder, bundled):
    ctype = services.get_type("fire-safety-certificate")
    inputs = {
        "certificate_number": "FS1234567",
        "premises": "G/F, 1 Queen's Road Central",
        "installations": "Sprinklers",
        "inspection_date": "2026-11-01",
    }
    for when in (
        dt.datetime(9999, 12, 1, tzinfo=dt.UTC),
        dt.datetime(1900, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 1),
    ):
        with pytest.raises(DomainError) as err:
            services.issue(ctype, holder.resident, inputs, issued_by="officer:test", valid_from=when)
        assert err.value.code == "valid_from_invalid"
    assert Credential.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("hkid,card_number,card_number\nA1234563,SC00000001,SC00000002\n", "twice"),
        ("hkid,card_number\nA1234563," + "S" * 140000 + "\n", "Line 2"),
    ],
)
def test_ambiguous_or_unreadable_csv_is_refused(bundled, data, message):
    from django.utils import translation

    with translation.override("en"), pytest.raises(DomainError) as err:
        services.submit_bulk(services.get_type("senior-citizen-card"), data, issued_by="officer:test")
    assert err.value.code == "csv_invalid" and message in str(err.value.message)


def test_public_key_documents_never_create_keys(bundled, client):
    from tungban.credentials.models import IssuerKey

    before = IssuerKey.objects.count()
    for path in ("/issuers/csb/jwks.json", "/issuers/csb/did.json", "/.well-known/jwt-vc-issuer/issuers/csb"):
        assert client.get(path).status_code == 200
    # One per bundled issuer (SWD, CSB, FSD, FEHD, and the CorpID platform: issue 19), made at set-up.
    assert IssuerKey.objects.count() == before == 5


def test_a_residents_token_cannot_issue(bundled):
    from tungban.credentials.models import Issuer
    from tungban.oidc.models import Token
    from tungban.testing.factories import make_client

    client, _secret = make_client("swd-portal")
    services.register_issuer_system(Issuer.objects.get(id="swd"), client)
    resident_token = Token(client=client, resident=make_holder().resident, scope="openid credentials")
    with pytest.raises(DomainError) as err:
        services.issuer_for_token(resident_token)
    assert err.value.code == "not_an_issuer"
    assert services.issuer_for_token(Token(client=client, scope="credentials")).id == "swd"
