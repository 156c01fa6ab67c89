"""Work on untrusted uploads in a killable, confined child process with a time bound, in any thread.

Issue 13 item 4 bounded one verification of an uploaded signature with ``SIGALRM``, which
only works in a process's main thread; since issue 14 item 1 the web processes serve
requests from gunicorn **gthread** threads, so the bound has to come from somewhere else:
Python cannot stop a thread. Here the work runs in a small pool of child processes per web
process, managed by Pebble's ``ProcessPool`` (https://pebble.readthedocs.io): a task that
runs longer than its timeout has its child stopped (``SIGTERM``, then ``SIGKILL`` after 3 s
if it does not exit) and a fresh child takes its place.

- Children are started with the ``spawn`` method (a new interpreter, never ``fork`` of a
  process with threads, open database connections and secrets in memory), with a minimal
  environment: only the variables named in :data:`CHILD_ENVIRONMENT` (no secret key, no
  ``DATABASE_URL``, no encryption keys, no PKCS#11 PIN). Django is configured in the child
  (:func:`_start_child`) with only the settings named in :data:`CHILD_SETTINGS`, copied from
  the parent (languages, time zone, installed apps): it has **no database** (``DATABASES``
  empty: any query, or opening a connection, raises ``ImproperlyConfigured``), no
  ``SECRET_KEY`` and no encryption keys, so the caller passes what the work needs (the trust
  anchors and CRLs) and the child has nothing to write with. Its address space is bounded
  (``RLIMIT_AS``, ``TUNGBAN_VERIFY_MAX_MEMORY`` bytes; soft and hard, so it cannot lift it): an
  allocation past it (a decompression bomb) raises ``MemoryError``, reported as
  :class:`OutOfMemory` (review of issue 14, M4).
- What the child can still do, being the same Unix user as the web process: read the files
  that user can read, and the other processes of that user (``/proc``). Keeping it from those
  needs another user or a kernel sandbox (namespaces, Landlock, seccomp): not done here.
- The pool is made on first use in each web process (so gunicorn's master never owns one)
  and kept for the process's life. A child serves ``TUNGBAN_VERIFY_MAX_TASKS`` calls, then is
  replaced.
- A call never holds its request long (review of issue 14, M3): it waits at most ``wait``
  seconds (``TUNGBAN_VERIFY_WAIT_SECONDS``, default 1) for a free child, and at most
  ``TUNGBAN_VERIFY_MAX_WAITING`` calls of a process wait at once (the others are refused at
  once); a call that got a child runs at most ``seconds`` (plus :data:`START_SECONDS` if that
  child is still starting). Calls are never queued inside Pebble: at most one call per child.
"""

from __future__ import annotations

import io
import logging
import math
import os
import signal
import threading
from concurrent.futures import CancelledError
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import context as mp_context
from multiprocessing import popen_spawn_posix

from django.conf import settings

log = logging.getLogger(__name__)

#: Seconds past a call's limit after which a child ends itself if nobody stopped it.
BACKSTOP = 5

#: Seconds a call that has a child may wait for that child to finish starting (a new child
#: sets Django up and imports the verifier: about 2 s, more on a loaded machine).
START_SECONDS = 10

#: Imported by each child as it starts, so its first call does not pay for them.
PRELOAD = ("tungban.signing.verify", "pyhanko.sign.validation", "pyhanko.pdf_utils.reader")

#: The environment variables a child gets from its parent (if set there); no other.
CHILD_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")

#: The settings a child's Django is configured with, copied from the parent's as the pool
#: starts; everything else is Django's default (no database, no secret key).
CHILD_SETTINGS = (
    "INSTALLED_APPS",
    "DEFAULT_AUTO_FIELD",
    "LANGUAGE_CODE",
    "LANGUAGES",
    "LOCALE_PATHS",
    "TIME_ZONE",
    "USE_I18N",
    "USE_TZ",
    "TUNGBAN_VERIFY_MAX_BYTES",
    "TUNGBAN_PDF_MAX_PAGES",
)

_lock = threading.Lock()
_pool = None
_pool_pid = None  # the process that made _pool (a forked copy must make its own)
_waiting = 0  # calls of this process waiting for a free child
_waiting_lock = threading.Lock()


class TimedOut(Exception):
    """The call ran longer than its ``seconds``; its child was stopped."""


class ChildDied(Exception):
    """The child ended while running the call (killed, out of memory, crashed)."""


