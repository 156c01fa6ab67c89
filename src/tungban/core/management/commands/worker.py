"""``tungban worker``: run the platform's background tasks (bulk issuance, bulk signing,
callbacks; ``django.tasks``, Django 6).

A thin wrapper around django-tasks-db's ``db_worker`` (every option of ``db_worker --help``
works here) that adds what a queue kept in the platform's own database needs after a crash:

* **Orphan recovery.** django-tasks-db leaves a task ``RUNNING`` for ever when its worker
  dies uncleanly (SIGKILL, OOM, power loss; upstream issue RealOrangeOne/django-tasks#46).
  Each worker id here is ``host:pid:random``; at start and every ``--reclaim-every`` seconds
  the worker queues again every running task whose worker, on this host, is no longer alive,
  or that started more than ``TUNGBAN_TASK_STALE_SECONDS`` ago (a worker on another host).
  Our tasks are idempotent (each chunk, document and callback is stored once), so a re-run
  finishes the job without duplicates. A task orphaned ``TUNGBAN_TASK_MAX_ATTEMPTS`` times
  is marked failed instead (a poison task must not crash workers for ever).
* **The scheduled purge** of expired protocol state (:mod:`tungban.core.retention`): queued
  at start unless a run is already waiting; each run queues the next.
* **No statement bounds:** a bulk job's chunk may wait for another worker's chunk and run
  longer than a web request may (``TUNGBAN_DB_STATEMENT_TIMEOUT_MS``,
  ``TUNGBAN_DB_LOCK_TIMEOUT_MS``), so the worker's sessions are unbounded
  (:func:`tungban.core.db.unbounded`, issue 14 item 8).
* **Defaults for a service:** all queues, no autoreload, no start delay (``--startup-delay``
  spreads many workers started together).

Run one next to the web server (``tungban worker``); on PostgreSQL run as many as needed on
any hosts: tasks are claimed with ``SELECT … FOR UPDATE SKIP LOCKED``. On SQLite run one.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time

from django.conf import settings
from django.core.management.base import CommandError
from django.db import transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from tungban.core import retention
from tungban.core.db import unbounded

log = logging.getLogger("tungban.worker")


def _node() -> str:
    """This machine and PID namespace: the host name plus the namespace's inode, so that two
    containers sharing a host name never read each other's process ids (``pid_namespaces(7)``)."""
    try:
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        namespace = "0"
    return f"{socket.gethostname()[:30]}/{namespace}"[:42]


HOST = _node()


def new_worker_id() -> str:
    """``host/pid-namespace:pid:random`` (at most 64 characters, django-tasks-db's limit)."""
    return f"{HOST}:{os.getpid()}:{get_random_string(12)}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process with that pid: alive
        return True
    return True


def _orphaned(row: DBTaskResult, stale_before: dt.datetime) -> bool:
    owner = row.worker_ids[-1] if row.worker_ids else ""
    host, _, rest = str(owner).partition(":")
    pid = rest.partition(":")[0]
    stale = row.started_at is None or row.started_at < stale_before
    if host == HOST and pid.isdigit() and int(pid) != os.getpid():
        # Dead here: reclaim at once. Alive: only once stale, as the pid may have been reused.
        return stale or not _alive(int(pid))
    return stale


