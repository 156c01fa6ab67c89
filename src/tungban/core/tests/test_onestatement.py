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
