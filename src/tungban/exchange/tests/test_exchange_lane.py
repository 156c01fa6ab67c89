"""``POST /api/v1/exchange/requests`` on the front's lane (issue 15 acceptance 4, fourth round;
:mod:`tungban.exchange.lane`): the common valid exchange is answered before Django with the
full stack's answer — status, headers and body byte for byte — for a delivery and for each
refusal; everything unusual goes to the full stack before anything is written; the
idempotency guarantees of ``request_id`` hold across both (a retry through the front gets the
lane's answer again, from the full stack's decorator).

The full stack is Django's ``WSGIHandler`` (every middleware, django-ninja, the idempotency
decorator) called with the same environ; the front is :class:`tungban.core.front.Front`
around a spy that counts what reached Django."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from tungban.core import front
from tungban.core.models import IdempotencyRecord
from tungban.exchange import errors
from tungban.exchange import services as exchange
from tungban.exchange.models import ExchangeRecord, RequestNonce
from tungban.identity import errors as identity_errors
from tungban.testing import wsgi

from .test_hot_exchange import ADDRESS, WSD, setup_exchange

PATH = "/api/v1/exchange/requests"


@pytest.fixture
def provider_answers(monkeypatch):
    """The provider's HTTP answer, in-process: 200 with the address (as in test_hot_exchange)."""
    from tungban.exchange import adapter

    body = json.dumps({"data": ADDRESS}).encode()
    monkeypatch.setattr(adapter, "_post", lambda url, token, timeout, limit: (200, body))


@pytest.fixture(autouse=True)
def keep_connection():
    with wsgi.connection_kept():
        yield


@pytest.fixture
def data_user(officer):
    """``(authorization header, [two consent ids])`` of a data user with two active consents."""
    _client, auth, ids = setup_exchange(officer, n_consents=2)
    return auth, ids


def body_of(consent_id, request_id=None, **extra) -> dict:
    return {"consent_id": consent_id, "product": WSD, "request_id": request_id or uuid.uuid4().hex, **extra}


def environ(body, auth, *, content_type="application/json", **extra):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return wsgi.environ(PATH, "POST", body=raw, content_type=content_type, HTTP_AUTHORIZATION=auth, **extra)


def _sorted(answer):
    """``(status, headers sorted, body)``: the order of different headers means nothing (RFC 9110 §5.3)."""
    return answer[0], sorted(answer[1]), answer[2]


def through_front(env):
    """(the front's answer with its headers sorted, whether Django was called)."""
    spy = wsgi.Spy()
    answer = wsgi.call(front.Front(spy), env)
    return _sorted(answer), spy.calls > 0


def full_stack(env):
    return _sorted(wsgi.call(wsgi.Spy().django, env))


def test_the_lane_is_registered():
    assert front.lane_registered(PATH)


@pytest.mark.django_db(transaction=True)
def test_a_delivery_is_answered_by_the_lane_and_its_retry_by_the_full_stack_with_the_same_bytes(
    data_user, provider_answers
):
    auth, (consent_id, _other) = data_user
    body = body_of(consent_id)

    (status, headers, content), reached_django = through_front(environ(body, auth))

    assert status == "200 OK", content
    assert not reached_django  # the lane answered
    answer = json.loads(content)
    assert answer["data"]["address"]["district"] == "Yau Tsim Mong"
    record = ExchangeRecord.objects.get(pk=answer["exchange_id"])
    assert record.outcome == exchange.DELIVERED and record.request_id == body["request_id"]
    kept = IdempotencyRecord.objects.get(key=body["request_id"])
    assert kept.state == "complete" and kept.status == 200 and kept.body_is_result

    # The retry (same request_id and body) goes to the full stack, whose decorator replays the
    # kept answer: the same bytes as the lane wrote, and the same headers plus the replay mark.
    (status2, headers2, content2), reached_django = through_front(environ(body, auth))
    assert reached_django and status2 == "200 OK"
    assert content2 == content
    assert dict(headers2).pop("Idempotent-Replayed") == "true"
    assert [h for h in headers2 if h[0] != "Idempotent-Replayed"] == headers
    assert ExchangeRecord.objects.count() == 1  # nothing delivered twice


