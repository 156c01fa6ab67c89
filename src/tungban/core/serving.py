"""How the web processes are run: the one place that builds the server's command line, used
by ``tungban serve`` (production, the systemd unit), ``tungban demo``, the benchmarks
(``bench/``, through :func:`tungban.testing.servers.start_server`) and the fault-injection
tests (:mod:`tungban.testing.faults`).

Servers (``TUNGBAN_WEB_SERVER``; issue 15, first bullet, figures in ``bench/README.md``,
"Issue 15: the HTTP server"):

* ``granian`` (the default): a Rust HTTP server running the WSGI application
  (``tungban.wsgi``) in ``TUNGBAN_WEB_WORKERS`` processes of ``TUNGBAN_WEB_THREADS``
  *blocking threads* each. HTTP/1.1 keep-alive is on and the HTTP parsing, the connection
  handling and the response writing are Rust, outside the GIL. A request waiting on a data
  provider holds one thread, not the process (issue 14 item 1's bulkhead). Granian's
  ``--backpressure`` is left at its default (backlog / workers): it bounds the *connections*
  a process holds, idle keep-alive ones included, so a bound of ``threads`` would leave new
  connections waiting behind idle ones (seen: logins stalled). A worker that dies is started
  again (``--respawn-failed-workers``); ``SIGHUP`` replaces the workers one by one
  (``--respawn-interval`` s apart); ``SIGTERM`` stops taking connections, lets the running
  requests finish and kills what is left after ``--workers-kill-timeout`` (the graceful
  timeout). A worker respawned that dies again within :data:`CRASH_LOOP_SECONDS` stops
  granian altogether (its crash-loop guard): the supervisor restarts it. Granian has **no
  per-request timeout** (gunicorn's ``--timeout``): a stuck request
  is bounded by what it waits on: PostgreSQL's ``statement_timeout`` and ``lock_timeout``
  (``TUNGBAN_DB_STATEMENT_TIMEOUT_MS``, ``TUNGBAN_DB_LOCK_TIMEOUT_MS``), the data providers'
  connect and read timeouts and circuit breakers (``tungban.exchange.resilience``), the
  verifier children's time bound (``tungban.signing.isolation``); ``TUNGBAN_WEB_TIMEOUT`` is
  granian's header read timeout (a client that never finishes its request head).
  Granian workers each bind the port (``SO_REUSEPORT``), so granian cannot take an inherited
  socket: ``fd://N`` is refused.
* ``gunicorn-gthread``: gunicorn with gthread workers (issue 14 item 1), keep-alive
  :data:`KEEP_ALIVE` s, ``--timeout`` restarts a worker silent for ``TUNGBAN_WEB_TIMEOUT`` s.
* ``gunicorn-sync``: gunicorn's sync workers (one request per process, no keep-alive): the
  figures before issue 14; only to compare.
* ``uvicorn``: uvicorn's workers on the ASGI application (``tungban.asgi``), keep-alive
  :data:`KEEP_ALIVE` s. Django runs every synchronous view of a process in **one** thread
  under ASGI (``sync_to_async(thread_sensitive=True)``), so a request waiting on a provider
  holds the whole process: no bulkhead. Only to compare.

Each thread keeps its own database connection (``TUNGBAN_DB_CONN_MAX_AGE``): a host holds up to
workers × threads connections, which PostgreSQL's ``max_connections`` (or PgBouncer) must allow.
"""

from __future__ import annotations

import os
import sys

from django.conf import settings

#: Granian stops (exit status 1) when a worker it respawned dies again within this many
#: seconds of the respawn (its crash-loop guard, fixed in granian 2.8: ``server/common.py``);
#: systemd's ``Restart=always`` then starts it again (docs/systemd/tungban-web.service).
CRASH_LOOP_SECONDS = 5.5
#: The servers :func:`server_command` knows; the first is the default.
SERVERS = ("granian", "gunicorn-gthread", "gunicorn-sync", "uvicorn")
#: Seconds an idle keep-alive connection is kept open (gunicorn, uvicorn; granian keeps it
#: until the client closes it). Longer than a load balancer's idle timeout (60 s on the usual
#: ones), so that the client side closes idle connections: a server that closes one as the
#: client reuses it gives that request a connection reset (seen at 5 s in ``bench/oidc.py``'s
#: logins under gunicorn-gthread on a loaded machine). Idle connections hold no thread in
#: gthread workers.
KEEP_ALIVE = 75


class UnsupportedBind(ValueError):
    """The server cannot listen on this kind of address (granian and ``fd://N``)."""


def default_server() -> str:
    """``TUNGBAN_WEB_SERVER`` (one of :data:`SERVERS`; default ``granian``).

    :raises ValueError: an unknown name."""
    name = settings.TUNGBAN_WEB_SERVER or SERVERS[0]
    if name not in SERVERS:
        raise ValueError(f"TUNGBAN_WEB_SERVER={name!r}: expected one of {', '.join(SERVERS)}")
    return name


