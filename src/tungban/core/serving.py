"""How the web processes are run: the one place that builds the server's command line, used
by ``tungban serve`` (production, the systemd unit), ``tungban demo`` and ``bench/bulkhead.py``.

Today the server is gunicorn with **gthread** workers (issue 14 item 1): each of
``TUNGBAN_WEB_WORKERS`` processes (default: one per core) serves ``TUNGBAN_WEB_THREADS``
requests at once (default 8), so a request waiting on a data provider holds one thread, not
the whole process, and logins keep being served (measured in ``bench/bulkhead.py``: see
``bench/README.md``). ``TUNGBAN_WEB_THREADS=1`` gives gunicorn's sync workers. A comparison of
other servers (issue 15) changes this module only.

Each thread keeps its own database connection (``TUNGBAN_DB_CONN_MAX_AGE``): a host holds up to
workers × threads connections, which PostgreSQL's ``max_connections`` (or PgBouncer) must allow.
"""

from __future__ import annotations

import os
import sys

from django.conf import settings


def gunicorn_command(
    bind: str,
    *,
    workers: int | None = None,
    threads: int | None = None,
    timeout: int | None = None,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """The argv that runs the platform (``python -m gunicorn tungban.wsgi ...``) on ``bind``
    (``HOST:PORT``, ``unix:PATH`` or ``fd://N``); unset arguments come from the settings
    ``TUNGBAN_WEB_WORKERS``, ``TUNGBAN_WEB_THREADS`` and ``TUNGBAN_WEB_TIMEOUT`` (seconds a
    worker may stay silent before the master restarts it)."""
    workers = workers or settings.TUNGBAN_WEB_WORKERS or os.cpu_count() or 2
    threads = threads or settings.TUNGBAN_WEB_THREADS
    timeout = timeout or settings.TUNGBAN_WEB_TIMEOUT
    kind = ["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else ["--worker-class", "sync"]
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "tungban.wsgi",
        "--bind",
        bind,
        "--workers",
        str(workers),
        *kind,
        "--timeout",
        str(timeout),
        *extra,
    ]