@pytest.mark.django_db(transaction=True)
def test_a_delivered_answer_is_the_full_stacks_byte_for_byte(data_user, provider_answers, monkeypatch):
    """The same service result written by the lane and by django-ninja (the service answers
    the same dict to both): the same status, headers and body."""
    auth, (consent_id, other) = data_user
    (_s, _h, first), _ = through_front(environ(body_of(consent_id), auth))
    result = json.loads(first)  # a real answer, given again by the service below
    monkeypatch.setattr(exchange, "exchange", lambda *a, **kw: dict(result))

    mine, reached_django = through_front(environ(body_of(other), auth))
    theirs = full_stack(environ(body_of(other), auth))

    assert not reached_django
    assert mine == theirs


REFUSALS = [
    errors.UnknownConsent(),
    errors.ForeignConsent(),
    errors.ReplayedRequest(),
    errors.ConsentPending(),
    errors.ConsentRevoked(),
    errors.NoRecord(),
    errors.ProviderTimeout(),
    errors.ProviderBusy(details={"retry_after": 2}),
    errors.ProviderUnavailable(details={"retry_after": 30}),
    identity_errors.AccountSuspended("The data subject's account is suspended."),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda e: e.code)
@pytest.mark.parametrize("language", [None, "zh-HK"])
def test_a_refusal_is_the_full_stacks_answer_and_kept_as_it_keeps_it(data_user, monkeypatch, refusal, language):
    auth, (consent_id, _other) = data_user

    def refuse(*args, **kwargs):
        raise type(refusal)(details=refusal.details) if refusal.details else refusal

    monkeypatch.setattr(exchange, "exchange", refuse)
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    mine_body, theirs_body = body_of(consent_id), body_of(consent_id)

    mine, reached_django = through_front(environ(mine_body, auth, **extra))
    theirs = full_stack(environ(theirs_body, auth, **extra))

    assert not reached_django
    assert mine == theirs
    assert mine[0].startswith(str(refusal.status))
    # The idempotency record ends as the decorator leaves it: a deterministic refusal kept;
    # anything else not kept (a retry runs again).
    for body in (mine_body, theirs_body):
        kept = IdempotencyRecord.objects.filter(key=body["request_id"], state="complete")
        if refusal.status in (400, 403, 404, 410, 413, 422):
            assert kept.get().status == refusal.status
        else:
            assert not kept.exists()


