"""Key-ring versions pushed by PostgreSQL (issue 15: JWKS without a query per request).

Each worker process that serves the JWKS through :mod:`tungban.core.front` keeps one
PostgreSQL connection of its own (psycopg, autocommit, outside Django's connection handling)
in a daemon thread, ``LISTEN``-ing on :data:`CHANNEL`. :func:`tungban.keys.services.bump_version`
sends ``NOTIFY`` on that channel (``pg_notify``, payload ``"<name> <generation>"``) in the
same transaction that writes the new :class:`~.models.KeyRingVersion`; PostgreSQL delivers a
notification only when that transaction commits, and in commit order (PostgreSQL 17, ``NOTIFY``
§Notes), so the thread sees every committed generation, never a rolled-back one.

:func:`generation` answers from this process's memory:

* while the thread is connected (it ran ``LISTEN`` and then read every version once): the
  generation last committed, as far as this worker knows;
* otherwise ``None``: at start-up, after a database restart or any fault of the connection,
  until the thread has connected again and re-read the versions. Callers then read the
  version from the database on each request (:func:`tungban.keys.services.version`), as
  before issue 15: correctness first.

``LISTEN`` comes before the read, so a change committed between the two is both seen by the read
and notified (applied again, same value): nothing is missed. Every :data:`HEARTBEAT` seconds the
thread re-reads the versions anyway (one query per worker), and TCP keepalives and
``tcp_user_timeout`` end a connection whose peer vanished without a word; either way the
worker falls back to per-request reads at once.

**The window after a rotation** (:func:`tungban.keys.services.rotate`,
:func:`~tungban.keys.services.create_key`): the new key signs from the commit on in every
worker (:func:`~tungban.keys.services.active_key` reads the database on each signature), but
a worker whose thread has not yet handled the notification still serves the previous JWKS.
That window is the notification latency: the commit's delivery to each listening backend and
this thread getting the GIL (on loopback well under a millisecond, at worst one interpreter
switch interval, 5 ms, on a busy worker), bounded by the :data:`HEARTBEAT` only if a
notification were lost on a connection that still looked healthy. It is far shorter than the
JWKS's ``Cache-Control: max-age=300``, which relying parties honour anyway: they must (and do)
fetch the JWKS again when a token names a ``kid`` they do not know, and such a fetch sees the
new key once the window has passed.

**Processes**: the thread belongs to the process that started it. :func:`ensure_started` starts it
on the first use in each process, so a forking server (gunicorn, granian) gets one listener per
worker, started after the fork; if a parent had one, the child forgets it at the fork (its socket
pointed at ``/dev/null`` in the child, so the child never writes on the parent's connection).
Nothing starts under the test runner (``TUNGBAN_KEYS_LISTEN`` is off in
``tungban.testing.settings``) unless a test calls :func:`start` with ``force=True``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time

CHANNEL = "tungban_key_ring"
#: The listening connections' ``application_name`` (``pg_stat_activity``).
APPLICATION_NAME = "tungban-keys-listener"
#: Seconds between the thread's re-reads of the versions (a check, not the way changes arrive).
HEARTBEAT = 30.0
#: libpq options for the listening connection: a peer that vanished ends it within ~10 s.
_KEEPALIVE = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
_GENERATION = re.compile(r"[0-9a-f]{32}")

log = logging.getLogger(__name__)

_live = False  # the thread is connected and has read the versions since
_generations: dict[str, str] = {}  # name -> generation, meaningful only while _live
_started = False  # this process asked for a thread (reset in a forked child)
_thread: threading.Thread | None = None
_stop = threading.Event()
_connection = None  # the thread's psycopg connection, for the fork handler
_orphans: list = []  # a parent's connections, kept (never finished) in a forked child
_lock = threading.Lock()


def generation(name: str) -> str | None:
    """The generation of ``name`` as pushed to this process, or ``None`` when the listener is
    not connected (or the version has no row): read the database then."""
    if not _live:
        return None
    return _generations.get(name)


def live() -> bool:
    """Whether this process's listener is connected and up to date."""
    return _live


def ensure_started() -> None:
    """Start this process's listener unless it runs already, when ``TUNGBAN_KEYS_LISTEN`` is on
    and the default database is PostgreSQL. Cheap after the first call (a module flag)."""
    if _started:
        return
    from django.conf import settings

    if settings.TUNGBAN_KEYS_LISTEN:
        start()


