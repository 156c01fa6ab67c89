"""Compute accounts, limits and usage (issue 20, part B; the contract's names are binding).

Accounts (:func:`open_account`, :func:`set_limit`, :func:`lend`, :func:`close_account`) are
written in one database transaction, which also queues :func:`provision_task` (the scheduler's
side, retried with backoff: :mod:`tungban.core.jobs`). The task reconciles the scheduler with
the row: before ``starts_on`` nothing is created (state ``pending``, the reason says when it
opens); from ``starts_on`` to ``ends_on`` the account exists with ``GrpTRESMins=gres/gpu=<limit>``
(``active``); after ``ends_on`` or :func:`close_account` the limit becomes the minutes used, so
no further job can start (``closed``). Slurm has no end date on an association: the dates are
enforced here (docs/operations.md, "Compute (Slurm)").

Usage: :func:`sync_usage` (a task re-queued every ``TUNGBAN_COMPUTE_SYNC_INTERVAL`` seconds)
reads ``sacct`` from the last sync on, :func:`parse_sacct` turns its text into
:class:`JobRecord` s, :func:`import_usage` upserts them by cluster and job id and sends
:data:`usage_imported` after the commit. A job's GPU-minutes are its allocated GPUs
(``AllocTRES`` ``gres/gpu``) × its elapsed seconds ÷ 60, as Slurm charges ``GrpTRESMins``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Sum
from django.dispatch import Signal
from django.tasks import task
from django.utils import timezone

from tungban.core import jobs

from . import errors
from .models import Account, AccountKind, AccountState, AccountUser, AccountUserState, Job, LimitChange, SyncState
from .scheduler import SACCT_FIELDS, NoScheduler, SchedulerError, SchedulerUnavailable, get_scheduler, parse_tres

log = logging.getLogger(__name__)

#: Sent after the commit of an import that changed jobs, with ``names`` (a frozenset of account
#: names whose jobs changed).
usage_imported = Signal()

#: Slurm account names as the platform makes them (sacctmgr lower-cases names; 64 is our cap).
ACCOUNT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

#: How far before the last sync each sacct read starts again (a job's record may reach the
#: database a little after its state changed).
SYNC_OVERLAP = dt.timedelta(minutes=10)

NO_SCHEDULER = "no scheduler is configured (TUNGBAN_SCHEDULER=none)"


# --- Records from the scheduler's accounting ------------------------------------------------------


@dataclass(frozen=True)
class JobRecord:
    """One job as sacct reports it. Times are aware (UTC) or None (not started/ended);
    ``elapsed_seconds`` is sacct's ``ElapsedRaw`` (so far, for a running job); ``gpus`` the GPUs
    allocated (0 for a job without any, or still pending); ``state`` the first word of sacct's
    state (``CANCELLED by 0`` → ``CANCELLED``); ``reason`` why a pending job waits (squeue)."""

    cluster: str
    job_id: str
    account: str
    user: str
    state: str
    submitted_at: dt.datetime | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    elapsed_seconds: int
    gpus: int
    reason: str = ""

    @property
    def gpu_seconds(self) -> int:
        return self.gpus * self.elapsed_seconds


def _when(text: str) -> dt.datetime | None:
    text = text.strip()
    if not text or text in ("Unknown", "None"):
        return None
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _gpus(tres: str) -> int:
    found = parse_tres(tres)
    if "gres/gpu" in found:
        return found["gres/gpu"]
    return sum(v for k, v in found.items() if k.startswith("gres/gpu:"))


def parse_sacct(text: str) -> list[JobRecord]:
    """Parse ``sacct --parsable2 --noheader --format=<SACCT_FIELDS>`` output (times in UTC, as
    :class:`~tungban.compute.scheduler.SlurmAdapter` asks for; ``Unknown``/``None`` when not
    yet) into records, in order. Blank lines are skipped.

    :raises ValueError: a line without the :data:`~tungban.compute.scheduler.SACCT_FIELDS`
        (its number in the message).
    """
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != len(SACCT_FIELDS):
            raise ValueError(f"sacct line {number}: {len(fields)} fields, expected {len(SACCT_FIELDS)}: {line!r}")
        cluster, job_id, account, user, state, submit, start, end, elapsed, tres = fields
        try:
            records.append(
                JobRecord(
                    cluster=cluster,
                    job_id=job_id,
                    account=account,
                    user=user,
                    state=(state.split() or [""])[0],
                    submitted_at=_when(submit),
                    started_at=_when(start),
                    ended_at=_when(end),
                    elapsed_seconds=int(elapsed or 0),
                    gpus=_gpus(tres),
                )
            )
        except ValueError as exc:
            raise ValueError(f"sacct line {number}: {exc}: {line!r}") from exc
    return records


_JOB_FIELDS = (
    "account",
    "user",
    "state",
    "reason",
    "submitted_at",
    "started_at",
    "ended_at",
    "elapsed_seconds",
    "gpus",
)


def import_usage(records: Iterable[JobRecord]) -> int:
    """Store the records (one :class:`~tungban.compute.models.Job` per cluster and job id: a
    record for a known job updates it, as the job runs and ends). Idempotent: importing the
    same records again changes nothing. Returns how many jobs were created or changed; sends
    :data:`usage_imported` after the commit when that is more than zero."""
    latest: dict[tuple[str, str], JobRecord] = {}
    for r in records:
        latest[(r.cluster, r.job_id)] = r  # a later record of the same job wins
    if not latest:
        return 0
    changed = 0
    touched: set[str] = set()
    keys = list(latest)
    with transaction.atomic():
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            by_cluster = defaultdict(list)
            for cluster, job_id in chunk:
                by_cluster[cluster].append(job_id)
            existing = {}
            for cluster, ids in by_cluster.items():
                for job in Job.objects.filter(cluster=cluster, job_id__in=ids):
                    existing[(job.cluster, job.job_id)] = job
            new, updated = [], []
            for key in chunk:
                r = latest[key]
                values = {f: getattr(r, f) for f in _JOB_FIELDS}
                values["gpu_seconds"] = r.gpu_seconds
                job = existing.get(key)
                if job is None:
                    new.append(Job(cluster=r.cluster, job_id=r.job_id, **values))
                    touched.add(r.account)
                elif any(getattr(job, f) != v for f, v in values.items()):
                    touched.update({job.account, r.account})
                    for f, v in values.items():
                        setattr(job, f, v)
                    updated.append(job)
            Job.objects.bulk_create(new)
            if updated:
                Job.objects.bulk_update(updated, [*_JOB_FIELDS, "gpu_seconds"])
            changed += len(new) + len(updated)
        if changed:
            names = frozenset(touched)
            transaction.on_commit(lambda: usage_imported.send(sender=Job, names=names))
    return changed


# --- Accounts -------------------------------------------------------------------------------------


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not ACCOUNT_NAME.fullmatch(name):
        raise errors.BadAccountName()


def _check_minutes(gpu_minutes) -> int:
    if isinstance(gpu_minutes, bool) or not isinstance(gpu_minutes, int) or gpu_minutes < 0:
        raise errors.BadLimit()
    return gpu_minutes


def _check_reason(reason: str) -> str:
    if not (reason or "").strip():
        raise errors.ReasonRequired()
    return reason.strip()[:300]


def _locked(name: str) -> Account:
    account = Account.objects.select_for_update().filter(name=name).first()
    if account is None:
        raise errors.UnknownAccount(name=name)
    return account


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _schedule(account: Account, *, at: dt.datetime | None = None) -> None:
    """Queue :func:`provision_task` for the account (in the caller's transaction), replacing
    any run queued before (that one finds another task id and does nothing)."""
    delay = max(at - timezone.now(), dt.timedelta(0)) if at else None
    account.task_id = jobs.enqueue(provision_task, account.pk, delay=delay or None)
    account.save(update_fields=["task_id", "updated_at"])


def open_account(
    name: str,
    *,
    gpu_minutes: int,
    starts_on: dt.date,
    ends_on: dt.date,
    owner: str,
    kind: str = AccountKind.SUBSIDISED,
    description: str = "",
    users: Iterable[str] = (),
) -> Account:
    """Open the scheduler account ``name`` with a limit of ``gpu_minutes`` GPU-minutes from
    ``starts_on`` to ``ends_on`` (inclusive, Hong Kong days) for ``owner`` (the caller's id of
    what it is for), with the scheduler users who may charge it. Idempotent by name: the same
    name for the same owner returns the account already opened. The scheduler's side is
    :func:`provision_task`, queued in this transaction (from ``starts_on`` on).

    :raises errors.BadAccountName, errors.BadLimit, errors.BadDates, errors.BadKind:
    :raises errors.AccountExists: the name is another owner's.
    """
    _check_name(name)
    _check_minutes(gpu_minutes)
    if ends_on < starts_on:
        raise errors.BadDates()
    if kind not in AccountKind.values:
        raise errors.BadKind()
    users = sorted({u.strip() for u in users if u and u.strip()})
    with transaction.atomic():
        existing = Account.objects.select_for_update().filter(name=name).first()
        if existing is not None:
            if existing.owner != owner:
                raise errors.AccountExists(name=name)
            return existing
        account = Account.objects.create(
            name=name,
            kind=kind,
            owner=owner,
            description=description[:200],
            users=users,
            starts_on=starts_on,
            ends_on=ends_on,
            limit_gpu_minutes=gpu_minutes,
            state=AccountState.PENDING,
            state_reason="provisioning queued",
        )
        LimitChange.objects.create(account=account, old_gpu_minutes=None, new_gpu_minutes=gpu_minutes, reason="opened")
        _schedule(account, at=_day_start(starts_on) if starts_on > timezone.localdate() else None)
        ensure_sync_scheduled()
    return account


def set_limit(name: str, gpu_minutes: int, *, reason: str) -> Account:
    """Set the account's limit to ``gpu_minutes`` (recorded with ``reason``); the scheduler
    follows through :func:`provision_task`.

    :raises errors.UnknownAccount, errors.BadLimit, errors.ReasonRequired, errors.AccountClosed:
    """
    _check_minutes(gpu_minutes)
    reason = _check_reason(reason)
    with transaction.atomic():
        account = _locked(name)
        if account.closed_at or account.state == AccountState.CLOSED:
            raise errors.AccountClosed(name=name)
        LimitChange.objects.create(
            account=account, old_gpu_minutes=account.limit_gpu_minutes, new_gpu_minutes=gpu_minutes, reason=reason
        )
        account.limit_gpu_minutes = gpu_minutes
        account.save(update_fields=["limit_gpu_minutes", "updated_at"])
        _schedule(account)
    return account


def lend(from_name: str, to_name: str, gpu_minutes: int, *, reason: str) -> None:
    """Move ``gpu_minutes`` of ``from_name``'s limit to ``to_name``'s, in one transaction (both
    limit changes recorded with ``reason`` and the other account), then the scheduler task of
    each. Only minutes not used yet can be lent.

    :raises errors.BadLoan: not a positive number, or the same account twice.
    :raises errors.UnknownAccount, errors.AccountClosed, errors.ReasonRequired:
    :raises errors.InsufficientMinutes: the lender has fewer unused minutes (limit − used).
    """
    if isinstance(gpu_minutes, bool) or not isinstance(gpu_minutes, int) or gpu_minutes <= 0 or from_name == to_name:
        raise errors.BadLoan()
    reason = _check_reason(reason)
    with transaction.atomic():
        locked = {n: _locked(n) for n in sorted((from_name, to_name))}  # one order: no deadlock
        lender, borrower = locked[from_name], locked[to_name]
        for account in (lender, borrower):
            if account.closed_at or account.state == AccountState.CLOSED:
                raise errors.AccountClosed(name=account.name)
        free = lender.limit_gpu_minutes - used_gpu_minutes(lender.name)
        if free < gpu_minutes:
            raise errors.InsufficientMinutes(name=lender.name, free=max(free, 0), asked=gpu_minutes)
        for account, delta, other in ((lender, -gpu_minutes, borrower), (borrower, gpu_minutes, lender)):
            LimitChange.objects.create(
                account=account,
                old_gpu_minutes=account.limit_gpu_minutes,
                new_gpu_minutes=account.limit_gpu_minutes + delta,
                reason=reason,
                counterpart=other.name,
            )
            account.limit_gpu_minutes += delta
            account.save(update_fields=["limit_gpu_minutes", "updated_at"])
            _schedule(account)


def close_account(name: str) -> Account:
    """Close the account now: :func:`provision_task` sets its limit on the scheduler to the
    minutes used, so no new job starts (running jobs finish within it). Idempotent.

    :raises errors.UnknownAccount:
    """
    with transaction.atomic():
        account = _locked(name)
        if account.closed_at is None:
            account.closed_at = timezone.now()
            account.save(update_fields=["closed_at", "updated_at"])
            _schedule(account)
    return account


# --- The scheduler's side (task) -----------------------------------------------------------------


@task(takes_context=True)
def provision_task(context, account_id: int) -> str:
    """Bring the scheduler to the account's row (:func:`provision`)."""
    return provision(account_id, str(context.task_result.id))


def provision(account_id: int, task_id: str) -> str:
    """One attempt: before ``starts_on``, wait (``pending``, queued again for that day); after
    ``ends_on`` or once closed, set the scheduler's limit to the minutes used (``closed``; an
    account never created there is just closed); else create or update it with the limit and
    users (``active``, queued again for the day after ``ends_on``). A scheduler error is
    retried with backoff (``last_error`` shows it) and after the last attempt the account is
    ``failed``; no scheduler configured leaves it ``pending`` with that reason. Returns the
    state, or ``skipped`` when ``task_id`` is not the account's current task."""
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        if account.task_id != task_id:
            return "skipped"
        account.attempts += 1
        account.save(update_fields=["attempts", "updated_at"])
    scheduler = get_scheduler()
    if isinstance(scheduler, NoScheduler):  # nothing to wait for: no run is queued again
        return _finish(account, task_id, state=AccountState.PENDING, reason=NO_SCHEDULER)
    today = timezone.localdate()
    closing = account.closed_at is not None or today > account.ends_on
    if not closing and today < account.starts_on:
        return _finish(
            account, task_id, state=AccountState.PENDING, reason=f"opens on {account.starts_on.isoformat()}", again=True
        )
    try:
        if closing:
            if account.provisioned_at is None:
                return _finish(account, task_id, state=AccountState.CLOSED, reason="closed before it was provisioned")
            limit = used_gpu_minutes(account.name)
            scheduler.set_limit(account.name, limit)
            return _finish(account, task_id, state=AccountState.CLOSED, reason="closed", applied=limit)
        scheduler.ensure_account(
            account.name,
            gpu_minutes=account.limit_gpu_minutes,
            description=account.description,
            organization=account.owner[:64],
            users=list(account.users),
        )
        return _finish(account, task_id, state=AccountState.ACTIVE, reason="", applied=account.limit_gpu_minutes)
    except SchedulerError as exc:
        log.warning("compute account %s: %s", account.name, exc)
        return _failed(account, task_id, str(exc))


def _finish(
    account: Account, task_id: str, *, state: str, reason: str, applied: int | None = None, again: bool = False
) -> str:
    with transaction.atomic():
        row = Account.objects.select_for_update().get(pk=account.pk)
        if row.task_id != task_id:
            return "skipped"  # changed meanwhile: the newer task applies it
        row.state, row.state_reason, row.attempts, row.last_error = state, reason[:300], 0, ""
        fields = ["state", "state_reason", "attempts", "last_error", "updated_at"]
        if applied is not None:
            row.applied_limit_gpu_minutes = applied
            fields.append("applied_limit_gpu_minutes")
            if row.provisioned_at is None:
                row.provisioned_at = timezone.now()
                fields.append("provisioned_at")
        if state == AccountState.CLOSED and row.closed_at is None:
            row.closed_at = timezone.now()
            fields.append("closed_at")
        row.save(update_fields=fields)
        if again:
            _schedule(row, at=_day_start(row.starts_on))
        elif state == AccountState.ACTIVE:
            _schedule(row, at=_day_start(row.ends_on + dt.timedelta(days=1)))
            _schedule_waiting_users(row)
    return state


def _failed(account: Account, task_id: str, error: str) -> str:
    with transaction.atomic():
        row = Account.objects.select_for_update().get(pk=account.pk)
        if row.task_id != task_id:
            return "skipped"
        row.last_error = error[:4000]
        if jobs.can_retry(row.attempts):
            row.save(update_fields=["last_error", "updated_at"])
            row.task_id = jobs.enqueue(provision_task, row.pk, delay=jobs.retry_delay(row.attempts))
            row.save(update_fields=["task_id"])
            return "retrying"
        row.state, row.state_reason = AccountState.FAILED, "the scheduler refused or did not answer"
        row.save(update_fields=["state", "state_reason", "last_error", "updated_at"])
        return row.state


# --- Usage ----------------------------------------------------------------------------------------


def used_gpu_minutes(name: str) -> int:
    """GPU-minutes charged to the account so far (whole minutes, rounded down)."""
    seconds = Job.objects.filter(account=name).aggregate(s=Sum("gpu_seconds"))["s"] or 0
    return int(seconds) // 60


def _sync_state() -> SyncState:
    return SyncState.objects.get_or_create(name="sacct")[0]


def usage(name: str) -> dict:
    """The account's usage: ``limit_gpu_minutes`` (the platform's), ``used_gpu_minutes``,
    ``last_synced_at`` (of the usage import; None before the first), ``state``, ``kind``
    (``subsidised`` or ``market``), ``state_reason``,
    ``last_error`` and ``jobs`` (newest first, at most 100: ``job_id``, ``user``, ``state``,
    ``reason``, ``gpus``, ``gpu_minutes``, ``submitted_at``, ``started_at``, ``ended_at``).

    :raises errors.UnknownAccount:
    """
    account = Account.objects.filter(name=name).first()
    if account is None:
        raise errors.UnknownAccount(name=name)
    jobs_ = [
        {
            "job_id": j.job_id,
            "user": j.user,
            "state": j.state,
            "reason": j.reason,
            "gpus": j.gpus,
            "gpu_minutes": j.gpu_seconds // 60,
            "submitted_at": j.submitted_at,
            "started_at": j.started_at,
            "ended_at": j.ended_at,
        }
        for j in Job.objects.filter(account=name).order_by("-submitted_at", "-pk")[:100]
    ]
    return {
        "limit_gpu_minutes": account.limit_gpu_minutes,
        "used_gpu_minutes": used_gpu_minutes(name),
        "last_synced_at": SyncState.objects.filter(name="sacct").values_list("last_synced_at", flat=True).first(),
        "state": account.state,
        "kind": account.kind,
        "state_reason": account.state_reason,
        "last_error": account.last_error,
        "jobs": jobs_,
    }


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def usage_by_month(names: Iterable[str], months: Iterable[dt.date]) -> dict[str, dict[dt.date, int]]:
    """GPU-minutes per account and calendar month (Hong Kong time; ``months`` are first days):
    each job's GPU-seconds are split over the months its run spans (from its start for its
    elapsed seconds), rounded down to whole minutes per month. Every name and month asked for
    is in the answer (0 when nothing ran)."""
    names = list(dict.fromkeys(names))
    months = sorted({_month_start(m) for m in months})
    result = {n: dict.fromkeys(months, 0) for n in names}
    if not names or not months:
        return result
    first = _day_start(months[0])
    last = months[-1]
    end = _day_start(last.replace(day=calendar.monthrange(last.year, last.month)[1]) + dt.timedelta(days=1))
    seconds = {n: defaultdict(int) for n in names}
    found = Job.objects.filter(account__in=names, started_at__isnull=False, started_at__lt=end, gpus__gt=0)
    for account, started, elapsed, gpus in found.values_list("account", "started_at", "elapsed_seconds", "gpus"):
        run_end = started + dt.timedelta(seconds=elapsed)
        if run_end <= first:
            continue
        cursor = started
        while cursor < run_end:
            local = timezone.localtime(cursor)
            month = local.date().replace(day=1)
            nxt = (
                month.replace(year=month.year + 1, month=1)
                if month.month == 12
                else month.replace(month=month.month + 1)
            )
            boundary = min(_day_start(nxt), run_end)
            if month in result[account]:
                seconds[account][month] += int((boundary - cursor).total_seconds()) * gpus
            cursor = boundary
    for n in names:
        for m, s in seconds[n].items():
            result[n][m] = s // 60
    return result


# --- Usage import (scheduled task) ---------------------------------------------------------------


def sync_usage() -> int:
    """Import the scheduler's accounting since the last sync (less :data:`SYNC_OVERLAP`; the
    first time, since the day before the first account was opened) up to now, with the
    reasons pending jobs wait. Visible state in :class:`~tungban.compute.models.SyncState`
    (``running``, ``idle``, ``failed`` with ``last_error``, ``unavailable`` without a
    scheduler). Returns the jobs created or changed (:func:`import_usage`).

    :raises SchedulerError: the scheduler did not answer (the task retries).
    """
    now = timezone.now()
    with transaction.atomic():
        state = SyncState.objects.select_for_update().get_or_create(name="sacct")[0]
        if state.last_synced_at:
            since = state.last_synced_at - SYNC_OVERLAP
        else:
            first = Account.objects.aggregate(first=Min("created_at"))["first"]
            since = (first or now) - dt.timedelta(days=1)
        state.state, state.last_started_at = "running", now
        state.save(update_fields=["state", "last_started_at"])
    scheduler = get_scheduler()
    try:
        text = scheduler.accounting(since, now)
        reasons = scheduler.pending_reasons()
        records = parse_sacct(text)
    except SchedulerUnavailable as exc:
        SyncState.objects.filter(pk=state.pk).update(state="unavailable", last_error=str(exc))
        return 0
    except (SchedulerError, ValueError) as exc:
        SyncState.objects.filter(pk=state.pk).update(
            state="failed", last_error=str(exc)[:4000], attempts=state.attempts + 1
        )
        raise
    if reasons:
        records = [
            JobRecord(**{**r.__dict__, "reason": reasons.get(r.job_id, "")}) if r.state == "PENDING" else r
            for r in records
        ]
    count = import_usage(records)
    SyncState.objects.filter(pk=state.pk).update(
        state="idle", last_synced_at=now, last_error="", attempts=0, records=count
    )
    return count


def _pending_syncs():
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=sync_usage_task.module_path, status=TaskResultStatus.READY)


