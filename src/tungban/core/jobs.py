"""Helpers for background jobs on ``django.tasks`` (run by ``tungban worker``).

A *job* is a domain row with a visible state (e.g. ``IssuanceBatch.state``); its work runs as
one or more ``django.tasks`` tasks. These helpers give every app the same retry rule:
``TUNGBAN_TASK_MAX_ATTEMPTS`` attempts, exponential backoff from
``TUNGBAN_TASK_RETRY_DELAY`` seconds, using the backend's ``run_after`` (deferred tasks).

With the database backend (django-tasks-db), :func:`enqueue` inside ``transaction.atomic``
writes the task row in the same transaction as the job's state: both or neither.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone


class WorkerLost(RuntimeError):
    """A task ended without its own handler running: the workers that ran it died (reported
    by ``tungban worker``, which marks the task failed with this class)."""


def retry_delay(attempt: int) -> dt.timedelta:
    """Wait before attempt ``attempt + 1`` (``attempt`` ≥ 1 failed so far): the base delay,
    doubled per earlier failure, at most an hour."""
    seconds = settings.TUNGBAN_TASK_RETRY_DELAY * (2 ** max(attempt - 1, 0))
    return dt.timedelta(seconds=min(seconds, 3600))


def can_retry(attempt: int) -> bool:
    """Whether a job that has failed ``attempt`` times gets another try."""
    return attempt < settings.TUNGBAN_TASK_MAX_ATTEMPTS


def enqueue(task, *args, delay: dt.timedelta | None = None, **kwargs) -> str:
    """Queue ``task(*args, **kwargs)``, to run no sooner than ``delay`` from now; returns the
    task result id (keep it on the job to recognise the current run)."""
    if delay:
        task = task.using(run_after=timezone.now() + delay)
    return str(task.enqueue(*args, **kwargs).id)
