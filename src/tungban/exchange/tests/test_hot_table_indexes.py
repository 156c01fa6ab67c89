"""Issue 15, fourth round: the tables every exchange writes carry only the indexes a query
needs, and no foreign-key check that locks a shared row (PostgreSQL).

A delivered exchange inserts a request id (``exchange_requestnonce``), an attempt (then
updates it: a change of ``state``, so never a heap-only update, and every index of the
table takes a second entry), a record, and two log leaves (``ledger_logleaf``, in the
sequencer's batch). Each index is one more entry to write per row, and each foreign-key
constraint one more check at the commit that locks the row it points to (``FOR KEY SHARE``:
a WAL record and a dirtied page; the data user's one organisation row is shared by every
concurrent exchange, a MultiXact each time two hold it). So:

* the attempt's lookups by resident (the history), by consent (a revocation) and by
  deadline (attempts of unknown outcome) are all of attempts still ``in_flight``: partial
  indexes ``WHERE state = 'in_flight'``, which a completed attempt's new row version does
  not enter; the retired hash chain's ``ledger_seq`` is unique where set;
* no ``varchar_pattern_ops`` (``_like``) copy, no index that is another's first column;
* the attempt, the record and the request id keep no database constraint to the data
  user's organisation or the resident (ids copied from rows the same transaction has just
  read; the ORM's ``PROTECT`` still refuses deleting them); the attempt and the record keep
  theirs to the consent, whose row the transaction holds locked already.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction

from tungban.testing.schema import foreign_keys, index_definitions

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's indexes and constraints"),
]

IN_FLIGHT = "WHERE ((state)::text = 'in_flight'::text)"

EXPECTED = {
    "exchange_exchangeattempt": {
        "UNIQUE btree (id)",
        "btree (consumer_id, request_id)",
        f"btree (resident_id, started_at DESC) {IN_FLIGHT}",
        f"btree (unknown_after) {IN_FLIGHT}",
        f"btree (consent_id) {IN_FLIGHT}",
        "UNIQUE btree (ledger_seq) WHERE (ledger_seq IS NOT NULL)",
    },
    "exchange_exchangerecord": {
        "UNIQUE btree (id)",
        "btree (resident_id, at DESC)",
        "btree (consumer_id, request_id)",
        "btree (consent_id)",
        "UNIQUE btree (ledger_seq) WHERE (ledger_seq IS NOT NULL)",
    },
    "exchange_requestnonce": {
        "UNIQUE btree (id)",
        "UNIQUE btree (consumer_id, request_id)",
        "btree (created_at)",
    },
    "ledger_logleaf": {
        "UNIQUE btree (index)",
        "btree (kind, reference)",
        "btree (leaf_hash)",
    },
    "ledger_pendingleaf": {"UNIQUE btree (id)"},
}


@pytest.mark.parametrize("table", sorted(EXPECTED))
def test_each_table_an_exchange_writes_carries_exactly_the_intended_indexes(table):
    assert index_definitions(table) == EXPECTED[table]


def test_the_exchange_rows_check_only_their_consent():
    assert foreign_keys("exchange_exchangeattempt") == {"consent_id → exchange_consent"}
    assert foreign_keys("exchange_exchangerecord") == {"consent_id → exchange_consent"}
    assert foreign_keys("exchange_requestnonce") == set()


class _Rollback(Exception):
    pass


def _plan(sql: str, params: list, table: str, keep: str) -> str:
    """The plan PostgreSQL makes for ``sql`` with no sequential scan and, of ``table``'s
    indexes, only its primary key and ``keep`` (the others dropped in a transaction rolled
    back after: DDL is transactional): the index serves the statement if the plan reads it
    with an ``Index Cond`` (a test's empty tables give the planner no reason to prefer one
    index over another)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CAST(i.indexrelid AS regclass) FROM pg_index i WHERE i.indrelid = CAST(%s AS regclass) "
            "AND NOT i.indisprimary AND CAST(i.indexrelid AS regclass) <> CAST(%s AS regclass) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            [table, keep],
        )
        others = [str(name) for (name,) in cursor.fetchall()]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for name in others:
                cursor.execute(f"DROP INDEX {name}")
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(r[0] for r in cursor.fetchall())
            raise _Rollback
    except _Rollback:
        return plan


