"""The exchange and the transparency log without waiting (issue 15 round 3, acceptance 4).

Two synchronous log integrations per exchange, each behind the log's one lock, made 16
concurrent exchanges wait on each other (about 10 of 16 backends waited on
``ledger_logstate``'s row lock in ``bench/exchange.py`` at concurrency 16). As Certificate
Transparency's SCT and Rekor's signed entry timestamp: the exchange's leaves are queued in
its own transactions, the data user's signed answer carries the platform's promise of the
record's leaf (``log``: kind, ref, record digest, ``merge_by``), and the leaves are
integrated in batches by whichever exchange finds the log free (or by the next appender, the
scheduled head, ``verify_exchange_log``) within the maximum merge delay
(``TUNGBAN_LOG_MERGE_DELAY``). The consent is still locked, checked and its use counted once.
"""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import KeySet

from tungban.exchange import services as exchange
from tungban.exchange.models import AttemptState, Consent, ExchangeAttempt, ExchangeRecord
from tungban.keys import services as keys
from tungban.ledger import services as ledger_log
from tungban.ledger import transparency
from tungban.ledger.models import LogLeaf, LogState, PendingLeaf

from .test_hot_exchange import ADDRESS, post_exchange, setup_exchange, warm_exchange_on_the_wire


@pytest.fixture
def provider_answers(monkeypatch):
    """The provider's HTTP answer, in-process: 200 with the address (as in test_hot_exchange)."""
    from tungban.exchange import adapter

    body = json.dumps({"data": ADDRESS}).encode()
    monkeypatch.setattr(adapter, "_post", lambda url, token, timeout, limit: (200, body))


def leaf_digest(reference: str) -> str:
    leaf = LogLeaf.objects.get(kind=exchange.LEDGER_KIND, reference=reference)
    return json.loads(leaf.body)[ledger_log.DIGEST]


def claims_of(answer: dict) -> dict:
    return jwt.decode(answer["signed"], KeySet.import_key_set(keys.public_jwks()), algorithms=["ES256"]).claims


@pytest.mark.django_db(transaction=True)
def test_the_answer_carries_the_signed_promise_of_its_leaf(officer, provider_answers, settings):
    client, auth, (consent_id,) = setup_exchange(officer)
    before = int(timezone.now().timestamp() * 1000)

    response = post_exchange(client, auth, consent_id)

    assert response.status_code == 200, response.content
    answer = response.json()
    promise = answer["log"]
    assert claims_of(answer)["log"] == promise  # signed by the platform, with the data
    assert promise["kind"] == exchange.LEDGER_KIND and promise["ref"] == answer["exchange_id"]
    rec = ExchangeRecord.objects.get(pk=answer["exchange_id"])
    assert promise["record_sha256"] == ledger_log.record_digest(exchange.record_fields(rec))
    assert before <= promise["merge_by"] - settings.TUNGBAN_LOG_MERGE_DELAY * 1000 <= before + 60_000
    transparency.integrate_pending()
    assert leaf_digest(answer["exchange_id"]) == promise["record_sha256"]  # the promise kept
    assert exchange.verify_log().ok


@pytest.mark.django_db(transaction=True)
def test_an_exchange_does_not_wait_for_the_log_and_its_promised_leaves_are_integrated(officer, provider_answers):
    """While another sequencer holds the log's lock, an exchange is delivered without waiting
    (on main it waited twice: here, until ``lock_timeout``); its two leaves stay queued, and
    are in the tree, matching the promise, once the log is free and integrated."""
    if connection.vendor != "postgresql":
        pytest.skip("a second writer holding the log's row lock needs a server database")
    client, auth, (consent_id,) = setup_exchange(officer)
    assert post_exchange(client, auth, consent_id).status_code == 200  # the log exists, breaker rows too
    holding, release, errors = threading.Event(), threading.Event(), []

    def sequencer():
        try:
            with transaction.atomic():
                LogState.objects.select_for_update().get(name=transparency.STATE)
                holding.set()
                release.wait(30)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            holding.set()
            connection.close()

    thread = threading.Thread(target=sequencer)
    thread.start()
    assert holding.wait(30) and not errors
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")
        response = post_exchange(client, auth, consent_id)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
        release.set()
        thread.join(30)
    assert not errors, errors
    assert response.status_code == 200, response.content
    answer = response.json()
    queued = set(PendingLeaf.objects.values_list("kind", "reference"))
    assert queued == {
        (exchange.ATTEMPT_LEDGER_KIND, answer["exchange_id"]),
        (exchange.LEDGER_KIND, answer["exchange_id"]),
    }

    post_exchange(client, auth, consent_id)  # the next exchange finds the log free: it integrates the queue

    assert not PendingLeaf.objects.exists()
    assert leaf_digest(answer["exchange_id"]) == answer["log"]["record_sha256"]
    report = exchange.verify_log()
    assert report.ok, report.problems


