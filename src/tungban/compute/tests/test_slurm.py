"""Compute on a real Slurm cluster (issue 20, part B): the one-node cluster of
``scripts/slurm-cluster`` (Slurm 22.05, 8 GPUs as a GRES, AccountingStorageEnforce with
``limits,safe``), which ``.ci/run`` starts and announces with ``TUNGBAN_SLURM=1`` and
``SLURM_CONF``. Skipped elsewhere.

Every check reads the cluster itself (``sacctmgr show assoc``, ``sacct``, ``squeue``) and waits
for conditions by polling with a generous timeout (the machine may be loaded), never for a
fixed time. Account names are fresh per test: the cluster outlives a test run.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import subprocess
import time
import uuid

import pytest
from django.utils import timezone

from tungban.compute import services
from tungban.compute.models import Account, AccountState, Job
from tungban.testing.tasks import run_queued_tasks

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.django_db,
    pytest.mark.skipif(
        os.environ.get("TUNGBAN_SLURM") != "1" or not os.environ.get("SLURM_CONF"),
        reason="no Slurm test cluster: run scripts/slurm-cluster start and set TUNGBAN_SLURM=1 and SLURM_CONF",
    ),
]

TIMEOUT = 300  # seconds for any condition on the cluster
ME = getpass.getuser()


@pytest.fixture(autouse=True)
def slurm(settings):
    settings.TUNGBAN_SCHEDULER = "slurm"
    settings.TUNGBAN_SLURM_CLUSTER = "tungban"
    settings.TUNGBAN_SLURM_CONF = os.environ["SLURM_CONF"]
    settings.TUNGBAN_TASK_MAX_ATTEMPTS = 1  # a refusal shows at once as failed


def _run(*args: str) -> str:
    env = {**os.environ, "TZ": "UTC"}
    done = subprocess.run(list(args), capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, f"{args}: {done.stderr or done.stdout}"
    return done.stdout


def _assoc(name: str) -> dict[str, str]:
    """``{user or "": GrpTRESMins}`` of the account's associations, from sacctmgr."""
    out = _run(
        "sacctmgr", "--parsable2", "--noheader", "show", "assoc",
        "where", f"account={name}", "cluster=tungban", "format=account,user,grptresmins",
    )  # fmt: skip
    return {user: tres for account, user, tres in (line.split("|") for line in out.splitlines()) if account == name}


def _until(what: str, check, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout}s")
        time.sleep(0.5)


def _sacct_state(job_id: str) -> str:
    out = _run("sacct", "-X", "-n", "-P", "-j", job_id, "--format=State")
    return (out.split() or [""])[0]


def _squeue_reason(job_id: str) -> str:
    return _run("squeue", "-h", "-j", job_id, "-o", "%T|%r").strip()


def _submit(account: str, gpus: int, minutes: int, command: str) -> str:
    out = _run(
        "sbatch", "--parsable", f"--account={account}", f"--gres=gpu:{gpus}", f"--time={minutes}",
        "--output=/dev/null", f"--wrap={command}",
    )  # fmt: skip
    return out.strip().split(";")[0]


def _open(prefix: str, minutes: int) -> Account:
    name = f"t{prefix}-{uuid.uuid4().hex[:10]}"
    today = timezone.localdate()
    services.open_account(
        name, gpu_minutes=minutes, starts_on=today, ends_on=today + dt.timedelta(days=30), owner="pytest",
        kind="market", description="compute test", users=[ME],
    )  # fmt: skip
    return Account.objects.get(name=name)


def test_the_account_is_created_with_its_limit_and_users():
    account = _open("open", 120)
    assert _assoc(account.name) == {}  # nothing on the cluster until the task runs
    run_queued_tasks()
    account.refresh_from_db()
    assert (account.state, account.applied_limit_gpu_minutes, account.last_error) == (AccountState.ACTIVE, 120, "")
    assert _assoc(account.name) == {"": "gres/gpu=120", ME: ""}


def test_a_job_runs_its_usage_is_imported_and_a_job_past_the_limit_waits_on_it():
    account = _open("job", 10)
    run_queued_tasks()
    # 8 GPUs × ≥ 8 s = ≥ 64 GPU-seconds: at least one GPU-minute; 8 GPU-minutes asked, within 10.
    job = _submit(account.name, 8, 1, "sleep 8")
    assert _until("the job completes", lambda: _sacct_state(job) in ("COMPLETED", "FAILED")) and (
        _sacct_state(job) == "COMPLETED"
    )
    imported = services.sync_usage()
    assert imported >= 1
    row = Job.objects.get(cluster="tungban", job_id=job)
    assert (row.account, row.state, row.gpus) == (account.name, "COMPLETED", 8)
    assert row.gpu_seconds == 8 * row.elapsed_seconds and row.elapsed_seconds >= 8
    used = services.usage(account.name)
    assert used["used_gpu_minutes"] == row.gpu_seconds // 60 >= 1
    assert used["last_synced_at"] is not None
    services.sync_usage()  # again: the same job is not counted twice
    assert Job.objects.filter(cluster="tungban", job_id=job).count() == 1
    assert services.usage(account.name)["used_gpu_minutes"] == used["used_gpu_minutes"]

    # 8 GPUs for 2 minutes = 16 GPU-minutes > the 10 of the limit. Slurm 22.05 accepts the job
    # and keeps it pending with reason AssocGrpGRESMinutes (it is not rejected at submission).
    over = _submit(account.name, 8, 2, "sleep 1")
    try:
        assert _until("the job waits on the limit", lambda: _squeue_reason(over) == "PENDING|AssocGrpGRESMinutes")

        def shown():  # slurmctld hands the job's record to slurmdbd a little later than squeue sees it
            services.sync_usage()
            return {j["job_id"]: j for j in services.usage(account.name)["jobs"]}.get(over)

        job = _until("the platform shows the waiting job", shown)
        assert (job["state"], job["reason"], job["gpu_minutes"]) == ("PENDING", "AssocGrpGRESMinutes", 0)
    finally:
        subprocess.run(["scancel", over], check=False)