def _index_named(table: str, definition: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CAST(indexrelid AS regclass) FROM pg_index WHERE indrelid = CAST(%s AS regclass)", [table]
        )
        names = [str(name) for (name,) in cursor.fetchall()]
    found = [n for n in names if definition in _definition(n)]
    assert len(found) == 1, (definition, names)
    return found[0]


def _definition(index: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_indexdef(CAST(%s AS regclass))", [index])
        return cursor.fetchone()[0]


def _sql(queryset) -> tuple[str, list]:
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


def test_each_remaining_index_serves_a_lookup_of_the_platform():
    """Every index above but the primary keys and unique constraints (which are their own
    use) is the one PostgreSQL takes for a query the platform makes."""
    import datetime as dt
    import uuid

    from tungban.exchange.models import AttemptState, ExchangeAttempt, ExchangeRecord, RequestNonce
    from tungban.ledger.models import LogLeaf

    now = dt.datetime.now(dt.UTC)
    some = uuid.uuid4()
    lookups = [
        # services.history_of: the resident's attempts still in flight, newest first
        (
            ExchangeAttempt.objects.filter(resident_id=1, state=AttemptState.IN_FLIGHT).order_by("-started_at"),
            "exchange_exchangeattempt",
            "(resident_id, started_at DESC)",
        ),
        # services.unknown_attempts
        (
            ExchangeAttempt.objects.filter(state=AttemptState.IN_FLIGHT, unknown_after__lte=now),
            "exchange_exchangeattempt",
            "(unknown_after)",
        ),
        # services.revoke: an attempt in flight holds the consent's last use
        (
            ExchangeAttempt.objects.filter(consent_id=some, state=AttemptState.IN_FLIGHT),
            "exchange_exchangeattempt",
            "(consent_id)",
        ),
        # services.attempt_for and the resumed request's check
        (
            ExchangeAttempt.objects.filter(consumer_id="td", request_id="r-12345678"),
            "exchange_exchangeattempt",
            "(consumer_id, request_id)",
        ),
        # services.history_of: the resident's records, newest first
        (
            ExchangeRecord.objects.filter(resident_id=1).order_by("-at"),
            "exchange_exchangerecord",
            "(resident_id, at DESC)",
        ),
        # the admin's list of one data user's records
        (ExchangeRecord.objects.filter(consumer_id="td"), "exchange_exchangerecord", "(consumer_id, request_id)"),
        # a consent's exchanges (the ORM's PROTECT check before a consent is deleted)
        (ExchangeRecord.objects.filter(consent_id=some), "exchange_exchangerecord", "(consent_id)"),
        # nonces.purge_expired
        (RequestNonce.objects.filter(created_at__lte=now), "exchange_requestnonce", "(created_at)"),
        # ledger: a record's latest leaf (leaf_for, proofs_for, check_records)
        (LogLeaf.objects.filter(kind="exchange", reference="x"), "ledger_logleaf", "(kind, reference)"),
        # ledger: get-proof-by-hash (RFC 6962 §4.5) against a tree of every leaf so far: the
        # primary key's range selects them all, whatever statistics earlier tests left
        (LogLeaf.objects.filter(leaf_hash=b"\0" * 32, index__lt=10**9), "ledger_logleaf", "(leaf_hash)"),
    ]
    for queryset, table, columns in lookups:
        index = _index_named(table, columns)
        plan = _plan(*_sql(queryset), table, index)
        assert re.search(rf"(using|Index Scan on) {index}\b", plan) and "Index Cond" in plan, (columns, plan)
