"""Idempotent retries of issuance (issue 14 item 2): a department system whose request timed
out retries with the same ``Idempotency-Key`` and gets the first answer — one credential, one
bulk job — never a duplicate (draft-ietf-httpapi-idempotency-key-header)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
import requests
from django.db import close_old_connections, connection
from django.utils import timezone

from tungban.core import retention
from tungban.credentials import catalogue
from tungban.credentials.models import Credential, IssuanceBatch

from .conftest import make_holder
from .test_api import call, department_system


def records():
    from tungban.core.models import IdempotencyRecord  # (imported late: the test must run, and fail, without it)

    return IdempotencyRecord.objects


@pytest.fixture
def swd(issuer, db):
    catalogue.register_bundled()
    return department_system(issuer, "swd")


def issue_body(holder, card="SC00000001") -> dict:
    return {"type": "senior-citizen-card", "hkid": holder.resident.hkid, "claims": {"card_number": card}}


def test_same_key_same_body_gets_the_first_credential_again(swd):
    holder, key = make_holder(), str(uuid.uuid4())
    first = call(swd, "POST", "/issue", issue_body(holder), key=key)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = call(swd, "POST", "/issue", issue_body(holder), key=key)
    assert again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Credential.objects.count() == 1
    assert records().filter(caller="client:swd-system", key=key, state="complete").count() == 1


def test_same_key_different_body_is_refused_422(swd):
    holder, key = make_holder(), str(uuid.uuid4())
    assert call(swd, "POST", "/issue", issue_body(holder), key=key).status_code == 201
    other = call(swd, "POST", "/issue", issue_body(holder, card="SC00000002"), key=key)
    assert other.status_code == 422, other.text
    assert other.json()["error"] == "idempotency_key_reused" and other.json()["field"] == "Idempotency-Key"
    assert Credential.objects.count() == 1
    # The same key on another operation is another request too.
    assert (
        call(swd, "POST", "/issue-bulk", {"type": "senior-citizen-card", "csv": "hkid,card_number\n"}, key=key).json()[
            "error"
        ]
        == "idempotency_key_reused"
    )


@pytest.mark.parametrize("header", ["abcdefgh-unquoted", '"short"', '"a", "two-keys-1"', '"' + "x" * 256 + '"'])
def test_key_syntax_is_a_structured_field_string(swd, header):
    resp = requests.post(
        f"{swd.issuer}/api/v1/credentials/issue",
        json=issue_body(make_holder()),
        headers={"Authorization": f"Bearer {swd.token()}", "Idempotency-Key": header},
        timeout=30,
    )
    assert resp.status_code == 400 and resp.json()["error"] == "idempotency_key_invalid", resp.text
    assert not Credential.objects.exists()


def test_without_a_key_single_issuance_still_works_and_stores_nothing(swd):
    assert call(swd, "POST", "/issue", issue_body(make_holder())).status_code == 201
    assert not records().exists()


def test_keys_belong_to_their_caller(swd, issuer):
    """Another department's system with the same key gets its own answer: never the first
    caller's credential, and no 422 for a key it never used."""
    csb = department_system(issuer, "csb")
    holder, key = make_holder(), str(uuid.uuid4())
    first = call(swd, "POST", "/issue", issue_body(holder), key=key)
    assert first.status_code == 201
    theirs = call(csb, "POST", "/issue", issue_body(holder), key=key)
    assert theirs.status_code == 403 and theirs.json()["error"] == "credential_type_foreign"  # its own answer
    assert "Idempotent-Replayed" not in theirs.headers
    assert call(swd, "POST", "/issue", issue_body(holder), key=key).json() == first.json()
    assert sorted(records().values_list("caller", flat=True)) == [
        "client:csb-system",
        "client:swd-system",
    ]


