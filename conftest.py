"""Fixtures for every test directory (``src``, ``examples``, ``bench``)."""

import os

import django.core.management
import django.test.testcases
import pytest

from tungban.testing import flush
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
    session reaches the test databases' ``migrate``. ``TransactionTestCase`` binds its own
    name at import, wrapped too: its ``flush`` after each transactional test empties only the
    tables with rows and keeps what ``post_migrate`` made (:mod:`tungban.testing.flush`);
    every other command passes through."""
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
        if command_name == "flush" and not args and flush.handles(options):
            flush.flush(options.get("database", "default"))
            return None
        return call_command(command_name, *args, **options)

    testcases_call_command = django.test.testcases.call_command
    django.core.management.call_command = migrate_from_copy
    django.test.testcases.call_command = migrate_from_copy
    try:
        yield
    finally:
        django.core.management.call_command = call_command
        django.test.testcases.call_command = testcases_call_command
        if own:
            os.environ.pop(CACHE_ENV, None)
