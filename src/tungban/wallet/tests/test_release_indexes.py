"""Issue 15 (userinfo: the PostgreSQL side of every release): each release record insert
(``wallet_releaserecord``, one per UserInfo and form-data answer) maintains every index of
the table, so the table keeps only the indexes some read needs: the primary key, the
resident's history newest first (``(resident_id, released_at DESC)``, which also serves the
foreign key's lookups by resident: a deleted resident's cascade). A separate index on
``resident_id`` alone, the default of a ``ForeignKey``, would be one more index updated per
insert for no read; so would one on ``approval_id`` (fourth round): no read looks a release up
by its approval — the purge of expired approval requests never reads the release table (a
release only ever names an approval that was approved, which never expires), and deleting an
approval request leaves its releases as they are (the release is the record, the approval's
link an audit detail: ``on_delete=DO_NOTHING``, no constraint)."""

from __future__ import annotations

import pytest
from django.db import connection

from tungban.wallet.models import ReleaseRecord

pytestmark = pytest.mark.django_db


def _indexes() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, ReleaseRecord._meta.db_table)
    return {name: c["columns"] for name, c in constraints.items() if c["index"] or c["primary_key"]}


def test_each_release_insert_maintains_two_indexes():
    indexes = sorted(_indexes().values())
    assert indexes == [["id"], ["resident_id", "released_at"]], indexes


def test_no_index_is_a_prefix_of_another():
    columns = list(_indexes().values())
    for one in columns:
        for other in columns:
            assert one is other or other[: len(one)] != one, (one, other)


def test_purging_approval_requests_never_reads_the_release_table():
    """The purge of expired approval requests (``wallet.services.purge_expired``) runs no
    statement on ``wallet_releaserecord``: without an index on ``approval_id`` each would read
    the whole table."""
    import datetime as dt

    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from tungban.testing.factories import make_officer, make_resident
    from tungban.wallet.models import ApprovalRequest
    from tungban.wallet.services import purge_expired

    resident = make_resident(make_officer())
    long_ago = timezone.now() - dt.timedelta(days=400)
    ApprovalRequest.objects.create(kind="login", nonce="n1", resident=resident, expires_at=long_ago, status="expired")
    ApprovalRequest.objects.create(kind="login", nonce="n2", resident=resident, expires_at=long_ago)
    with CaptureQueriesContext(connection) as queries:
        purged = purge_expired(timezone.now())
    assert purged["wallet.ApprovalRequest"] == 2 and purged["wallet.ApprovalRequest.expired"] == 1
    table = ReleaseRecord._meta.db_table
    assert not [q["sql"] for q in queries if table in q["sql"]]


def test_deleting_an_approval_request_keeps_its_releases():
    """A release stays on record, as it was, when the approval request it names is deleted."""
    import datetime as dt

    from django.utils import timezone

    from tungban.testing.factories import make_officer, make_resident
    from tungban.wallet.models import ApprovalRequest
    from tungban.wallet.services import record_release_row

    resident = make_resident(make_officer())
    approval = ApprovalRequest.objects.create(
        kind="login", nonce="n", resident=resident, expires_at=timezone.now() + dt.timedelta(minutes=5)
    )
    stored = ReleaseRecord._meta.get_field("approval").get_db_prep_value(approval.pk, connection)
    record_release_row(
        resident.pk,
        requester_id="rp",
        requester_name_en="RP",
        requester_name_zh="RP",
        kind="login",
        claims=["name"],
        approval_id=stored,
    )
    approval.delete()
    (record,) = ReleaseRecord.objects.filter(resident=resident)
    assert (record.requester_name_en, record.claims) == ("RP", ["name"])
