"""Scheduler adapters (issue 20, part B): the platform's only contact with the batch scheduler.

:class:`Scheduler` is the protocol; :class:`SlurmAdapter` speaks to Slurm through its command
line clients (``sacctmgr``, ``sacct``, ``squeue``) with ``subprocess`` (an argument list, never
a shell) and ``--parsable2 --noheader`` output; :class:`NoScheduler` is for a platform without a
cluster (``TUNGBAN_SCHEDULER=none``): accounts stay ``pending`` with that reason.

Slurm's terms (https://slurm.schedmd.com/sacctmgr.html, resource_limits.html): an *account* is
an association under the cluster's root; ``GrpTRESMins=gres/gpu=<N>`` caps the GPU-minutes that
all jobs of the account may use (with ``AccountingStorageEnforce=limits,safe`` a job starts
only if it can finish within what is left; otherwise it pends with reason
``AssocGrpGRESMinutes``); a *user* runs jobs under an account once it has an association with it.

Settings: ``TUNGBAN_SCHEDULER`` (``slurm`` | ``none``), ``TUNGBAN_SLURM_CLUSTER`` (the
``ClusterName``), ``TUNGBAN_SLURM_CONF`` (path of ``slurm.conf`` for the clients, given to them
as ``SLURM_CONF``; empty: the clients' default), ``TUNGBAN_SLURM_BIN`` (directory of the
clients; empty: ``PATH``), ``TUNGBAN_SLURM_TIMEOUT`` (seconds per command).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path
from typing import Protocol

from django.conf import settings

#: The sacct fields :func:`tungban.compute.services.parse_sacct` reads, in this order.
SACCT_FIELDS = ("Cluster", "JobIDRaw", "Account", "User", "State", "Submit", "Start", "End", "ElapsedRaw", "AllocTRES")


class SchedulerError(RuntimeError):
    """A scheduler command failed (the message holds the command and its output)."""


class SchedulerUnavailable(SchedulerError):
    """No scheduler is configured (``TUNGBAN_SCHEDULER=none``)."""


class Scheduler(Protocol):
    cluster: str

    def ensure_account(
        self, name: str, *, gpu_minutes: int, description: str, organization: str, users: list[str]
    ) -> None:
        """Create the account (or bring an existing one) to this limit, with these users."""

    def set_limit(self, name: str, gpu_minutes: int) -> None:
        """Set the account's GPU-minutes limit."""

    def add_user(self, name: str, user: str) -> None:
        """Let ``user`` run jobs under the account (idempotent)."""

    def remove_user(self, name: str, user: str) -> None:
        """Take ``user``'s association with the account away (idempotent)."""

    def show_account(self, name: str) -> dict | None:
        """``{"limit_gpu_minutes": int | None, "users": [str]}`` or None if there is none."""

    def accounting(self, since: dt.datetime, until: dt.datetime) -> str:
        """sacct's ``--parsable2 --noheader`` text of :data:`SACCT_FIELDS` for every job of
        any user that was pending or running between ``since`` and ``until`` (UTC)."""

    def pending_reasons(self) -> dict[str, str]:
        """``{job id: reason}`` of the jobs waiting now (e.g. ``AssocGrpGRESMinutes``)."""


class NoScheduler:
    """``TUNGBAN_SCHEDULER=none``: every operation raises :class:`SchedulerUnavailable`."""

    cluster = ""

    def _none(self, *args, **kwargs):
        raise SchedulerUnavailable("no scheduler is configured (TUNGBAN_SCHEDULER=none)")

    ensure_account = set_limit = show_account = accounting = pending_reasons = add_user = remove_user = _none


