"""The app protocol over HTTP (in-process, see :mod:`tungban.testing.http`) with the CLI app as the device."""

import datetime as dt
import json
import time

import pytest
import requests
from django.utils import timezone
from joserfc import jws
from joserfc.jwk import ECKey

from tungban.core.errors import DomainError
from tungban.testing.factories import (
    PIN,
    authorize_params,
    bind_cli,
    make_client,
    make_resident,
    pkce,
    start_authorization,
)
from tungban.wallet import services as wallet
from tungban.wallet.client import AppError, WalletClient
from tungban.wallet.models import ApprovalRequest, Device, RequestStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def rp(db):
    return make_client("svc-a", "https://rp-a.example/cb")


def _sign(app, payload, key=None, kid=None):
    """A decision JWS as the app makes it, optionally with another key or ``kid``."""
    header = {"alg": "ES256", "kid": kid or app.meta["device_id"]}
    return jws.serialize_compact(header, json.dumps(payload).encode(), key or app.load_key(PIN))


def _post_decision(app, rid, signature):
    return app._call(
        "POST", f"/api/v1/wallet/requests/{rid}/decision", {"signature": signature}, device_key=app.load_key(PIN)
    )


def _open_request(issuer, claims=None):
    verifier, challenge = pkce()
    browser = requests.Session()
    extra = {"claims": json.dumps(claims)} if claims else {}
    return start_authorization(
        browser, issuer, authorize_params("svc-a", "https://rp-a.example/cb", challenge, **extra)
    )


def test_bind_stores_only_public_key(issuer, resident, app_home):
    app = bind_cli(issuer, resident, app_home)
    device = Device.objects.get(pk=app.meta["device_id"])
    assert "d" not in device.public_jwk and device.public_jwk["crv"] == "P-256"
    assert json.loads((app_home / "device-key.json").read_text())["kdf"]["alg"] == "argon2id"
    with pytest.raises(AppError) as err:
        app.load_key("000000")
    assert err.value.code == "wrong_pin"


def test_wrong_or_reused_activation_code(issuer, resident, app_home, tmp_path):
    code = wallet.issue_activation_code(resident)
    app = WalletClient(app_home, issuer)
    with pytest.raises(AppError) as err:
        app.bind(resident.hkid, "WRONG123", PIN)
    assert err.value.code == "bad_activation_code" and err.value.status == 403
    app.bind(resident.hkid, code, PIN)
    with pytest.raises(AppError) as err:
        WalletClient(tmp_path / "other", issuer).bind(resident.hkid, code, PIN)
    assert err.value.code == "bad_activation_code"


def test_wrong_guesses_do_not_void_the_activation_code(issuer, resident, app_home):
    """Issue 13 item 12: guesses are slowed by the rate limiter (tests/test_ratelimits.py),
    never turned into a lock-out of the resident's own code."""
    code = wallet.issue_activation_code(resident)
    for _ in range(5):
        with pytest.raises(DomainError):
            wallet.start_binding(resident.hkid, "WRONG123")
    WalletClient(app_home, issuer).bind(resident.hkid, code, PIN)


def test_one_device_one_account(issuer, officer, app_home):
    a, b = make_resident(officer), make_resident(officer)
    bind_cli(issuer, a, app_home)
    device_key = ECKey.generate_key("P-256")
    # First binding with this key succeeds for resident b ...
    binding = wallet.start_binding(b.hkid, wallet.issue_activation_code(b))
    proof = jws.serialize_compact(
        {"alg": "ES256"}, json.dumps({"binding_id": str(binding.id), "nonce": binding.nonce}).encode(), device_key
    )
    wallet.complete_binding(str(binding.id), public_jwk=device_key.as_dict(private=False), proof=proof, platform="cli")
    # ... and the same device key cannot serve a second account.
    binding = wallet.start_binding(a.hkid, wallet.issue_activation_code(a))
    proof = jws.serialize_compact(
        {"alg": "ES256"}, json.dumps({"binding_id": str(binding.id), "nonce": binding.nonce}).encode(), device_key
    )
    from tungban.core.errors import Conflict

    with pytest.raises(Conflict) as err:
        wallet.complete_binding(
            str(binding.id), public_jwk=device_key.as_dict(private=False), proof=proof, platform="cli"
        )
    assert err.value.code == "device_taken"
    assert Device.objects.filter(resident=a, status="active").count() == 1