def server_command(
    bind: str,
    *,
    server: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    timeout: int | None = None,
    graceful_timeout: int | None = None,
    access_log: bool = False,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """The argv that runs the platform on ``bind`` (``HOST:PORT``, ``unix:PATH``, or
    ``fd://N`` an inherited listening socket: gunicorn and uvicorn only) under ``server``
    (one of :data:`SERVERS`; default :func:`default_server`). Unset arguments come from the
    settings ``TUNGBAN_WEB_WORKERS`` (processes; 0: one per core), ``TUNGBAN_WEB_THREADS``
    (requests a process serves at once) and ``TUNGBAN_WEB_TIMEOUT`` (s; see the module
    docstring for what it bounds under each server). ``graceful_timeout`` (s): how long a
    stopping worker may finish its requests. ``extra`` is passed to the server as it is, last.

    :raises ValueError: an unknown server. :raises UnsupportedBind: granian with ``fd://N``."""
    server = server or default_server()
    if server not in SERVERS:
        raise ValueError(f"unknown server {server!r}: expected one of {', '.join(SERVERS)}")
    workers = workers or settings.TUNGBAN_WEB_WORKERS or os.cpu_count() or 2
    threads = threads or settings.TUNGBAN_WEB_THREADS
    timeout = timeout or settings.TUNGBAN_WEB_TIMEOUT
    if server == "granian":
        argv = _granian(bind, workers, threads, timeout, graceful_timeout, access_log)
    elif server == "uvicorn":
        argv = _uvicorn(bind, workers, graceful_timeout, access_log)
    else:
        argv = _gunicorn(bind, workers, 1 if server == "gunicorn-sync" else threads, timeout, graceful_timeout)
        if access_log:
            argv += ["--access-logfile", "-"]
    return [*argv, *extra]


def gunicorn_command(
    bind: str,
    *,
    workers: int | None = None,
    threads: int | None = None,
    timeout: int | None = None,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """gunicorn's argv as before issue 15 (gthread workers, sync with ``threads=1``): kept for
    callers that pass gunicorn options in ``extra``; new code calls :func:`server_command`."""
    threads = threads or settings.TUNGBAN_WEB_THREADS
    server = "gunicorn-gthread" if threads > 1 else "gunicorn-sync"
    return server_command(bind, server=server, workers=workers, threads=threads, timeout=timeout, extra=extra)


def _split(bind: str) -> tuple[str, str]:
    """``HOST:PORT`` (``[v6]:PORT`` too) as ``(host, port)``."""
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"bind {bind!r}: expected HOST:PORT, unix:PATH or fd://N")
    return host.strip("[]"), port


def _where(bind: str) -> list[str]:
    """granian's and uvicorn's options for ``bind`` (``HOST:PORT``, ``unix:PATH``, ``fd://N``;
    both name them alike)."""
    if bind.startswith("fd://"):
        return ["--fd", bind.removeprefix("fd://")]
    if bind.startswith("unix:"):
        return ["--uds", bind.removeprefix("unix:")]
    host, port = _split(bind)
    return ["--host", host, "--port", port]


def _granian(bind, workers, threads, timeout, graceful_timeout, access_log) -> list[str]:
    if bind.startswith("fd://"):
        raise UnsupportedBind("granian binds its own socket (SO_REUSEPORT): give HOST:PORT or unix:PATH")
    where = _where(bind)
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "tungban.wsgi:application",
        *where,
        "--workers",
        str(workers),
        "--blocking-threads",
        str(threads),
        "--http",
        "1",
        "--http1-keep-alive",
        "--no-ws",
        "--http1-header-read-timeout",
        str(min(60, timeout) * 1000),
        "--respawn-failed-workers",
        "--respawn-interval",
        "1",
        "--workers-kill-timeout",
        str(max(1, graceful_timeout or 30)),
        "--log-level",
        "warning",
        *(["--access-log"] if access_log else ["--no-access-log"]),
    ]


def _gunicorn(bind, workers, threads, timeout, graceful_timeout) -> list[str]:
    kind = (
        ["--worker-class", "gthread", "--threads", str(threads), "--keep-alive", str(KEEP_ALIVE)]
        if threads > 1
        else ["--worker-class", "sync"]
    )
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
        *(["--graceful-timeout", str(graceful_timeout)] if graceful_timeout else []),
    ]


def _uvicorn(bind, workers, graceful_timeout, access_log) -> list[str]:
    where = _where(bind)
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "tungban.asgi:application",
        *where,
        # At least two: with one, uvicorn runs the app in its own process and nobody restarts it.
        "--workers",
        str(max(2, workers)),
        "--http",
        "httptools",
        "--loop",
        "uvloop",
        "--lifespan",
        "off",
        "--timeout-keep-alive",
        str(KEEP_ALIVE),
        *(["--timeout-graceful-shutdown", str(graceful_timeout)] if graceful_timeout else []),
        *([] if access_log else ["--no-access-log"]),
    ]
