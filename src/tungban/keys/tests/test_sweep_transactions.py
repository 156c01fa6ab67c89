"""The key sweep commits each row change before it destroys a token object, and the
scheduled purge runs it outside a transaction of its own (review of issue 14 item 3): a
failure later in the run must not roll back a row whose key is already gone, or a slow job
could then activate a credential whose key no longer exists."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tungban.core import retention
from tungban.keys import token
from tungban.keys.models import TokenKey, TokenKeyState


class Holder:
    """A token in memory; destroying a label in ``fail`` raises (an HSM hiccup)."""

    def __init__(self):
        self.objects: set[str] = set()
        self.fail: set[str] = set()

    def labels(self, prefix):
        return {label for label in self.objects if label.startswith(prefix)}

    def destroy_label(self, label):
        if label in self.fail:
            raise RuntimeError("HSM busy")
        self.objects.discard(label)


def slow_and_failing(holder: Holder) -> tuple[str, str]:
    """A slow job's key (reserved and made two hours ago, not yet activated) and a retiring
    key whose destruction fails in this run."""
    slow = token.reserve("signing_credential")
    holder.objects.add(slow)
    TokenKey.objects.filter(label=slow).update(created_at=timezone.now() - dt.timedelta(hours=2))
    retiring = token.reserve("signing_credential")
    holder.objects.add(retiring)
    token.activate(retiring)
    token.retire(retiring)
    holder.fail.add(retiring)
    return slow, retiring


def assert_slow_key_given_up(holder: Holder, slow: str) -> None:
    assert slow not in holder.objects
    assert not TokenKey.objects.filter(label=slow).exists()  # the deletion stayed committed
    with pytest.raises(token.KeyAbandoned):
        token.activate(slow)  # the slow job is refused: no credential without its key


def test_the_scheduled_purge_keeps_the_sweeps_row_changes_when_it_fails_later(transactional_db, monkeypatch):
    holder = Holder()
    slow, retiring = slow_and_failing(holder)
    monkeypatch.setattr(retention, "_registry", {})
    monkeypatch.setattr(retention, "_own_transactions", set(), raising=False)
    retention.register("signing_keys", lambda now: token.sweep(holder, now), own_transactions=True)
    retention.purge_all()  # the retiring key's destruction fails: logged, the run goes on
    assert_slow_key_given_up(holder, slow)
    assert TokenKey.objects.get(label=retiring).state == TokenKeyState.RETIRING  # tried again next run
    holder.fail.clear()
    retention.purge_all()
    assert retiring not in holder.objects and TokenKey.objects.get(label=retiring).state == TokenKeyState.DESTROYED


def test_the_sweep_refuses_to_run_inside_a_transaction(transactional_db):
    """Inside an outer transaction its commits would only be savepoints."""
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        token.sweep(Holder())


def test_an_abandoned_keys_object_is_destroyed_only_after_its_row_is_gone(transactional_db):
    """Destroying fails: the row deletion stays, and the object, now with no row, is an
    orphan the next sweep destroys."""
    holder = Holder()
    slow, _ = slow_and_failing(holder)
    holder.fail = {slow}
    with pytest.raises(RuntimeError):
        token.sweep(holder)
    assert not TokenKey.objects.filter(label=slow).exists() and slow in holder.objects
    holder.fail.clear()
    assert token.sweep(holder)["pkcs11 orphan keys"] == 1
    assert slow not in holder.objects