@pytest.mark.django_db(transaction=True)
def test_an_unexpected_error_gets_the_full_stacks_answer_and_releases_the_key(data_user, monkeypatch):
    auth, (consent_id, _other) = data_user

    def fail(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(exchange, "exchange", fail)
    mine_body = body_of(consent_id)
    mine, reached_django = through_front(environ(mine_body, auth))
    theirs = full_stack(environ(body_of(consent_id), auth))
    assert not reached_django
    assert mine == theirs and mine[0].startswith("500")
    assert not IdempotencyRecord.objects.filter(key=mine_body["request_id"], state="complete").exists()


def _unusual(consent_id, auth):
    """(name, environ) of requests the lane leaves to the full stack."""
    good = body_of(consent_id)
    cases = {
        "not JSON": environ(b"{not json", auth),
        "a list": environ(b"[]", auth),
        "no request_id": environ({k: v for k, v in good.items() if k != "request_id"}, auth),
        "request_id a number": environ({**good, "request_id": 12345678}, auth),
        "consent_id null": environ({**good, "consent_id": None}, auth),
        "malformed request_id": environ({**good, "request_id": "short"}, auth),
        "iat a string": environ({**good, "iat": "1700000000"}, auth),
        "iat true": environ({**good, "iat": True}, auth),
        "stale iat": environ({**good, "iat": int(time.time()) - 3600}, auth),
        "an extra field": environ({**good, "extra": 1}, auth),
        "form content type": environ(good, auth, content_type="application/x-www-form-urlencoded"),
        "Idempotency-Key header": environ(good, auth, HTTP_IDEMPOTENCY_KEY=f'"{good["request_id"]}"'),
        "no token": environ(good, ""),
        "unknown token": environ(good, "Bearer not-a-token"),
        "Basic": environ(good, "Basic abc"),
        "a session cookie": environ(good, auth, HTTP_COOKIE="tungban_session=abc"),
    }
    return cases


@pytest.mark.django_db(transaction=True)
def test_unusual_requests_go_to_the_full_stack_before_anything_is_written(data_user, provider_answers):
    from tungban.exchange import lane

    auth, (consent_id, _other) = data_user
    for name, env in _unusual(consent_id, auth).items():
        counts = (IdempotencyRecord.objects.count(), RequestNonce.objects.count())
        handled = {}

        def spy_lane(call, handled=handled):
            handled["reply"] = lane.lane(call)
            handled["counts"] = (IdempotencyRecord.objects.count(), RequestNonce.objects.count())
            return handled["reply"]

        saved = front._lanes[PATH]
        front.register_lane(PATH, spy_lane, max_body=lane.MAX_BODY)
        try:
            _answer, reached_django = through_front(env)
        finally:
            front._lanes[PATH] = saved
        assert reached_django, name
        assert handled.get("reply") is None, name
        assert handled.get("counts", counts) == counts, f"{name}: the lane wrote before falling through"


@pytest.mark.django_db(transaction=True)
def test_a_used_request_id_goes_to_the_full_stack_which_refuses_another_body(data_user, provider_answers):
    """The same request_id with another body: the lane writes nothing and the full stack
    answers ``replayed_request`` (409), as the API documents."""
    auth, (consent_id, other) = data_user
    request_id = uuid.uuid4().hex
    (status, _h, _c), _ = through_front(environ(body_of(consent_id, request_id), auth))
    assert status == "200 OK"

    (status, _h, content), reached_django = through_front(environ(body_of(other, request_id), auth))
    assert reached_django
    assert status.startswith("409") and json.loads(content)["error"] == "replayed_request"


@pytest.mark.django_db(transaction=True)
@override_settings(TUNGBAN_CLOCK_SKEW=300)
def test_a_fresh_iat_is_answered_by_the_lane(data_user, provider_answers):
    auth, (consent_id, _other) = data_user
    (status, _h, _c), reached_django = through_front(environ(body_of(consent_id, iat=int(time.time())), auth))
    assert status == "200 OK" and not reached_django


#: Round trips of one delivered exchange through the front on PostgreSQL (every Query and Sync
#: on the wire, ``tungban.testing.pgwire``), warm connection. The full stack: 22 (the
#: idempotency key's lock, its claim and the lock's release three of them). The lane: the lock
#: and the claim in one statement, sent in the exchange's first transaction (21). Fifth round,
#: with the suite's log batch interval 0 (the exchange integrates its leaves: BEGIN, three
#: statements, COMMIT): 16 -> 15, the key's lock released by the delivery's statement. Sixth
#: round: 15 -> 14, the key's claim sent with the exchange's opening read. Seventh round:
#: 14 -> 13, the attempt's writes sent with the first transaction's COMMIT (one Sync). Ninth
#: round: 13 -> 12, the bearer token read by the exchange's opening statement.
MAX_LANE_ROUND_TRIPS = 12
#: Commits that write (a transaction with a write, or a write in autocommit) of one delivered
#: exchange. The full stack: 4 — the idempotency key's claim, the request id with the attempt,
#: the delivery, the log's integration. The lane: the claim commits with the attempt.
MAX_LANE_COMMITS = 3


def durable_commits(statements: list[str]) -> int:
    """Commits that write, from the statements on the wire: each ``COMMIT`` of a transaction
    that sent a write, and each write sent outside a transaction (autocommit)."""
    writes = ("INSERT", "UPDATE", "DELETE", "WITH")  # every WITH here is data-modifying
    count, in_transaction, wrote = 0, False, False
    for sql in statements:
        head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if head == "BEGIN":
            in_transaction, wrote = True, False
        elif head in ("COMMIT", "ROLLBACK"):
            count += head == "COMMIT" and wrote
            in_transaction = False
        elif head in writes:
            if in_transaction:
                wrote = True
            else:
                count += 1
    return count


@pytest.mark.django_db(transaction=True)
def test_a_delivery_on_the_lane_makes_few_round_trips_and_commits(data_user, provider_answers):
    if connection.vendor != "postgresql":
        pytest.skip("round trips of a PostgreSQL connection")
    from tungban.testing.pgwire import relayed

    auth, (consent_id, _other) = data_user
    with relayed(connection) as wire:
        assert through_front(environ(body_of(consent_id), auth))[0][0] == "200 OK"  # warm
        wire.clear()
        body = body_of(consent_id)
        (status, _h, content), reached_django = through_front(environ(body, auth))
        statements = list(wire.statements)
    listing = f"{len(statements)}:\n" + "\n".join(s[:120] for s in statements)
    assert status == "200 OK", content
    assert not reached_django
    assert len(statements) <= MAX_LANE_ROUND_TRIPS, listing
    assert durable_commits(statements) <= MAX_LANE_COMMITS, listing
    assert not [s for s in statements if s.startswith("SELECT pg_try_advisory_lock")]  # with the claim
    # The claim is in the statement that takes the request id (sixth round): both commit, or neither.
    first = statements.index("BEGIN")
    assert "core_idempotencyrecord" in statements[first + 1] and "exchange_requestnonce" in statements[first + 1]
    # Seventh round: the attempt, its use and its leaf travel with that transaction's COMMIT.
    assert statements[first + 2] == "COMMIT", listing
    # Ninth round: the bearer token is read by that opening statement, not by one before it.
    assert "oidc_clienttoken" in statements[first + 1] and "oidc_client" in statements[first + 1], listing
    assert not [s for s in statements[:first] if "access_token" in s], listing
    assert IdempotencyRecord.objects.get(key=body["request_id"]).state == "complete"


@pytest.mark.django_db(transaction=True)
def test_a_delivery_on_the_lane_reads_no_personal_data_it_does_not_use(data_user, provider_answers):
    """Issue 15, sixth round: the exchange reads of the data subject only whether the account is
    active, its public id and its HKID (the provider's token), of the consent not its signed
    artefact, of the data user's client not its keys and URIs — and still delivers, with no
    statement added to read a deferred field."""
    if connection.vendor != "postgresql":
        pytest.skip("statements of a PostgreSQL connection")
    from tungban.testing.pgwire import relayed

    auth, (consent_id, _other) = data_user
    with relayed(connection) as wire:
        assert through_front(environ(body_of(consent_id), auth))[0][0] == "200 OK"  # warm
        wire.clear()
        (status, _h, content), reached_django = through_front(environ(body_of(consent_id), auth))
        statements = list(wire.statements)
    assert status == "200 OK" and not reached_django, content
    assert not [s for s in statements if "identity_resident" in s and "FROM" in s and "exchange_consent" not in s]
    opening = next(s for s in statements if "exchange_requestnonce" in s)
    assert 'r."hkid"' in opening and 'r."public_id"' in opening and 'r."status"' in opening
    for column in (
        "family_name_en",
        "given_name_en",
        "name_zh",
        "date_of_birth",
        "residential_address",
        "phone",
        "email",
    ):
        assert f'r."{column}"' not in opening, column
    assert 'k."artefact"' not in opening
    bearer = next(s for s in statements if "oidc_client" in s and "access_token" in s)
    assert 'c."client_id"' in bearer and 'c."jwks"' not in bearer and 'c."redirect_uris"' not in bearer


def advisory_locks_held() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["lane", "full stack"])
def test_the_keys_lock_is_released_by_the_delivery_not_by_a_round_trip_of_its_own(data_user, provider_answers, path):
    """Issue 15, fifth round: the idempotency key's session lock is released by the
    delivery's statement (the kept answer's write), not by a ``pg_advisory_unlock`` statement
    after the commit; no lock is left held on the connection."""
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks of PostgreSQL")
    from tungban.testing.pgwire import relayed

    auth, (consent_id, _other) = data_user

    def send():
        body = body_of(consent_id)
        extra = {} if path == "lane" else {"HTTP_IDEMPOTENCY_KEY": f'"{body["request_id"]}"'}  # a String item
        return through_front(environ(body, auth, **extra))

    with relayed(connection) as wire:
        assert send()[0][0] == "200 OK"  # warm
        wire.clear()
        (status, _h, content), reached_django = send()
        statements = list(wire.statements)
    assert status == "200 OK", content
    assert reached_django == (path == "full stack")
    assert not [s for s in statements if "pg_advisory_unlock" in s and not s.startswith("WITH")], statements
    assert advisory_locks_held() == 0


