"""What the in-process benchmarks share (``bench/exchange_cpu.py``, ``userinfo_cpu.py``,
``handler_cpu.py``, ``login_steps.py``, ``token_cpu.py``, ``verify_cpu.py``): a WSGI environ as
a server would hand it to ``tungban.wsgi.application``, a throw-away test database for the
run, and the CPU time of the connection's PostgreSQL backend."""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path


def wsgi_environ(method: str, path: str, *, host: str = "localhost", body: bytes = b"", **headers: str) -> dict:
    """A PEP 3333 environ for one request: ``headers`` as ``HTTP_*`` keys (``CONTENT_TYPE``
    and ``CONTENT_LENGTH`` given as such), a fresh ``wsgi.input`` holding ``body``."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": host,
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    environ.update(headers)
    return environ


@contextlib.contextmanager
def throwaway_database(name: str) -> Iterator[None]:
    """A test database made for the run and dropped after it: on SQLite a file in a temporary
    directory, on PostgreSQL ``test_<NAME>_<name>`` beside the configured database (which is
    left untouched). Call after ``django.setup()``."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from tungban.testing.migrated import migrate_database

    tmp = None
    if connection.vendor == "sqlite":
        tmp = tempfile.TemporaryDirectory(prefix=f"tungban-{name}-")
        connection.settings_dict["TEST"]["NAME"] = str(Path(tmp.name) / "bench.sqlite3")
    else:
        connection.settings_dict["TEST"]["NAME"] = f"test_{connection.settings_dict['NAME']}_{name}"
    # Django's create_test_db, with the migration from a copy when TUNGBAN_MIGRATED_CACHE is set.
    old_name = connection.settings_dict["NAME"]
    test_name = connection.creation._create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    connection.close()
    settings.DATABASES[connection.alias]["NAME"] = connection.settings_dict["NAME"] = test_name
    migrate_database()
    call_command("createcachetable")
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if tmp is not None:
            tmp.cleanup()


def backend_pid(connection) -> int | None:
    """The process id of the PostgreSQL backend serving Django's ``connection`` (connected
    first), or None on another database."""
    if connection.vendor != "postgresql":
        return None
    connection.ensure_connection()
    return connection.connection.info.backend_pid


def backend_cpu_ns(pid: int | None) -> int:
    """On-CPU nanoseconds of the process ``pid`` (``/proc/<pid>/schedstat``, first field: the
    PostgreSQL backend, when the server runs on this machine and is readable by this user);
    0 when unknown."""
    if pid is None:
        return 0
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
