"""The migrated copy the tests and benchmarks start empty databases from
(:mod:`tungban.testing.migrated`): a database filled from it is the one ``migrate`` makes —
the same tables, every migration recorded, nothing left for ``migrate --check`` — and a
database that already has tables is migrated as always, never overwritten."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tungban.testing.migrated import CACHE_ENV

SRC = Path(__file__).resolve().parents[2]
FILL = (
    "import django, sys; django.setup()\n"
    "from django.core.management import call_command\n"
    "from tungban.testing.migrated import migrate_database\n"
    "print('restored' if migrate_database() else 'migrated')\n"
    "call_command('migrate', check_unapplied=True, verbosity=0)  # exits 1 if anything is unapplied\n"
)


def _fill(database: Path, tmp_path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TUNGBAN_", "DJANGO_")) and k != "DATABASE_URL"}
    env.update(
        {
            CACHE_ENV: os.environ[CACHE_ENV],  # the session's copies (the root conftest.py)
            "DATABASE_URL": f"sqlite:///{database}",
            "DJANGO_SETTINGS_MODULE": "tungban.settings",
            "TUNGBAN_VAR_DIR": str(tmp_path / "var"),
            "PYTHONPATH": str(SRC),
        }
    )
    run = subprocess.run([sys.executable, "-c", FILL], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def _schema(database: Path) -> tuple[list, int]:
    with sqlite3.connect(database) as db:
        tables = db.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
        return list(tables), db.execute("SELECT count(*) FROM django_migrations").fetchone()[0]


@pytest.mark.own_database
def test_an_empty_database_starts_from_the_copy_and_has_what_migrate_makes(tmp_path):
    first, second = tmp_path / "first.sqlite3", tmp_path / "second.sqlite3"
    assert _fill(first, tmp_path) in ("migrated", "restored")  # the copy may exist already
    assert _fill(second, tmp_path) == "restored"
    schema, applied = _schema(second)
    assert _schema(first) == (schema, applied) and applied > 100
    assert {"identity_resident", "oidc_client", "django_migrations"} <= {name for _type, name, _sql in schema}


@pytest.mark.django_db
def test_a_database_with_tables_is_migrated_not_replaced(officer):
    from tungban.testing.factories import make_resident
    from tungban.testing.migrated import migrate_database

    resident = make_resident(officer)
    assert migrate_database() is False
    resident.refresh_from_db()  # still there: nothing was copied over the database
