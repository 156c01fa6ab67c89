"""A migrated empty database, made once per set of migrations and copied after that, for the
test suite's databases and the benchmarks' set-up.

Migrating an empty database costs 35–45 s of CPU on this project's two-core machines (Django
re-renders the related models' states for every operation: ``migrate -v2`` shows no single
slow migration), and ``.ci/run`` made about twenty: each test process's database in each pass
(through the root ``conftest.py``), each of the benchmarks' tiny runs under ``bench/tests``
(most of their time), the fault-injection platform's. With
``TUNGBAN_MIGRATED_CACHE`` naming a directory, :func:`migrate_database` keeps the first result
there — a copy of the SQLite file, or ``pg_dump --format=custom`` of the PostgreSQL database —
and later empty databases start from that copy; ``migrate`` then runs as always (a no-op on
the copy, or applying whatever the copy lacks). Without the variable it is plain ``migrate``.

The key is a digest of every migration file of the installed apps, the database vendor and,
for PostgreSQL, the server's major version: a changed migration makes a new copy. Used only
by benchmarks and tests; the platform's own ``tungban setup`` always migrates.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

# Bound here: the test suite's database set-up wraps django.core.management.call_command
# (the root conftest.py) and calls this module from the wrapper.
from django.core.management import call_command as django_call_command

CACHE_ENV = "TUNGBAN_MIGRATED_CACHE"


def migrate_database(using: str = "default", **options) -> bool:
    """Migrate the database of connection ``using`` (Django settings already set up);
    ``options`` go to ``migrate`` (default ``interactive=False, verbosity=0``).

    Returns True when an empty database was filled from the cache (``TUNGBAN_MIGRATED_CACHE``)
    before ``migrate`` ran. Raises what ``migrate`` raises, and
    :class:`RuntimeError` with the tool's message when ``pg_dump``/``pg_restore`` fail."""
    from django.db import connections

    options = {"interactive": False, "verbosity": 0, **options, "database": using}
    cache = os.environ.get(CACHE_ENV)
    connection = connections[using]
    if not cache or not _is_empty(connection):
        django_call_command("migrate", **options)
        return False
    directory = Path(cache)
    directory.mkdir(parents=True, exist_ok=True)
    pg_major = connection.pg_version // 10000 if connection.vendor == "postgresql" else None
    copy = directory / f"{_key(connection.vendor, pg_major)}.{'sqlite3' if connection.vendor == 'sqlite' else 'dump'}"
    with _locked(directory / f"{copy.name}.lock"):  # another process making the same copy: wait for it
        restored = copy.exists()
        if restored:
            _restore(connection, copy)
        django_call_command("migrate", **options)
        if not restored:
            _save(connection, copy)
    return restored


def _is_empty(connection) -> bool:
    if connection.vendor == "sqlite":
        name = connection.settings_dict["NAME"]
        if str(name).startswith(":memory:") or "mode=memory" in str(name):
            return False  # nothing to copy into
    with connection.cursor() as cursor:
        return not connection.introspection.table_names(cursor)


def sqlite_copy() -> Path | None:
    """The migrated SQLite copy for the installed apps' migrations in ``TUNGBAN_MIGRATED_CACHE``,
    or None when there is none yet (nothing is made here). For a harness that hands its server
    processes a database file (:mod:`tungban.testing.federation`)."""
    cache = os.environ.get(CACHE_ENV)
    copy = Path(cache) / f"{_key('sqlite')}.sqlite3" if cache else None
    return copy if copy is not None and copy.exists() else None


def _key(vendor: str, pg_major: int | None = None) -> str:
    from django.apps import apps

    digest = hashlib.sha256(vendor.encode())
    if pg_major is not None:
        digest.update(str(pg_major).encode())
    for config in sorted(apps.get_app_configs(), key=lambda c: c.label):
        folder = Path(config.path) / "migrations"
        for path in sorted(folder.glob("*.py")) if folder.is_dir() else ():
            digest.update(f"{config.label}/{path.name}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _restore(connection, copy: Path) -> None:
    connection.close()
    if connection.vendor == "sqlite":
        shutil.copyfile(copy, connection.settings_dict["NAME"])
    else:
        _pg_tool(
            connection, "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname", "{db}", str(copy)
        )


def _save(connection, copy: Path) -> None:
    fd, partial = tempfile.mkstemp(dir=copy.parent, prefix=copy.name, suffix=".partial")
    os.close(fd)
    try:
        connection.close()
        if connection.vendor == "sqlite":
            shutil.copyfile(connection.settings_dict["NAME"], partial)
        else:
            _pg_tool(
                connection, "pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", partial, "{db}"
            )
        os.replace(partial, copy)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)


def _pg_tool(connection, tool: str, *args: str) -> None:
    """Run PostgreSQL's ``tool`` on the connection's server (``{db}`` in ``args``: its database),
    the server's own version of it when Debian's versioned binaries are installed (``pg_dump``
    refuses a newer server than itself)."""
    major = connection.pg_version // 10000
    versioned = Path(f"/usr/lib/postgresql/{major}/bin/{tool}")
    program = str(versioned) if versioned.exists() else (shutil.which(tool) or tool)
    params = connection.get_connection_params()
    env = dict(os.environ)
    if params.get("password"):
        env["PGPASSWORD"] = str(params["password"])
    command = [program, "--host", str(params.get("host") or "localhost"), "--port", str(params.get("port") or 5432)]
    if params.get("user"):
        command += ["--username", str(params["user"])]
    database = str(params.get("dbname") or connection.settings_dict["NAME"])
    command += [database if arg == "{db}" else arg for arg in args]
    run = subprocess.run(command, env=env, capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"{tool} exited with {run.returncode}: {run.stderr.strip()[-2000:]}")


def main() -> None:
    """``python -m tungban.testing.migrated``: :func:`migrate_database` on the database of
    ``DATABASE_URL`` (settings ``DJANGO_SETTINGS_MODULE``, default ``tungban.settings``), as
    ``.ci/run`` makes its copies and the benchmarks' tests migrate their databases; prints
    ``restored`` or ``migrated``."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")
    django.setup()
    print("restored" if migrate_database() else "migrated")


if __name__ == "__main__":
    main()
