"""The verifier processes (:mod:`tungban.signing.isolation`): a call that runs too long is
stopped, a request waits a bounded time for a free process, a process that dies mid-check
gives a clear error, and the child has no database. The functions run in the children are
module-level here so that they pickle by reference."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from tungban.core.errors import DomainError
from tungban.signing import isolation, verify
from tungban.signing.tests.test_crafted_pdfs import slow_pdf

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def mark_and_sleep(path: str, seconds: float) -> int:
    Path(path).write_text(str(os.getpid()))
    time.sleep(seconds)
    return os.getpid()


def mark_and_hold(path: str, release: str) -> None:
    """Busy until the test creates ``release`` (at most a minute)."""
    Path(path).write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while not Path(release).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def count_authorities() -> int:
    from tungban.signing.models import Authority

    return Authority.objects.count()


def wait_for(condition, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@contextlib.contextmanager
def busy_children(tmp_path):
    """Every child of the pool holding a call (started, as their marker files show) until
    the block ends."""
    release = tmp_path / "release"
    threads = []
    for n in range(isolation.workers()):
        marker = tmp_path / f"busy-{n}"
        thread = threading.Thread(
            target=isolation.call, args=(mark_and_hold, str(marker), str(release)), kwargs={"seconds": 90, "wait": 90}
        )
        thread.start()
        threads.append(thread)
    try:
        for n in range(isolation.workers()):
            wait_for((tmp_path / f"busy-{n}").exists, what="every child busy")
        yield
    finally:
        release.touch()
        for thread in threads:
            thread.join(timeout=90)


def test_a_call_returns_its_result_and_raises_its_errors():
    assert isolation.call(pow, 2, 10, seconds=30, wait=60) == 1024
    with pytest.raises(ZeroDivisionError):
        isolation.call(divmod, 1, 0, seconds=30, wait=60)


def test_a_call_that_overruns_is_stopped_and_the_pool_goes_on(tmp_path):
    isolation.call(pow, 2, 2, seconds=30, wait=60)  # the pool is up
    started = time.monotonic()
    with pytest.raises(isolation.TimedOut):
        isolation.call(mark_and_sleep, str(tmp_path / "slow"), 60, seconds=0.5, wait=60)
    assert time.monotonic() - started < 0.5 + 6
    pid = int((tmp_path / "slow").read_text())
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2])
    assert isolation.call(pow, 3, 2, seconds=30, wait=60) == 9  # a new child took its place


def test_the_child_has_no_database(db):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):  # DATABASES is empty there (test_sandbox.py)
        isolation.call(count_authorities, seconds=30, wait=60)


def test_no_free_child_within_the_wait_is_unavailable_not_a_hung_request(tmp_path):
    isolation.call(pow, 2, 2, seconds=30, wait=60)  # the pool is up
    with busy_children(tmp_path):
        started = time.monotonic()
        with pytest.raises(isolation.Unavailable):
            isolation.call(pow, 2, 3, seconds=0.5, wait=0.5)
        assert time.monotonic() - started < 0.5 + 0.5 + 2


def test_verification_unavailable_on_the_page_and_the_api(client, db, settings, tmp_path):
    """No free verifier: 503 ``verification_unavailable`` with ``Retry-After`` in the API,
    and a message in the user's language on the page."""
    settings.TUNGBAN_VERIFY_MAX_SECONDS = 0.5
    settings.TUNGBAN_VERIFY_WAIT_SECONDS = 0.5
    with pytest.raises(DomainError):
        verify.verify_upload(b"hello")  # the pool is up
    with busy_children(tmp_path):
        upload = {"file": SimpleUploadedFile("a.pdf", b"%PDF-1.7\n")}
        api = client.post("/api/v1/signing/verify", upload, **EN)
        assert api.status_code == 503 and api["Retry-After"] == "1"
        assert api.json()["error"] == "verification_unavailable" and "try again" in api.json()["message"]
        upload = {"file": SimpleUploadedFile("a.pdf", b"%PDF-1.7\n")}
        zh = client.post("/signing/verify", upload, HTTP_ACCEPT_LANGUAGE="zh-hant")
        assert zh.status_code == 503 and "目前無法檢查簽署" in zh.content.decode()


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_a_verifier_that_dies_mid_check_gives_a_clear_error(transactional_db, settings):
    settings.TUNGBAN_VERIFY_MAX_SECONDS = 120
    data = slow_pdf(settings)
    with pytest.raises(DomainError):
        verify.verify_upload(b"hello")  # the pool is up
    children = [p.pid for p in multiprocessing.active_children() if p.name == "pebble_pool_worker"]
    before = {pid: cpu_ticks(pid) for pid in children}
    outcome = {}

    def request():
        started = time.monotonic()
        try:
            with translation.override("en"):
                verify.verify_upload(data)
        except DomainError as exc:
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=request)
    thread.start()
    busy = []
    wait_for(lambda: busy.extend(p for p in children if cpu_ticks(p) - before[p] > 50) or busy, what="a busy child")
    os.kill(busy[0], signal.SIGKILL)  # as the kernel's OOM killer would
    thread.join(timeout=60)
    assert not thread.is_alive()
    error = outcome["error"]
    assert (error.code, error.status, error.field) == ("pdf_too_complex", 422, "file")
    assert "stopped before it finished" in str(error.message)
    assert outcome["seconds"] < 60


def test_a_child_nobody_stops_ends_itself():
    """Should its web process die (``SIGKILL``) while a check runs, nobody is left to stop
    the child: it ends itself ``BACKSTOP`` s after the limit (here the pool is given no
    timeout, as if its parent were gone)."""
    from pebble import ProcessExpired

    future = isolation.pool().schedule(isolation._run, args=(time.sleep, (60,), 0.5))
    with pytest.raises(ProcessExpired) as exc:
        future.result(timeout=50)
    assert exc.value.exitcode == -signal.SIGALRM