def test_binding_proof_must_come_from_the_key(issuer, resident):
    binding = wallet.start_binding(resident.hkid, wallet.issue_activation_code(resident))
    key, other = ECKey.generate_key("P-256"), ECKey.generate_key("P-256")
    proof = jws.serialize_compact(
        {"alg": "ES256"}, json.dumps({"binding_id": str(binding.id), "nonce": binding.nonce}).encode(), other
    )
    from tungban.core.errors import Forbidden

    with pytest.raises(Forbidden):
        wallet.complete_binding(str(binding.id), public_jwk=key.as_dict(private=False), proof=proof, platform="cli")
    assert not Device.objects.exists()


def test_web_binding_needs_passkey(issuer, resident):
    binding = wallet.start_binding(resident.hkid, wallet.issue_activation_code(resident))
    key = ECKey.generate_key("P-256")
    proof = jws.serialize_compact(
        {"alg": "ES256"}, json.dumps({"binding_id": str(binding.id), "nonce": binding.nonce}).encode(), key
    )
    from tungban.core.errors import DomainError

    with pytest.raises(DomainError) as err:
        wallet.complete_binding(str(binding.id), public_jwk=key.as_dict(private=False), proof=proof, platform="web")
    assert err.value.code == "passkey_required"
    assert not Device.objects.exists()


def test_rebind_on_new_phone_unbinds_old(issuer, resident, tmp_path):
    old = bind_cli(issuer, resident, tmp_path / "old")
    new = bind_cli(issuer, resident, tmp_path / "new")
    assert Device.objects.get(pk=old.meta["device_id"]).status == "unbound"
    with pytest.raises(AppError) as err:
        old.history(PIN)
    assert err.value.code == "device_unbound"
    assert new.history(PIN) == []


def test_replayed_approval_refused(issuer, rp, resident, app_home):
    app = bind_cli(issuer, resident, app_home)
    rid = _open_request(issuer)
    details = app.show(rid, PIN)
    payload = {
        "request_id": rid,
        "requester": "svc-a",
        "nonce": details["nonce"],
        "decision": "approve",
        "claims": sorted(c["name"] for c in details["claims"]),
        "code": ApprovalRequest.objects.get(pk=rid).user_code,  # the number on the sign-in page
    }
    sig = _sign(app, payload)
    assert _post_decision(app, rid, sig)["status"] == "approved"
    with pytest.raises(AppError) as err:
        _post_decision(app, rid, sig)
    assert err.value.code == "request_already_decided" and err.value.status == 409


def test_expired_approval_refused(issuer, rp, resident, app_home):
    app = bind_cli(issuer, resident, app_home)
    rid = _open_request(issuer)
    ApprovalRequest.objects.filter(pk=rid).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(AppError) as err:
        app.decide(rid, PIN, "approve")
    assert err.value.code in ("request_expired",) and err.value.status == 410
    assert ApprovalRequest.objects.get(pk=rid).status == RequestStatus.PENDING


def test_approval_signed_by_another_device_refused(issuer, rp, officer, tmp_path):
    a_app = bind_cli(issuer, make_resident(officer), tmp_path / "a")
    b_app = bind_cli(issuer, make_resident(officer), tmp_path / "b")
    rid = _open_request(issuer)
    details = a_app.show(rid, PIN)
    payload = {"request_id": rid, "requester": "svc-a", "nonce": details["nonce"], "decision": "approve", "claims": []}
    # Signed with B's key but claiming to be A's device.
    forged = _sign(a_app, payload, key=b_app.load_key(PIN))
    with pytest.raises(AppError) as err:
        _post_decision(a_app, rid, forged)
    assert err.value.code == "bad_signature"
    assert ApprovalRequest.objects.get(pk=rid).status == RequestStatus.PENDING


def test_signature_for_another_request_refused(issuer, rp, resident, app_home):
    app = bind_cli(issuer, resident, app_home)
    first, second = _open_request(issuer), _open_request(issuer)
    details = app.show(first, PIN)
    payload = {
        "request_id": first,
        "requester": "svc-a",
        "nonce": details["nonce"],
        "decision": "approve",
        "claims": [],
    }
    sig = _sign(app, payload)
    with pytest.raises(AppError) as err:
        _post_decision(app, second, sig)
    assert err.value.code == "bad_signature"


def test_essential_claims_cannot_be_unticked(issuer, rp, resident, app_home):
    app = bind_cli(issuer, resident, app_home)
    rid = _open_request(issuer, claims={"userinfo": {"hkid": {"essential": True}}})
    details = app.show(rid, PIN)
    assert {c["name"]: c["essential"] for c in details["claims"]}["hkid"] is True
    payload = {
        "request_id": rid,
        "requester": "svc-a",
        "nonce": details["nonce"],
        "decision": "approve",
        "claims": ["name"],
    }
    sig = _sign(app, payload)
    with pytest.raises(AppError) as err:
        _post_decision(app, rid, sig)
    assert err.value.code == "essential_claim"
    payload["claims"] = ["hkid", "name", "not_requested"]
    sig = _sign(app, payload)
    with pytest.raises(AppError) as err:
        _post_decision(app, rid, sig)
    assert err.value.code == "unknown_claim"