def ensure_sync_scheduled(delay: float | None = None) -> bool:
    """Queue :func:`sync_usage_task` after ``delay`` seconds (default
    ``TUNGBAN_COMPUTE_SYNC_INTERVAL``) unless one is waiting; 0 as the interval, or no
    scheduler (``TUNGBAN_SCHEDULER=none``), turns the schedule off. Returns whether it queued one (as :func:`tungban.core.retention.ensure_scheduled`)."""
    from django.conf import settings

    if (
        not settings.TUNGBAN_COMPUTE_SYNC_INTERVAL
        or settings.TUNGBAN_SCHEDULER == "none"  # nothing to read: no run re-queued for ever
        or _pending_syncs().exists()
    ):
        return False
    seconds = settings.TUNGBAN_COMPUTE_SYNC_INTERVAL if delay is None else delay
    jobs.enqueue(sync_usage_task, delay=dt.timedelta(seconds=seconds) if seconds else None)
    return True


@task
def sync_usage_task() -> int:
    """The scheduled usage import: :func:`sync_usage`, then the next run (sooner, with
    backoff, after a failure)."""
    try:
        count = sync_usage()
    except (SchedulerError, ValueError):
        attempts = SyncState.objects.filter(name="sacct").values_list("attempts", flat=True).first() or 1
        ensure_sync_scheduled(delay=jobs.retry_delay(attempts).total_seconds())
        raise
    ensure_sync_scheduled()
    return count


