"""The e-Licences API over HTTP: a department system issues and revokes with its own key;
anyone verifies; the public documents the credentials name resolve."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
import requests
from joserfc.jwk import ECKey

from examples.data_user import DataUser
from tungban.credentials import catalogue, services
from tungban.credentials.models import Credential, Issuer
from tungban.oidc import services as oidc

from .conftest import make_holder


def department_system(issuer_url: str, issuer_id: str) -> DataUser:
    key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    client, _secret = oidc.register_client(
        client_id=f"{issuer_id}-system",
        name_en=f"{issuer_id} system",
        name_zh=f"{issuer_id} 系統",
        redirect_uris=[f"https://{issuer_id}.example/cb"],
        jwks={"keys": [key.as_dict(private=False)]},
    )
    services.register_issuer_system(Issuer.objects.get(id=issuer_id), client)
    return DataUser(issuer_url, client.client_id, key.as_dict(private=True), scope="credentials")


@pytest.fixture
def swd_system(issuer, db):
    catalogue.register_bundled()
    return department_system(issuer, "swd")


def call(
    system: DataUser, method: str, path: str, body: dict | None = None, *, key: str | None = None
) -> requests.Response:
    """A department system's call; ``key`` is sent as its ``Idempotency-Key`` (quoted, RFC 8941 string)."""
    headers = {"Authorization": f"Bearer {system.token()}"}
    if key is not None:
        headers["Idempotency-Key"] = f'"{key}"'
    return requests.request(method, f"{system.issuer}/api/v1/credentials{path}", json=body, headers=headers, timeout=30)


def test_department_system_issues_and_revokes_and_verifiers_see_it(swd_system, issuer):
    holder = make_holder()
    resp = call(
        swd_system,
        "POST",
        "/issue",
        {"type": "senior-citizen-card", "hkid": holder.resident.hkid, "claims": {"card_number": "SC87654321"}},
    )
    assert resp.status_code == 201, resp.text
    issued = resp.json()
    assert issued["status"] == "valid" and issued["holder_bound"] is True and issued["type"] == "senior-citizen-card"
    credential = Credential.objects.get(id=issued["id"])
    assert credential.issued_by == "client:swd-system"

    presentation = holder.present(credential.sd_jwt, ["age_over_65"])
    verified = requests.post(
        f"{issuer}/api/v1/credentials/verify", json={"presentation": presentation}, timeout=30
    ).json()
    assert verified["valid"] is True and verified["claims"] == {"age_over_65": True} and verified["undisclosed"] == 5
    assert verified["log"]["included"] is True and verified["holder_binding"] == "verified"

    resp = call(
        swd_system,
        "POST",
        f"/issued/{issued['id']}/status",
        {"status": "revoked", "reason": "deceased", "confirm_final": True},
    )
    assert resp.status_code == 200 and resp.json()["status"] == "revoked"
    verified = requests.post(
        f"{issuer}/api/v1/credentials/verify", json={"presentation": presentation}, timeout=30
    ).json()
    assert verified["valid"] is False and verified["status"] == "revoked"
    assert [p["code"] for p in verified["problems"]] == ["credential_revoked"]
    again = call(swd_system, "POST", f"/issued/{issued['id']}/status", {"status": "valid"})
    assert again.status_code == 409 and again.json()["error"] == "status_transition"


def test_department_system_errors(swd_system):
    holder = make_holder()
    cases = [
        (
            {"type": "fire-safety-certificate", "hkid": holder.resident.hkid, "claims": {}},
            403,
            "credential_type_foreign",
        ),
        ({"type": "driving-licence", "hkid": holder.resident.hkid, "claims": {}}, 404, "credential_type_unknown"),
        (
            {"type": "senior-citizen-card", "hkid": "A123456(0)", "claims": {"card_number": "SC87654321"}},
            400,
            "hkid_check_digit",
        ),
        (
            {"type": "senior-citizen-card", "hkid": holder.resident.hkid, "claims": {"card_number": "87654321"}},
            400,
            "claims_invalid",
        ),
    ]
    for body, status, code in cases:
        resp = call(swd_system, "POST", "/issue", body)
        assert (resp.status_code, resp.json()["error"]) == (status, code), resp.text
    assert Credential.objects.count() == 0
    assert call(swd_system, "GET", "/issued/00000000-0000-0000-0000-000000000000").status_code == 404