@pytest.mark.django_db(transaction=True)
def test_a_key_held_by_another_request_goes_to_the_full_stack_with_nothing_written(data_user, provider_answers):
    """While another request holds the key (its advisory lock, PostgreSQL), the lane's claim
    fails inside the exchange's first transaction, which rolls back: no request id taken, no
    attempt; the full stack answers ``idempotency_in_progress`` (409, ``Retry-After``)."""
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks of PostgreSQL")
    import psycopg

    from tungban.core import idempotency
    from tungban.exchange.models import ExchangeAttempt

    auth, (consent_id, _other) = data_user
    body = body_of(consent_id)
    caller = "client:td-hot"
    settings_dict = connection.settings_dict
    other = psycopg.connect(
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        dbname=settings_dict["NAME"],
        autocommit=True,
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [idempotency._lock_id(caller, body["request_id"])])
        (status, headers, content), reached_django = through_front(environ(body, auth))
    finally:
        other.close()
    assert reached_django
    assert status.startswith("409") and json.loads(content)["error"] == "idempotency_in_progress"
    assert ("Retry-After", "2") in headers
    assert not RequestNonce.objects.filter(request_id=body["request_id"]).exists()
    assert not ExchangeAttempt.objects.filter(request_id=body["request_id"]).exists()
    assert not IdempotencyRecord.objects.filter(key=body["request_id"]).exists()


