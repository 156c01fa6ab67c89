"""CorpID's API from the resident's app (device proofs): setting up with an Idempotency-Key,
granting, the holder's answer in the app, revocation taking effect on the holder's next
request, and the documented errors (nothing stored)."""

from __future__ import annotations

import pytest

from tungban.corpid import services
from tungban.corpid.models import Mandate, Organisation

from .conftest import TAI_MAN_BRN, year_from_today


def grant_body(holder, **kw):
    start, end = year_from_today()
    return {
        "holder_hkid": holder.hkid,
        "role": "user",
        "services": ["svc-a"],
        "actions": ["view", "apply"],
        "valid_from": start.isoformat(),
        "valid_until": end.isoformat(),
        **kw,
    }


def test_set_up_grant_accept_and_revoke_take_effect_on_the_next_request(director, employee, app_of):
    boss, staff = app_of(director), app_of(employee)

    missing = boss("POST", "/organisations", {"br_number": TAI_MAN_BRN})
    assert (missing.status_code, missing.json()["error"]) == (400, "idempotency_key_missing")
    first = boss("POST", "/organisations", {"br_number": TAI_MAN_BRN}, key="set-up-0001")
    again = boss("POST", "/organisations", {"br_number": TAI_MAN_BRN}, key="set-up-0001")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and Organisation.objects.count() == 1
    assert first.json()["status"] == "active" and first.json()["my_mandate"]["role"] == "administrator"

    granted = boss("POST", f"/organisations/{TAI_MAN_BRN}/mandates", grant_body(employee), key="grant-0001")
    assert granted.status_code == 201, granted.text
    mandate_id = granted.json()["mandate_id"]
    assert granted.json()["state"] == "offered" and granted.json()["holder"] == "Siu Ling WONG"
    refused = staff("GET", f"/app/authority?br_number={TAI_MAN_BRN}&service=svc-a&action=view")
    assert (refused.status_code, refused.json()["error"]) == (403, "mandate_not_accepted")

    listed = staff("GET", "/app/mandates").json()
    assert [(m["mandate_id"], m["state"]) for m in listed] == [(mandate_id, "offered")]
    answer = staff("POST", f"/app/mandates/{mandate_id}/answer")
    assert answer.status_code == 200
    staff.accept(answer.json()["approval_id"])
    allowed = staff("GET", f"/app/authority?br_number={TAI_MAN_BRN}&service=svc-a&action=apply")
    assert allowed.status_code == 200 and allowed.json()["mandate"]["in_force"] is True

    revoked = boss("POST", f"/organisations/{TAI_MAN_BRN}/mandates/{mandate_id}/revoke")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    # The very next request is refused: nothing is cached.
    after = staff("GET", f"/app/authority?br_number={TAI_MAN_BRN}&service=svc-a&action=apply", lang="zh-HK")
    assert (after.status_code, after.json()["error"]) == (403, "mandate_revoked")
    assert after.json()["message"] == "你在此公司的授權已被撤銷。"

    view = boss("GET", f"/organisations/{TAI_MAN_BRN}").json()
    assert [e["action"] for e in view["events"]] == [
        "revoked",
        "accepted",
        "granted",
        "administrator_from_register",
        "set_up",
    ]
    assert view["events"][1]["actor"] == "Siu Ling WONG"


@pytest.mark.parametrize(
    "path_br,body,status,code",
    [
        ("2181234", {}, 400, "br_number_format"),
        (TAI_MAN_BRN, {"actions": ["view", "approve"]}, 400, "invalid_scope"),
        (TAI_MAN_BRN, {"valid_until": "2000-01-01"}, 400, "invalid_dates"),
        (TAI_MAN_BRN, {"holder_hkid": "A1234567"}, 400, "hkid_check_digit"),
        (TAI_MAN_BRN, {"role": "owner"}, 422, "invalid_request"),
        ("12345678", {}, 404, "br_number_not_registered"),
        ("65201587", {}, 404, "no_organisation"),
    ],
)
def test_grant_errors_store_nothing(director, employee, app_of, path_br, body, status, code):
    boss = app_of(director)
    services.bootstrap(director, TAI_MAN_BRN)
    before = Mandate.objects.count()
    answer = boss("POST", f"/organisations/{path_br}/mandates", grant_body(employee, **body), key=f"grant-{code}")
    assert (answer.status_code, answer.json()["error"]) == (status, code), answer.text
    assert Mandate.objects.count() == before


def test_set_up_errors(director, employee, app_of):
    staff = app_of(employee)
    for br, status, code in (
        ("1234", 400, "br_number_format"),
        ("12345678", 404, "br_number_not_registered"),
        (TAI_MAN_BRN, 403, "not_a_director"),
    ):
        answer = staff("POST", "/organisations", {"br_number": br}, key=f"set-up-{code}")
        assert (answer.status_code, answer.json()["error"]) == (status, code)
    assert not Organisation.objects.exists()
    services.bootstrap(director, TAI_MAN_BRN)
    no_rights = staff("GET", f"/organisations/{TAI_MAN_BRN}")
    assert (no_rights.status_code, no_rights.json()["error"]) == (403, "not_an_administrator")
    nothing = staff("GET", f"/app/authority?br_number={TAI_MAN_BRN}&service=svc-a&action=view")
    assert (nothing.status_code, nothing.json()["error"]) == (403, "no_mandate")


def test_the_error_codes_are_published(client):
    document = client.get("/api/v1/openapi.json").json()
    tag = next(t for t in document["tags"] if t["name"] == "corpid")
    codes = {c["code"] for c in tag["x-error-codes"]}
    assert {
        "br_number_format",
        "br_number_not_registered",
        "not_a_director",
        "too_many_administrators",
        "last_administrator",
        "delegation_exceeds_mandate",
        "mandate_expired",
        "mandate_revoked",
        "mandate_out_of_scope",
        "no_mandate",
    } <= codes
    grant = document["paths"]["/api/v1/corpid/organisations/{br_number}/mandates"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in grant["parameters"])
