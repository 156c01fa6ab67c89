"""Issue 15, acceptance 3: 認證易's online verification (``POST /api/v1/credentials/verify``)
does close to the irreducible work: a bounded number of SQL statements per request, the
same answers through the hot path as through the full stack, and the caches of the offline
verifier hold only content-addressed work (a changed status list is seen at once)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tungban.credentials import services
from tungban.credentials.verify import BundleTrust, DatabaseTrust, verify_presentation

#: What an online verification reads: the issuer with its keys, the credential type and the
#: status list (one statement, ``services.verification_material``), the holder's device, the
#: signed tree head and the active platform key (is the head current?) and the platform's log
#: keys; the issuance leaf's inclusion proof in a tree of the same size is kept from an earlier
#: verification (append-only log). Main before issue 15: 11.
MAX_QUERIES = 5


def own_statements(captured: list[dict]) -> list[str]:
    """The statements of a request other than the rate limiter's (django-ratelimit's database
    cache: its counter, savepoints and advisory lock, owned by ``core.ratelimit``)."""
    return [
        q["sql"]
        for q in captured
        if "tungban_ratelimit" not in q["sql"]
        and "pg_advisory_xact_lock" not in q["sql"]  # the rate limiter's lock (PostgreSQL)
        and not q["sql"].startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))
    ]


def post_verify(client, body: dict):
    return client.post("/api/v1/credentials/verify", data=json.dumps(body), content_type="application/json")


@pytest.fixture
def presented(holder, senior_card):
    """A presentation of every claim with a KB-JWT naming the verifier's nonce."""
    return holder.present(senior_card.sd_jwt, None, nonce="n-0123456789"), "n-0123456789"


def test_online_verification_queries(presented):
    presentation, nonce = presented
    verify_presentation(presentation, DatabaseTrust(), expected_nonce=nonce)  # warm the per-process caches
    with CaptureQueriesContext(connection) as q:
        result = verify_presentation(presentation, DatabaseTrust(), expected_nonce=nonce)
    assert result.valid and result.holder_binding == "verified" and result.log["included"], result.problems
    assert len(q) <= MAX_QUERIES, "\n".join(x["sql"] for x in q.captured_queries)


def test_verify_api_queries(client, presented):
    presentation, nonce = presented
    assert post_verify(client, {"presentation": presentation, "nonce": nonce}).status_code == 200
    with CaptureQueriesContext(connection) as q:
        resp = post_verify(client, {"presentation": presentation, "nonce": nonce})
    assert resp.status_code == 200 and resp.json()["valid"] is True, resp.content
    own = own_statements(q.captured_queries)
    assert len(own) <= MAX_QUERIES, "\n".join(own)


def test_offline_verifier_sees_a_new_status_list(holder, senior_card):
    """The status list cache is keyed by the token itself: revoking gives a new token, and
    the verifier reads the new status at once."""
    presentation = holder.present(senior_card.sd_jwt, None, nonce="n-1")
    first = verify_presentation(presentation, BundleTrust(services.trust_bundle()), expected_nonce="n-1")
    assert first.valid and first.status == "valid"
    services.change_status(senior_card, "revoked", reason="test", changed_by="officer:test")
    again = verify_presentation(presentation, BundleTrust(services.trust_bundle()), expected_nonce="n-1")
    assert again.status == "revoked" and again.codes() == ["credential_revoked"]


def test_hot_path_answers_as_the_full_stack(client, presented, monkeypatch):
    from tungban.core import hotpaths
    from tungban.credentials import hot

    assert hotpaths.registered("POST", hot.PATH) is hot.verify_view
    presentation, nonce = presented
    body = {"presentation": presentation, "nonce": nonce}
    seen = []
    monkeypatch.setitem(hotpaths._routes, ("POST", hot.PATH), lambda r: seen.append(1) or hot.verify_view(r))
    fast = post_verify(client, body)
    assert seen == [1] and fast.status_code == 200
    monkeypatch.delitem(hotpaths._routes, ("POST", hot.PATH))
    full = post_verify(client, body)
    assert full.status_code == 200 and full["Content-Type"] == fast["Content-Type"]
    assert fast.json() == full.json() and fast.json()["valid"] is True
    # a problem, in the request's language, the same way
    tampered = {"presentation": presentation, "nonce": "another", "aud": "https://elsewhere.example/verify"}
    monkeypatch.setitem(hotpaths._routes, ("POST", hot.PATH), hot.verify_view)
    fast = post_verify(client, tampered)
    monkeypatch.delitem(hotpaths._routes, ("POST", hot.PATH))
    assert fast.json() == post_verify(client, tampered).json() and fast.json()["valid"] is False


def test_hot_path_keeps_the_rate_limit_and_errors(client, presented, settings):
    presentation, nonce = presented
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "verify": "1/m"}
    malformed = post_verify(client, {"presentation": "hello"})  # left to the API, counted once there
    assert malformed.status_code == 400 and malformed.json()["error"] == "credential_malformed"
    limited = post_verify(client, {"presentation": presentation, "nonce": nonce})
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited" and limited["Retry-After"]
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "verify": "100/m"}
    missing = post_verify(client, {"nonce": nonce})
    assert missing.status_code == 422 and missing.json()["error"] == "invalid_request"


def test_inclusion_proof_kept_only_for_the_same_tree(holder, senior_card):
    """A proof is reused for the same credential and tree size; a grown log gives a new one."""
    presentation = holder.present(senior_card.sd_jwt, None, nonce="n-2")
    first = verify_presentation(presentation, DatabaseTrust(), expected_nonce="n-2")
    services.issue(
        services.get_type("senior-citizen-card"), holder.resident, {"card_number": "SC22222222"}, issued_by="t"
    )
    again = verify_presentation(presentation, DatabaseTrust(), expected_nonce="n-2")
    assert first.log["included"] and again.log["included"]
    assert again.log["tree_size"] == first.log["tree_size"] + 1