class Unavailable(Exception):
    """No child ran the call: none became free within ``wait`` seconds, too many calls were
    already waiting (``TUNGBAN_VERIFY_MAX_WAITING``), or none can start."""


class OutOfMemory(Exception):
    """The call needed more memory than a child may have (``TUNGBAN_VERIFY_MAX_MEMORY``)."""


def waiting() -> int:
    """How many calls of this process are waiting for a free child now."""
    return _waiting


def workers() -> int:
    """Children per web process (``TUNGBAN_VERIFY_WORKERS``, at least 1)."""
    return max(1, settings.TUNGBAN_VERIFY_WORKERS)


class _Popen(popen_spawn_posix.Popen):
    """``multiprocessing``'s ``spawn`` launcher, but the new interpreter is started with only
    :data:`CHILD_ENVIRONMENT` (the stock one passes the parent's whole environment) and does
    not import the parent's ``__main__``. As CPython 3.13's ``popen_spawn_posix.Popen._launch``,
    with an environment (``test_sandbox.py`` checks both on the running Python)."""

    def _launch(self, process_obj):
        from multiprocessing import reduction, resource_tracker, spawn, util

        tracker_fd = resource_tracker.getfd()
        self._fds.append(tracker_fd)
        prep_data = spawn.get_preparation_data(process_obj._name)
        # Nor does it re-run the parent's main script (gunicorn's, a command's): what it runs
        # is imported from its module, and a script could set Django up with the full settings.
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        fp = io.BytesIO()
        mp_context.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, fp)
            reduction.dump(process_obj, fp)
        finally:
            mp_context.set_spawning_popen(None)
        parent_r = child_w = child_r = parent_w = None
        try:
            parent_r, child_w = os.pipe()
            child_r, parent_w = os.pipe()
            cmd = spawn.get_command_line(tracker_fd=tracker_fd, pipe_handle=child_r)
            self._fds.extend([child_r, child_w])
            self.pid = _spawn(spawn.get_executable(), cmd, self._fds, _child_environment())
            self.sentinel = parent_r
            with open(parent_w, "wb", closefd=False) as f:
                f.write(fp.getbuffer())
        finally:
            fds_to_close = [fd for fd in (parent_r, parent_w) if fd is not None]
            self.finalizer = util.Finalize(self, util.close_fds, fds_to_close)
            for fd in (child_r, child_w):
                if fd is not None:
                    os.close(fd)


def _spawn(path: str, args: list[str], passfds, environment: dict[str, str]) -> int:
    """``multiprocessing.util.spawnv_passfds`` with ``environment`` for the new program."""
    import _posixsubprocess
    import subprocess

    passfds = tuple(sorted(map(int, passfds)))
    env = [os.fsencode(name) + b"=" + os.fsencode(value) for name, value in environment.items()]
    errpipe_read, errpipe_write = os.pipe()
    try:
        return _posixsubprocess.fork_exec(
            args, [os.fsencode(path)], True, passfds, None, env,
            -1, -1, -1, -1, -1, -1, errpipe_read, errpipe_write,
            False, False, -1, None, None, None, -1, None,
            subprocess._USE_VFORK,
        )  # fmt: skip
    finally:
        os.close(errpipe_read)
        os.close(errpipe_write)


def _child_environment() -> dict[str, str]:
    return {name: os.environ[name] for name in CHILD_ENVIRONMENT if name in os.environ}


class _Process(mp_context.SpawnProcess):
    @staticmethod
    def _Popen(process_obj):
        return _Popen(process_obj)


class _Context(mp_context.SpawnContext):
    """The ``spawn`` context, its processes started with a minimal environment."""

    Process = _Process


def _new_pool():
    from pebble import ProcessPool

    new = ProcessPool(
        max_workers=workers(),
        max_tasks=max(0, settings.TUNGBAN_VERIFY_MAX_TASKS),
        initializer=_start_child,
        initargs=(
            {name: getattr(settings, name) for name in CHILD_SETTINGS if hasattr(settings, name)},
            PRELOAD,
            max(0, settings.TUNGBAN_VERIFY_MAX_MEMORY),
        ),
        context=_Context(),
    )
    new.tungban_slots = threading.BoundedSemaphore(workers())  # one call per child, none queued in Pebble
    return new


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