def test_lend_moves_minutes_between_two_accounts_on_the_cluster_and_a_waiting_job_starts():
    lender, borrower = _open("lend", 100), _open("borrow", 10)
    run_queued_tasks()
    waiting = _submit(borrower.name, 8, 2, "sleep 1")  # 16 GPU-minutes: more than the 10 it has
    try:
        assert _until("the job waits on the limit", lambda: _squeue_reason(waiting) == "PENDING|AssocGrpGRESMinutes")
        services.lend(lender.name, borrower.name, 30, reason="unused minutes lent (pytest)")
        run_queued_tasks()
        assert _assoc(lender.name)[""] == "gres/gpu=70"
        assert _assoc(borrower.name)[""] == "gres/gpu=40"
        # Slurm's next scheduling pass (within a minute here) starts the job on the lent minutes.
        assert _until("the waiting job starts", lambda: _sacct_state(waiting) in ("RUNNING", "COMPLETED"))
    finally:
        subprocess.run(["scancel", waiting], check=False)
    lender.refresh_from_db(), borrower.refresh_from_db()
    assert (lender.state, lender.applied_limit_gpu_minutes) == (AccountState.ACTIVE, 70)
    assert (borrower.state, borrower.applied_limit_gpu_minutes) == (AccountState.ACTIVE, 40)


def test_closing_sets_the_limit_on_the_cluster_to_the_minutes_used():
    account = _open("close", 50)
    run_queued_tasks()
    services.close_account(account.name)
    run_queued_tasks()
    account.refresh_from_db()
    assert account.state == AccountState.CLOSED
    assert _assoc(account.name)[""] == "gres/gpu=0"  # nothing used: no job can start any more


def test_a_refusal_by_the_scheduler_is_shown_as_failed_with_its_error(settings):
    settings.TUNGBAN_SLURM_CLUSTER = "no-such-cluster"
    account = _open("fail", 5)
    run_queued_tasks()
    account.refresh_from_db()
    assert account.state == AccountState.FAILED
    assert "sacctmgr" in account.last_error


def _sbatch(account: str, *, as_user: str | None = None) -> subprocess.CompletedProcess:
    args = ["sbatch", "--parsable", f"--account={account}", "--gres=gpu:1", "--time=1", "--output=/dev/null"]
    if as_user and as_user != ME:
        args = ["runuser", "-u", as_user, "--", *args]
    return subprocess.run(
        [*args, "--wrap=true"], capture_output=True, text=True, env={**os.environ, "TZ": "UTC"}, timeout=120
    )


def test_a_user_named_on_the_platform_is_added_to_the_account_submits_and_is_removed_again(monkeypatch):
    """The grant's cluster users (issue 20): an account opened with no users takes no job; the
    user named through ``add_user`` gets an association (``sacctmgr show assoc``) by the queued
    task, and a job submitted with ``sbatch --account=…`` as that user runs; after
    ``remove_user`` the association is gone and the account refuses the user's job. The test
    cluster knows the runner's own OS user (the tests run as it, root in CI), so that is the
    user named, taken off the reserved names for this test only."""
    monkeypatch.setattr(services, "RESERVED_USERS", services.RESERVED_USERS - {ME})
    name = f"tusers-{uuid.uuid4().hex[:10]}"
    today = timezone.localdate()
    services.open_account(
        name, gpu_minutes=100, starts_on=today, ends_on=today + dt.timedelta(days=30), owner="pytest", kind="market"
    )
    run_queued_tasks()
    assert _assoc(name) == {"": "gres/gpu=100"}  # no user: nobody can charge it yet
    refused = _sbatch(name)
    assert refused.returncode != 0 and "account" in (refused.stderr + refused.stdout).lower()

    services.add_user(name, ME, actor="pytest")
    run_queued_tasks()
    assert services.account_users(name) == [
        {**services.account_users(name)[0], "name": ME, "state": "active", "last_error": ""}
    ]
    assert _assoc(name) == {"": "gres/gpu=100", ME: ""}
    done = _sbatch(name, as_user=ME)
    assert done.returncode == 0, done.stderr
    job = done.stdout.strip().split(";")[0]
    assert _until("the user's job completes", lambda: _sacct_state(job) in ("COMPLETED", "FAILED"))
    assert _sacct_state(job) == "COMPLETED"

    services.remove_user(name, ME, actor="pytest")
    run_queued_tasks()
    assert services.account_users(name, with_removed=True)[0]["state"] == "removed"
    assert _assoc(name) == {"": "gres/gpu=100"}
    again = _sbatch(name, as_user=ME)
    assert again.returncode != 0
