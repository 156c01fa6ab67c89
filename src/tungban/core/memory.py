"""Keeping a long-running web worker's memory level (issue 14 acceptance 5).

Every Django request is a reference cycle (``AuthenticationMiddleware`` sets ``request.user``
to a lazy object whose function refers back to the request), so requests are freed by the
cyclic garbage collector, not by reference counting. A request still in flight when a young
collection runs survives it and is promoted to the oldest generation; CPython (3.11–3.13)
collects that generation only when the objects promoted since the last full collection exceed
a quarter of all long-lived objects. A loaded tungban worker holds about 170,000 long-lived
objects (modules, models, URL patterns, templates), so a full collection came after an hour
or more of traffic, and until then each promoted request — with its session, headers, body
buffers and gunicorn's request and socket objects — stayed in memory: the worker's RSS crept
0.1–0.2 MB a minute without levelling off (measured with ``bench/soak.py --tracemalloc
--tracemalloc-collect``: 300–700 unreachable objects a minute per worker, whole requests).

:func:`freeze_startup_objects` moves everything alive after start-up into the collector's
permanent generation (``gc.freeze``, Python docs "gc — Garbage Collector interface") and
collects once more, so that those objects are no longer scanned nor counted as long-lived:
full collections then run every ten collections of the middle generation (a few minutes of
traffic) and free the promoted requests. Called at the end of :mod:`tungban.wsgi`, once
per worker process.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("tungban.memory")


def freeze_startup_objects() -> int:
    """Load what the first request would (the URLconf and its views), collect, then freeze
    every object alive into the permanent generation; nothing with ``TUNGBAN_GC_FREEZE=0``.

    :returns: the number of objects frozen (``gc.get_freeze_count()``).
    """
    from django.conf import settings
    from django.urls import get_resolver

    if not settings.TUNGBAN_GC_FREEZE:
        return gc.get_freeze_count()

    try:
        get_resolver().url_patterns  # noqa: B018 - imports every view module
    except Exception:  # the first request will report it, as it would without this
        log.exception("Loading the URLconf failed")
    gc.collect()  # start-up garbage is freed, not frozen
    gc.freeze()
    # CPython counts as long-lived what survived the last full collection, and freezing does
    # not change that count: without this collection (of nothing, now) the next automatic
    # full collection would still wait for a quarter of the start-up objects to be promoted.
    gc.collect()
    return gc.get_freeze_count()
