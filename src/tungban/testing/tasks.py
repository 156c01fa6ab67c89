"""Run queued background tasks in the test process (no ``tungban worker``).

``run_queued_tasks()`` runs every ready task of the database queue, including the tasks those
tasks queue, until none is left, with django-tasks-db's own ``Worker.run_task`` (so results,
errors and signals are recorded as a real worker records them). It works inside a test's
transaction: unlike the worker's loop it never closes the connection.
"""

from __future__ import annotations

from django.tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

WORKER_ID = "pytest"


def run_queued_tasks(*, include_deferred: bool = False, limit: int = 10_000) -> int:
    """Run ready tasks until the queue is empty; returns how many ran.

    :param include_deferred: also run tasks deferred to a later time (retries with backoff).
    :raises RuntimeError: more than ``limit`` tasks ran (a task that re-queues for ever).
    """
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=WORKER_ID,
        excluded_queue_names=[],
    )
    ran = 0
    while True:
        pending = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
        if not include_deferred:
            pending = DBTaskResult.objects.ready()
        row = pending.first()
        if row is None:
            return ran
        if ran >= limit:
            raise RuntimeError(f"more than {limit} tasks ran: does a task re-queue itself for ever?")
        row.claim(WORKER_ID)
        worker.run_task(row)
        ran += 1


def run_queued_tasks_in_thread(**kwargs) -> int:
    """:func:`run_queued_tasks` in a thread of its own, for Chromium tests: tasks that run
    asyncio (pyHanko's signing and sealing) cannot run in the test's thread, where
    Playwright's sync API keeps an event loop running. The demo and production run
    ``tungban worker``. Returns how many ran; an error in the thread is raised here."""
    import threading

    from django.db import connection

    outcome: dict = {}

    def work():
        try:
            outcome["ran"] = run_queued_tasks(**kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome["error"] = exc
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["ran"]


# --- A real `tungban worker` in a subprocess ---------------------------------------------------


def worker_environment() -> dict[str, str]:
    """Environment for a ``tungban worker`` subprocess that works on this test run's database
    (the file-based SQLite test database, or PostgreSQL's test database when ``DATABASE_URL``
    is set) with this run's secret key, so it can use the keys the test made."""
    import os
    from pathlib import Path
    from urllib.parse import quote

    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        name = db["NAME"]
        if not name or str(name).startswith(":memory:") or "mode=memory" in str(name):
            raise RuntimeError("a worker subprocess needs a file-based SQLite test database (TEST NAME)")
        url = f"sqlite:///{Path(name).resolve()}"
    elif connection.vendor == "postgresql":
        auth = quote(db["USER"] or "")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"])
        url = f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    else:
        raise RuntimeError(f"no worker subprocess for {connection.vendor}")
    src = str(Path(__file__).resolve().parents[2])
    return {
        **os.environ,
        "DATABASE_URL": url,
        "TUNGBAN_SECRET_KEY": settings.SECRET_KEY,
        "TUNGBAN_VAR_DIR": str(settings.VAR_DIR),
        "TUNGBAN_ISSUER": settings.TUNGBAN_ISSUER,
        "TUNGBAN_KEYSTORE": settings.TUNGBAN_KEYSTORE,
        "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "DJANGO_SETTINGS_MODULE": "tungban.settings",
    }


def start_worker(*args: str, log_path=None):
    """Start ``tungban worker`` (``python -m tungban.cli worker``) as a subprocess; its output
    goes to ``log_path`` (or is discarded). Returns the :class:`subprocess.Popen`."""
    import subprocess
    import sys

    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed by the caller's wait
    return subprocess.Popen(
        [sys.executable, "-m", "tungban.cli", "worker", "--interval", "0.2", "--reclaim-every", "1", *args],
        env=worker_environment(),
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def wait_for(condition, *, timeout: float, what: str, process=None, interval: float = 0.2):
    """Poll ``condition()`` until it returns a truthy value (returned); fail after
    ``timeout`` seconds, or at once if ``process`` (a worker) has exited."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the worker exited ({process.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
