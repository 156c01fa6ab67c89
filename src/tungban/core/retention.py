"""Purging expired protocol state on a schedule (issue 14 item 7).

Every login leaves rows that matter only until they expire: authorization codes, tokens,
``jti``s of proofs and client assertions, pushed requests, verifier nonces, approval requests,
rate-limit counters, finished background-task results, Django's sessions. Each app owns the rule for its own
tables: it registers a purge function here in its ``AppConfig.ready``::

    retention.register("oidc", services.purge_expired)

A purge function takes the time to judge expiry by (aware ``datetime``) and returns
``{table: rows deleted or updated}``. ``core`` imports no app: this registry is the only link.

:func:`purge_expired` (a ``django.tasks`` task, run by ``tungban worker``) runs them all and
schedules its own next run ``TUNGBAN_PURGE_INTERVAL`` seconds later (default 600); the worker
schedules the first run at start (:func:`ensure_scheduled`). ``tungban purge_expired`` runs the
same purge once (for cron). Audit and transparency logs, release records and the resident's
history are never registered here: only expired protocol state is. The schedule is in
``docs/operations.md``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from importlib import import_module

from django.conf import settings
from django.core.cache import caches
from django.db import connections, router, transaction
from django.tasks import TaskResultStatus, task
from django.utils import timezone

log = logging.getLogger("tungban.retention")

PurgeFunction = Callable[[dt.datetime], dict[str, int]]

_registry: dict[str, PurgeFunction] = {}
_own_transactions: set[str] = set()  # names whose function commits as it goes


def register(name: str, fn: PurgeFunction, *, own_transactions: bool = False) -> None:
    """Register ``fn`` under ``name`` (an app label); registering a name again replaces it.
    ``own_transactions``: ``fn`` commits its own transactions (e.g. it changes something
    outside the database, such as an HSM, only after a row change committed), so
    :func:`purge_all` runs it outside a transaction instead of in one."""
    _registry[name] = fn
    if own_transactions:
        _own_transactions.add(name)
    else:
        _own_transactions.discard(name)


def registered() -> dict[str, PurgeFunction]:
    """The registered purge functions, name → function (a copy)."""
    return dict(_registry)


def purge_task_results(now: dt.datetime) -> dict[str, int]:
    """Finished ``django.tasks`` results (django-tasks-db ``DBTaskResult``) whose run ended
    more than ``TUNGBAN_TASK_RESULT_RETENTION`` seconds (default 14 days) before ``now`` —
    what django-tasks-db's ``prune_db_task_results`` deletes. Jobs keep their own state."""
    from django_tasks_db.models import DBTaskResult

    cutoff = now - dt.timedelta(seconds=settings.TUNGBAN_TASK_RESULT_RETENTION)
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lte=cutoff).delete()
    return {DBTaskResult._meta.label: deleted}


def purge_ratelimit_cache(now: dt.datetime) -> dict[str, int]:
    """Rate-limit counters (the ``ratelimit`` ``DatabaseCache`` table) whose window ended
    before ``now``: Django deletes them only when the table passes ``MAX_ENTRIES``."""
    cache = caches["ratelimit"]
    table = getattr(cache, "_table", None)
    if table is None:  # not a database cache (e.g. in tests): nothing kept in the database
        return {}
    db = router.db_for_write(cache.cache_model_class)
    connection = connections[db]
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {connection.ops.quote_name(table)} WHERE expires < %s",
            [connection.ops.adapt_datetimefield_value(now.replace(microsecond=0))],
        )
        return {table: cursor.rowcount}


def purge_sessions(now: dt.datetime) -> dict[str, int]:
    """Django sessions whose ``expire_date`` is before ``now`` — what Django's
    ``clearsessions`` deletes — when ``SESSION_ENGINE`` keeps them in the database (``db``,
    ``cached_db``). Every sign-in from a new browser stores one for its pending authorization
    request; Django deletes them only when told to (found by ``bench/soak.py``). Other stores
    expire their own (cache, signed cookies): nothing is done for them."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store, "get_model_class"):
        return {}
    model = store.get_model_class()
    return {model._meta.label: model.objects.filter(expire_date__lt=now).delete()[0]}


register("tasks", purge_task_results)
register("ratelimit", purge_ratelimit_cache)
register("sessions", purge_sessions)


def purge_all(now: dt.datetime | None = None) -> dict[str, int]:
    """Run every registered purge function, each in its own transaction (those registered
    with ``own_transactions`` outside one); returns ``{table: count}`` over all of them. A
    function that fails is logged and skipped (the others still run); the next run tries
    it again."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    for name, fn in registered().items():
        try:
            with contextlib.nullcontext() if name in _own_transactions else transaction.atomic():
                counts.update(fn(now))
        except Exception:
            log.exception("Purging %s failed", name)
    return counts


def _pending():
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=purge_expired.module_path, status=TaskResultStatus.READY)


def ensure_scheduled(delay: float | None = None) -> bool:
    """Queue :func:`purge_expired` to run after ``delay`` seconds (default
    ``TUNGBAN_PURGE_INTERVAL``) unless a run is already waiting; returns whether it queued one.
    Two workers starting at once may both queue one: each run re-schedules only when no other
    run is waiting, so duplicates die out after one round. ``TUNGBAN_PURGE_INTERVAL = 0``
    turns the schedule off (e.g. cron runs ``tungban purge_expired`` instead)."""
    if not settings.TUNGBAN_PURGE_INTERVAL or _pending().exists():
        return False
    from .jobs import enqueue

    seconds = settings.TUNGBAN_PURGE_INTERVAL if delay is None else delay
    enqueue(purge_expired, delay=dt.timedelta(seconds=seconds) if seconds else None)
    return True


@task
def purge_expired() -> dict[str, int]:
    """The scheduled purge: :func:`purge_all` now, then the next run in
    ``TUNGBAN_PURGE_INTERVAL`` seconds (:func:`ensure_scheduled`). Returns the counts."""
    counts = purge_all()
    log.info("Purged expired rows: %s", {k: v for k, v in counts.items() if v})
    ensure_scheduled()
    return counts