def _take_slot(slots, wait: float) -> None:
    """A free child for one call, waiting at most ``wait`` seconds, behind at most
    ``TUNGBAN_VERIFY_MAX_WAITING - 1`` other waiting calls.

    :raises Unavailable: none within ``wait``, or too many calls already waiting."""
    global _waiting
    if slots.acquire(blocking=False):
        return
    with _waiting_lock:
        if _waiting >= max(0, settings.TUNGBAN_VERIFY_MAX_WAITING):
            log.warning("no verifier process free and %d calls already waiting", _waiting)
            raise Unavailable("too many calls waiting")
        _waiting += 1
    try:
        if not slots.acquire(timeout=max(0.0, wait)):
            log.warning("no verifier process became free within %.1f s", wait)
            raise Unavailable("no free child")
    finally:
        with _waiting_lock:
            _waiting -= 1


def call(function, *args, seconds: float, wait: float):
    """``function(*args)`` run in a child process and its result; an exception it raises is
    raised here (with the child's traceback as ``__cause__``). ``function``, ``args`` and the
    result are pickled: module-level functions and plain data only.

    :param seconds: longest the call may run once a child has taken it (``<= 0``: unbounded).
    :param wait: longest to wait for a free child before that, in seconds.
    :raises TimedOut: it ran longer than ``seconds``; the child was stopped.
    :raises ChildDied: the child ended while running it.
    :raises OutOfMemory: it needed more than ``TUNGBAN_VERIFY_MAX_MEMORY`` bytes.
    :raises Unavailable: no child became free within ``wait`` seconds,
        ``TUNGBAN_VERIFY_MAX_WAITING`` calls were already waiting, or the pool failed.
    """
    current = pool()
    slots = current.tungban_slots
    _take_slot(slots, wait)
    timeout = seconds if seconds > 0 else None
    try:
        future = current.schedule(_run, args=(function, args, seconds), timeout=timeout)
    except RuntimeError:  # the pool failed since the check in pool(): once more with a new one
        slots.release()
        current = pool(discard=current)
        slots = current.tungban_slots
        _take_slot(slots, wait)
        try:
            future = current.schedule(_run, args=(function, args, seconds), timeout=timeout)
        except RuntimeError as exc:
            slots.release()
            raise Unavailable(str(exc)) from exc
    future.add_done_callback(lambda _: slots.release())  # when the child is free again
    from pebble import ProcessExpired

    try:
        return future.result(timeout=None if timeout is None else seconds + wait + START_SECONDS)
    except TimeoutError:
        if future.done():  # Pebble's timeout: the child was stopped at ``seconds``
            raise TimedOut() from None
        future.cancel()  # its child never started (or hangs past Pebble's stop): give it up
        log.warning("no verifier process finished a call within %.1f s", seconds + wait + START_SECONDS)
        raise Unavailable("no child started") from None
    except ProcessExpired as exc:
        log.warning("a verifier process ended while working (exit code %s)", exc.exitcode)
        raise ChildDied(exc.exitcode) from None
    except (BrokenProcessPool, CancelledError) as exc:
        pool(discard=current)
        log.error("the verifier pool failed: %r", exc)
        raise Unavailable(str(exc)) from exc


# --- In the child ----------------------------------------------------------------------------


def _start_child(configuration: dict, preload: tuple[str, ...], memory: int) -> None:
    """Pebble's initializer: Django configured with ``configuration`` only (no database, no
    secrets), the imports warmed, then the address space bounded to ``memory`` bytes (0: not
    bounded; soft and hard limit, so the child cannot lift it)."""
    import importlib
    import resource

    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the backstop of _run ends the process
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    import django
    from django.conf import settings as child_settings

    child_settings.configure(**configuration)
    django.setup()
    for name in preload:
        importlib.import_module(name)
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def _run(function, args, seconds: float):
    """What a child runs: ``function(*args)``, with a backstop should the parent die before
    it could stop the child (a web process killed with ``SIGKILL``): the kernel ends the child
    ``BACKSTOP`` s after ``seconds`` (``alarm``, default action; the task runs in the child's
    main thread). ``MemoryError`` (past ``RLIMIT_AS``) becomes :class:`OutOfMemory`."""
    if seconds > 0:
        signal.alarm(math.ceil(seconds) + BACKSTOP)
    try:
        return function(*args)
    except MemoryError:
        raise OutOfMemory() from None
    finally:
        signal.alarm(0)
