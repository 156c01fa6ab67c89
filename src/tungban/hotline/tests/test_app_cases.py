"""1823 in the app (issue 22; seed 002 ITIB211 "在「智方便」加入1823服務功能"): the panel card
``hotline.cases`` and the device API — the resident's cases (open first), one case with its
public history, reopening with an ``Idempotency-Key`` (a retry gets the first answer) — and
nothing of anyone else's."""

from __future__ import annotations

import uuid

import pytest
from django.utils import translation

from tungban.hotline import cards
from tungban.hotline.services import cases
from tungban.testing.factories import PIN, bind_cli, make_resident
from tungban.wallet import cards as panel_cards
from tungban.wallet.client import AppError

from .conftest import lamp_case

API = "/api/v1/hotline/app/cases"


@pytest.fixture
def mine(hotline, resident, officer, hyd_officer):
    closed, _c = lamp_case(resident=resident)
    cases.accept(closed, hyd_officer)
    cases.close(closed, hyd_officer, "Repaired.")
    open_, _c = lamp_case(resident=resident, kind="enquiry")
    other, _c = lamp_case(resident=make_resident(officer))
    return {"closed": closed, "open": open_, "other": other}


def test_card_lists_open_cases_first(mine, resident):
    assert panel_cards.get("hotline.cases") is not None
    with translation.override("en"):
        card = cards.cases_card(resident)
    assert card["state"] == "ok"
    assert [i["href"] for i in card["items"]] == [
        f"/1823/cases/{mine['open'].reference}/",
        f"/1823/cases/{mine['closed'].reference}/",
    ]
    assert card["items"][1]["value"].startswith("Closed on ")


def test_empty_card(hotline, resident):
    assert cards.cases_card(resident)["state"] == "empty"


def _call(app, method, path, body=None, key=None):
    headers = {"Accept": "application/json", "Accept-Language": "en"}
    headers["Authorization"] = "Device " + app._proof(app.load_key(PIN), method, app.server + path)
    if key:
        headers["Idempotency-Key"] = f'"{key}"'
    r = app.http.request(method, app.server + path, json=body, headers=headers, timeout=30)
    return r.status_code, r.json(), r.headers


def test_device_api_list_detail_and_reopen(issuer, mine, resident, tmp_path):
    app = bind_cli(issuer, resident, tmp_path / "phone")
    found = app._call("GET", API, device_key=app.load_key(PIN))
    assert [c["reference"] for c in found] == [mine["open"].reference, mine["closed"].reference]
    with pytest.raises(AppError) as exc:
        app._call("GET", API)
    assert exc.value.status == 401

    ref = mine["closed"].reference
    status, body, _h = _call(app, "GET", f"{API}/{ref}")
    assert status == 200 and body["status"] == "closed" and body["closure_reply"] == "Repaired."
    assert body["can_reopen"] is True and [e["kind"] for e in body["history"]][-1] == "closed"
    status, body, _h = _call(app, "GET", f"{API}/{mine['other'].reference}")
    assert status == 404 and body["error"] == "case_unknown"

    status, body, _h = _call(app, "POST", f"{API}/{ref}/reopen", {"reason": "Dark again."})
    assert status == 400 and body["error"] == "idempotency_key_missing"
    key = str(uuid.uuid4())
    status, body, _h = _call(app, "POST", f"{API}/{ref}/reopen", {"reason": ""}, key=str(uuid.uuid4()))
    assert status == 400 and body["error"] == "reason_required"
    status, body, _h = _call(app, "POST", f"{API}/{ref}/reopen", {"reason": "Dark again."}, key=key)
    assert status == 200 and body["state"] == "accepted" and body["history"][-1]["message"] == "Dark again."
    status, again, headers = _call(app, "POST", f"{API}/{ref}/reopen", {"reason": "Dark again."}, key=key)
    assert status == 200 and headers.get("Idempotent-Replayed") == "true" and again["reference"] == ref
    mine["closed"].refresh_from_db()
    assert mine["closed"].reopened_count == 1
    status, body, _h = _call(app, "POST", f"{API}/{ref}/reopen", {"reason": "Again"}, key=str(uuid.uuid4()))
    assert status == 409 and body["error"] == "case_not_closed"


def test_openapi_documents_the_routes(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/hotline/app/cases", "/api/v1/hotline/app/cases/{reference}/reopen"} <= set(doc["paths"])
    reopen = doc["paths"]["/api/v1/hotline/app/cases/{reference}/reopen"]["post"]
    assert {"400", "401", "404", "409"} <= set(reopen["responses"])