def start(*, force: bool = False, heartbeat: float = HEARTBEAT) -> bool:
    """Start the listening thread (once per process); ``force`` starts it even where
    ``TUNGBAN_KEYS_LISTEN`` is off (tests). Returns whether a thread runs (``False`` on a
    database other than PostgreSQL)."""
    global _started, _thread, _stop
    from django.conf import settings
    from django.db import connections

    with _lock:
        if _thread is not None and _thread.is_alive():
            _started = True
            return True
        if not force and not settings.TUNGBAN_KEYS_LISTEN:
            return False
        wrapper = connections["default"]
        _started = True
        if wrapper.vendor != "postgresql":
            return False
        params = {
            key: value
            for key, value in wrapper.get_connection_params().items()
            if key not in ("cursor_factory", "context", "prepare_threshold")
        }
        for key, value in _KEEPALIVE.items():
            params.setdefault(key, value)
        params["application_name"] = APPLICATION_NAME
        _stop = threading.Event()
        _thread = threading.Thread(
            target=_run, args=(params, _stop, heartbeat), name="tungban-keys-listener", daemon=True
        )
        _thread.start()
        return True


def stop(timeout: float = 5.0) -> None:
    """Stop the thread and close its connection (tests); :func:`generation` is ``None`` after."""
    global _started, _thread
    with _lock:
        thread, _started = _thread, False
        _stop.set()
        _thread = None
    if thread is not None:
        thread.join(timeout)
    _set_not_live()


def wait_until(predicate, timeout: float = 10.0) -> bool:
    """Wait (polling every 10 ms, at most ``timeout`` seconds) until ``predicate()`` is true:
    for tests and start-up checks. Returns whether it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


def _set_not_live() -> None:
    global _live, _generations
    _live = False
    _generations = {}


def _read(connection) -> dict[str, str]:
    rows = connection.execute("SELECT name, generation FROM keys_keyringversion").fetchall()
    return dict(rows)


def _run(params: dict, stop: threading.Event, heartbeat: float) -> None:
    """The thread: connect, ``LISTEN``, read, then apply notifications until the connection
    fails or :func:`stop`; reconnect with a back-off (0.5 s doubling to 30 s)."""
    global _live, _generations, _connection
    import psycopg

    delay = 0.5
    while not stop.is_set():
        try:
            with psycopg.connect(**params, autocommit=True) as conn:
                _connection = conn
                conn.execute(f"LISTEN {CHANNEL}")
                _generations = _read(conn)
                _live = True
                delay = 0.5
                checked = time.monotonic()
                while not stop.is_set():
                    # Collected first: the generator holds the connection while it runs, so a
                    # query inside its loop would wait for ever.
                    for notify in list(conn.notifies(timeout=1.0, stop_after=1)):
                        name, _, value = notify.payload.rpartition(" ")
                        if _GENERATION.fullmatch(value):
                            _generations = {**_generations, name: value}
                        else:
                            _generations = _read(conn)
                    if time.monotonic() - checked >= heartbeat:
                        _generations = _read(conn)
                        checked = time.monotonic()
        except Exception:  # noqa: BLE001 - any fault: not live, per-request reads, reconnect
            if not stop.is_set():
                log.warning("key-ring listener disconnected; reconnecting in %.1f s", delay, exc_info=True)
        finally:
            _set_not_live()
            _connection = None
        if stop.wait(delay):
            break
        delay = min(delay * 2, 30.0)


def _after_fork_in_child() -> None:
    """A forked child has none of its parent's threads: forget the listener (the first use starts
    this process's own) and keep the parent's connection object alive with its socket pointed at
    ``/dev/null``, so that nothing this process does can close or write on the parent's
    connection."""
    global _started, _thread, _connection, _lock
    _set_not_live()
    _started = False
    _thread = None
    _lock = threading.Lock()
    if _connection is not None:
        try:
            fd = _connection.fileno()
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, fd)
            os.close(null)
        except Exception:  # noqa: BLE001, S110 - a closed connection has no socket to hide
            pass
        _orphans.append(_connection)
        _connection = None


os.register_at_fork(after_in_child=_after_fork_in_child)
