"""``tungban.core.onestatement``: writes kept and sent with the next statement as one (issue 15)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tungban.core import onestatement
from tungban.core.models import IdempotencyRecord


def _table() -> str:
    return connection.ops.quote_name(IdempotencyRecord._meta.db_table)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_refuses():
    with pytest.raises(RuntimeError), onestatement.joined():
        pass


@pytest.mark.django_db
def test_kept_writes_go_with_the_next_read_as_one_statement_and_keep_their_effect():
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), onestatement.joined():
        onestatement.write(f"DELETE FROM {_table()} WHERE {connection.ops.quote_name('key')} = %s", ["nothing"])
        onestatement.write(f"DELETE FROM {_table()} WHERE {connection.ops.quote_name('key')} = %s", ["none"])
        expected_kept = 2 if connection.vendor == "postgresql" else 0
        assert onestatement.pending() == expected_kept
        row = onestatement.fetchone("SELECT %s", [7])
        assert onestatement.pending() == 0
    assert row[0] in (7, "7")
    sent = [q["sql"] for q in queries.captured_queries if "DELETE" in q["sql"] or "SELECT" in q["sql"]]
    assert len(sent) == (1 if connection.vendor == "postgresql" else 3), sent


@pytest.mark.django_db
def test_writes_left_at_the_end_of_the_block_are_sent_and_dropped_on_an_error():
    from django.contrib.auth import get_user_model

    User = get_user_model()
    user = User.objects.create(username="onestatement")
    table, name = connection.ops.quote_name(User._meta.db_table), connection.ops.quote_name("first_name")
    pk = connection.ops.quote_name(User._meta.pk.column)
    with transaction.atomic(), onestatement.joined():
        onestatement.write(f"UPDATE {table} SET {name} = %s WHERE {pk} = %s", ["Ah-Lin", user.pk])
    assert User.objects.get(pk=user.pk).first_name == "Ah-Lin"
    with pytest.raises(ZeroDivisionError), transaction.atomic(), onestatement.joined():
        onestatement.write(f"UPDATE {table} SET {name} = %s WHERE {pk} = %s", ["Chun", user.pk])
        1 / 0  # noqa: B018
    assert User.objects.get(pk=user.pk).first_name == "Ah-Lin"


def _users():
    from django.contrib.auth import get_user_model

    User = get_user_model()
    table, name = connection.ops.quote_name(User._meta.db_table), connection.ops.quote_name("first_name")
    pk = connection.ops.quote_name(User._meta.pk.column)
    return User, f"UPDATE {table} SET {name} = %s WHERE {pk} = %s"


@pytest.mark.django_db(transaction=True)
def test_writes_kept_to_the_end_of_the_outermost_transaction_go_with_its_commit():
    """Issue 15, seventh round: ``joined(commit=True)`` in the outermost transaction sends the
    kept writes and the COMMIT in one round trip (psycopg's pipeline: one Sync), commits them,
    and the ``atomic()`` block's own commit sends nothing more (one COMMIT on the wire);
    ``on_commit`` runs after."""
    User, update = _users()
    user = User.objects.create(username="committed")
    committed = []
    with transaction.atomic():
        User.objects.filter(pk=user.pk).first()  # the transaction begun, as an exchange's opening read
        transaction.on_commit(lambda: committed.append(User.objects.get(pk=user.pk).first_name))
        with onestatement.joined(commit=True):
            onestatement.write(update, ["Ka-Ming", user.pk])
            onestatement.write(update, ["Ka-Wai", user.pk])
        if connection.vendor == "postgresql":
            assert connection.connection.info.transaction_status == 0  # IDLE: committed already
    assert committed == ["Ka-Wai"]
    assert User.objects.get(pk=user.pk).first_name == "Ka-Wai"
    if connection.vendor == "postgresql":
        from tungban.testing.pgwire import relayed

        with relayed(connection) as wire, transaction.atomic():
            User.objects.filter(pk=user.pk).first()
            with onestatement.joined(commit=True):
                onestatement.write(update, ["Siu-Ming", user.pk])
        # BEGIN, the read, then the write and the COMMIT in one round trip (the last Parse: COMMIT)
        sent = wire.statements[wire.statements.index("BEGIN") :]  # after the relay's connection set-up
        assert [s.split(None, 1)[0] for s in sent] == ["BEGIN", "SELECT", "COMMIT"], wire.statements
        assert User.objects.get(pk=user.pk).first_name == "Siu-Ming"


@pytest.mark.django_db(transaction=True)
def test_a_write_that_fails_with_the_commit_commits_nothing_and_raises_djangos_error():
    from django.db import IntegrityError

    User, update = _users()
    user = User.objects.create(username="first")
    other = User.objects.create(username="second")
    table = connection.ops.quote_name(User._meta.db_table)
    rename = f"UPDATE {table} SET {connection.ops.quote_name('username')} = %s WHERE id = %s"
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=user.pk).first()
        with onestatement.joined(commit=True):
            onestatement.write(update, ["Wing", user.pk])
            onestatement.write(rename, ["first", other.pk])  # unique username: refused
    assert User.objects.get(pk=user.pk).first_name == ""
    assert User.objects.get(pk=other.pk).username == "second"
    User.objects.filter(pk=user.pk).update(first_name="after")  # the connection is usable again
    assert User.objects.get(pk=user.pk).first_name == "after"


@pytest.mark.django_db(transaction=True)
def test_inside_a_savepoint_the_writes_wait_for_the_outer_transactions_commit():
    User, update = _users()
    user = User.objects.create(username="nested")
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        with transaction.atomic(), onestatement.joined(commit=True):  # a savepoint: no commit here
            onestatement.write(update, ["Mei", user.pk])
        assert User.objects.get(pk=user.pk).first_name == "Mei"
        1 / 0  # noqa: B018 - the outer transaction rolls back, the write with it
    assert User.objects.get(pk=user.pk).first_name == ""
