"""Issue 15 (userinfo: the PostgreSQL side of every release): each release record insert
(``wallet_releaserecord``, one per UserInfo and form-data answer) maintains every index of
the table, so the table keeps only the indexes some read needs: the primary key, the
resident's history newest first (``(resident_id, released_at DESC)``, which also serves the
foreign key's lookups by resident: a deleted resident's cascade), and ``approval_id`` (the
``SET NULL`` when an approval request is purged). A separate index on ``resident_id`` alone,
the default of a ``ForeignKey``, would be a fourth index updated per insert for no read."""

from __future__ import annotations

import pytest
from django.db import connection

from tungban.wallet.models import ReleaseRecord

pytestmark = pytest.mark.django_db


def _indexes() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, ReleaseRecord._meta.db_table)
    return {name: c["columns"] for name, c in constraints.items() if c["index"] or c["primary_key"]}


def test_each_release_insert_maintains_three_indexes():
    indexes = sorted(_indexes().values())
    assert indexes == [["approval_id"], ["id"], ["resident_id", "released_at"]], indexes


def test_no_index_is_a_prefix_of_another():
    columns = list(_indexes().values())
    for one in columns:
        for other in columns:
            assert one is other or other[: len(one)] != one, (one, other)