def reclaim_orphaned_tasks(backend_name: str = "default") -> int:
    """Queue again (status ``READY``) the running tasks whose worker died; fail those that
    have lost ``TUNGBAN_TASK_MAX_ATTEMPTS`` workers. Returns how many were queued again.

    Each change is a compare-and-set on (status, started_at), so two workers reclaiming at
    once, or a slow worker finishing meanwhile, never lose or double a task.
    """
    now = timezone.now()
    stale_before = now - dt.timedelta(seconds=settings.TUNGBAN_TASK_STALE_SECONDS)
    requeued = 0
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, backend_name=backend_name)
    for row in running.only("id", "worker_ids", "started_at"):
        if not _orphaned(row, stale_before):
            continue
        same = DBTaskResult.objects.filter(pk=row.pk, status=TaskResultStatus.RUNNING, started_at=row.started_at)
        with transaction.atomic():
            if len(row.worker_ids) >= settings.TUNGBAN_TASK_MAX_ATTEMPTS:
                failed = same.update(
                    status=TaskResultStatus.FAILED,
                    finished_at=now,
                    exception_class_path="tungban.core.jobs.WorkerLost",
                    traceback=f"The worker running this task died {len(row.worker_ids)} times.",
                )
                if failed:
                    log.error("Task %s failed: its worker died %d times", row.pk, len(row.worker_ids))
                    _send_finished(row.pk)
            elif same.update(status=TaskResultStatus.READY):
                requeued += 1
                log.warning("Task %s queued again: its worker %s died", row.pk, row.worker_ids[-1:])
    return requeued


def _send_finished(pk) -> None:
    from django.tasks.signals import task_finished

    try:
        result = DBTaskResult.objects.get(pk=pk).task_result
    except Exception:  # the task's code is gone: nothing can react to it
        log.exception("Task %s cannot be loaded", pk)
        return
    task_finished.send(sender=type(result.task.get_backend()), task_result=result)


class _Worker(db_worker.Worker):
    """django-tasks-db's worker, run in rounds: recover orphans, drain the queue, sleep."""

    def __init__(self, *, reclaim_every: float, keep_running: bool, **kwargs):
        super().__init__(**kwargs)
        self.reclaim_every = reclaim_every
        self.keep_running = keep_running
        self._reclaimed_at = 0.0

    def reclaim(self, force: bool = False) -> None:
        if force or time.monotonic() - self._reclaimed_at >= self.reclaim_every:
            reclaim_orphaned_tasks(self.backend_name)
            self._reclaimed_at = time.monotonic()

    def run(self) -> None:
        self.reclaim(force=True)
        # The scheduled purge of expired protocol state (issue 14 item 7): queued here once
        # (unless a run is already waiting); each run queues the next.
        retention.ensure_scheduled(delay=0)
        while True:
            super().run()  # batch mode: returns once no task is ready
            self.startup_delay = False
            if not (self.running and self.keep_running):
                return
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                return
            time.sleep(self.interval)
            self.reclaim()


class _QuietRounds(logging.Filter):
    """Log the start once, and not the "no more tasks" line, of each round of batch mode."""

    started = False

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("Starting worker"):
            seen, self.started = self.started, True
            return not seen
        return not message.startswith("No more tasks to run")


class Command(db_worker.Command):
    help = (
        "Run background tasks (bulk issuance, bulk signing, callbacks). Recovers tasks of "
        "workers that died; see `db_worker --help` for the other options."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--reclaim-every",
            type=db_worker.valid_interval,
            default=30.0,
            help="Seconds between checks for tasks of dead workers (default: %(default)r)",
        )
        parser.add_argument(
            "--startup-delay",
            action="store_true",
            dest="startup_delay",
            help="Wait up to a second at start (spreads many workers started together).",
        )
        parser.set_defaults(queue_name="*", reload=False, startup_delay=False, worker_id=None)

    def handle(self, *, verbosity, queue_name, exclude_queues, reclaim_every, batch, worker_id, **options):
        self.configure_logging(verbosity)
        logging.getLogger("django_tasks_db").addFilter(_QuietRounds())
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        if options["reload"]:
            raise CommandError("tungban worker does not reload; restart it after a code change.")
        worker = _Worker(
            queue_names=queue_names,
            excluded_queue_names=excluded,
            interval=options["interval"],
            batch=True,  # each round drains the queue; keep_running decides whether to go on
            keep_running=not batch,
            reclaim_every=reclaim_every,
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=db_worker.validate_worker_id(worker_id) if worker_id else new_worker_id(),
        )
        worker.configure_signals()
        with unbounded():  # bulk jobs are not web requests: no lock or statement timeout
            worker.run()
