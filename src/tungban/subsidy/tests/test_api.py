"""The scheme's JSON API for integrators (issue 20, branch tapi): every endpoint's answer and
every documented error, each body checked against the OpenAPI document the platform serves
(``/api/v1/openapi.json``, with ``jsonschema``'s Draft 2020-12 validator, the dialect of
OpenAPI 3.1's schemas); the public answers' cache validators; the mandate checked again on
every call (revoked between two calls); the secretariat system's idempotent mark-complete
(seed 002 ITIB239) with nothing stored on a refusal."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
import requests
from django.utils import timezone
from joserfc.jwk import ECKey
from jsonschema import Draft202012Validator

from examples.data_user import DataUser
from tungban.compute import services as compute
from tungban.corpid import services as corpid
from tungban.eservices import services as eservices
from tungban.oidc import services as oidc
from tungban.subsidy import rules
from tungban.subsidy.constants import ApplicationState, AwardState
from tungban.subsidy.models import Application, Award
from tungban.subsidy.services import awards, intake, reports, scheme, systems
from tungban.testing.factories import PIN, bind_cli, make_resident
from tungban.wallet.client import device_proof

from .conftest import BRN, make_application, terms
from .intake_helpers import UNIVERSITY, apply, director_of, setup_scheme

PREFIX = "/api/v1/subsidy"
SLUG = "ai-subsidy-scheme"


# --- the OpenAPI document as the validator -------------------------------------------------------


@pytest.fixture
def openapi(client):
    return client.get("/api/v1/openapi.json").json()


def conforms(doc: dict, method: str, template: str, response) -> dict:
    """Check ``response`` (status and JSON body) against the operation ``method template`` of
    the served OpenAPI document; returns the body."""
    op = doc["paths"][PREFIX + template][method.lower()]
    declared = op["responses"].get(str(response.status_code))
    assert declared is not None, f"{response.status_code} is not declared for {method} {template}"
    body = response.json()
    schema = {**declared["content"]["application/json"]["schema"], "components": doc["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert not errors, [e.message for e in errors[:5]]
    return body


class Caller:
    """A resident's bound CLI app calling the API with device proofs."""

    def __init__(self, app):
        self.app = app

    def __call__(self, method: str, path: str, *, base=PREFIX, lang="en", **kw):
        url = self.app.server + base + path
        proof = device_proof(self.app.load_key(PIN), self.app.meta["device_id"], method, url.split("?")[0])
        headers = {"Authorization": f"Device {proof}", "Accept-Language": lang}
        return requests.request(method, url, headers=headers, timeout=30, **kw)


@pytest.fixture
def app_of(issuer, tmp_path):
    return lambda resident: Caller(bind_cli(issuer, resident, tmp_path / f"app-{uuid.uuid4().hex[:8]}"))


# --- public ------------------------------------------------------------------------------------


@pytest.fixture
def published(loaded):
    """The scheme's figures and the demo call with its batches."""
    intake.load_demo_scheme()


