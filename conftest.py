"""Fixtures for every test directory (``src``, ``examples``, ``bench``)."""

import os

import pytest

from tungban.testing.migrated import CACHE_ENV


@pytest.fixture(scope="session", autouse=True)
def _migrated_database_copy(tmp_path_factory):
    """The processes tests start that migrate an empty database of their own (the benchmarks'
    tiny runs, the fault-injection platform) start from one migrated copy per database kind,
    made by the first of them in this session (:mod:`tungban.testing.migrated`; migrating costs
    35–45 s of CPU). pytest-xdist's workers share the directory. A ``TUNGBAN_MIGRATED_CACHE``
    set by the caller is kept."""
    if os.environ.get(CACHE_ENV):
        yield
        return
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    os.environ[CACHE_ENV] = str(shared / "migrated-databases")
    yield
    os.environ.pop(CACHE_ENV, None)