@pytest.mark.django_db(transaction=True)
def test_concurrent_exchanges_on_one_consent_count_every_use_once(officer, provider_answers, settings):
    """Eight data-user threads at once on a consent of five uses: five deliveries, three
    ``consent_exhausted``, the consent's count five, every delivery with its attempt and
    record in the log."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need a server database (SQLite tests use one connection)")
    # The bulkhead's defaults (4 slots, half for one data user) could refuse a third
    # overlapping provider call with provider_busy (503): seen once on a loaded machine. The
    # bulkhead has tests of its own; here all eight may be in flight.
    settings.TUNGBAN_PROVIDER_MAX_CONCURRENT = 8
    settings.TUNGBAN_PROVIDER_DATA_USER_SHARE = 1.0
    _client, auth, (consent_id,) = setup_exchange(officer)
    Consent.objects.filter(pk=consent_id).update(max_uses=5)
    start, results = threading.Barrier(8), []

    def data_user():
        try:
            start.wait(30)
            response = post_exchange(Client(), auth, consent_id)
            results.append((response.status_code, response.json().get("error")))
        except Exception as exc:  # noqa: BLE001 - reported below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=data_user) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results, key=str) == sorted([(200, None)] * 5 + [(403, "consent_exhausted")] * 3, key=str)
    assert Consent.objects.get(pk=consent_id).uses == 5
    assert ExchangeAttempt.objects.filter(state=AttemptState.DELIVERED).count() == 5
    assert ExchangeRecord.objects.filter(outcome=exchange.DELIVERED).count() == 5
    transparency.integrate_pending()
    report = exchange.verify_log()
    assert report.ok, report.problems
    assert report.records == 8


@pytest.mark.django_db
def test_verification_reports_a_leaf_not_integrated_within_the_merge_delay(monkeypatch, settings):
    """A promise broken: a leaf still queued longer than ``TUNGBAN_LOG_MERGE_DELAY`` is a
    problem ``verify_exchange_log`` reports (it is integrated all the same); one queued for
    less is not."""
    monkeypatch.setattr(transparency, "batching", lambda: True)
    with transaction.atomic():
        ledger_log.queue_record("test.record", "late", {"n": 1})
        ledger_log.queue_record("test.record", "fresh", {"n": 2})
    PendingLeaf.objects.filter(reference="late").update(
        queued_at=timezone.now() - dt.timedelta(seconds=settings.TUNGBAN_LOG_MERGE_DELAY + 5)
    )

    report = ledger_log.verify_records("test.record", [("late", {"n": 1}), ("fresh", {"n": 2})])

    assert [p for p in report.problems if "merge delay" in p] and len(report.problems) == 1, report.problems
    assert "late" in report.problems[0]
    assert not PendingLeaf.objects.exists() and LogLeaf.objects.count() == 2


#: Round trips of one delivered exchange on the wire (PostgreSQL, ``tungban.testing.pgwire``:
#: every Query and Sync, psycopg's BEGIN/COMMIT included), token check to kept answer, on a
#: warm connection. Main before round 3: 44 (two blocking integrations, each with its lock,
#: queue, tree, four COPYs, size and commit). Now one non-blocking integration: the try-lock
#: and the take in one statement, the right edge and the last timestamp in one read, the write of
#: leaves, nodes, heads and size in one statement (27). Round 3, exchange4: the consent's use,
#: the attempt and its queued leaf are one statement; the attempt's completion, the record, the
#: kept answer and the record's queued leaf are one (``tungban.core.onestatement``): 22.
#: Round 4: the request id, the consent, the key's kid and the circuit rows are one read, the
#: delivery's writes and the consent's re-lock one statement: 18 here, where the exchange
#: integrates the log itself (TUNGBAN_LOG_BATCH_INTERVAL_MS=0; with batches, 11:
#: ``test_exchange_batches.py``). Round 7: the use, the attempt and its leaf go with the first
#: transaction's COMMIT, one round trip (``onestatement.joined(commit=True)``): 17.
MAX_ROUND_TRIPS = 17


@pytest.mark.django_db(transaction=True)
def test_a_delivered_exchange_makes_few_round_trips(officer, provider_answers):
    if connection.vendor != "postgresql":
        pytest.skip("round trips of a PostgreSQL connection")
    client, auth, (consent_id,) = setup_exchange(officer)
    response, statements = warm_exchange_on_the_wire(client, auth, consent_id)
    assert response.status_code == 200, response.content
    assert len(statements) <= MAX_ROUND_TRIPS, f"{len(statements)}:\n" + "\n".join(s[:120] for s in statements)
    assert not PendingLeaf.objects.exists()  # the log was free: both leaves integrated
    # Two transactions of the exchange's own: the first a read, then its writes (the use, the
    # attempt, its leaf) with its COMMIT in one round trip (the wire shows that Sync's last
    # statement, COMMIT); the second one statement of writes and the consent's re-lock, then COMMIT.
    writes = [s for s in statements if s.startswith("WITH w0 AS")]
    assert len(writes) == 1, writes
    assert all(
        t in writes[0] for t in ("exchange_exchangeattempt", "exchange_exchangerecord", "core_idempotencyrecord")
    )
    opening = next(i for i, s in enumerate(statements) if "exchange_requestnonce" in s)
    assert statements[opening + 1] == "COMMIT", statements
    assert ExchangeAttempt.objects.filter(consent_id=consent_id).exists()
    assert sum(s == "COMMIT" for s in statements) <= 4