# --- tgaps: the scheduler users of an account ------------------------------------------------------

#: Cluster user names: POSIX portable names as ``useradd`` accepts them by default (lower-case
#: letter or underscore first, then lower-case letters, digits, ``_`` or ``-``; at most 32:
#: Linux's ``LOGIN_NAME_MAX`` less the NUL, and the length ``useradd`` allows), which Slurm
#: takes as the user of an association (https://slurm.schedmd.com/sacctmgr.html, "user").
USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
#: The most scheduler users an account may have at once (pending, active or being removed).
MAX_USERS = 50
#: User states that count as the account's (and block naming the user again).
_LIVE_USER = (AccountUserState.PENDING, AccountUserState.ACTIVE, AccountUserState.REMOVING)
WAITING_FOR_ACCOUNT = "added when the account opens"


#: System and service accounts never put on a grantee's account (the cluster's own daemons and
#: the administrators'); the operator adds the site's own with ``TUNGBAN_COMPUTE_RESERVED_USERS``
#: (comma-separated).
RESERVED_USERS = frozenset(
    "root daemon bin sys sync games man lp mail news uucp proxy www-data backup list irc gnats nobody "
    "systemd-network systemd-resolve messagebus sshd slurm munge mysql postgres admin administrator".split()
)


def reserved_users() -> frozenset[str]:
    """:data:`RESERVED_USERS` and the names of ``settings.TUNGBAN_COMPUTE_RESERVED_USERS``."""
    extra = getattr(settings, "TUNGBAN_COMPUTE_RESERVED_USERS", "") or ""
    return RESERVED_USERS | {n.strip() for n in extra.split(",") if n.strip()}


