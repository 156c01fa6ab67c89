"""The app's approval calls on the hot path (issue 15, :mod:`tungban.wallet.hot`): the same
answers and the same stored state as the reference path (the ninja operations), fewer
statements, and the reference's answer whenever the hot path cannot give it."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext
from joserfc import jws
from joserfc.jwk import ECKey

from tungban.core import hotpaths
from tungban.core.errors import DomainError
from tungban.identity.models import AuditEvent
from tungban.identity.seeding import seed_residents, seeded_residents
from tungban.testing.sampledomain.constants import PLEDGE_KIND
from tungban.wallet import hot
from tungban.wallet import services as wallet
from tungban.wallet.client import device_proof
from tungban.wallet.models import ApprovalRequest, Device, RequestStatus, UsedProof
from tungban.wallet.seeding import seed_devices
from tungban.wallet.signals import approval_decided

pytestmark = pytest.mark.django_db

CLAIMS = [
    {"name": "name", "essential": True},
    {"name": "gender", "essential": False},
    {"name": "birthdate", "essential": False},
]


class App:
    """A seeded CLI device calling the app API in-process, hot or by the reference path."""

    def __init__(self, settings):
        result = seed_residents(1)
        self.resident = seeded_residents(result.start, result.count)[0]
        seeded = seed_devices([self.resident])[0]
        self.device_id = seeded["device_id"]
        self.key = ECKey.import_key(seeded["private_jwk"])
        self.issuer = settings.TUNGBAN_ISSUER
        self.client = Client()

    def call(self, method, path, body=None, *, hot_path=True, monkeypatch=None):
        proof = "Device " + device_proof(self.key, self.device_id, method, self.issuer + path)
        if not hot_path:
            monkeypatch.setattr(hotpaths, "_patterns", {})
        try:
            if method == "GET":
                return self.client.get(path, HTTP_AUTHORIZATION=proof, secure=True)
            return self.client.post(
                path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=proof, secure=True
            )
        finally:
            if not hot_path:
                monkeypatch.undo()

    def sign(self, req: ApprovalRequest, decision="approve", claims=None, **extra) -> str:
        payload = {
            "request_id": str(req.id),
            "requester": req.requester_id,
            "nonce": req.nonce,
            "decision": decision,
            "claims": claims if claims is not None else [c["name"] for c in req.requested_claims],
            **extra,
        }
        return jws.serialize_compact({"alg": "ES256", "kid": self.device_id}, json.dumps(payload).encode(), self.key)


@pytest.fixture
def app(settings):
    return App(settings)


def _login_request(**kw) -> ApprovalRequest:
    return wallet.create_request(
        kind="login",
        requester_id="svc-a",
        requester_name_en="Service A",
        requester_name_zh="服務甲",
        requester_logo_url="https://rp.example/logo.png",
        requested_claims=CLAIMS,
        context={"offline_access_days": 30},
        user_code=True,
        origin={"user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36", "ip": "10.0.0.9"},
        **kw,
    )


def _pledge_request(resident=None) -> ApprovalRequest:
    digest = hashlib.sha256(b"I pledge").hexdigest()
    return wallet.create_request(
        kind=PLEDGE_KIND,
        requester_id="sample",
        requester_name_en="Sample",
        requester_name_zh="樣本",
        requested_claims=[],
        context={"reason": "A pledge", "documents": [{"name": "pledge.txt", "sha256": digest}]},
        binds={"pledge": digest},
        resident=resident,
    )


def _captured():
    """Statements of the next request (Django empties the log when a request starts)."""
    reset_queries()
    return CaptureQueriesContext(connection)


def _path(req, decision=False):
    return f"/api/v1/wallet/requests/{req.id}" + ("/decision" if decision else "")


@pytest.mark.parametrize("make", [_login_request, _pledge_request], ids=["login", "pledge"])
def test_the_app_read_answers_as_the_reference_in_two_statements(app, monkeypatch, make):
    req = make()
    with _captured() as hot_queries:
        fast = app.call("GET", _path(req))
    statements = [q["sql"] for q in hot_queries]  # read before the next request empties the log
    slow = app.call("GET", _path(req), hot_path=False, monkeypatch=monkeypatch)
    assert fast.status_code == slow.status_code == 200
    assert fast["Content-Type"] == slow["Content-Type"]
    assert fast.content == slow.content  # byte for byte, members in the schema's order
    assert len(statements) == 2, statements  # one read, the proof's jti
    assert UsedProof.objects.count() == 2


def _state(req):
    req = ApprovalRequest.objects.get(pk=req.pk)
    return (req.status, req.approved_claims, req.resident_id, req.device_id, req.user_verification, req.failure_code)


@pytest.mark.parametrize("decision", ["approve", "decline"])
def test_the_decision_answers_and_records_as_the_reference(app, monkeypatch, decision):
    hot_req, ref_req = _login_request(), _login_request()
    answers, signatures = [], []
    for req, hot_path in ((hot_req, True), (ref_req, False)):
        extra = {"code": req.user_code} if decision == "approve" else {}
        body = {"signature": app.sign(req, decision, claims=["name", "birthdate"], **extra)}
        signatures.append(body["signature"])
        with _captured() as queries:
            answers.append(app.call("POST", _path(req, True), body, hot_path=hot_path, monkeypatch=monkeypatch))
        if hot_path:
            statements = [q["sql"] for q in queries]
    fast, slow = answers
    assert fast.status_code == slow.status_code == 200
    assert fast.json() == {**slow.json(), "id": str(hot_req.id)}
    assert fast["Content-Type"] == slow["Content-Type"]
    assert _state(hot_req) == _state(ref_req)
    stored = ApprovalRequest.objects.get(pk=hot_req.pk)
    assert stored.signature == signatures[0] and stored.decided_at is not None
    assert Device.objects.get(pk=app.device_id).last_used_at is not None
    # one read, then BEGIN, the jti, the request, the device (on PostgreSQL one statement),
    # COMMIT; the receivers run before the COMMIT
    assert len(statements) == (4 if connection.vendor == "postgresql" else 6), statements


def test_what_the_decision_triggers_for_its_kind_still_runs(app):
    """The sample domain's receiver writes an audit event on an approved pledge."""
    req = _pledge_request()
    body = {"signature": app.sign(req, pledge=req.context["binds"]["pledge"])}
    answer = app.call("POST", _path(req, True), body)
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "approved"
    assert AuditEvent.objects.filter(action="sample_pledge_made", detail__approval=str(req.id)).exists()


