"""The verifier process is a sandbox, not only a timer (review of issue 14: M4, M3).

- It starts with a minimal environment (no secrets, no ``DATABASE_URL``) and Django
  configured with only what the verification reads: no secret key, no encryption keys, no
  database; its address space is bounded (``TUNGBAN_VERIFY_MAX_MEMORY``), so a
  decompression bomb ends in ``MemoryError`` → ``pdf_too_complex``.
- A request waits at most ``TUNGBAN_VERIFY_WAIT_SECONDS`` (about 1 s) for a free verifier,
  not that plus the verification limit, and at most ``TUNGBAN_VERIFY_MAX_WAITING``
  requests of a web process wait at once: the others get ``verification_unavailable``
  (503, ``Retry-After``) at once, so slow uploads cannot hold the web threads logins need.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from tungban.core.errors import DomainError
from tungban.signing import errors, isolation, verify

from .sandbox_child import allocate, environment, parents_main_imported, raw_database, secret_settings, sleep
from .test_isolation import busy_children, wait_for

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
SECRETS = ("SECRET_KEY", "TUNGBAN_FIELD_ENCRYPTION_KEYS", "TUNGBAN_LOOKUP_HASH_KEY", "TUNGBAN_PKCS11_PIN", "DATABASES")


@pytest.fixture
def one_child(settings):
    """A pool of one verifier process of its own, started from the current settings and environment."""
    settings.TUNGBAN_VERIFY_WORKERS = 1
    isolation.shutdown()
    isolation.call(sleep, 0, seconds=60, wait=60)  # started
    yield
    isolation.shutdown()


@pytest.fixture
def parent_secret(monkeypatch, settings):
    monkeypatch.setenv("TUNGBAN_SECRET_KEY", "s3cret-of-the-web-process")
    monkeypatch.setenv("DATABASE_URL", "postgres://tungban:db-password@db.internal/tungban")
    settings.TUNGBAN_VERIFY_WORKERS = 1
    isolation.shutdown()  # the next child starts with this environment
    yield
    isolation.shutdown()


def test_the_child_sees_no_secret_from_the_parents_environment(parent_secret):
    env, started_with = isolation.call(environment, seconds=60, wait=60)
    assert "TUNGBAN_SECRET_KEY" not in env and "DATABASE_URL" not in env
    assert b"s3cret-of-the-web-process" not in started_with and b"db-password" not in started_with
    assert set(env) <= set(isolation.CHILD_ENVIRONMENT) | {"LC_CTYPE"}
    assert not isolation.call(parents_main_imported, seconds=60, wait=60)  # a script could set Django up


def test_the_child_has_no_secret_settings(parent_secret):
    values = isolation.call(secret_settings, SECRETS, seconds=60, wait=60)
    for name in SECRETS:
        parent = getattr(django_settings, name, None)
        assert not values[name] or values[name] != parent, name
    assert not values["SECRET_KEY"] and not values["TUNGBAN_FIELD_ENCRYPTION_KEYS"]


def test_the_child_cannot_open_the_database(parent_secret, db):
    with pytest.raises(Exception) as exc:
        isolation.call(raw_database, seconds=60, wait=60)
    assert "raw driver query" not in str(exc.value)
    databases = isolation.call(secret_settings, ("DATABASES",), seconds=60, wait=60)["DATABASES"]
    assert {d["ENGINE"] for d in databases.values()} <= {"django.db.backends.dummy"}


def test_a_child_allocating_past_the_limit_fails_cleanly(settings):
    settings.TUNGBAN_VERIFY_WORKERS = 1
    settings.TUNGBAN_VERIFY_MAX_MEMORY = 1024 * 1024 * 1024
    isolation.shutdown()
    try:
        with pytest.raises(isolation.OutOfMemory):
            isolation.call(allocate, 3 * 1024**3, seconds=60, wait=60)
        assert isolation.call(allocate, 1024, seconds=60, wait=60) == 1024  # the same child goes on
    finally:
        isolation.shutdown()


def test_a_verification_out_of_memory_is_pdf_too_complex(monkeypatch, db):
    """What a decompression bomb gets: the documented 422, in the user's language."""

    def out_of_memory(*args, **kwargs):
        raise isolation.OutOfMemory()

    monkeypatch.setattr(isolation, "call", out_of_memory)
    with pytest.raises(errors.PdfTooComplex) as exc, translation.override("en"):
        verify.verify_upload(b"%PDF-1.7\n")
    assert (exc.value.status, exc.value.field) == (422, "file") and "memory" in str(exc.value.message)
    with pytest.raises(errors.PdfTooComplex) as exc, translation.override("zh-hant"):
        verify.verify_upload(b"%PDF-1.7\n")
    assert "記憶體" in str(exc.value.message)


def test_a_request_waits_for_a_free_verifier_about_a_second_not_the_check_limit(one_child, settings, tmp_path, db):
    settings.TUNGBAN_VERIFY_MAX_SECONDS = 20
    settings.TUNGBAN_VERIFY_WAIT_SECONDS = 1
    with busy_children(tmp_path):
        started = time.monotonic()
        with pytest.raises(DomainError) as exc:
            verify.verify_upload(b"%PDF-1.7\n")
        assert exc.value.code == "verification_unavailable"
        assert time.monotonic() - started < 1 + 2.5


def test_the_default_wait_is_short():
    from tungban import settings as module

    assert module.TUNGBAN_VERIFY_WAIT_SECONDS <= 2


def test_requests_past_the_waiting_bound_get_503_at_once(one_child, settings, tmp_path, client, db):
    settings.TUNGBAN_VERIFY_MAX_WAITING = 1
    settings.TUNGBAN_VERIFY_WAIT_SECONDS = 30
    outcome = []
    waiter = threading.Thread(target=lambda: outcome.append(isolation.call(sleep, 0, seconds=5, wait=30)))
    with busy_children(tmp_path):
        waiter.start()
        wait_for(lambda: isolation.waiting() == 1, what="one request waiting")
        started = time.monotonic()
        with pytest.raises(isolation.Unavailable):
            isolation.call(sleep, 0, seconds=5, wait=30)
        upload = {"file": SimpleUploadedFile("a.pdf", b"%PDF-1.7\n")}
        api = client.post("/api/v1/signing/verify", upload, **EN)
        assert api.status_code == 503 and api.json()["error"] == "verification_unavailable" and api["Retry-After"]
        assert time.monotonic() - started < 2
    waiter.join(timeout=60)
    assert outcome == [0]  # the waiting request got the child once it was free
    assert isolation.waiting() == 0