def check_user_name(user) -> str:
    """The user name.

    :raises errors.BadUserName: not a POSIX portable name (:data:`USER_NAME`).
    :raises errors.ReservedUserName: a system or service account (:func:`reserved_users`)."""
    if not isinstance(user, str) or not USER_NAME.fullmatch(user):
        raise errors.BadUserName()
    if user in reserved_users():
        raise errors.ReservedUserName(user=user)
    return user


def accounts_of_user(user: str) -> list[str]:
    """The names of the accounts ``user`` is a live (pending, active or being removed) user of."""
    return list(
        AccountUser.objects.filter(name=user, state__in=_LIVE_USER)
        .order_by("account__name")
        .values_list("account__name", flat=True)
    )


def account_users(name: str, *, with_removed: bool = False) -> list[dict]:
    """The account's scheduler users by name: ``name``, ``state``, ``state_reason``,
    ``last_error``, ``attempts``, ``changed_by``, ``updated_at`` (removed ones only with
    ``with_removed``). An unknown account has none."""
    rows = AccountUser.objects.filter(account__name=name).order_by("name")
    if not with_removed:
        rows = rows.exclude(state=AccountUserState.REMOVED)
    return [
        {
            "name": u.name,
            "state": u.state,
            "state_label": AccountUserState(u.state).label,
            "state_reason": u.state_reason,
            "waiting_for_account": u.state == AccountUserState.PENDING and u.state_reason == WAITING_FOR_ACCOUNT,
            "last_error": u.last_error,
            "attempts": u.attempts,
            "changed_by": u.changed_by,
            "updated_at": u.updated_at,
        }
        for u in rows
    ]


