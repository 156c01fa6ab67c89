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
