"""Issue 15 (pgdiet): on PostgreSQL the rate limiter's counters live in an ``UNLOGGED`` table.

Every token request, every online verification and each login's token step counts one attempt
(an upsert on the counters' table, :meth:`tungban.core.ratelimit.CounterCache.hit`) in its own
transaction. In a logged table that commit waits for the WAL to reach the disk (an ``fsync``:
about half the database's CPU of the statement and most of its latency, measured in
``bench/README.md``); a transaction that wrote only to unlogged tables commits without that
flush. The counters are short windows of attempt counts: after a crash of the database server
they start again from zero (PostgreSQL empties unlogged tables in crash recovery; a clean restart
keeps them), and a standby does not copy them. ``TUNGBAN_RATELIMIT_UNLOGGED=0`` keeps the table
logged (``migrate`` switches it back).
"""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.db import connection

from tungban.core import ratelimit

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="UNLOGGED is PostgreSQL's"),
]


def _persistence(settings) -> str:
    table = caches[settings.RATELIMIT_USE_CACHE]._table
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpersistence FROM pg_class WHERE oid = CAST(%s AS regclass)", [table])
        return cursor.fetchone()[0]


def test_the_counters_table_is_unlogged_after_migrate(settings):
    assert _persistence(settings) == "u"


def test_the_setting_switches_it_back_and_forth(settings):
    settings.TUNGBAN_RATELIMIT_UNLOGGED = False
    ratelimit.apply_counters_persistence("default")
    assert _persistence(settings) == "p"
    ratelimit.count("token", "192.0.2.9", rate="100/m")  # counting works on either
    settings.TUNGBAN_RATELIMIT_UNLOGGED = True
    ratelimit.apply_counters_persistence("default")
    assert _persistence(settings) == "u"
    with pytest.raises(ratelimit.RateLimited):
        for _ in range(3):
            ratelimit.count("token", "192.0.2.9", rate="2/m")


def test_a_published_table_is_left_logged(settings, caplog):
    """A publication naming the table (logical replication) keeps it from becoming unlogged:
    ``migrate`` goes on with the table logged and says so in the log."""
    settings.TUNGBAN_RATELIMIT_UNLOGGED = False
    ratelimit.apply_counters_persistence("default")
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(caches[settings.RATELIMIT_USE_CACHE]._table)
        cursor.execute(f"CREATE PUBLICATION pgdiet_test_counters FOR TABLE {table}")
    settings.TUNGBAN_RATELIMIT_UNLOGGED = True
    ratelimit.apply_counters_persistence("default")
    assert _persistence(settings) == "p"
    assert "left as it was" in caplog.text