def _schedule_user(user: AccountUser, delay: dt.timedelta | None = None) -> None:
    user.task_id = jobs.enqueue(user_task, user.pk, delay=delay)
    user.save(update_fields=["task_id", "updated_at"])


def _schedule_waiting_users(account: Account) -> None:
    """The account has just been provisioned: queue the users named before it opened."""
    for user in AccountUser.objects.select_for_update().filter(
        account=account, state__in=(AccountUserState.PENDING, AccountUserState.REMOVING)
    ):
        user.attempts = 0
        _schedule_user(user)


def add_user(name: str, user: str, *, actor: str = "") -> AccountUser:
    """Let the scheduler user ``user`` run jobs under the account ``name``: in one transaction
    the user is recorded ``pending`` and :func:`user_task` queued (``sacctmgr add user``; before
    the account is on the scheduler it waits and is added when it opens). A user removed or
    failed before may be named again. Nothing is written on an error.

    :raises errors.BadUserName: not a POSIX portable name (:data:`USER_NAME`).
    :raises errors.UnknownAccount, errors.AccountClosed:
    :raises errors.UserExists: already a user (pending, active or being removed).
    :raises errors.TooManyUsers: the account has :data:`MAX_USERS` already.
    """
    check_user_name(user)
    with transaction.atomic():
        account = _locked(name)
        if account.closed_at or account.state == AccountState.CLOSED:
            raise errors.AccountClosed(name=name)
        row = AccountUser.objects.select_for_update().filter(account=account, name=user).first()
        if row is not None and row.state in _LIVE_USER:
            raise errors.UserExists(user=user)
        if AccountUser.objects.filter(account=account, state__in=_LIVE_USER).count() >= MAX_USERS:
            raise errors.TooManyUsers(max=MAX_USERS)
        if row is None:
            row = AccountUser(account=account, name=user)
        row.state, row.last_error, row.attempts, row.changed_by = AccountUserState.PENDING, "", 0, actor[:150]
        row.state_reason = "queued" if account.state == AccountState.ACTIVE else WAITING_FOR_ACCOUNT
        row.save()
        _schedule_user(row)
    return row


