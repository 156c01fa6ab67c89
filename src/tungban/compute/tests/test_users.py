"""The scheduler users of a compute account (issue 20: a grant's cluster users), without a
cluster: a recording scheduler stands in for Slurm (the Slurm side is in test_slurm.py).
Users are validated (POSIX portable names, a bound on how many), nothing is stored on an error,
and the scheduler's side is a queued task with visible state and retries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tungban.compute import errors, services
from tungban.compute.models import AccountUser, AccountUserState
from tungban.compute.scheduler import SchedulerError
from tungban.testing.tasks import run_queued_tasks

pytestmark = pytest.mark.django_db


class Recording:
    """Accounts and their users as a scheduler would keep them; ``fail`` makes user calls raise."""

    cluster = "test"

    def __init__(self):
        self.users: dict[str, set[str]] = {}
        self.limits: dict[str, int] = {}
        self.fail = False
        self.calls: list[tuple] = []

    def ensure_account(self, name, *, gpu_minutes, description, organization, users):
        self.limits[name] = gpu_minutes
        self.users.setdefault(name, set()).update(users)

    def set_limit(self, name, gpu_minutes):
        self.limits[name] = gpu_minutes

    def add_user(self, name, user):
        self.calls.append(("add", name, user))
        if self.fail:
            raise SchedulerError("sacctmgr: exit 1: connection refused")
        self.users[name].add(user)

    def remove_user(self, name, user):
        self.calls.append(("remove", name, user))
        if self.fail:
            raise SchedulerError("sacctmgr: exit 1: connection refused")
        self.users[name].discard(user)


@pytest.fixture
def scheduler(monkeypatch, settings):
    settings.TUNGBAN_SCHEDULER = "slurm"
    settings.TUNGBAN_COMPUTE_SYNC_INTERVAL = 0
    fake = Recording()
    monkeypatch.setattr(services, "get_scheduler", lambda: fake)
    return fake


def _open(name="aisc-users", *, starts=0):
    today = timezone.localdate()
    return services.open_account(
        name,
        gpu_minutes=6000,
        starts_on=today + dt.timedelta(days=starts),
        ends_on=today + dt.timedelta(days=starts + 60),
        owner="award-u",
    )


def _states(name="aisc-users"):
    return {u["name"]: u["state"] for u in services.account_users(name, with_removed=True)}


def test_a_user_is_added_on_the_scheduler_by_a_task_and_removed_again(scheduler):
    _open()
    run_queued_tasks()
    user = services.add_user("aisc-users", "chan_tm", actor="resident-1")
    assert user.state == AccountUserState.PENDING and user.task_id  # queued in the same transaction
    assert "chan_tm" not in scheduler.users["aisc-users"]
    run_queued_tasks()
    assert _states() == {"chan_tm": "active"}
    assert scheduler.users["aisc-users"] == {"chan_tm"}
    services.remove_user("aisc-users", "chan_tm", actor="resident-1")
    assert _states() == {"chan_tm": "removing"}
    run_queued_tasks()
    assert _states() == {"chan_tm": "removed"}
    assert scheduler.users["aisc-users"] == set()
    assert services.account_users("aisc-users") == []  # removed users are history
    services.add_user("aisc-users", "chan_tm")  # named again after removal
    run_queued_tasks()
    assert _states() == {"chan_tm": "active"}


def test_users_named_before_the_account_opens_are_added_when_it_opens(scheduler, monkeypatch):
    account = _open(starts=3)
    run_queued_tasks()  # provisioning waits for the first day
    services.add_user("aisc-users", "lee_sm")
    services.add_user("aisc-users", "wong_km")
    run_queued_tasks()
    rows = {u["name"]: u for u in services.account_users("aisc-users")}
    assert {n: r["state"] for n, r in rows.items()} == {"lee_sm": "pending", "wong_km": "pending"}
    assert rows["lee_sm"]["state_reason"] == services.WAITING_FOR_ACCOUNT
    assert "aisc-users" not in scheduler.users
    services.remove_user("aisc-users", "wong_km")  # never on the scheduler: removed at once
    assert _states()["wong_km"] == "removed"
    first_day = timezone.make_aware(dt.datetime.combine(account.starts_on, dt.time(0, 5)))
    monkeypatch.setattr(timezone, "now", lambda: first_day)
    run_queued_tasks()  # the account's first day: provisioned, then its waiting users
    assert _states() == {"lee_sm": "active", "wong_km": "removed"}
    assert scheduler.users["aisc-users"] == {"lee_sm"}
    assert ("add", "aisc-users", "wong_km") not in scheduler.calls


@pytest.mark.parametrize(
    "bad",
    ["", "Chan", "1chan", "chan tm", "chan;rm", "a" * 33, "陳大文", "-chan", "chan\n", None],
)
def test_a_user_name_must_be_a_posix_name_and_nothing_is_stored_otherwise(scheduler, bad):
    _open()
    with pytest.raises(errors.BadUserName) as caught:
        services.add_user("aisc-users", bad)
    assert caught.value.code == "bad_user_name"
    assert not AccountUser.objects.exists()


def test_a_user_is_named_once_and_an_account_has_a_bounded_number(scheduler, monkeypatch):
    _open()
    services.add_user("aisc-users", "chan_tm")
    with pytest.raises(errors.UserExists):
        services.add_user("aisc-users", "chan_tm")
    monkeypatch.setattr(services, "MAX_USERS", 3)
    services.add_user("aisc-users", "u2")
    services.add_user("aisc-users", "u3")
    with pytest.raises(errors.TooManyUsers):
        services.add_user("aisc-users", "u4")
    assert AccountUser.objects.count() == 3
    with pytest.raises(errors.UnknownUser):
        services.remove_user("aisc-users", "nobody")
    with pytest.raises(errors.UnknownAccount):
        services.add_user("aisc-nothere", "chan_tm")


def test_a_closed_account_takes_no_new_user(scheduler):
    _open()
    run_queued_tasks()
    services.close_account("aisc-users")
    with pytest.raises(errors.AccountClosed):
        services.add_user("aisc-users", "chan_tm")
    assert not AccountUser.objects.exists()


def test_a_scheduler_error_is_retried_with_the_error_visible_then_the_user_fails(scheduler, settings):
    settings.TUNGBAN_TASK_MAX_ATTEMPTS = 2
    _open()
    run_queued_tasks()
    scheduler.fail = True
    services.add_user("aisc-users", "chan_tm")
    run_queued_tasks()
    row = AccountUser.objects.get(name="chan_tm")
    assert row.state == AccountUserState.PENDING and row.state_reason == "retrying"
    assert "connection refused" in row.last_error
    assert services.sync_user(row.pk, row.task_id) == "failed"  # the retry queued (deferred), run now
    assert services.sync_user(row.pk, "an-older-task") == "skipped"
    row.refresh_from_db()
    assert row.state == AccountUserState.FAILED and "connection refused" in row.last_error
    scheduler.fail = False
    services.add_user("aisc-users", "chan_tm")  # a failed user may be named again
    run_queued_tasks()
    assert _states() == {"chan_tm": "active"}


def test_without_a_scheduler_users_stay_pending_with_the_reason(settings):
    settings.TUNGBAN_SCHEDULER = "none"
    _open()
    services.add_user("aisc-users", "chan_tm")
    run_queued_tasks()
    [row] = services.account_users("aisc-users")
    assert row["state"] == "pending" and row["state_reason"] == services.NO_SCHEDULER
