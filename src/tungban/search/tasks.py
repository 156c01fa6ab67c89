"""Rebuilding the index in the background (issue 22): :func:`reindex_task` on ``django.tasks``
(database backend), its state visible on :class:`~tungban.search.models.IndexState`
(``reindex_state`` ``queued``/``running``/``done``/``failed``, attempts, counts, last error) and
retried with the platform's backoff (:mod:`tungban.core.jobs`)."""

from __future__ import annotations

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from tungban.core import jobs

from . import services
from .models import IndexState


def _state(**values) -> None:
    if not IndexState.objects.filter(pk=1).update(**values):
        IndexState.objects.update_or_create(pk=1, defaults=values)


def queue_reindex(kind: str | None = None) -> str:
    """Queue a rebuild of ``kind`` (default: every kind); returns the task result id."""
    with transaction.atomic():
        _state(reindex_state="queued", reindex_attempts=0, reindex_error="")
        return jobs.enqueue(reindex_task, kind)


@task
def reindex_task(kind: str | None = None) -> dict[str, int]:
    """:func:`tungban.search.services.reindex` of ``kind``; on failure the state says why and,
    while attempts remain (``TUNGBAN_TASK_MAX_ATTEMPTS``), the task is queued again later."""
    attempts = (IndexState.objects.filter(pk=1).values_list("reindex_attempts", flat=True).first() or 0) + 1
    _state(reindex_state="running", reindex_attempts=attempts)
    try:
        counts = services.reindex(kind)
    except Exception as exc:
        _state(reindex_state="failed", reindex_error=f"{type(exc).__name__}: {exc}"[:2000])
        if jobs.can_retry(attempts):
            jobs.enqueue(reindex_task, kind, delay=jobs.retry_delay(attempts))
        raise
    _state(reindex_state="done", reindexed_at=timezone.now(), reindex_counts=counts, reindex_error="")
    return counts