def _utc(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


class SlurmAdapter:
    """Slurm through its clients, run as the platform's own OS user: that user must be a Slurm
    administrator (``sacctmgr add user <u> adminlevel=Operator``, or root) to add accounts and
    set limits, and ``sacct --allusers`` must show it every job (it does for an operator).
    Times are exchanged in UTC (the clients run with ``TZ=UTC``)."""

    def __init__(self, *, cluster: str, conf: str = "", bin_dir: str = "", timeout: float = 60):
        self.cluster = cluster
        self.conf = conf
        self.bin_dir = bin_dir
        self.timeout = timeout

    def _run(self, program: str, *args: str, ok_codes=(0,)) -> subprocess.CompletedProcess:
        exe = str(Path(self.bin_dir) / program) if self.bin_dir else program
        env = {**os.environ, "TZ": "UTC", "SLURM_TIME_FORMAT": "%Y-%m-%dT%H:%M:%S"}
        if self.conf:
            env["SLURM_CONF"] = self.conf
        try:
            done = subprocess.run(
                [exe, *args], capture_output=True, text=True, timeout=self.timeout, env=env, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SchedulerError(f"{program} {' '.join(args)}: {exc}") from exc
        if done.returncode not in ok_codes:
            out = (done.stderr or done.stdout).strip()
            raise SchedulerError(f"{program} {' '.join(args)}: exit {done.returncode}: {out}")
        return done

    def _sacctmgr(self, *args: str, ok_codes=(0,)) -> str:
        return self._run("sacctmgr", "-i", *args, ok_codes=ok_codes).stdout

    def show_account(self, name: str) -> dict | None:
        out = self._run(
            "sacctmgr", "--parsable2", "--noheader", "show", "assoc",
            "where", f"account={name}", f"cluster={self.cluster}", "format=account,user,grptresmins",
        ).stdout  # fmt: skip
        rows = [line.split("|") for line in out.splitlines() if line.strip()]
        rows = [r for r in rows if r[0] == name]
        if not rows:
            return None
        limit = None
        for _account, user, tres in rows:
            if not user:
                limit = parse_tres(tres).get("gres/gpu")
        return {"limit_gpu_minutes": limit, "users": sorted(r[1] for r in rows if r[1])}

    def ensure_account(
        self, name: str, *, gpu_minutes: int, description: str, organization: str, users: list[str]
    ) -> None:
        existing = self.show_account(name)
        if existing is None:
            self._sacctmgr(
                "add", "account", name, f"cluster={self.cluster}",
                f"Description={description or name}", f"Organization={organization or name}",
                f"GrpTRESMins=gres/gpu={int(gpu_minutes)}",
            )  # fmt: skip
            existing = {"limit_gpu_minutes": gpu_minutes, "users": []}
        elif existing["limit_gpu_minutes"] != gpu_minutes:
            self.set_limit(name, gpu_minutes)
        for user in users:
            if user not in existing["users"]:
                self._sacctmgr("add", "user", f"name={user}", f"account={name}", f"cluster={self.cluster}")

    def set_limit(self, name: str, gpu_minutes: int) -> None:
        self._sacctmgr(
            "modify", "account", "where", f"name={name}", f"cluster={self.cluster}",
            "set", f"GrpTRESMins=gres/gpu={int(gpu_minutes)}",
        )  # fmt: skip

    def add_user(self, name: str, user: str) -> None:
        """``sacctmgr -i add user name=<user> account=<name> cluster=<cluster>`` unless the
        association exists (https://slurm.schedmd.com/sacctmgr.html, "add user")."""
        existing = self.show_account(name)
        if existing is None:
            raise SchedulerError(f"sacctmgr: there is no account {name} on cluster {self.cluster}")
        if user not in existing["users"]:
            self._sacctmgr("add", "user", f"name={user}", f"account={name}", f"cluster={self.cluster}")

    def remove_user(self, name: str, user: str) -> None:
        """``sacctmgr -i remove user name=<user> account=<name> cluster=<cluster>`` when the
        association exists (nothing to do otherwise). Slurm refuses to remove a user's default
        account while it has others: the error is the task's."""
        existing = self.show_account(name)
        if existing is None or user not in existing["users"]:
            return
        self._sacctmgr("remove", "user", f"name={user}", f"account={name}", f"cluster={self.cluster}")

    def accounting(self, since: dt.datetime, until: dt.datetime) -> str:
        until = until + dt.timedelta(seconds=1)  # sacct takes whole seconds: include `until`
        return self._run(
            "sacct", "--allusers", "--allocations", "--parsable2", "--noheader", "--duplicates",
            f"--clusters={self.cluster}", f"--starttime={_utc(since)}", f"--endtime={_utc(until)}",
            f"--format={','.join(SACCT_FIELDS)}",
        ).stdout  # fmt: skip

    def pending_reasons(self) -> dict[str, str]:
        out = self._run(
            "squeue", "--noheader", "--states=PENDING", f"--clusters={self.cluster}", "--format=%i|%r"
        ).stdout
        reasons = {}
        for line in out.splitlines():
            if "|" in line:
                job, reason = line.split("|", 1)
                reasons[job.strip()] = reason.strip()
        return reasons


def parse_tres(text: str) -> dict[str, int]:
    """``"billing=1,cpu=1,gres/gpu=2,node=1"`` → ``{"billing": 1, "cpu": 1, "gres/gpu": 2, "node": 1}``
    (Slurm's TRES strings; a typed GPU ``gres/gpu:a100=2`` is kept under its own name)."""
    found = {}
    for part in (text or "").split(","):
        key, sep, value = part.partition("=")
        if sep and value.strip().isdigit():
            found[key.strip()] = int(value)
    return found


def get_scheduler() -> Scheduler:
    """The configured adapter (``TUNGBAN_SCHEDULER``)."""
    kind = getattr(settings, "TUNGBAN_SCHEDULER", "none")
    if kind == "slurm":
        return SlurmAdapter(
            cluster=settings.TUNGBAN_SLURM_CLUSTER,
            conf=settings.TUNGBAN_SLURM_CONF,
            bin_dir=settings.TUNGBAN_SLURM_BIN,
            timeout=settings.TUNGBAN_SLURM_TIMEOUT,
        )
    return NoScheduler()
