"""The key-ring listener (issue 15): on PostgreSQL a rotation committed on one connection reaches
another connection's in-memory version through ``NOTIFY``, and so the JWKS the front serves; a
rolled-back change is never pushed; a lost connection means per-request reads until it is back;
a forked child forgets its parent's listener. Nothing listens under the test runner unless a test
starts it."""

from __future__ import annotations

import io
import os
import sys

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, transaction

from tungban.core import front
from tungban.keys import listener
from tungban.keys import services as keys


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


needs_postgresql = pytest.mark.skipif("not _postgresql()", reason="LISTEN/NOTIFY is PostgreSQL's")


@pytest.fixture
def listening():
    """This process's listener, started on the test database; stopped (its connection closed)
    before the database is dropped."""
    assert listener.start(force=True, heartbeat=3600)  # changes arrive by NOTIFY, not by re-reads
    try:
        assert listener.wait_until(listener.live), "the listener did not connect"
        yield listener
    finally:
        listener.stop()


def _pushed_is_current() -> bool:
    return listener.generation(keys.SIGNING_KEYS) == keys.version()


def _jwks(app) -> bytes:
    seen = {}
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/oidc/jwks",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }
    return b"".join(app(environ, lambda status, headers, exc_info=None: seen.update(status=status)))


def test_nothing_listens_under_the_test_runner():
    listener.ensure_started()
    assert listener._thread is None and not listener.live()
    assert listener.generation(keys.SIGNING_KEYS) is None


@pytest.mark.django_db
def test_no_listener_on_sqlite():
    if _postgresql():
        pytest.skip("SQLite's case")
    assert listener.start(force=True) is False
    assert not listener.live()
    listener.stop()


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_rotation_reaches_the_listener_and_the_fronts_jwks(listening):
    keys.active_key()
    assert listener.wait_until(_pushed_is_current)
    calls = []
    django = WSGIHandler()
    app = front.Front(lambda environ, start_response: calls.append(1) or django(environ, start_response))
    before = _jwks(app)
    assert _jwks(app) == before and len(calls) == 1  # built once by Django, then from bytes
    new_kid = keys.rotate().kid  # committed on the test's connection: NOTIFY to the listener's
    assert listener.wait_until(_pushed_is_current)
    after = _jwks(app)
    assert new_kid.encode() in after and new_kid.encode() not in before
    assert _jwks(app) == after and len(calls) == 2  # the new version built once, then from bytes


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_rotation_is_not_pushed(listening):
    keys.active_key()
    assert listener.wait_until(_pushed_is_current)
    pushed = listener.generation(keys.SIGNING_KEYS)
    with pytest.raises(RuntimeError), transaction.atomic():
        keys.rotate()
        raise RuntimeError("abort")
    keys.bump_version("another document")  # a later commit: its notification comes after any other
    assert listener.wait_until(lambda: listener.generation("another document") == keys.version("another document"))
    assert listener.generation(keys.SIGNING_KEYS) == pushed == keys.version()


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_lost_connection_means_per_request_reads_until_it_is_back(listening):
    keys.active_key()
    assert listener.wait_until(_pushed_is_current)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            [listener.APPLICATION_NAME],
        )
    assert listener.wait_until(lambda: not listener.live(), 5)
    assert listener.generation(keys.SIGNING_KEYS) is None  # the front lets Django read the version
    keys.rotate()  # while it may be away: the version is read again when it connects
    assert listener.wait_until(listener.live)
    assert listener.wait_until(_pushed_is_current)


@needs_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_forgets_its_parents_listener(listening):
    keys.active_key()
    assert listener.wait_until(_pushed_is_current)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no thread, no generation, the parent's connection left alone
        ok = not listener.live() and listener.generation(keys.SIGNING_KEYS) is None and not listener._started
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.close(read)
    os.waitpid(pid, 0)
    keys.rotate()  # the parent's listener still works after the child is gone
    assert listener.wait_until(_pushed_is_current)
    assert listener.live()


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_notification_it_cannot_read_makes_it_read_the_versions(listening):
    keys.active_key()
    assert listener.wait_until(_pushed_is_current)
    with connection.cursor() as cursor:  # a change without a usable payload (e.g. by hand)
        cursor.execute("UPDATE keys_keyringversion SET generation = %s WHERE name = %s", ["0" * 32, keys.SIGNING_KEYS])
        cursor.execute("SELECT pg_notify(%s, %s)", [listener.CHANNEL, "refresh"])
    assert listener.wait_until(lambda: listener.generation(keys.SIGNING_KEYS) == "0" * 32)
    keys.rotate()  # and it still follows notifications after the re-read
    assert listener.wait_until(_pushed_is_current)


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_jwks_through_the_front_costs_no_query_while_the_listener_is_live(listening):
    from django.test.utils import CaptureQueriesContext

    keys.active_key()
    assert listener.wait_until(_pushed_is_current)
    app = front.Front(WSGIHandler())
    first = _jwks(app)  # Django builds this version's JWKS once
    with CaptureQueriesContext(connection) as queries:
        assert _jwks(app) == first
    assert len(queries) == 0, [q["sql"] for q in queries]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "True"),
        ({"TUNGBAN_DB_PREPARE_THRESHOLD": "off"}, "False"),
        ({"TUNGBAN_DB_PREPARE_THRESHOLD": "off", "TUNGBAN_KEYS_LISTEN": "1"}, "True"),
    ],
)
def test_no_listener_by_default_behind_a_transaction_mode_pooler(env, expected):
    """A transaction-mode pooler (``TUNGBAN_DB_PREPARE_THRESHOLD=off``) accepts ``LISTEN`` but
    never delivers a ``NOTIFY``: the listener would look live and serve a stale JWKS (review of
    issue 15, F1). The production settings, in a fresh interpreter."""
    import os
    import subprocess
    import sys

    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TUNGBAN_KEYS_LISTEN", "TUNGBAN_DB_PREPARE", "DJANGO_SETTINGS"))
    }
    out = subprocess.run(
        [sys.executable, "-c", "import tungban.settings as s; print(s.TUNGBAN_KEYS_LISTEN)"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == expected
