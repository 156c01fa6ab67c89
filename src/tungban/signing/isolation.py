"""Work on untrusted uploads in a killable child process with a time bound, in any thread.

Issue 13 item 4 bounded one verification of an uploaded signature with ``SIGALRM``, which
only works in a process's main thread; since issue 14 item 1 the web processes serve
requests from gunicorn **gthread** threads, so the bound has to come from somewhere else:
Python cannot stop a thread. Here the work runs in a small pool of child processes per web
process, managed by Pebble's ``ProcessPool`` (https://pebble.readthedocs.io): a task that
runs longer than its timeout has its child stopped (``SIGTERM``, then ``SIGKILL`` after 3 s
if it does not exit) and a fresh child takes its place.

- Children are started with the ``spawn`` method (a new interpreter, never ``fork`` of a
  process with threads and open database connections) and set Django up once in their
  initializer (:func:`_start_child`), with the parent's settings module; the pool is made on
  first use in each web process (so gunicorn's master never owns one) and kept for the
  process's life. A child serves ``TUNGBAN_VERIFY_MAX_TASKS`` calls, then is replaced.
- A child has **no database**: every query raises (:func:`_run`), so the caller passes what
  the work needs (the trust anchors and CRLs) and the child cannot write anything.
- A call never hangs its request: it waits at most ``wait`` seconds for a free child (all
  busy, or starting) plus ``seconds`` of work.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import signal
import threading
from concurrent.futures import CancelledError
from concurrent.futures.process import BrokenProcessPool

from django.conf import settings

log = logging.getLogger(__name__)

#: Seconds past a call's limit after which a child ends itself if nobody stopped it.
BACKSTOP = 5

#: Imported by each child as it starts, so its first call does not pay for them.
PRELOAD = ("tungban.signing.verify", "pyhanko.sign.validation", "pyhanko.pdf_utils.reader")

_lock = threading.Lock()
_pool = None
_pool_pid = None  # the process that made _pool (a forked copy must make its own)


class TimedOut(Exception):
    """The call ran longer than its ``seconds``; its child was stopped."""


class ChildDied(Exception):
    """The child ended while running the call (killed, out of memory, crashed)."""


class Unavailable(Exception):
    """No child ran the call: none became free within ``wait`` seconds, or none can start."""


def workers() -> int:
    """Children per web process (``TUNGBAN_VERIFY_WORKERS``, at least 1)."""
    return max(1, settings.TUNGBAN_VERIFY_WORKERS)


def _new_pool():
    from pebble import ProcessPool

    return ProcessPool(
        max_workers=workers(),
        max_tasks=max(0, settings.TUNGBAN_VERIFY_MAX_TASKS),
        initializer=_start_child,
        initargs=(os.environ.get("DJANGO_SETTINGS_MODULE") or "tungban.settings", PRELOAD),
        context=multiprocessing.get_context("spawn"),
    )


def pool(*, discard=None):
    """This process's pool, made on first use; a new one if the current one is ``discard``,
    has failed (Pebble marks a pool whose children all die unexpectedly as broken), or was
    inherited through ``fork``."""
    global _pool, _pool_pid
    with _lock:
        current = _pool
        if current is not None and _pool_pid != os.getpid():
            current = None  # a fork's copy: its children and threads are the parent's
        elif current is not None and (current is discard or not current.active):
            _close(current)
            current = None
        if current is None:
            current = _pool = _new_pool()
            _pool_pid = os.getpid()
        return current


def warm() -> None:
    """Start this process's children in the background (the WSGI module calls it as each
    web process starts, so the first upload does not wait seconds for them)."""
    pool().active  # noqa: B018 - Pebble starts the children on the first status check


def _close(old) -> None:
    """Stop a pool and its children without holding up the request (``join`` may wait for
    a child that ignores ``SIGTERM``)."""
    old.stop()
    threading.Thread(target=old.join, name="verifier-pool-close", daemon=True).start()


def shutdown() -> None:
    """Stop this process's pool and its children (tests; Pebble also stops children at exit)."""
    global _pool
    with _lock:
        if _pool is not None and _pool_pid == os.getpid():
            _pool.stop()
            _pool.join()
        _pool = None


def call(function, *args, seconds: float, wait: float):
    """``function(*args)`` run in a child process and its result; an exception it raises is
    raised here (with the child's traceback as ``__cause__``). ``function``, ``args`` and the
    result are pickled: module-level functions and plain data only.

    :param seconds: longest the call may run once a child has taken it (``<= 0``: unbounded).
    :param wait: longest to wait for a free child before that, in seconds.
    :raises TimedOut: it ran longer than ``seconds``; the child was stopped.
    :raises ChildDied: the child ended while running it.
    :raises Unavailable: no child took it within ``wait`` seconds, or the pool failed.
    """
    current = pool()
    timeout = seconds if seconds > 0 else None
    try:
        future = current.schedule(_run, args=(function, args, seconds), timeout=timeout)
    except RuntimeError:  # the pool failed since the check in pool(): once more with a new one
        current = pool(discard=current)
        try:
            future = current.schedule(_run, args=(function, args, seconds), timeout=timeout)
        except RuntimeError as exc:
            raise Unavailable(str(exc)) from exc
    from pebble import ProcessExpired

    try:
        return future.result(timeout=None if timeout is None else seconds + wait)
    except TimeoutError:
        if future.done():  # Pebble's timeout: the child was stopped at ``seconds``
            raise TimedOut() from None
        future.cancel()  # still waiting for a child (or just started): give it up
        log.warning("no verifier process took a call within %.1f s", seconds + wait)
        raise Unavailable("no free child") from None
    except ProcessExpired as exc:
        log.warning("a verifier process ended while working (exit code %s)", exc.exitcode)
        raise ChildDied(exc.exitcode) from None
    except (BrokenProcessPool, CancelledError) as exc:
        pool(discard=current)
        log.error("the verifier pool failed: %r", exc)
        raise Unavailable(str(exc)) from exc


# --- In the child ----------------------------------------------------------------------------


def _start_child(settings_module: str, preload: tuple[str, ...]) -> None:
    """Pebble's initializer: set Django up with the parent's settings, then warm imports."""
    import importlib

    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the backstop of _run ends the process
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    django.setup()
    for name in preload:
        importlib.import_module(name)


def _no_database(execute, sql, params, many, context):
    raise RuntimeError("no database in a verifier process: pass what the work needs from the caller")


def _run(function, args, seconds: float):
    """What a child runs: ``function(*args)`` with every database query refused, and a
    backstop should the parent die before it could stop the child (a web process killed
    with ``SIGKILL``): the kernel ends the child ``BACKSTOP`` s after ``seconds``
    (``alarm``, default action; the task runs in the child's main thread)."""
    from django.db import connections

    if seconds > 0:
        signal.alarm(math.ceil(seconds) + BACKSTOP)
    try:
        with contextlib.ExitStack() as stack:
            for connection in connections.all():
                stack.enter_context(connection.execute_wrapper(_no_database))
            return function(*args)
    finally:
        signal.alarm(0)
