"""Harvest sources (issue 21): polled from a local HTTP server (no internet) — changed,
unchanged (same bytes and 304), down, 5xx, a file failing its Table Schema, too large."""

import http.server
import threading

import pytest
from django.utils import timezone

from tungban.core.errors import DomainError
from tungban.opendata import storage
from tungban.opendata.constants import VersionSource, VersionState
from tungban.opendata.models import HarvestSource, ResourceVersion
from tungban.opendata.services import harvest, publishing

from .conftest import CSV

CSV2 = CSV + b"Eastern,2026-11-02,30\n"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the standard library's name
        state = self.server.state
        state["requests"].append(dict(self.headers))
        if state["status"] != 200:
            self.send_response(state["status"])
            self.end_headers()
            return
        etag = f'"{len(state["body"])}-{hash(state["body"]) & 0xFFFF}"'
        if state.get("etag") and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(state["body"])))
        if state.get("etag"):
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(state["body"])

    def log_message(self, *args):
        pass


@pytest.fixture
def server(settings, tmp_path):
    settings.TUNGBAN_OPENDATA_FILES = tmp_path / "files"
    settings.TUNGBAN_OPENDATA_HARVEST_PRIVATE = True
    settings.TUNGBAN_OPENDATA_HARVEST_TIMEOUT = 5
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.state = {"status": 200, "body": CSV, "requests": [], "etag": False}
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(server):
    return f"http://127.0.0.1:{server.server_address[1]}/counts.csv"


@pytest.fixture
def source(server, published, officer):
    ds, res, v = published
    src = harvest.register_source(officer, res, _url(server), 60)
    HarvestSource.objects.filter(pk=src.pk).update(approved=True)  # as the DDO's next approval does
    return HarvestSource.objects.get(pk=src.pk)


def test_changed_content_is_published_for_an_approved_source(server, source):
    server.state["body"] = CSV2
    assert harvest.run(source.pk) == "published"
    source.refresh_from_db()
    res = source.resource
    res.refresh_from_db()
    assert source.last_status == "published" and source.failures == 0 and source.next_run_at > timezone.now()
    assert storage.read(res.current.sha256) == CSV2 and res.current.source == VersionSource.HARVEST
    assert res.current.row_count == 3 and res.current.state == VersionState.PUBLISHED


def test_unchanged_content_stores_nothing(server, source):
    before = ResourceVersion.objects.count()
    assert harvest.run(source.pk) == "unchanged"  # same SHA-256 as the published version
    server.state["etag"] = True
    assert harvest.run(source.pk) == "unchanged"
    source.refresh_from_db()
    assert source.etag  # the source's ETag kept
    assert harvest.run(source.pk) == "unchanged"  # answered 304
    assert server.state["requests"][-1].get("If-None-Match") == source.etag
    assert ResourceVersion.objects.count() == before


def test_an_unapproved_source_leaves_the_version_pending(server, published, officer, ddo):
    ds, res, v = published
    src = harvest.register_source(officer, res, _url(server), 60)
    server.state["body"] = CSV2
    assert harvest.run(src.pk) == "pending"
    new = ResourceVersion.objects.get(resource=res, state=VersionState.PENDING)
    res.refresh_from_db()
    assert res.current_id == v.pk
    sub = publishing.submit(officer, ds)
    publishing.approve(ddo, sub.pk)
    new.refresh_from_db()
    res.refresh_from_db()
    assert new.state == VersionState.PUBLISHED and res.current_id == new.pk
    assert HarvestSource.objects.get(pk=src.pk).approved


def test_down_and_5xx_count_failures_with_backoff(server, source, settings):
    settings.TUNGBAN_TASK_RETRY_DELAY = 10
    server.state["status"] = 503
    assert harvest.run(source.pk) == "error"
    source.refresh_from_db()
    assert source.failures == 1 and "503" in source.last_error
    first_delay = source.next_run_at - source.last_run_at
    assert harvest.run(source.pk) == "error"
    source.refresh_from_db()
    assert source.failures == 2 and source.next_run_at - source.last_run_at == 2 * first_delay
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    HarvestSource.objects.filter(pk=source.pk).update(url=f"http://127.0.0.1:{port}/gone.csv")
    assert harvest.run(source.pk) == "error"
    source.refresh_from_db()
    assert source.failures == 3 and "ConnectionError" in source.last_error
    assert ResourceVersion.objects.filter(source=VersionSource.HARVEST).count() == 0


def test_a_file_failing_its_schema_is_recorded_and_not_stored(server, source):
    server.state["body"] = b"district,date,count\nWan Chai,not a date,1\n"
    before = ResourceVersion.objects.count()
    assert harvest.run(source.pk) == "invalid"
    source.refresh_from_db()
    assert source.last_status == "invalid" and "date" in source.last_error
    assert ResourceVersion.objects.count() == before


def test_too_large_is_refused(server, source, settings):
    settings.TUNGBAN_OPENDATA_MAX_UPLOAD = 10
    server.state["body"] = CSV2
    assert harvest.run(source.pk) == "invalid"
    source.refresh_from_db()
    assert source.last_status == "invalid" and source.last_error


def test_private_addresses_are_refused_unless_allowed(server, source, settings):
    settings.TUNGBAN_OPENDATA_HARVEST_PRIVATE = False
    server.state["body"] = CSV2
    assert harvest.run(source.pk) == "error"
    source.refresh_from_db()
    assert "private network" in source.last_error and server.state["requests"] == []


def test_poll_due_claims_and_queues_once(source):
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    assert harvest.poll_due(now) == {"opendata.HarvestSource (queued)": 1}
    assert harvest.poll_due(now) == {"opendata.HarvestSource (queued)": 0}  # claimed: not due again
    queued = DBTaskResult.objects.filter(task_path=harvest.harvest_task.module_path)
    assert queued.count() == 1 and queued.get().args_kwargs["args"] == [source.pk]


def test_register_source_checks(published, officer, org):
    ds, res, v = published
    for url, minutes in (("ftp://example.org/x.csv", 60), ("https://example.org/x.csv", 1), ("", 60)):
        with pytest.raises(DomainError) as e:
            harvest.register_source(officer, res, url, minutes)
        assert e.value.code == "invalid_harvest_source"
    assert not HarvestSource.objects.exists()
