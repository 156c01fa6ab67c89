"""What the in-process benchmarks share (``bench/exchange_cpu.py``, ``userinfo_cpu.py``,
``handler_cpu.py``): a WSGI environ as a server would hand it to ``tungban.wsgi.application``,
and a throw-away test database for the run."""

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
    from django.db import connection

    tmp = None
    if connection.vendor == "sqlite":
        tmp = tempfile.TemporaryDirectory(prefix=f"tungban-{name}-")
        connection.settings_dict["TEST"]["NAME"] = str(Path(tmp.name) / "bench.sqlite3")
    else:
        connection.settings_dict["TEST"]["NAME"] = f"test_{connection.settings_dict['NAME']}_{name}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if tmp is not None:
            tmp.cleanup()