Refused = DomainError.define("test_refused", "Refused by a receiver.", status=409)


def test_a_receiver_refusing_is_recorded_and_answered_as_the_reference(app, monkeypatch):
    refused = set()

    def receiver(sender, request, **kwargs):
        AuditEvent.objects.create(resident_id=request.resident_id, action="should_roll_back")
        if request.pk in refused:
            raise Refused()

    approval_decided.connect(receiver)
    try:
        hot_req, ref_req = _login_request(), _login_request()
        refused.update({hot_req.pk, ref_req.pk})
        answers = [
            app.call(
                "POST",
                _path(req, True),
                {"signature": app.sign(req, code=req.user_code)},
                hot_path=hot_path,
                monkeypatch=monkeypatch,
            )
            for req, hot_path in ((hot_req, True), (ref_req, False))
        ]
    finally:
        approval_decided.disconnect(receiver)
    fast, slow = answers
    assert fast.status_code == slow.status_code == 409
    assert fast.content == slow.content
    assert (
        _state(hot_req)
        == _state(ref_req)
        == (
            RequestStatus.FAILED,
            ["name", "gender", "birthdate"],
            app.resident.pk,
            Device.objects.get(pk=app.device_id).pk,
            "none",
            "test_refused",
        )
    )
    assert not AuditEvent.objects.filter(action="should_roll_back").exists()