def test_bulk_issuance_needs_a_key_and_a_retry_gets_the_same_job(swd, run_tasks):
    holders = [make_holder() for _ in range(3)]
    text = "hkid,card_number\n" + "".join(f"{h.resident.hkid},SC0000010{i}\n" for i, h in enumerate(holders))
    body = {"type": "senior-citizen-card", "csv": text}
    missing = call(swd, "POST", "/issue-bulk", body)
    assert missing.status_code == 400 and missing.json()["error"] == "idempotency_key_missing"
    key = str(uuid.uuid4())
    first = call(swd, "POST", "/issue-bulk", body, key=key)
    assert first.status_code == 202, first.text
    run_tasks()  # the server went on and issued while the department system timed out
    retry = call(swd, "POST", "/issue-bulk", body, key=key)
    assert retry.status_code == 202 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    run_tasks()
    assert IssuanceBatch.objects.count() == 1
    assert Credential.objects.count() == 3  # not 6
    assert call(swd, "GET", f"/batches/{first.json()['id']}").json()["rows_issued"] == 3


def test_a_failure_before_the_commit_leaves_neither_and_the_retry_runs_afresh(swd, monkeypatch):
    """The record and the credential commit together: an error after the credential was
    written (a 500, as a worker killed before the commit) leaves neither, and the retry
    with the same key issues once."""
    from tungban.credentials import api

    real = api._credential_out

    def fail_after_writing(credential):
        raise RuntimeError("worker lost before the commit")

    monkeypatch.setattr(api, "_credential_out", fail_after_writing)
    holder, key = make_holder(), str(uuid.uuid4())
    failed = call(swd, "POST", "/issue", issue_body(holder), key=key)
    assert failed.status_code == 500
    assert not Credential.objects.exists() and not records().exists()
    monkeypatch.setattr(api, "_credential_out", real)
    retry = call(swd, "POST", "/issue", issue_body(holder), key=key)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert Credential.objects.count() == 1


def test_expired_keys_are_purged_and_then_forgotten(swd, settings):
    holder, key = make_holder(), str(uuid.uuid4())
    assert call(swd, "POST", "/issue", issue_body(holder), key=key).status_code == 201
    record = records().get()
    assert record.expires_at - record.created_at == dt.timedelta(seconds=settings.TUNGBAN_IDEMPOTENCY_TTL)
    assert retention.purge_all(timezone.now()).get("core.IdempotencyRecord") == 0  # not yet expired
    counts = retention.purge_all(record.expires_at + dt.timedelta(seconds=1))
    assert counts["core.IdempotencyRecord"] == 1
    assert not records().exists()
    # Forgotten: the key is a new request now (a day later, a retry is a new request).
    again = call(swd, "POST", "/issue", issue_body(holder), key=key)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert Credential.objects.count() == 2


def test_an_expired_key_not_yet_purged_is_forgotten_too(swd):
    holder, key = make_holder(), str(uuid.uuid4())
    assert call(swd, "POST", "/issue", issue_body(holder), key=key).status_code == 201
    records().update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    again = call(swd, "POST", "/issue", issue_body(holder, card="SC00000009"), key=key)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert Credential.objects.count() == 2 and records().count() == 1


