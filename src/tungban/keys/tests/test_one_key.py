"""``keys.one_key()`` (issue 15): an operation that signs several times reads the active key
once; between operations every call still asks the database (rotation is followed at once)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tungban.keys import services as keys


def key_reads(queries) -> int:
    return sum('"keys_signingkey"' in q["sql"] or "signingkey" in q["sql"] for q in queries.captured_queries)


@pytest.mark.django_db
def test_one_key_reads_the_active_key_once_per_block():
    first = keys.active_key()[0]
    with CaptureQueriesContext(connection) as queries, keys.one_key():
        for _ in range(4):
            keys.sign_jwt({"n": 1}, "test+jwt")
        assert keys.active_key()[0] == first
    assert key_reads(queries) == 1


@pytest.mark.django_db
def test_outside_the_block_a_rotation_is_seen_at_once():
    with keys.one_key():
        before = keys.active_key()[0]
        keys.rotate()
        assert keys.active_key()[0] == before  # the block's key, still published
        with keys.one_key():  # nested: the outer block's key
            assert keys.active_key()[0] == before
    after = keys.active_key()[0]
    assert after != before
    with CaptureQueriesContext(connection) as queries:
        keys.active_key()
        keys.active_key()
    assert key_reads(queries) == 2  # no block: every call asks the database