@pytest.mark.django_db(transaction=True)
def test_an_opening_statement_that_fails_leaves_no_lock_and_nothing_written(data_user, provider_answers):
    """Issue 15, sixth round: the key's claim (with its session advisory lock) goes in the
    exchange's opening statement. When that statement fails after taking the lock (here its
    consent lock waits past ``lock_timeout``: another transaction holds the consent's row), the
    answer is the database fault's 503, nothing is written, and the session lock — taken by a
    statement that then failed — is not left held on the persistent connection."""
    if connection.vendor != "postgresql":
        pytest.skip("advisory and row locks of PostgreSQL")
    import psycopg

    from tungban.exchange.models import ExchangeAttempt

    auth, (consent_id, _other) = data_user
    assert through_front(environ(body_of(consent_id), auth))[0][0] == "200 OK"  # warm
    body = body_of(consent_id)
    settings_dict = connection.settings_dict
    other = psycopg.connect(
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        dbname=settings_dict["NAME"],
    )
    try:
        other.execute("SELECT 1 FROM exchange_consent WHERE id = %s FOR UPDATE", [consent_id])  # held: no commit
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        try:
            (status, _headers, content), reached_django = through_front(environ(body, auth))
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    finally:
        other.close()
    assert not reached_django
    assert status.startswith("503") and json.loads(content)["error"] == "service_unavailable", content
    assert advisory_locks_held() == 0
    assert not RequestNonce.objects.filter(request_id=body["request_id"]).exists()
    assert not ExchangeAttempt.objects.filter(request_id=body["request_id"]).exists()
    assert not IdempotencyRecord.objects.filter(key=body["request_id"], state="complete").exists()


class WorkerDied(BaseException):
    """Stands for the worker's death while the provider is asked: nothing after it runs
    (no handler catches a BaseException here)."""


@pytest.mark.django_db(transaction=True)
def test_a_retry_after_the_worker_died_takes_the_attempt_over_and_counts_the_use_once(
    data_user, provider_answers, monkeypatch
):
    """The lane's claim commits with the attempt: a worker that dies while its provider is
    asked leaves the key's record in progress (and, on PostgreSQL, its lock gone with the
    connection); the retry with the same body goes to the full stack, which takes it over
    (issue 14 item 2): delivered, the consent's use counted once."""
    from tungban.exchange import adapter
    from tungban.exchange.models import Consent

    auth, (consent_id, _other) = data_user
    body = body_of(consent_id)
    answers = adapter._post

    def die(*args, **kwargs):
        raise WorkerDied()

    monkeypatch.setattr(adapter, "_post", die)
    with pytest.raises(WorkerDied):
        through_front(environ(body, auth))
    record = IdempotencyRecord.objects.get(key=body["request_id"])
    assert record.state == "in_progress"  # committed with the attempt
    assert RequestNonce.objects.filter(request_id=body["request_id"]).exists()
    assert Consent.objects.get(pk=consent_id).uses == 1
    if connection.vendor != "postgresql":  # no advisory lock: the lease must run out first
        IdempotencyRecord.objects.filter(pk=record.pk).update(updated_at=record.updated_at - dt.timedelta(hours=1))

    monkeypatch.setattr(adapter, "_post", answers)
    (status, _h, content), reached_django = through_front(environ(body, auth))

    assert status == "200 OK", content
    assert reached_django  # the key was in use: the full stack's decorator took it over
    assert Consent.objects.get(pk=consent_id).uses == 1  # the first attempt's use, not a second
    assert IdempotencyRecord.objects.get(key=body["request_id"]).state == "complete"


