"""An exchange's database work on PostgreSQL, fourth round of issue 15 (acceptance 4): two
commits of its own and few round trips.

* The attempt's commit (before the provider is asked) and the delivery's (the record with
  the answer) are the guarantee; the log's integration after them was a third transaction
  per exchange. With the signed promise of the leaf (``log.merge_by``) the answer does not
  wait for it: leaves are integrated in batches, by an exchange that finds the last
  integration of its process at least ``TUNGBAN_LOG_BATCH_INTERVAL_MS`` ago (every leaf
  queued meanwhile, under one signed head), and whatever is left by the next one, the
  worker's scheduled head or ``verify_exchange_log`` — within ``TUNGBAN_LOG_MERGE_DELAY``.
* The reads an exchange makes before the provider is asked (its request id, the consent
  with what it needs of it, the active key's ``kid``, the two circuit rows) are one
  statement.
"""

from __future__ import annotations

import pytest
from django.db import connection

from tungban.exchange import services as exchange
from tungban.ledger import transparency
from tungban.ledger.models import LogLeaf, PendingLeaf, PublishedHead

from .test_hot_exchange import post_exchange, setup_exchange, warm_exchange_on_the_wire
from .test_log_promise import leaf_digest, provider_answers  # noqa: F401 - a fixture

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="leaves are queued on PostgreSQL only")

#: Round trips of one delivered exchange on the wire (``tungban.testing.pgwire``: every Query
#: and Sync, psycopg's BEGIN/COMMIT included), token check to kept answer, warm connection,
#: when its process integrated the log a moment ago. Main before round 4: 22 (the
#: integration's 7: the queue's check, BEGIN, lock and take, the tree's right edge, the
#: append, COMMIT, a look at the queue again; the active key's ``kid``, the circuit rows and
#: the request id each a round trip of their own; the consent's re-lock before the
#: delivery's write). Now 11: the data user (1), the idempotency key's claim and its lock (3),
#: the attempt's transaction (BEGIN, the read, the write, COMMIT) and the delivery's (BEGIN,
#: the writes with the consent's re-lock, COMMIT). Round 7: 10, the attempt's write sent with
#: its transaction's COMMIT (one round trip).
MAX_ROUND_TRIPS = 10


@pytest.mark.django_db(transaction=True)
def test_a_delivered_exchange_commits_twice_and_makes_few_round_trips(officer, provider_answers, settings):  # noqa: F811
    settings.TUNGBAN_LOG_BATCH_INTERVAL_MS = 60_000  # its process integrated a moment ago
    client, auth, (consent_id,) = setup_exchange(officer)
    response, statements = warm_exchange_on_the_wire(client, auth, consent_id)
    assert response.status_code == 200, response.content
    shown = f"{len(statements)}:\n" + "\n".join(s[:120] for s in statements)
    assert len(statements) <= MAX_ROUND_TRIPS, shown
    assert sum(s == "COMMIT" for s in statements) == 2, shown  # the attempt's, the delivery's
    assert not [s for s in statements if "ledger_logstate" in s], shown  # no integration of the log
    reads = [s for s in statements if 'FROM "exchange_consent"' in s]
    assert len(reads) == 2, shown  # before the provider is asked, after it answered (with the writes)
    assert "exchange_exchangerecord" in reads[1] and "FOR UPDATE" in reads[1], shown
    for table in ("exchange_requestnonce", "oidc_signingkey", "exchange_providercircuit", "exchange_datausercircuit"):
        assert table in reads[0], (table, reads[0])
    # The answer is promised, its leaves queued; the next integration takes them all.
    answer = response.json()
    assert PendingLeaf.objects.filter(reference=answer["exchange_id"]).count() == 2
    assert transparency.integrate_pending() >= 2
    assert leaf_digest(answer["exchange_id"]) == answer["log"]["record_sha256"]
    report = exchange.verify_log()
    assert report.ok, report.problems


@pytest.mark.django_db(transaction=True)
def test_leaves_are_integrated_in_batches_within_the_merge_delay(officer, provider_answers, settings):  # noqa: F811
    """Five exchanges within the batch interval: the first integrates the queue; the other
    four leave their leaves queued (promised) for the next exchange due, which integrates all
    eight under one signed head."""
    settings.TUNGBAN_LOG_BATCH_INTERVAL_MS = 60_000
    client, auth, (consent_id,) = setup_exchange(officer)
    transparency.forget_last_integration()  # this process has not integrated yet: the first is due
    first = post_exchange(client, auth, consent_id).json()
    assert not PendingLeaf.objects.exists() and LogLeaf.objects.filter(reference=first["exchange_id"]).count() == 2
    heads = PublishedHead.objects.count()

    answers = [post_exchange(client, auth, consent_id).json() for _ in range(4)]

    assert PendingLeaf.objects.count() == 8 and PublishedHead.objects.count() == heads
    transparency.forget_last_integration()  # the interval has passed
    last = post_exchange(client, auth, consent_id).json()
    assert not PendingLeaf.objects.exists()
    assert PublishedHead.objects.count() == heads + 1  # ten leaves, one signed head
    for answer in [*answers, last]:
        assert leaf_digest(answer["exchange_id"]) == answer["log"]["record_sha256"]
    report = exchange.verify_log()
    assert report.ok, report.problems


@pytest.mark.django_db(transaction=True)
def test_with_no_batch_interval_every_exchange_integrates(officer, provider_answers, settings):  # noqa: F811
    settings.TUNGBAN_LOG_BATCH_INTERVAL_MS = 0
    client, auth, (consent_id,) = setup_exchange(officer)
    for _ in range(3):
        assert post_exchange(client, auth, consent_id).status_code == 200
        assert not PendingLeaf.objects.exists()