def remove_user(name: str, user: str, *, actor: str = "") -> AccountUser:
    """Take ``user`` off the account ``name``: a user never added on the scheduler is removed at
    once; otherwise it is ``removing`` and :func:`user_task` runs ``sacctmgr remove user``.

    :raises errors.UnknownAccount:
    :raises errors.UnknownUser: not a user of the account (or removed already).
    """
    with transaction.atomic():
        account = _locked(name)
        row = AccountUser.objects.select_for_update().filter(account=account, name=user).first()
        if row is None or row.state == AccountUserState.REMOVED:
            raise errors.UnknownUser(user=user)
        row.changed_by, row.last_error, row.attempts = actor[:150], "", 0
        if account.provisioned_at is None and row.state in (AccountUserState.PENDING, AccountUserState.FAILED):
            row.state, row.state_reason, row.task_id = AccountUserState.REMOVED, "removed before the account opened", ""
            row.save()
            return row
        row.state, row.state_reason = AccountUserState.REMOVING, "queued"
        row.save()
        _schedule_user(row)
    return row


@task(takes_context=True)
def user_task(context, user_id: int) -> str:
    """Bring the scheduler to the user's row (:func:`sync_user`)."""
    return sync_user(user_id, str(context.task_result.id))


def sync_user(user_id: int, task_id: str) -> str:
    """One attempt for one user: ``pending`` → ``sacctmgr add user`` → ``active`` (while the
    account is not on the scheduler yet the user waits: provisioning queues it again);
    ``removing`` → ``sacctmgr remove user`` → ``removed``. A scheduler error is retried with
    backoff (``last_error``), after the last attempt the user is ``failed``; without a scheduler
    (``TUNGBAN_SCHEDULER=none``) a pending user stays pending with that reason and a removal
    completes (nothing exists to remove). Returns the state, or ``skipped`` when ``task_id`` is
    not the user's current task."""
    with transaction.atomic():
        row = AccountUser.objects.select_for_update().select_related("account").filter(pk=user_id).first()
        if row is None or row.task_id != task_id:
            return "skipped"
        row.attempts += 1
        row.save(update_fields=["attempts", "updated_at"])
    account = row.account
    scheduler = get_scheduler()
    removing = row.state == AccountUserState.REMOVING
    if row.state not in (AccountUserState.PENDING, AccountUserState.REMOVING):
        return row.state
    if isinstance(scheduler, NoScheduler):
        if removing:
            return _user_done(row, task_id, AccountUserState.REMOVED, "")
        return _user_done(row, task_id, AccountUserState.PENDING, NO_SCHEDULER)
    if not removing and account.state != AccountState.ACTIVE:
        return _user_done(row, task_id, AccountUserState.PENDING, WAITING_FOR_ACCOUNT)
    try:
        if removing:
            scheduler.remove_user(account.name, row.name)
            return _user_done(row, task_id, AccountUserState.REMOVED, "")
        scheduler.add_user(account.name, row.name)
        return _user_done(row, task_id, AccountUserState.ACTIVE, "")
    except SchedulerError as exc:
        log.warning("compute user %s of %s: %s", row.name, account.name, exc)
        with transaction.atomic():
            fresh = AccountUser.objects.select_for_update().get(pk=row.pk)
            if fresh.task_id != task_id:
                return "skipped"
            fresh.last_error = str(exc)[:4000]
            if jobs.can_retry(fresh.attempts):
                fresh.state_reason = "retrying"
                fresh.save(update_fields=["last_error", "state_reason", "updated_at"])
                _schedule_user(fresh, delay=jobs.retry_delay(fresh.attempts))
                return "retrying"
            fresh.state, fresh.state_reason = AccountUserState.FAILED, "the scheduler refused or did not answer"
            fresh.save(update_fields=["state", "state_reason", "last_error", "updated_at"])
            return fresh.state


def _user_done(row: AccountUser, task_id: str, state: str, reason: str) -> str:
    with transaction.atomic():
        fresh = AccountUser.objects.select_for_update().get(pk=row.pk)
        if fresh.task_id != task_id:
            return "skipped"
        fresh.state, fresh.state_reason = state, reason[:300]
        fresh.attempts = 0
        fresh.last_error = ""
        fresh.save(update_fields=["state", "state_reason", "attempts", "last_error", "updated_at"])
    return state


def total_usage_by_month(months: Iterable[dt.date]) -> dict[dt.date, int]:
    """GPU-minutes used per month (first days) by every account jobs were imported for,
    subsidised and market price alike (:func:`usage_by_month` summed): the numerator of the
    centre's utilisation."""
    names = list(Job.objects.order_by().values_list("account", flat=True).distinct())
    months = sorted({_month_start(m) for m in months})
    total = dict.fromkeys(months, 0)
    for per_month in usage_by_month(names, months).values():
        for month, minutes in per_month.items():
            total[month] += minutes
    return total
