"""Status-list positions are allocated in the transaction that stores the credentials
(issue 14 item 5): an issuance that fails or is rolled back, single or bulk, leaves the next
position where it was; two issuers at once get distinct positions (PostgreSQL).
"""

from __future__ import annotations

import os
import threading

import pytest
from django.db import connection, connections
from django.db.models import Sum

from tungban.credentials import services
from tungban.credentials.models import Credential, IssuanceBatch, StatusList
from tungban.credentials.services import bulk, issuance
from tungban.testing.tasks import start_worker, wait_for

from .conftest import make_holder

SENIOR = "senior-citizen-card"


class Killed(BaseException):
    """SIGKILL, in-process: no ``except Exception`` sees it, nothing after it runs."""


def allocated() -> int:
    return StatusList.objects.aggregate(n=Sum("allocated"))["n"] or 0


def issue_one(holder, number: str = "SC00000001"):
    return services.issue(services.get_type(SENIOR), holder.resident, {"card_number": number}, issued_by="officer:test")


def test_a_failed_issuance_gives_its_position_back(bundled, monkeypatch):
    """Fails before the fix: the position was allocated in a transaction of its own."""
    first = issue_one(make_holder())
    assert (first.status_index, allocated()) == (0, 1)

    def log_down(*args, **kwargs):
        raise RuntimeError("the transparency log failed")

    monkeypatch.setattr(issuance.ledger, "log_append_many", log_down)
    with pytest.raises(RuntimeError):
        issue_one(make_holder(), "SC00000002")
    monkeypatch.undo()
    assert allocated() == 1 and Credential.objects.count() == 1  # nothing kept, no position taken
    assert issue_one(make_holder(), "SC00000003").status_index == 1


def csv_for(holders) -> str:
    return "hkid,card_number\n" + "".join(f"{h.resident.hkid},SC{i:08d}\n" for i, h in enumerate(holders))


def test_a_rolled_back_bulk_chunk_leaves_the_next_position_where_it_was(bundled, monkeypatch, settings):
    settings.TUNGBAN_ISSUANCE_CHUNK = 2
    before = issue_one(make_holder())  # position 0
    holders = [make_holder() for _ in range(5)]
    batch = services.submit_bulk(services.get_type(SENIOR), csv_for(holders), issued_by="officer:test")
    assert bulk.run_batch_step(str(batch.id), batch.task_id) == "checked"
    batch.refresh_from_db()

    def kill(name):
        if name == "credentials.bulk_chunk":
            raise Killed(name)

    monkeypatch.setattr(bulk, "killpoint", kill)
    with pytest.raises(Killed):
        bulk.run_batch_step(str(batch.id), batch.task_id)  # the chunk's credentials were created, then the kill
    monkeypatch.undo()
    assert not Credential.objects.filter(batch=batch).exists()
    assert allocated() == 1  # the chunk's two positions went back with it
    assert issue_one(make_holder(), "SC99999999").status_index == before.status_index + 1

    # The job, run again, issues every row at the next positions: none skipped, none twice.
    while not batch.finished:
        bulk.run_batch_step(str(batch.id), batch.task_id)
        batch.refresh_from_db()
    assert batch.rows_issued == 5
    assert sorted(Credential.objects.values_list("status_index", flat=True)) == list(range(7))
    assert allocated() == 7


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_inside_a_bulk_chunk_leaks_no_position(bundled, tmp_path, monkeypatch):
    """A real ``tungban worker`` SIGKILLs itself at ``credentials.bulk_chunk``; a second one
    finishes the job; every position handed out belongs to exactly one credential."""
    holders = [make_holder() for _ in range(5)]
    batch = services.submit_bulk(services.get_type(SENIOR), csv_for(holders), issued_by="officer:test")
    log = tmp_path / "worker.log"
    (tmp_path / "killed").mkdir()
    monkeypatch.setenv("TUNGBAN_ISSUANCE_CHUNK", "2")
    monkeypatch.setenv("TUNGBAN_KILLPOINTS", "credentials.bulk_chunk")
    monkeypatch.setenv("TUNGBAN_KILLPOINT_DIR", str(tmp_path / "killed"))
    first = start_worker(log_path=log)
    try:
        first.wait(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == -9, log.read_text(errors="replace")[-3000:]
    assert not Credential.objects.exists() and allocated() == 0

    second = start_worker(log_path=log)
    try:
        wait_for(lambda: IssuanceBatch.objects.get(pk=batch.pk).finished, timeout=300, what="the job", process=second)
    finally:
        second.terminate()
        second.wait(timeout=60)
    batch.refresh_from_db()
    assert (batch.state, batch.rows_issued) == ("done", 5)
    assert sorted(Credential.objects.values_list("status_index", flat=True)) == list(range(5))
    assert allocated() == 5


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="concurrent writers need PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_two_issuers_at_once_get_distinct_positions(bundled):
    ctype = services.get_type(SENIOR)
    holders = [make_holder() for _ in range(8)]
    issue_one(make_holder())  # the status list exists
    start = threading.Barrier(len(holders))
    results, failures = [], []

    def issue(i, holder):
        try:
            start.wait(timeout=30)
            results.append(
                services.issue(ctype, holder.resident, {"card_number": f"SC{i:08d}"}, issued_by=f"system:{i}")
            )
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issue, args=(i, h)) for i, h in enumerate(holders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert connection.vendor == "postgresql"
    positions = [c.status_index for c in results]
    assert len(set(positions)) == len(holders) and sorted(positions) == list(range(1, len(holders) + 1))
    assert allocated() == len(holders) + 1
