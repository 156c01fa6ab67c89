"""Compute services without a cluster (issue 20, part B): the rules of accounts, limits, loans,
dates and usage in the database, with TUNGBAN_SCHEDULER=none and with a recording scheduler
standing in for Slurm (the Slurm adapter itself is tested on a real cluster: test_slurm.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from tungban.compute import errors, services
from tungban.compute.models import Account, AccountState, Job, LimitChange
from tungban.compute.scheduler import SchedulerError
from tungban.compute.services import JobRecord, import_usage, parse_sacct
from tungban.testing.tasks import run_queued_tasks

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).parent / "fixtures" / "sacct-22.05.txt"
UTC = dt.UTC


class Recording:
    """Keeps the limits it was asked to set; ``fail`` makes every call raise."""

    cluster = "test"

    def __init__(self):
        self.limits: dict[str, int] = {}
        self.users: dict[str, list[str]] = {}
        self.fail = False

    def ensure_account(self, name, *, gpu_minutes, description, organization, users):
        if self.fail:
            raise SchedulerError("sacctmgr: connection refused")
        self.limits[name] = gpu_minutes
        self.users[name] = users

    def set_limit(self, name, gpu_minutes):
        if self.fail:
            raise SchedulerError("sacctmgr: connection refused")
        self.limits[name] = gpu_minutes


@pytest.fixture
def scheduler(monkeypatch):
    fake = Recording()
    monkeypatch.setattr(services, "get_scheduler", lambda: fake)
    return fake


def _open(name="acct-a", minutes=600, *, starts=0, days=30, owner="owner-1"):
    today = timezone.localdate()
    return services.open_account(
        name,
        gpu_minutes=minutes,
        starts_on=today + dt.timedelta(days=starts),
        ends_on=today + dt.timedelta(days=starts + days),
        owner=owner,
        users=["alice", "alice", " bob "],
    )


def _job(job_id, account, *, gpus, seconds, start, state="COMPLETED"):
    return JobRecord(
        cluster="test",
        job_id=job_id,
        account=account,
        user="alice",
        state=state,
        submitted_at=start,
        started_at=start,
        ended_at=start + dt.timedelta(seconds=seconds) if state != "RUNNING" else None,
        elapsed_seconds=seconds,
        gpus=gpus,
    )


def test_without_a_scheduler_the_account_stays_pending_with_the_reason(settings):
    settings.TUNGBAN_SCHEDULER = "none"
    account = _open(starts=3)
    assert run_queued_tasks(include_deferred=True) == 1  # nothing re-queued for ever (no sync either)
    account.refresh_from_db()
    assert account.state == AccountState.PENDING
    assert "TUNGBAN_SCHEDULER=none" in account.state_reason
    assert account.users == ["alice", "bob"]


def test_opening_is_idempotent_by_name_for_its_owner_and_refused_for_another(scheduler):
    first = _open()
    assert _open().pk == first.pk
    assert Account.objects.count() == 1 and LimitChange.objects.count() == 1
    with pytest.raises(errors.AccountExists):
        _open(owner="owner-2")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"name": "Bad Name"}, errors.BadAccountName),
        ({"name": "-x"}, errors.BadAccountName),
        ({"minutes": -1}, errors.BadLimit),
        ({"days": -1}, errors.BadDates),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(scheduler, kwargs, error):
    with pytest.raises(error):
        _open(**kwargs)
    assert not Account.objects.exists()


def test_the_account_is_provisioned_from_its_first_day_and_closed_after_its_last(scheduler, monkeypatch):
    account = _open(starts=3, days=10)
    run_queued_tasks()  # provisioning waits for the first day
    account.refresh_from_db()
    assert account.state == AccountState.PENDING
    assert scheduler.limits == {}  # Slurm has no start date: nothing exists before it

    first_day = timezone.make_aware(dt.datetime.combine(account.starts_on, dt.time(0, 1)))
    monkeypatch.setattr(timezone, "now", lambda: first_day)
    run_queued_tasks()
    account.refresh_from_db()
    assert account.state == AccountState.ACTIVE and scheduler.limits == {"acct-a": 600}
    assert scheduler.users["acct-a"] == ["alice", "bob"]

    start = timezone.now()
    import_usage([_job("1", "acct-a", gpus=2, seconds=3600, start=start)])  # 120 GPU-minutes
    day_after = timezone.make_aware(dt.datetime.combine(account.ends_on + dt.timedelta(days=1), dt.time(0, 1)))
    monkeypatch.setattr(timezone, "now", lambda: day_after)
    run_queued_tasks()
    account.refresh_from_db()
    assert account.state == AccountState.CLOSED
    assert scheduler.limits == {"acct-a": 120}  # closed: the limit is what was used


def test_a_scheduler_error_is_retried_then_shown_as_failed(scheduler, settings):
    settings.TUNGBAN_TASK_MAX_ATTEMPTS = 2
    scheduler.fail = True
    account = _open()
    run_queued_tasks()
    account.refresh_from_db()
    assert (account.state, account.attempts) == (AccountState.PENDING, 1)
    assert "connection refused" in account.last_error
    run_queued_tasks(include_deferred=True)
    account.refresh_from_db()
    assert account.state == AccountState.FAILED and "connection refused" in account.last_error
    scheduler.fail = False
    services.set_limit("acct-a", 700, reason="more minutes")
    run_queued_tasks()
    account.refresh_from_db()
    assert (account.state, account.last_error, scheduler.limits) == (AccountState.ACTIVE, "", {"acct-a": 700})


def test_lending_moves_unused_minutes_in_one_transaction(scheduler):
    _open("lender", 600), _open("borrower", 100, owner="owner-2")
    run_queued_tasks()
    import_usage([_job("1", "lender", gpus=4, seconds=60 * 100, start=timezone.now())])  # 400 used
    with pytest.raises(errors.InsufficientMinutes):
        services.lend("lender", "borrower", 201, reason="too many")
    assert Account.objects.get(name="lender").limit_gpu_minutes == 600
    services.lend("lender", "borrower", 200, reason="idle award")
    run_queued_tasks()
    assert scheduler.limits == {"lender": 400, "borrower": 300}
    loan = LimitChange.objects.filter(counterpart="lender").get()
    assert (loan.account.name, loan.old_gpu_minutes, loan.new_gpu_minutes, loan.reason) == (
        "borrower",
        100,
        300,
        "idle award",
    )
    for bad in (0, -5):
        with pytest.raises(errors.BadLoan):
            services.lend("lender", "borrower", bad, reason="x")
    with pytest.raises(errors.ReasonRequired):
        services.lend("lender", "borrower", 1, reason=" ")
    with pytest.raises(errors.UnknownAccount):
        services.lend("lender", "nobody", 1, reason="x")


def test_a_closed_account_takes_no_new_limit_and_no_loan(scheduler):
    _open("a"), _open("b", owner="owner-2")
    run_queued_tasks()
    services.close_account("a")
    run_queued_tasks()
    assert Account.objects.get(name="a").state == AccountState.CLOSED and scheduler.limits["a"] == 0
    with pytest.raises(errors.AccountClosed):
        services.set_limit("a", 10, reason="x")
    with pytest.raises(errors.AccountClosed):
        services.lend("b", "a", 10, reason="x")


def test_import_is_idempotent_and_a_running_job_is_updated_as_it_ends(scheduler):
    records = parse_sacct(FIXTURE.read_text())
    assert import_usage(records) == 8
    assert import_usage(records) == 0
    running = Job.objects.get(job_id="8")
    assert (running.state, running.gpu_seconds) == ("RUNNING", 9)
    later = _job("8", "fixture-a", gpus=3, seconds=120, start=running.started_at)
    assert import_usage([JobRecord(**{**later.__dict__, "cluster": "tungban"})]) == 1
    running.refresh_from_db()
    assert (running.state, running.gpu_seconds, running.ended_at is not None) == ("COMPLETED", 360, True)
    assert Job.objects.count() == 8


def test_import_signals_the_accounts_after_the_commit(django_capture_on_commit_callbacks):
    seen = []

    def receiver(sender, names, **kwargs):
        seen.append(names)

    services.usage_imported.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            import_usage(parse_sacct(FIXTURE.read_text()))
        with django_capture_on_commit_callbacks(execute=True):
            import_usage(parse_sacct(FIXTURE.read_text()))  # nothing new: no signal
    finally:
        services.usage_imported.disconnect(receiver)
    assert seen == [frozenset({"exp1", "fixture-a", "fixture-b"})]


def test_usage_and_usage_by_month_split_a_run_over_the_months_it_spans(scheduler):
    _open("acct-a")
    hk = timezone.get_current_timezone()
    start = dt.datetime(2026, 1, 31, 23, 0, tzinfo=hk)  # 1 h in January, 2 h in February
    import_usage(
        [
            _job("1", "acct-a", gpus=2, seconds=3 * 3600, start=start),
            _job("2", "acct-a", gpus=1, seconds=90, start=dt.datetime(2026, 3, 2, tzinfo=hk)),
            _job("3", "other", gpus=8, seconds=600, start=start),
        ]
    )
    months = [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1), dt.date(2026, 4, 1)]
    by_month = services.usage_by_month(["acct-a", "nobody"], months)
    assert by_month["acct-a"] == {months[0]: 120, months[1]: 240, months[2]: 1, months[3]: 0}
    assert by_month["nobody"] == dict.fromkeys(months, 0)
    used = services.usage("acct-a")
    assert (used["limit_gpu_minutes"], used["used_gpu_minutes"]) == (600, 361)  # 21,690 GPU-seconds
    assert [j["job_id"] for j in used["jobs"]] == ["2", "1"]
    with pytest.raises(errors.UnknownAccount):
        services.usage("nobody")


class Accounting(Recording):
    """Answers sacct with the captured fixture and squeue with one waiting job."""

    def __init__(self):
        super().__init__()
        self.windows = []

    def accounting(self, since, until):
        if self.fail:
            raise SchedulerError("sacct: slurmdbd not responding")
        self.windows.append((since, until))
        return FIXTURE.read_text()

    def pending_reasons(self):
        return {"7": "AssocGrpGRESMinutes"}


def test_sync_usage_imports_from_the_last_sync_shows_its_state_and_retries(monkeypatch, settings):
    from django_tasks_db.models import DBTaskResult

    from tungban.compute.models import SyncState

    settings.TUNGBAN_SCHEDULER = "slurm"  # the schedule is on; the recording stands in for Slurm
    fake = Accounting()
    monkeypatch.setattr(services, "get_scheduler", lambda: fake)
    assert services.sync_usage() == 8
    state = SyncState.objects.get(name="sacct")
    assert (state.state, state.records, state.last_error) == ("idle", 8, "")
    assert Job.objects.get(job_id="7").reason == "AssocGrpGRESMinutes"
    assert services.sync_usage() == 0
    second_since, _ = fake.windows[1]
    assert second_since == state.last_synced_at - services.SYNC_OVERLAP

    fake.fail = True
    with pytest.raises(SchedulerError):
        services.sync_usage_task.call()
    state.refresh_from_db()
    assert state.state == "failed" and "slurmdbd not responding" in state.last_error
    queued = DBTaskResult.objects.filter(task_path=services.sync_usage_task.module_path, status="READY").get()
    assert queued.run_after is not None and queued.run_after <= timezone.now() + dt.timedelta(minutes=1)


def test_the_sync_command_without_a_scheduler_says_so_in_the_visible_state(settings):
    from io import StringIO

    from django.core.management import call_command

    from tungban.compute.models import SyncState

    settings.TUNGBAN_SCHEDULER = "none"
    out = StringIO()
    call_command("sync_usage", stdout=out)
    assert out.getvalue().strip() == "0 jobs created or changed"
    state = SyncState.objects.get(name="sacct")
    assert state.state == "unavailable" and "TUNGBAN_SCHEDULER=none" in state.last_error