def test_errors_are_the_reference_answers(app, monkeypatch):
    """Refused decisions fall through to the reference path: same answers, the wrong code
    counted, the proof's jti recorded."""
    req = _login_request()
    wrong = "00" if req.user_code != "00" else "01"
    before = UsedProof.objects.count()
    answer = app.call("POST", _path(req, True), {"signature": app.sign(req, code=wrong)})
    assert answer.status_code == 403 and answer.json()["error"] == "wrong_code"
    assert ApprovalRequest.objects.get(pk=req.pk).code_attempts == 1
    assert UsedProof.objects.count() == before + 1
    # a replayed proof
    path = _path(req)
    proof = "Device " + device_proof(app.key, app.device_id, "GET", app.issuer + path)
    assert app.client.get(path, HTTP_AUTHORIZATION=proof, secure=True).status_code == 200
    replayed = app.client.get(path, HTTP_AUTHORIZATION=proof, secure=True)
    assert replayed.status_code == 401 and replayed.json()["error"] == "proof_replayed"
    # an unknown request, a malformed id, no proof
    for path in ("/api/v1/wallet/requests/00000000-0000-0000-0000-000000000000", "/api/v1/wallet/requests/nope"):
        assert app.call("GET", path).json()["error"] == "no_request"
    assert app.client.get(_path(req), secure=True).json()["error"] == "device_auth_required"
    # decided: the second approval is a conflict
    assert app.call("POST", _path(req, True), {"signature": app.sign(req, code=req.user_code)}).status_code == 200
    again = app.call("POST", _path(req, True), {"signature": app.sign(req, code=req.user_code)})
    assert again.status_code == 409 and again.json()["error"] == "request_already_decided"
    # a body that is not the decision's
    bad = app.call("POST", _path(_login_request(), True), {"signature": 5})
    assert bad.status_code == 422


def test_a_request_decided_after_the_read_falls_through(app, monkeypatch):
    """A concurrent decision between the hot path's read and its writes: the conditional
    update finds nothing, everything is rolled back, the reference path answers."""
    req = _login_request()
    judge = wallet.judge_decision

    def judge_then_lose_the_race(*args, **kwargs):
        verdict = judge(*args, **kwargs)
        ApprovalRequest.objects.filter(pk=req.pk).update(status=RequestStatus.DECLINED)
        return verdict

    monkeypatch.setattr(wallet, "judge_decision", judge_then_lose_the_race)
    before = UsedProof.objects.count()
    answer = app.call("POST", _path(req, True), {"signature": app.sign(req, code=req.user_code)})
    assert answer.status_code == 409 and answer.json()["error"] == "request_already_decided"
    assert ApprovalRequest.objects.get(pk=req.pk).status == RequestStatus.DECLINED
    assert UsedProof.objects.count() == before + 1  # recorded once, by the reference path


def test_the_paths_are_registered():
    assert hotpaths.resolve("GET", "/api/v1/wallet/requests/r1") == (hot.app_request, {"id": "r1"})
    assert hotpaths.resolve("POST", "/api/v1/wallet/requests/r1/decision") == (hot.decision, {"id": "r1"})


def test_a_replayed_proof_is_caught_by_the_decision_writes(app):
    """The proof's jti is written with the decision (one statement on PostgreSQL): a proof
    already recorded (here by a refused decision) stops the writes; the reference answers."""
    req = _login_request()
    path = _path(req, True)
    proof = "Device " + device_proof(app.key, app.device_id, "POST", app.issuer + path)
    wrong = "00" if req.user_code != "00" else "01"

    def post(signature):
        return app.client.post(
            path,
            json.dumps({"signature": signature}),
            content_type="application/json",
            HTTP_AUTHORIZATION=proof,
            secure=True,
        )

    assert post(app.sign(req, code=wrong)).json()["error"] == "wrong_code"
    replayed = post(app.sign(req, code=req.user_code))
    assert replayed.status_code == 401 and replayed.json()["error"] == "proof_replayed"
    assert ApprovalRequest.objects.get(pk=req.pk).status == RequestStatus.PENDING
    assert Device.objects.get(pk=app.device_id).last_used_at is None