def test_device_proof_replay_and_age(issuer, resident, app_home):
    app = bind_cli(issuer, resident, app_home)
    key = app.load_key(PIN)
    proof = app._proof(key, "GET", issuer + "/api/v1/wallet/history")
    headers = {"Authorization": "Device " + proof}
    assert requests.get(issuer + "/api/v1/wallet/history", headers=headers).status_code == 200
    again = requests.get(issuer + "/api/v1/wallet/history", headers=headers)
    assert again.status_code == 401 and again.json()["error"] == "proof_replayed"
    other_path = requests.get(
        issuer + "/api/v1/wallet/me",
        headers={"Authorization": "Device " + app._proof(key, "GET", issuer + "/api/v1/wallet/history")},
    )
    assert other_path.json()["error"] == "bad_signature"
    old = jws.serialize_compact(
        {"alg": "ES256", "kid": app.meta["device_id"]},
        json.dumps(
            {"htm": "GET", "htu": issuer + "/api/v1/wallet/me", "iat": int(time.time()) - 600, "jti": "x" * 20}
        ).encode(),
        key,
    )
    assert (
        requests.get(issuer + "/api/v1/wallet/me", headers={"Authorization": "Device " + old}).json()["error"]
        == "proof_expired"
    )
    assert requests.get(issuer + "/api/v1/wallet/me").status_code == 401


def test_suspended_account_cannot_approve(issuer, rp, resident, app_home):
    from tungban.identity import services as identity

    app = bind_cli(issuer, resident, app_home)
    rid = _open_request(issuer)
    identity.set_status(resident, "suspended", reason="test")
    with pytest.raises(AppError) as err:
        app.decide(rid, PIN, "approve")
    assert err.value.code == "account_suspended"


def test_self_registration_over_api(issuer, db):
    from tungban.identity.models import PopulationRecord
    from tungban.testing.factories import valid_hkid

    entry = PopulationRecord.objects.create(
        hkid=valid_hkid("Y"),
        family_name_en="CHEUNG",
        given_name_en="Chi Keung",
        date_of_birth=dt.date(1972, 1, 5),
        gender="male",
    )
    body = {
        "hkid": entry.hkid,
        "family_name_en": "Cheung",
        "given_name_en": "Chi Keung",
        "date_of_birth": "1972-01-05",
        "gender": "male",
    }
    bad = requests.post(issuer + "/api/v1/wallet/registrations", json=dict(body, date_of_birth="1972-01-06"))
    assert bad.status_code == 400 and bad.json()["error"] == "proofing_failed"
    invalid = requests.post(issuer + "/api/v1/wallet/registrations", json=dict(body, date_of_birth="not a date"))
    assert invalid.status_code == 422 and invalid.json()["error"] == "invalid_request"
    ok = requests.post(issuer + "/api/v1/wallet/registrations", json=body)
    assert ok.status_code == 201 and ok.json()["resident"]["tier"] == "basic"
    again = requests.post(issuer + "/api/v1/wallet/registrations", json=body)
    assert again.status_code == 409 and again.json()["error"] == "hkid_taken"


def test_errors_are_translated(issuer, db):
    body = {"hkid": "A123456(4)", "activation_code": "X"}
    en = requests.post(issuer + "/api/v1/wallet/bindings", json=body, headers={"Accept-Language": "en"}).json()
    zh = requests.post(issuer + "/api/v1/wallet/bindings", json=body, headers={"Accept-Language": "zh-HK"}).json()
    assert en["error"] == zh["error"] == "hkid_check_digit"
    assert "check digit" in en["message"] and "檢查碼" in zh["message"]


def test_registration_does_not_reveal_accounts(issuer, resident):
    body = {
        "hkid": resident.hkid,
        "family_name_en": "NOBODY",
        "given_name_en": "X",
        "date_of_birth": "1980-01-01",
        "gender": "male",
    }
    resp = requests.post(issuer + "/api/v1/wallet/registrations", json=body)
    assert resp.status_code == 400 and resp.json()["error"] == "proofing_failed"
    from tungban.identity import services as identity

    identity.set_status(resident, "suspended", reason="test")
    bind = requests.post(
        issuer + "/api/v1/wallet/bindings", json={"hkid": resident.hkid, "activation_code": "WRONG123"}
    )
    assert bind.status_code == 403 and bind.json()["error"] == "bad_activation_code"