def test_bulk_api_reports_each_row(swd_system, run_tasks):
    good, young = make_holder(), make_holder(date_of_birth=dt.date(2001, 1, 1))
    text = (
        f"hkid,card_number\n{good.resident.hkid},SC00000001\n{young.resident.hkid},SC00000002\nnot-an-hkid,SC00000003\n"
    )
    resp = call(swd_system, "POST", "/issue-bulk", {"type": "senior-citizen-card", "csv": text}, key="bulk-rows-0001")
    assert resp.status_code == 202 and resp.json()["state"] == "queued"
    run_tasks()
    body = call(swd_system, "GET", f"/batches/{resp.json()['id']}").json()
    assert body["state"] == "rejected"
    assert [(r["row"], r["error"]) for r in body["errors"]] == [(3, "holder_too_young"), (4, "hkid_format")]
    assert Credential.objects.count() == 0
    resp = call(
        swd_system,
        "POST",
        "/issue-bulk",
        {"type": "senior-citizen-card", "csv": text, "issue_valid_rows": True},
        key="bulk-rows-0002",
    )
    assert resp.status_code == 202 and resp.json()["rows_issued"] == 0
    run_tasks()
    body = call(swd_system, "GET", f"/batches/{resp.json()['id']}").json()
    assert body["state"] == "done" and (body["rows_issued"], body["rows_rejected"]) == (1, 2)
    assert call(swd_system, "GET", "/batches/00000000-0000-0000-0000-000000000000").status_code == 404


def test_issuance_api_needs_a_key_authenticated_issuer_token(swd_system, issuer):
    assert requests.post(f"{issuer}/api/v1/credentials/issue", json={}, timeout=10).status_code == 401
    # A client with a secret cannot get the 'credentials' scope.
    client, secret = oidc.register_client(
        client_id="secret-only", name_en="S", name_zh="S", redirect_uris=["https://s.example/cb"]
    )
    services.register_issuer_system(Issuer.objects.get(id="fsd"), client)
    token = requests.post(
        f"{issuer}/oidc/token",
        data={"grant_type": "client_credentials", "scope": "credentials"},
        auth=("secret-only", secret),
        timeout=10,
    )
    assert token.status_code == 400 and token.json()["error"] == "invalid_scope"
    # A data user of the exchange gateway is not an issuer.
    key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    stranger, _ = oidc.register_client(
        client_id="stranger",
        name_en="X",
        name_zh="X",
        redirect_uris=["https://x.example/cb"],
        jwks={"keys": [key.as_dict(private=False)]},
    )
    stranger.allowed_scopes = [*stranger.allowed_scopes, "credentials"]
    stranger.save()
    resp = call(
        DataUser(issuer, "stranger", key.as_dict(private=True), scope="credentials"),
        "POST",
        "/issue",
        {"type": "senior-citizen-card", "hkid": "A1234563", "claims": {}},
    )
    assert resp.status_code == 403 and resp.json()["error"] == "not_an_issuer"


def test_public_documents_resolve(swd_system, issuer):
    holder = make_holder()
    credential = services.issue(
        services.get_type("senior-citizen-card"),
        holder.resident,
        {"card_number": "SC11112222"},
        issued_by="officer:test",
    )
    payload = json.loads(base64.urlsafe_b64decode(credential.sd_jwt.split(".")[1] + "=="))
    meta = requests.get(f"{issuer}/.well-known/jwt-vc-issuer/issuers/swd", timeout=10).json()
    assert meta["issuer"] == payload["iss"] and meta["jwks"]["keys"][0]["kid"]
    assert requests.get(f"{payload['iss']}/jwks.json", timeout=10).json() == meta["jwks"]
    did = requests.get(f"{payload['iss']}/did.json", timeout=10).json()
    assert did["id"].startswith("did:web:localhost%3A") and did["id"].endswith(":issuers:swd")
    assert did["verificationMethod"][0]["publicKeyJwk"] == meta["jwks"]["keys"][0]
    vct = requests.get(payload["vct"], timeout=10).json()
    assert vct["vct"] == payload["vct"] and {d["lang"]: d["name"] for d in vct["display"]} == {
        "en": "Senior Citizen Card",
        "zh-Hant": "長者咭",
    }
    status = requests.get(payload["status"]["status_list"]["uri"], timeout=10)
    assert status.headers["Content-Type"] == "application/statuslist+jwt"
    types = requests.get(f"{issuer}/api/v1/credentials/types", timeout=10).json()
    assert {t["id"] for t in types} == {
        "senior-citizen-card",
        "cre-result",
        "bl-nsl-test-result",
        "fire-safety-certificate",
        "temporary-hawker-licence",  # FEHD, issued by the e-services (issue 17)
        "corpid-mandate",  # the CorpID platform, when a mandate is accepted (issue 19)
    }
    assert next(t for t in types if t["id"] == "senior-citizen-card")["input_claims"] == ["card_number"]
    bundle = requests.get(f"{issuer}/api/v1/credentials/trust-bundle", timeout=10).json()
    assert payload["iss"] in bundle["issuers"] and payload["status"]["status_list"]["uri"] in bundle["status_lists"]
    bad = requests.post(f"{issuer}/api/v1/credentials/verify", json={"presentation": "hello"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"] == "credential_malformed"
    assert requests.get(f"{issuer}/credentials/status/swd/99", timeout=10).status_code == 404
