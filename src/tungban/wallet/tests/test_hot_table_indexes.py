"""Issue 15 (pgdiet): the app's hot tables carry only the indexes a query needs, and the
release record (one ``INSERT`` per UserInfo and form-data answer) queues no foreign-key check.

Each login inserts an approval request and updates it twice (approved, then completed: both
change an indexed column, so both update every index), and inserts two request-proof
``jti``s. So on PostgreSQL no ``varchar_pattern_ops`` copy of a unique column (Django's
``_like`` index: no query uses ``LIKE`` on a ``jti`` or a key thumbprint), no index that is
the first column of another (``wallet_approvalrequest.resident_id`` is served by
``(resident_id, status)``), and ``device_id`` indexed only where set (a request gets its device
when approved; the index serves the ``SET NULL`` of a device's deletion, which names one).

``wallet_releaserecord`` is an append-only audit row whose ``resident_id`` and ``approval_id``
are copied from rows the same request has just read: its foreign keys are the ORM's only
(``on_delete`` cascades and sets null as before), not database constraints, whose check would
lock the resident's and the approval's rows (``FOR KEY SHARE``: a WAL record and a dirtied page
of ``identity_resident`` per answer) at each commit. See :class:`tungban.wallet.models.ReleaseRecord`.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from tungban.testing.factories import make_officer, make_resident
from tungban.testing.schema import foreign_keys, index_definitions
from tungban.wallet.models import ApprovalRequest, ReleaseRecord
from tungban.wallet.services import record_release_row

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's indexes and constraint triggers"
)

EXPECTED = {
    "wallet_releaserecord": {
        "UNIQUE btree (id)",
        "btree (resident_id, released_at DESC)",  # approval_id's: dropped in the fourth round
    },
    "wallet_approvalrequest": {
        "UNIQUE btree (id)",
        "btree (resident_id, status)",
        "btree (device_id) WHERE (device_id IS NOT NULL)",
    },
    "wallet_usedproof": {"UNIQUE btree (id)", "UNIQUE btree (jti)", "btree (expires_at)"},
    "wallet_device": {
        "UNIQUE btree (id)",
        "UNIQUE btree (jwk_thumbprint)",
        "UNIQUE btree (webauthn_credential_id)",
        "btree (resident_id)",
        "UNIQUE btree (resident_id) WHERE ((status)::text = 'active'::text)",
    },
}


@postgresql_only
@pytest.mark.django_db
@pytest.mark.parametrize("table", sorted(EXPECTED))
def test_each_hot_table_carries_exactly_the_intended_indexes(table):
    assert index_definitions(table) == EXPECTED[table]


@postgresql_only
@pytest.mark.django_db
def test_no_pattern_ops_index_on_any_table_of_the_app():
    tables = [model._meta.db_table for model in apps.get_app_config("wallet").get_models()]
    found = {t: d for t in tables for d in index_definitions(t) if "pattern_ops" in d}
    assert not found


@postgresql_only
@pytest.mark.django_db
def test_the_release_record_queues_no_foreign_key_check():
    assert foreign_keys("wallet_releaserecord") == set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = CAST('wallet_releaserecord' AS regclass)")
        assert cursor.fetchone()[0] == 0


@postgresql_only
@pytest.mark.django_db
def test_the_approval_request_keeps_its_foreign_keys():
    assert foreign_keys("wallet_approvalrequest") == {
        "resident_id → identity_resident",
        "device_id → wallet_device",
    }


@pytest.mark.django_db
def test_the_orm_still_cascades_and_sets_null_for_release_records():
    """Without database constraints the ORM's ``on_delete`` keeps the rows consistent: a
    deleted resident's releases go with them, a deleted approval request's releases keep
    their row as it was (fourth round: ``approval`` is not indexed and ``DO_NOTHING``, see
    ``test_release_indexes``; SQLite and PostgreSQL)."""
    officer = make_officer()
    resident, other = make_resident(officer), make_resident(officer)
    approval = ApprovalRequest.objects.create(
        kind="login", nonce="n", resident=other, expires_at=timezone.now() + dt.timedelta(minutes=5)
    )
    for who in (resident, other):
        record_release_row(
            who.pk,
            requester_id="rp",
            requester_name_en="RP",
            requester_name_zh="RP",
            kind="login",
            claims=["name"],
            approval_id=ReleaseRecord._meta.get_field("approval").get_db_prep_value(approval.pk, connection),
        )
    resident.delete()
    assert list(ReleaseRecord.objects.values_list("resident_id", flat=True)) == [other.pk]
    approval_id = approval.pk
    approval.delete()
    assert ReleaseRecord.objects.get().approval_id == approval_id  # the release itself is the record
