"""The rate limiter's storage (issue 15 item "the rate limiter"): each counted attempt costs
one SQL statement (an atomic upsert on the counters' table), counts are never lost under
concurrency, and django-ratelimit's fixed windows, keys and rate syntax are kept.

Runs on SQLite and on PostgreSQL (``DATABASE_URL``); the statement count is the same on both.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django_ratelimit.core import get_usage

from tungban.core import ratelimit


@pytest.fixture
def counters(settings):
    cache = caches[settings.RATELIMIT_USE_CACHE]
    cache.clear()
    yield cache
    cache.clear()


def test_counting_an_attempt_costs_one_statement(db, counters):
    ratelimit.count("token", "192.0.2.1", rate="100/m")  # the counter exists: the common case
    with CaptureQueriesContext(connection) as queries:
        ratelimit.count("token", "192.0.2.1", rate="100/m")
    assert len(queries) <= 1, [q["sql"] for q in queries]
    with CaptureQueriesContext(connection) as queries:
        ratelimit.count("token", "192.0.2.2", rate="100/m")  # a new counter
    assert len(queries) <= 1, [q["sql"] for q in queries]


def test_the_token_endpoints_limit_costs_a_read_and_one_count_per_failure(db, counters):
    """The token endpoint counts failed requests only (issue 15, fourth round:
    :func:`ratelimit.limit_failures`): a failure costs the read of its counter and one
    upsert, never a lock or a read-then-write."""
    from django.test import Client

    client = Client(REMOTE_ADDR="192.0.2.9")
    client.post("/oidc/token", {"grant_type": "client_credentials"}, secure=True)
    with CaptureQueriesContext(connection) as queries:
        client.post("/oidc/token", {"grant_type": "client_credentials"}, secure=True)
    counting = [
        q["sql"] for q in queries if settings.CACHES["ratelimit"]["LOCATION"] in q["sql"] or "advisory" in q["sql"]
    ]
    assert len(counting) == 2 and counting[0].startswith("SELECT") and "ON CONFLICT" in counting[1], counting


def test_the_window_limit_and_429_details_are_django_ratelimits(db, counters):
    for _ in range(3):
        ratelimit.count("verify", "192.0.2.3", rate="3/h")
    with pytest.raises(ratelimit.RateLimited) as refused:
        ratelimit.count("verify", "192.0.2.3", rate="3/h")
    assert 1 <= refused.value.details["retry_after"] <= 3600
    ratelimit.count("verify", "192.0.2.4", rate="3/h")  # another key has its own counter
    # django-ratelimit reads the same counter (same cache key, same window): 4 counted, limited.
    usage = get_usage(None, group="verify", key=lambda _g, _r: "192.0.2.3", rate="3/h", increment=False)
    assert usage["count"] == 4 and usage["should_limit"]


def test_a_counter_of_an_ended_window_starts_again(db, counters):
    ratelimit.count("verify", "192.0.2.5", rate="1/h")
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.count("verify", "192.0.2.5", rate="1/h")
    with connection.cursor() as cursor:  # the window ends (its row expires), the row stays
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(counters._table)} SET expires = %s",
            [connection.ops.adapt_datetimefield_value(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))],
        )
    ratelimit.count("verify", "192.0.2.5", rate="1/h")  # counted from 1 again: allowed


def test_django_ratelimits_own_add_and_incr_are_atomic_on_the_counter_cache(db, counters):
    counts = [
        get_usage(None, group="g", key=lambda _g, _r: "192.0.2.6", rate="5/m", increment=True)["count"]
        for _ in range(3)
    ]
    assert counts == [1, 2, 3]
    counters.set("other", {"a": 1})
    assert counters.get("other") == {"a": 1}
    counters.set("n", 7)
    assert counters.incr("n", 3) == 10 and counters.get("n") == 10
    with pytest.raises(ValueError):
        counters.incr("absent")


@pytest.mark.django_db(transaction=True)
def test_no_count_is_lost_when_workers_count_at_once(counters):
    threads, each = 4, 15
    errors = []

    def work():
        try:
            for _ in range(each):
                try:
                    ratelimit.count("verify", "192.0.2.7", rate="1000/h")
                except ratelimit.RateLimited:
                    errors.append("limited")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    usage = get_usage(None, group="verify", key=lambda _g, _r: "192.0.2.7", rate="1000/h", increment=False)
    assert usage["count"] == threads * each