@pytest.mark.live_http
@pytest.mark.django_db(transaction=True)
def test_a_retry_while_the_first_runs_is_409_then_replays(issuer, monkeypatch):
    """Two requests with one key at once (threads of the live server, PostgreSQL): the second
    gets 409 ``idempotency_in_progress`` with ``Retry-After``; after the first commits, the
    retry gets its answer."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite serialises write transactions: the second request waits instead (DATABASE_URL=postgres://…)"
        )
    from tungban.credentials import api

    catalogue.register_bundled()
    swd = department_system(issuer, "swd")
    holder, key = make_holder(), str(uuid.uuid4())
    started, release = threading.Event(), threading.Event()
    real = api.services.issue

    def slow_issue(*args, **kwargs):
        if not started.is_set():  # only the first request is held
            started.set()
            assert release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(api.services, "issue", slow_issue)
    token = swd.token()
    results = {}

    def first():
        results["first"] = requests.post(
            f"{issuer}/api/v1/credentials/issue",
            json=issue_body(holder),
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f'"{key}"'},
            timeout=90,
        )

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert started.wait(60)
        second = call(swd, "POST", "/issue", issue_body(holder), key=key)
        assert second.status_code == 409, second.text
        assert second.json()["error"] == "idempotency_in_progress"
        assert int(second.headers["Retry-After"]) >= 1
    finally:
        release.set()
        thread.join(90)
    assert results["first"].status_code == 201
    retry = call(swd, "POST", "/issue", issue_body(holder), key=key)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == results["first"].json()["id"]
    assert Credential.objects.count() == 1


def test_every_creating_call_documents_the_key_in_openapi(client):
    """The header parameter (required only for bulk issuance), the replay mark and the
    kernel's error codes are in the OpenAPI document (issue 14 item 2)."""
    document = client.get("/api/v1/openapi.json").json()
    expected = {
        "/api/v1/credentials/issue": (False, "201"),
        "/api/v1/credentials/issue-bulk": (True, "202"),
        "/api/v1/signing/requests": (False, "201"),
        "/api/v1/exchange/consents": (False, "201"),
        "/api/v1/exchange/requests": (False, "200"),
    }
    for path, (required, status) in expected.items():
        operation = document["paths"][path]["post"]
        (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header" and header["required"] is required, path
        assert "Idempotent-Replayed" in operation["responses"][status]["headers"], path
        assert {"409", "422"} <= set(operation["responses"]), path
    assert "idempotency_key_reused" in document["info"]["description"]


@pytest.mark.live_http
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_after_the_commit_gives_the_retry_the_same_job(issuer, tmp_path):
    """ "A killed worker closes the connection with no status" (issue 14 item 2): a gunicorn
    worker SIGKILLed after the bulk request committed (kill point ``response.after_view``)
    leaves the department system with no answer; its retry with the same key, served by the
    master's next worker, gets the job that was created — not a second one."""
    from tungban.testing.faults import gunicorn_killed_at
    from tungban.testing.tasks import wait_for

    catalogue.register_bundled()
    swd = department_system(issuer, "swd")
    holders = [make_holder() for _ in range(2)]
    body = {
        "type": "senior-citizen-card",
        "csv": "hkid,card_number\n" + "".join(f"{h.resident.hkid},SC0000020{i}\n" for i, h in enumerate(holders)),
    }
    with gunicorn_killed_at("response.after_view", tmp_path) as (url, fired):
        headers = {"Authorization": f"Bearer {swd.token()}", "Idempotency-Key": f'"{uuid.uuid4()}"'}

        def submit():
            return requests.post(f"{url}/api/v1/credentials/issue-bulk", json=body, headers=headers, timeout=60)

        with pytest.raises(requests.ConnectionError):  # the worker died after the commit: no status at all
            submit()
        assert fired.exists()
        close_old_connections()
        (batch,) = IssuanceBatch.objects.all()  # committed: the department system does not know it

        def answered():
            try:
                return submit()
            except requests.ConnectionError:
                return None

        retry = wait_for(answered, timeout=60, what="the master's next worker")
        assert retry.status_code == 202, retry.text
        assert retry.headers["Idempotent-Replayed"] == "true" and retry.json()["id"] == str(batch.id)
        assert IssuanceBatch.objects.count() == 1


def test_the_stored_fingerprint_is_keyed_so_guesses_cannot_be_tested_offline(swd, settings):
    """Issue 14 review L1: the digest covers the HKID and claims; with database read access
    alone an unkeyed SHA-256 could be tested against guessed HKIDs. It is an HMAC under the
    platform's look-up key (``TUNGBAN_LOOKUP_HASH_KEY``)."""
    import hashlib
    import hmac
    import json

    holder, key = make_holder(), str(uuid.uuid4())
    body = issue_body(holder)
    assert call(swd, "POST", "/issue", body, key=key).status_code == 201
    stored = records().get(key=key).digest
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    material = json.dumps(["POST", "/api/v1/credentials/issue", "", canonical]).encode()
    assert stored != hashlib.sha256(material).hexdigest()  # what a guesser without the key computes
    assert stored == hmac.new(settings.TUNGBAN_LOOKUP_HASH_KEY.encode(), material, hashlib.sha256).hexdigest()
    again = call(swd, "POST", "/issue", body, key=key)  # and the retry still matches it
    assert again.headers["Idempotent-Replayed"] == "true"