@pytest.mark.django_db(transaction=True)
def test_an_iat_beyond_any_clock_is_stale_not_a_server_error(data_user, provider_answers):
    """Review (fourth round) M1: an ``iat`` too large for a float (``abs(now - iat)`` raised
    ``OverflowError``: 500) is ``request_stale`` on the full stack, after the bearer check —
    an unauthenticated one is 401 as before — and the lane leaves both to it."""
    auth, (consent_id, _other) = data_user
    for token, status, code in (
        (auth, "400 Bad Request", "request_stale"),
        ("Bearer not-a-token", "401 Unauthorized", "invalid_token"),
    ):
        env = environ(body_of(consent_id, iat=10**400), token)
        (got, _h, content), reached_django = through_front(env)
        assert reached_django
        assert got == status and json.loads(content)["error"] == code, content
    assert not ExchangeRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_request_id_with_a_trailing_newline_is_invalid(data_user, provider_answers):
    """Review (fourth round) L2: ``$`` matched before a final newline, so ``abcdefgh12\\n``
    was delivered as another request id than ``abcdefgh12``."""
    auth, (consent_id, _other) = data_user
    (status, _h, content), _reached = through_front(environ(body_of(consent_id, "abcdefgh12\n"), auth))
    assert status == "400 Bad Request" and json.loads(content)["error"] == "invalid_request", content
    assert not ExchangeRecord.objects.exists()


def _token_flaws():
    """Ways a data user's bearer token is not plainly valid, each applied to the fixture's token."""
    from tungban.exchange.models import Organisation
    from tungban.oidc.models import Token

    return {
        "revoked": lambda: Token.objects.update(revoked_at=timezone.now()),
        "expired": lambda: Token.objects.update(issued_at=int(time.time()) - 7200),
        "without the scope": lambda: Token.objects.update(scope="openid"),
        "DPoP-bound": lambda: Token.objects.update(dpop_jkt="x" * 43),
        "of an inactive data user": lambda: Organisation.objects.filter(id="td").update(is_active=False),
        "unknown": None,
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("flaw", list(_token_flaws()))
def test_a_token_not_plainly_valid_goes_to_the_full_stack_with_nothing_written(data_user, provider_answers, flaw):
    """Issue 15, ninth round: on PostgreSQL the bearer token is read by the exchange's opening
    statement, which claims the key and takes the request id only for a plainly valid token
    (and its transaction rolls back if Python's check of the row disagrees). A token that is
    not — revoked, expired, without ``cdeg``, DPoP-bound, of an inactive data user, unknown —
    goes to the full stack, which answers it as it always did (here 401 or 403), with nothing
    the lane wrote and no advisory lock left held; on SQLite the token's read comes first, as
    before."""
    from tungban.exchange import lane
    from tungban.exchange.models import ExchangeAttempt

    auth, (consent_id, _other) = data_user
    assert through_front(environ(body_of(consent_id), auth))[0][0] == "200 OK"  # warm: the statement cached
    change = _token_flaws()[flaw]
    if change is None:
        auth = "Bearer " + "x" * 43
    else:
        change()
    body = body_of(consent_id)
    counts = (IdempotencyRecord.objects.count(), RequestNonce.objects.count(), ExchangeAttempt.objects.count())
    handled = {}

    def spy_lane(call):
        handled["reply"] = lane.lane(call)
        handled["counts"] = (
            IdempotencyRecord.objects.count(),
            RequestNonce.objects.count(),
            ExchangeAttempt.objects.count(),
        )
        return handled["reply"]

    saved = front._lanes[PATH]
    front.register_lane(PATH, spy_lane, max_body=lane.MAX_BODY)
    try:
        (status, _headers, content), reached_django = through_front(environ(body, auth))
    finally:
        front._lanes[PATH] = saved
    assert reached_django and handled["reply"] is None
    assert handled["counts"] == counts, "the lane wrote before falling through"
    assert status[:3] in ("401", "403"), content
    assert not RequestNonce.objects.filter(request_id=body["request_id"]).exists()
    if connection.vendor == "postgresql":
        assert advisory_locks_held() == 0


@pytest.mark.django_db(transaction=True)
def test_the_opening_statements_key_lock_is_the_decorators(data_user):
    """Issue 15, ninth round: with the bearer token read by the opening statement, the key's
    session lock is worked out in SQL (``idempotency._LOCK_ID_SQL``); it must be the lock the
    full stack's decorator takes for the same caller and key (``_lock_id``), or the two could
    run one key at once."""
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks of PostgreSQL")
    from tungban.core import idempotency

    sql = idempotency._LOCK_ID_SQL.format(caller="left(%s, 200)", key="%s")
    cases = [
        ("client:td-hot", uuid.uuid4().hex),
        ("client:td-hot", "a"),
        ("client:" + "x" * 250, "req-1"),
        ("client:通辦-測試", "é€😀"),
        ("client:", ""),
    ]
    with connection.cursor() as cursor:
        for caller, key in cases:
            cursor.execute(f"SELECT {sql}", [caller, key])
            assert cursor.fetchone()[0] == idempotency._lock_id(caller[:200], key), (caller, key)