def test_seed000_s10_s13_s23_the_scheme_is_public_bilingual_and_cacheable(client, openapi, published):
    """seed 000 §10 (HK$2,856M for compute; at most 90% of capacity subsidised), §13 (rates at
    most 70%, exceptionally 90%), §19–§20, §23 (cash flow by financial year), §11 (five
    categories), §15 (batches with cut-offs), seed 002 ITIB229 (HK$320,000 per node-month)."""
    resp = client.get(f"{PREFIX}/scheme")
    body = conforms(openapi, "GET", "/scheme", resp)
    assert resp["Cache-Control"] == "public, max-age=60" and resp["ETag"].startswith('"')
    lines = {line["code"]: line for line in body["funding_lines"]}
    assert lines["compute"]["appropriation"] == "2856000000.00"
    assert [(c["fiscal_year"], c["amount"]) for c in lines["compute"]["cash_flow"]] == [
        ("2024-25", "857000000.00"),
        ("2025-26", "857000000.00"),
        ("2026-27", "1142000000.00"),
    ]
    assert sum(Decimal(line["appropriation"]) for line in lines.values()) == Decimal("3000000000")
    assert lines["security"]["label_zh"] and lines["security"]["label_en"] != lines["security"]["label_zh"]
    assert body["rules"] == {
        "normal_rate_ceiling": "0.70",
        "exceptional_rate_ceiling": "0.90",
        "subsidised_capacity_share": "0.90",
        "list_price_per_node_month": "320000.00",
        "max_award_months": 12,
    }
    assert [c["code"] for c in body["categories"]] == [
        "university",
        "rd_institution",
        "government_department",
        "ai_startup",
        "strategic_enterprise",
    ]
    assert all(c["label_zh"] and c["label_en"] for c in body["categories"])
    (h800,) = body["service_classes"]
    assert h800["price"]["list_price"] == "320000.00" and h800["negotiated"] == {"awards": 0, "min": None, "max": None}
    (call,) = body["calls"]
    now = timezone.now()
    cut_offs = [dt.datetime.fromisoformat(b["cut_off"]) for b in call["batches"]]
    assert cut_offs and all(c >= now for c in cut_offs) and cut_offs == sorted(cut_offs)
    assert call["title_zh"] == "人工智能資助計劃2024–2027"

    # The same representation whatever the language asked; a cache revalidates with the tag.
    zh = client.get(f"{PREFIX}/scheme", HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert zh.json() == body and zh["ETag"] == resp["ETag"]
    again = client.get(f"{PREFIX}/scheme", HTTP_IF_NONE_MATCH=resp["ETag"])
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == resp["ETag"]
    assert client.get(f"{PREFIX}/scheme", HTTP_IF_NONE_MATCH='"stale"').status_code == 200


def test_seed000_s14_the_negotiated_price_range_follows_the_awards(client, openapi, application):
    """seed 000 §14: the actual price is set per application; the scheme shows the range
    awarded beside the list price."""
    before = client.get(f"{PREFIX}/scheme")
    awards.make_award(application, terms(price=Decimal("300000")), decided_at=timezone.now(), actor="chair")
    after = client.get(f"{PREFIX}/scheme", HTTP_IF_NONE_MATCH=before["ETag"])
    body = conforms(openapi, "GET", "/scheme", after)
    # one award: its price would be disclosed, so the range is withheld until three stand
    assert body["service_classes"][0]["negotiated"] == {"awards": 1, "min": None, "max": None}
    for ref, price in (("AISS-0002", "290000"), ("AISS-0003", "310000")):
        awards.make_award(make_application(ref), terms(price=Decimal(price)), decided_at=timezone.now(), actor="c")
    body = conforms(openapi, "GET", "/scheme", client.get(f"{PREFIX}/scheme"))
    assert body["service_classes"][0]["negotiated"] == {"awards": 3, "min": "290000.00", "max": "310000.00"}
    Award.objects.filter(application__reference="AISS-0003").update(state=AwardState.LAPSED)
    body = conforms(openapi, "GET", "/scheme", client.get(f"{PREFIX}/scheme"))
    assert body["service_classes"][0]["negotiated"] == {"awards": 2, "min": None, "max": None}


@pytest.fixture
def decided(loaded, director):
    """One award (university, 3 × 8 node-months at 70%) and one rejection with reasons."""
    won = make_application("AISS-0001", category="university")
    award = awards.make_award(won, terms(), decided_at=timezone.now(), actor="chair")
    lost = make_application(
        "AISS-0002", br_number="65201587", organisation_name_en="Keung Kee Limited", category="ai_startup"
    )
    awards.reject(
        lost, reasons_en="The demand is not justified.", reasons_zh="算力需求理據不足。", decided_at=timezone.now(),
        actor="chair",
    )  # fmt: skip
    make_application("AISS-0003", state=ApplicationState.SUBMITTED, category="ai_startup")
    return award


def test_seed002_itib153_itib239_the_standard_reports_as_data_without_personal_data(client, openapi, decided):
    """seed 002 ITIB153 Q0642 (applications and reasons for rejection), ITIB239 Q0211
    (shortest, average, longest time to approval), ITIB179/ITIB227 (amount and duration per
    project), ITIB229 Q3721 (usage by applicant category): the figures of
    ``services/reports.py``, no organisation named for a rejection, no person ever."""
    resp = client.get(f"{PREFIX}/statistics")
    body = conforms(openapi, "GET", "/statistics", resp)
    assert resp["Cache-Control"] == "public, max-age=60"
    by_code = {row["code"]: row for row in body["applications"]}
    assert by_code["total"]["total"] == 3 and by_code["ai_startup"]["total"] == 2
    assert {s["state"]: s["count"] for s in by_code["ai_startup"]["states"]}["rejected"] == 1
    assert by_code["university"]["label_zh"] != by_code["university"]["label_en"]
    assert body["rejections"] == [
        {
            "category": "ai_startup",
            "state": "rejected",
            "decided_at": body["rejections"][0]["decided_at"],
            "reasons_en": "The demand is not justified.",
            "reasons_zh": "算力需求理據不足。",
        }
    ]
    assert "Keung Kee" not in resp.content.decode() and "AISS-0002" not in resp.content.decode()
    (project,) = body["projects"]
    expected = reports.awards_by_project()[0]
    assert project["reference"] == "AISS-0001" and project["organisation_en"] == "Tai Man AI Limited"
    assert project["subsidy_cap"] == f"{expected['subsidy_cap']:.2f}" == "5376000.00"  # 24 × 320,000 × 70%
    assert project["months"] == 3 and project["node_months"] == 24 and project["rate"] == "0.700"
    times = {row["code"]: row for row in body["times"]}
    assert times["approval"]["count"] == 1 and times["decision"]["count"] == 2
    assert times["approval"]["min"] == str(reports.processing_times()[0]["min"])
    amounts = {row["code"]: row for row in body["amounts"]}
    assert amounts["university"]["subsidy_cap"] == "5376000.00" and amounts["total"]["count"] == 1
    usage = {row["code"]: row["used_gpu_minutes"] for row in body["usage"]}
    assert usage == {c: 0 for c in usage}  # no job has run under the award's account (none yet)
    # No person: the director who holds the mandate is nowhere in the answer.
    assert "CHAN" not in resp.content.decode() and "A1234563" not in resp.content.decode()


# --- the applicant organisation ------------------------------------------------------------------


@pytest.fixture
def grant(loaded, director, run_tasks):
    """An application of the director's company with a signed award (its scheduler account
    opened with the scheduler ``none``) and one job's usage imported."""
    app = make_application()
    award = awards.make_award(app, terms(), decided_at=timezone.now(), actor="chair")
    awards.sign_agreement(award, director, BRN, today=dt.date(2025, 1, 10))
    run_tasks()
    award.refresh_from_db()
    start = dt.datetime(2025, 1, 20, 1, tzinfo=dt.UTC)
    compute.import_usage(
        [
            compute.JobRecord(
                cluster="aisc", job_id="101", account=award.account, user="u1", state="COMPLETED",
                submitted_at=start, started_at=start, ended_at=start + dt.timedelta(hours=2),
                elapsed_seconds=7200, gpus=8,
            )
        ]
    )  # fmt: skip
    return app, award


def test_seed000_s13_s21_an_authorised_person_reads_the_organisations_applications_and_award(
    openapi, grant, director, app_of
):
    """seed 000 §13 (price, rate, subsidy and co-payment), §21 (the agreement), seed 002
    ITIB239 (the clock), read by the organisation's authorised person with their mandate."""
    app, award = grant
    me = app_of(director)
    listed = conforms(
        openapi, "GET", "/organisations/{br_number}/applications", me("GET", f"/organisations/{BRN}/applications")
    )
    assert [a["reference"] for a in listed] == [app.reference]
    assert listed[0]["state"]["code"] == "approved" and listed[0]["award_id"] == str(award.public_id)
    assert listed[0]["state"]["label_zh"] == "已批准" or listed[0]["state"]["label_zh"]
    one = conforms(openapi, "GET", "/applications/{reference}", me("GET", f"/applications/{app.reference}"))
    assert one == listed[0]

    got = conforms(openapi, "GET", "/awards/{award_id}", me("GET", f"/awards/{award.public_id}"))
    assert got["state"]["code"] == "active" and got["account"] == award.account
    assert (got["price"], got["rate"], got["subsidy_cap"], got["co_payment"]) == (
        "320000.00",
        "0.700",
        "5376000.00",
        "2304000.00",
    )
    assert [(m["month"], m["nodes"], m["subsidy"], m["co_payment"]) for m in got["schedule"]] == [
        (f"2025-0{k}-01", 8, "1792000.00", "768000.00") for k in (1, 2, 3)
    ]
    # 8 GPUs × 2 hours in January; nothing later.
    assert [m["used_gpu_minutes"] for m in got["schedule"]] == [960, 0, 0]
    assert got["usage"]["used_gpu_minutes"] == 960
    assert got["usage"]["limit_gpu_minutes"] == rules.gpu_minutes(dict(award.months.values_list("month", "nodes")), 8)
    assert [(i["month"], i["amount"]) for i in got["invoices"]] == [("2025-01-01", "768000.00")]
    assert got["invoices"][0]["state"]["code"] in ("issued", "queued") and got["agreement"]["signed_at"]


def test_no_mandate_is_403_and_another_organisations_ids_are_404_like_unknown_ones(openapi, grant, officer, app_of):
    """A person with no mandate for the organisation: CorpID's documented 403; an id of an
    application or award of an organisation they cannot act for: the same 404 as an id that
    does not exist (nothing tells them apart)."""
    app, award = grant
    stranger = app_of(make_resident(officer, hkid="G123456A", family_name_en="WONG", given_name_en="Siu Ling"))
    refused = stranger("GET", f"/organisations/{BRN}/applications", lang="zh-HK")
    body = conforms(openapi, "GET", "/organisations/{br_number}/applications", refused)
    assert (refused.status_code, body["error"]) == (403, "no_mandate") and body[
        "message"
    ] == "你沒有代表此公司行事的授權。"
    bad = stranger("GET", "/organisations/2181234/applications")
    assert conforms(openapi, "GET", "/organisations/{br_number}/applications", bad)["error"] == "br_number_format"

    theirs = stranger("GET", f"/applications/{app.reference}")
    none = stranger("GET", "/applications/AISS-9999")
    assert theirs.status_code == none.status_code == 404 and theirs.json() == none.json()
    assert conforms(openapi, "GET", "/applications/{reference}", theirs)["error"] == "subsidy_application_unknown"
    theirs = stranger("GET", f"/awards/{award.public_id}")
    none = stranger("GET", f"/awards/{uuid.uuid4()}")
    assert theirs.status_code == none.status_code == 404 and theirs.json() == none.json()
    assert conforms(openapi, "GET", "/awards/{award_id}", theirs)["error"] == "award_unknown"
    assert conforms(openapi, "GET", "/awards/{award_id}", stranger("GET", "/awards/not-a-uuid"))["error"] == (
        "invalid_request"
    )
    # No device proof at all.
    anonymous = requests.get(stranger.app.server + f"{PREFIX}/organisations/{BRN}/applications", timeout=30)
    assert conforms(openapi, "GET", "/organisations/{br_number}/applications", anonymous)["error"] == (
        "device_auth_required"
    )


def test_a_mandate_revoked_between_two_calls_refuses_the_next(openapi, grant, director, officer, app_of):
    """The mandate is checked again on every call (as ``/subsidy/mine/``): revoked, the next
    call is refused (403 on the organisation, 404 on the ids)."""
    app, award = grant
    employee = make_resident(officer, hkid="G123456A", family_name_en="WONG", given_name_en="Siu Ling")
    start = corpid.today()
    mandate = corpid.grant(
        director, BRN, holder_hkid=employee.hkid, role="user", services=[SLUG], actions=["view"],
        valid_from=start, valid_until=start + dt.timedelta(days=300),
    )  # fmt: skip
    staff = app_of(employee)
    answer = staff("POST", f"/app/mandates/{mandate.public_id}/answer", base="/api/v1/corpid")
    assert answer.status_code == 200, answer.text
    staff.app.decide(answer.json()["approval_id"], PIN, "approve")

    assert staff("GET", f"/organisations/{BRN}/applications").status_code == 200
    assert staff("GET", f"/awards/{award.public_id}").status_code == 200
    corpid.revoke(director, BRN, mandate.public_id)
    after = staff("GET", f"/organisations/{BRN}/applications")
    assert conforms(openapi, "GET", "/organisations/{br_number}/applications", after)["error"] == "mandate_revoked"
    assert after.status_code == 403
    assert staff("GET", f"/awards/{award.public_id}").status_code == 404
    assert staff("GET", f"/applications/{app.reference}").status_code == 404


# --- the secretariat's system --------------------------------------------------------------------


def _system(issuer: str, client_id: str, *, department: str | None = None, scope="subsidy") -> DataUser:
    from tungban.eservices.services import webhooks

    key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    client, _secret = oidc.register_client(
        client_id=client_id,
        name_en=f"{client_id} system",
        name_zh="個案系統",
        redirect_uris=[f"https://{client_id}.example/cb"],
        jwks={"keys": [key.as_dict(private=False)]},
    )
    if department is None:
        systems.register_secretariat_system(client)
    else:
        webhooks.register_system(department, client)
        client.allowed_scopes = [*client.allowed_scopes, "subsidy"]
        client.save(update_fields=["allowed_scopes"])
    return DataUser(issuer, client.client_id, key.as_dict(private=True), scope=scope)


def secretariat_call(system: DataUser, method: str, path: str, *, key: str | None = None, lang="en", **params):
    headers = {"Authorization": f"Bearer {system.token()}", "Accept-Language": lang}
    if key is not None:
        headers["Idempotency-Key"] = f'"{key}"'
    return requests.request(method, f"{system.issuer}{PREFIX}{path}", headers=headers, params=params, timeout=30)


@pytest.fixture
def intake_scheme(settings, tmp_path, officer, django_capture_on_commit_callbacks):
    """The demo call, the catalogue and a university's application through the e-service."""
    setup_scheme(settings, tmp_path)
    person, mandate = director_of(officer, UNIVERSITY)
    with django_capture_on_commit_callbacks(execute=True):
        e_app = apply(person, mandate, UNIVERSITY)
    return Application.objects.get(reference=e_app.reference)


def test_seed002_itib239_the_secretariat_system_marks_complete_once_and_the_clock_starts(
    issuer, openapi, intake_scheme
):
    """seed 002 ITIB239: the 2-month clock runs from complete information, not from
    submission. The system's call is idempotent (a retry gets the first answer), needs the
    key, and a refusal stores nothing."""
    app = intake_scheme
    cyberport = _system(issuer, "cyberport-cases")
    queue = secretariat_call(cyberport, "GET", "/secretariat/queue")
    listed = conforms(openapi, "GET", "/secretariat/queue", queue)
    assert [(a["reference"], a["state"]["code"], a["clock"]) for a in listed] == [(app.reference, "submitted", None)]
    batch = listed[0]["batch"]
    one_batch = secretariat_call(cyberport, "GET", "/secretariat/queue", call=batch["call"], batch=batch["number"])
    assert [a["reference"] for a in conforms(openapi, "GET", "/secretariat/queue", one_batch)] == [app.reference]
    other = secretariat_call(cyberport, "GET", "/secretariat/queue", call=batch["call"], batch=999)
    assert conforms(openapi, "GET", "/secretariat/queue", other)["error"] == "subsidy_batch_unknown"
    assert secretariat_call(cyberport, "GET", "/secretariat/queue", state="complete").json() == []
    bad_state = secretariat_call(cyberport, "GET", "/secretariat/queue", state="nonsense")
    assert conforms(openapi, "GET", "/secretariat/queue", bad_state)["error"] == "invalid_request"

    path = f"/secretariat/applications/{app.reference}/complete"
    template = "/secretariat/applications/{reference}/complete"
    missing = secretariat_call(cyberport, "POST", path)
    assert conforms(openapi, "POST", template, missing)["error"] == "idempotency_key_missing"
    app.refresh_from_db()
    assert app.state == ApplicationState.SUBMITTED and app.complete_at is None

    first = secretariat_call(cyberport, "POST", path, key="complete-0001")
    assert first.status_code == 200, first.text
    body = conforms(openapi, "POST", template, first)
    app.refresh_from_db()
    assert app.state == ApplicationState.COMPLETE and app.complete_at is not None
    started = timezone.localtime(app.complete_at, intake.HK).date()
    assert body["state"]["code"] == "complete" and body["clock"]["started"] == started.isoformat()
    assert body["clock"]["due"] == intake.add_months(started, 2).isoformat() and body["clock"]["stopped"] is False
    e_app = eservices.get_application(app.reference)
    assert e_app.state == "in_review" and e_app.assigned_to.username == "system:cyberport-cases"

    completed_at = app.complete_at
    retry = secretariat_call(cyberport, "POST", path, key="complete-0001")
    assert retry.status_code == 200 and retry.json() == body and retry.headers["Idempotent-Replayed"] == "true"
    app.refresh_from_db()
    assert app.complete_at == completed_at  # the clock started once

    # The same key for another request: refused, nothing done.
    reused = secretariat_call(cyberport, "POST", "/secretariat/applications/AISS-OTHER/complete", key="complete-0001")
    assert (reused.status_code, conforms(openapi, "POST", template, reused)["error"]) == (422, "idempotency_key_reused")
    # Again with a new key: refused (409), nothing changed.
    twice = secretariat_call(cyberport, "POST", path, key="complete-0002")
    assert (twice.status_code, conforms(openapi, "POST", template, twice)["error"]) == (409, "subsidy_state_refused")
    unknown = secretariat_call(cyberport, "POST", "/secretariat/applications/AISS-NONE/complete", key="complete-0003")
    assert conforms(openapi, "POST", template, unknown)["error"] == "subsidy_application_unknown"
    clocked = conforms(openapi, "GET", "/secretariat/queue", secretariat_call(cyberport, "GET", "/secretariat/queue"))
    assert clocked[0]["clock"] == body["clock"]


def test_only_the_secretariats_system_with_the_scope_may_call(issuer, openapi, intake_scheme, client):
    """Another department's system (even one given the scope), a token without the scope, and
    no token: documented 401/403 errors, nothing stored."""
    app = intake_scheme
    swd = _system(issuer, "swd-cases", department="SWD")
    path = f"/secretariat/applications/{app.reference}/complete"
    template = "/secretariat/applications/{reference}/complete"
    refused = secretariat_call(swd, "POST", path, key="complete-0001", lang="zh-HK")
    assert (refused.status_code, conforms(openapi, "POST", template, refused)["error"]) == (
        403,
        "not_secretariat_system",
    )
    assert refused.json()["message"] == "只有已登記使用本計劃介面的數碼港（計劃秘書處）系統可進行此操作。"
    cases = _system(issuer, "cyberport-cases", scope="eservices")
    scope = secretariat_call(cases, "GET", "/secretariat/queue")
    assert (scope.status_code, conforms(openapi, "GET", "/secretariat/queue", scope)["error"]) == (
        403,
        "insufficient_scope",
    )
    anonymous = client.post(f"{PREFIX}{path}", HTTP_IDEMPOTENCY_KEY='"complete-0004"')
    assert (anonymous.status_code, conforms(openapi, "POST", template, anonymous)["error"]) == (401, "invalid_token")
    app.refresh_from_db()
    assert app.state == ApplicationState.SUBMITTED and app.complete_at is None


def test_the_openapi_document_lists_the_subsidy_operations_and_codes(openapi):
    """The ``subsidy`` tag is no longer empty: seven operations, each with a summary and its
    error statuses; the tag lists the API's own codes."""
    ops = [
        (method, path)
        for path, item in openapi["paths"].items()
        if path.startswith(PREFIX)
        for method, op in item.items()
        if "subsidy" in op.get("tags", [])
    ]
    assert len(ops) == 7
    for method, path in ops:
        op = openapi["paths"][path][method]
        assert op["summary"] and op["description"]
    tag = next(t for t in openapi["tags"] if t["name"] == "subsidy")
    codes = {c["code"] for c in tag["x-error-codes"]}
    assert {"subsidy_batch_unknown", "not_secretariat_system", "award_unknown", "subsidy_application_unknown"} <= codes
    complete = openapi["paths"][f"{PREFIX}/secretariat/applications/{{reference}}/complete"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in complete["parameters"])
    assert scheme  # the loader the fixtures use


def test_the_operator_registers_the_secretariat_system_once(intake_scheme, capsys):
    """``tungban register_subsidy_system``: the client may ask for ``subsidy`` and acts for
    Cyberport; a client of another department is refused."""
    from django.core.management import CommandError, call_command

    key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    client, _secret = oidc.register_client(
        client_id="cyberport-cases", name_en="Cases", name_zh="個案", redirect_uris=["https://c.example/cb"],
        jwks={"keys": [key.as_dict(private=False)]},
    )  # fmt: skip
    call_command("register_subsidy_system", "cyberport-cases")
    call_command("register_subsidy_system", "cyberport-cases")
    client.refresh_from_db()
    assert client.allowed_scopes.count("subsidy") == 1 and "secretariat CYBERPORT" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("register_subsidy_system", "nobody")
    other, _secret = oidc.register_client(
        client_id="swd-cases", name_en="SWD", name_zh="社署", redirect_uris=["https://s.example/cb"],
        jwks={"keys": [key.as_dict(private=False)]},
    )  # fmt: skip
    from tungban.eservices.services import webhooks

    webhooks.register_system("SWD", other)
    with pytest.raises(CommandError):
        call_command("register_subsidy_system", "swd-cases")
    other.refresh_from_db()
    assert "subsidy" not in other.allowed_scopes
