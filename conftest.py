"""Fixtures for every test directory (``src``, ``examples``, ``bench``)."""

import os

import django.core.management
import pytest

from tungban.testing.migrated import CACHE_ENV, migrate_database


@pytest.fixture(scope="session", autouse=True)
def _migrated_database_copy(tmp_path_factory):
    """Every empty database the tests migrate — each pytest-xdist worker's test database, and
    those of the processes tests start (the benchmarks' tiny runs, the fault-injection
    platform) — starts from one migrated copy per database kind, made by the first of them
    (:mod:`tungban.testing.migrated`; migrating costs 35–45 s of CPU). The copies live in
    ``TUNGBAN_MIGRATED_CACHE`` when the caller sets it (``.ci/run`` does, for all its passes),
    otherwise in this session's temporary directory, which pytest-xdist's workers share.

    Django's ``create_test_db`` looks ``call_command`` up when it runs, so wrapping it for the
    session reaches the test databases' ``migrate``; every other command passes through."""
    own = not os.environ.get(CACHE_ENV)
    if own:
        base = tmp_path_factory.getbasetemp()
        shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
        os.environ[CACHE_ENV] = str(shared / "migrated-databases")
    call_command = django.core.management.call_command

    def migrate_from_copy(command_name, *args, **options):
        if command_name == "migrate" and not args:
            migrate_database(options.pop("database", "default"), **options)
            return None
        return call_command(command_name, *args, **options)

    django.core.management.call_command = migrate_from_copy
    try:
        yield
    finally:
        django.core.management.call_command = call_command
        if own:
            os.environ.pop(CACHE_ENV, None)
