"""The issue 21 review's findings (branch orev), each a test that failed while its bug was
on main, kept so that it stays fixed."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import types

import pytest

from tungban.core import netguard
from tungban.opendata.models import HarvestSource
from tungban.opendata.services import harvest
from tungban.testing.browser import chromium_available, launch_browser, playwright_session

from .conftest import CSV

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _files(settings, tmp_path):
    settings.TUNGBAN_OPENDATA_FILES = tmp_path / "opendata"


class _Redirector(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the standard library's name
        self.server.hits.append(self.path)
        if self.path == "/start.csv":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}/internal.csv")
            self.end_headers()
            return
        body = CSV + b"Eastern,2026-11-02,30\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_harvest_does_not_follow_a_redirect_to_a_private_address(settings, published, officer, monkeypatch):
    """SSRF: the private-network guard resolves only the first host; ``requests`` then follows
    a redirect to any address. Here ``localhost`` stands for a public host (the guard is told
    it resolves to a global address) that redirects to ``127.0.0.1`` (private): the private
    address must never be fetched."""
    settings.TUNGBAN_OPENDATA_HARVEST_PRIVATE = False
    settings.TUNGBAN_OPENDATA_HARVEST_TIMEOUT = 5
    real = socket.getaddrinfo

    def fake_getaddrinfo(host, *args, **kwargs):
        if host == "localhost":  # the attacker's "public" host
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(netguard, "socket", types.SimpleNamespace(getaddrinfo=fake_getaddrinfo))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    httpd.hits = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        ds, res, v = published
        src = harvest.register_source(officer, res, f"http://localhost:{httpd.server_address[1]}/start.csv", 60)
        HarvestSource.objects.filter(pk=src.pk).update(approved=True)
        status = harvest.run(src.pk)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "/internal.csv" not in httpd.hits, f"the private address was fetched (run: {status})"


@pytest.mark.e2e
@pytest.mark.skipif(not chromium_available(), reason="no Chromium")
def test_schema_org_script_survives_a_comment_opener_in_a_title(client, published, officer, ddo, org):
    """XSS/markup: the schema.org JSON-LD escapes only ``</``. A title holding ``<!--<script>``
    puts the HTML parser into the "script data double escaped" state (HTML §13.2.5.20-31), so
    the template's own ``</script>`` no longer ends the element and the page after it is
    swallowed into the script. Parsed by Chromium, the script's text must be the JSON."""
    ds, res, v = published
    ds.title_en = "Counts <!--<script> x"
    ds.save(update_fields=["title_en"])
    html = client.get(f"/data/dataset/{ds.name}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    with playwright_session() as pw:
        browser = launch_browser(pw)
        page = browser.new_page()
        page.set_content(html.replace("<script src=", "<noscript data-src="), wait_until="domcontentloaded")
        text = page.evaluate("document.getElementById('schema-org').textContent")
        has_main = page.evaluate("!!document.querySelector('main, h1')")
        browser.close()
    assert json.loads(text)["name"].startswith("Counts"), text[:300]
    assert has_main


class _Drip(http.server.BaseHTTPRequestHandler):
    """200, then one byte every 0.2 s for 30 bytes (6 s): never silent for a whole timeout."""

    def do_GET(self):  # noqa: N802 - the standard library's name
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.end_headers()
        for _ in range(30):
            self.wfile.write(b"a")
            self.wfile.flush()
            self.server.stop.wait(0.2)  # the server's pace, not the test's assertion

    def log_message(self, *args):
        pass


def test_harvest_gives_up_on_a_source_that_drips_past_its_timeout(settings, published, officer):
    """Abuse: ``TUNGBAN_OPENDATA_HARVEST_TIMEOUT`` is given to ``requests`` as connect/read
    timeouts, which bound each silence, not the whole download. A source sending a byte
    every 0.2 s keeps a worker busy for as long as it likes (at 5 bytes/s the 20 MB cap is
    reached after 46 days). With a 1 s timeout, a 6 s download must end as an error."""
    settings.TUNGBAN_OPENDATA_HARVEST_PRIVATE = True
    settings.TUNGBAN_OPENDATA_HARVEST_TIMEOUT = 1
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    httpd.stop = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        ds, res, v = published
        src = harvest.register_source(officer, res, f"http://127.0.0.1:{httpd.server_address[1]}/drip.csv", 60)
        status = harvest.run(src.pk)
    finally:
        httpd.stop.set()
        httpd.shutdown()
        httpd.server_close()
    src.refresh_from_db()
    assert status == "error", (status, src.last_error)


@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_a_huge_harvest_interval_is_a_form_error_not_a_500(client, published, officer, lang):
    """Bad input: ``HarvestForm.interval_minutes`` has ``min_value`` but no ``max_value``; the
    model field is a ``PositiveIntegerField`` (PostgreSQL ``integer``, at most 2,147,483,647;
    SQLite at most 2**63 - 1). A larger number reaches the database: an
    ``OverflowError``/``DataError`` and a 500 instead of a message on the form."""
    from tungban.testing.factories import login_staff

    ds, res, v = published
    login_staff(client, officer)
    client.raise_request_exception = False
    resp = client.post(
        f"/staff/data/dataset/{ds.name}/resources/{res.id}/harvest/",
        {f"h{res.position}-url": "https://example.org/counts.csv", f"h{res.position}-interval_minutes": "9" * 20},
        HTTP_ACCEPT_LANGUAGE=lang,
    )
    assert resp.status_code == 400, resp.status_code
    assert not HarvestSource.objects.exists()


def test_hkscs_characters_are_searchable(groups, officer, ddo, org):
    """Search quality: ``search._CJK`` covers U+3400–U+9FFF and U+F900–U+FAFF only, so Hong
    Kong Supplementary Character Set characters in CJK Extension B (U+20000–, e.g. 𨋢 “lift”,
    the word on every EMSD lift dataset) are dropped: they are neither indexed nor searched,
    and a query of only such characters is an empty query that answers every dataset."""
    from tungban.opendata.services import search

    from .conftest import make_published

    lifts, *_ = make_published(officer, ddo, org, name="lift-inspections")
    lifts.title_zh = "𨋢檢驗"
    lifts.save(update_fields=["title_zh"])
    search.reindex(lifts)
    other, *_ = make_published(officer, ddo, org, name="traffic-counts")
    result = search.query("𨋢")
    assert [d.name for d in result.datasets] == ["lift-inspections"], (result.count, [d.name for d in result.datasets])


def test_another_providers_staff_change_nothing_by_any_desk_post(client, published, officer, ddo, org):
    """Authorisation sweep (passes on main; kept as a regression probe): a data officer and
    the DDO of provider B post to every desk URL of provider A's dataset, resource and a
    pending submission by id; every answer is 403/404 and nothing of A changes."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tungban.opendata.constants import Role
    from tungban.opendata.models import DataOfficer, DatasetEvent, Organization, ResourceVersion, Submission
    from tungban.opendata.services import versions
    from tungban.testing.factories import login_staff, staff_user

    from .conftest import CSV

    ds, res, v = published
    versions.add_version(officer, res, CSV + b"Eastern,2026-11-02,30\n")
    from tungban.opendata.services import publishing as pub

    sub = pub.submit(officer, ds)
    other = Organization.objects.create(name="hk-epd", title_en="EPD", title_zh="環保署")
    b_officer = staff_user("none", username="epd-officer")
    b_ddo = staff_user("none", username="epd-ddo")
    DataOfficer.objects.create(user=b_officer, organization=other, role=Role.DATA_OFFICER)
    DataOfficer.objects.create(user=b_ddo, organization=other, role=Role.DDO)
    before = (
        ResourceVersion.objects.count(),
        DatasetEvent.objects.count(),
        list(Submission.objects.values_list("pk", "state")),
        HarvestSource.objects.count(),
    )
    p = res.position
    posts = [
        (f"/staff/data/dataset/{ds.name}/resources/", {"res-name_en": "x", "res-name_zh": "x"}, "res-file"),
        (f"/staff/data/dataset/{ds.name}/resources/{res.id}/versions/", {}, f"v{p}-file"),
        (
            f"/staff/data/dataset/{ds.name}/resources/{res.id}/harvest/",
            {f"h{p}-url": "https://example.org/a.csv", f"h{p}-interval_minutes": "60"},
            None,
        ),
        (f"/staff/data/dataset/{ds.name}/submit/", {"sub-note": "x"}, None),
        (f"/staff/data/approvals/{sub.pk}/approve/", {}, None),
        (f"/staff/data/approvals/{sub.pk}/return/", {"ret-reason_en": "no", "ret-reason_zh": "不"}, None),
    ]
    for user in (b_officer, b_ddo):
        client.logout()
        login_staff(client, user)
        for url, data, file_field in posts:
            body = dict(data)
            if file_field:
                body[file_field] = SimpleUploadedFile("a.csv", CSV + b"X,2026-11-03,1\n", content_type="text/csv")
            resp = client.post(url, body, HTTP_ACCEPT_LANGUAGE="en")
            assert resp.status_code in (403, 404), (user.username, url, resp.status_code)
        assert client.get(f"/staff/data/approvals/{sub.pk}/").status_code in (403, 404)
        assert client.get(f"/staff/data/dataset/{ds.name}/").status_code in (403, 404)
    after = (
        ResourceVersion.objects.count(),
        DatasetEvent.objects.count(),
        list(Submission.objects.values_list("pk", "state")),
        HarvestSource.objects.count(),
    )
    assert after == before


def test_ddo_approves_only_harvest_addresses_shown_to_them(client, published, officer, ddo):
    """Two-person rule: ``publishing.approve`` marks every harvest source of the dataset
    approved, but the approval page (``staff/approval.html``) never shows a source's address,
    and a source registered (or changed) after the request was submitted is approved with
    it. An officer submits a harmless new version, then points the resource at an address of
    their choosing; the DDO approves what the page shows, and from then on whatever that
    address serves is published without review. The address must be on the page the DDO
    approves from, or a source registered after the submission must stay unapproved."""
    from tungban.opendata.services import publishing as pub
    from tungban.opendata.services import versions
    from tungban.testing.factories import login_staff

    from .conftest import CSV

    ds, res, v = published
    versions.add_version(officer, res, CSV + b"Eastern,2026-11-02,30\n")
    sub = pub.submit(officer, ds)
    url = "https://attacker.example/anything.csv"
    harvest.register_source(officer, res, url, 60)
    login_staff(client, ddo)
    page = client.get(f"/staff/data/approvals/{sub.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert client.post(f"/staff/data/approvals/{sub.pk}/approve/", HTTP_ACCEPT_LANGUAGE="en").status_code == 302
    source = HarvestSource.objects.get(resource=res)
    assert url in page or not source.approved, "the DDO approved a harvest address the page never showed"


@pytest.mark.parametrize(
    "url",
    [
        "/data/?page=99999999999999999999",
        "/data/v1/historical-archive/list-files?start=20200101&end=20301231&skip=99999999999999999999",
    ],
)
def test_a_huge_page_or_skip_is_not_a_500(client, published, url):
    """Bad input: ``views._page`` (``max(1, int(page))``) and ``archive.list_files``
    (``skip >= 0``) bound numbers from below only; a number past 2**63 reaches the database
    as an OFFSET (SQLite: ``IntegrityError: datatype mismatch``) and the answer is a 500.
    The search page shows the last page for a page past the end (commit d6f64d6); the
    archive answers 400 ``invalid_parameter`` or an empty list."""
    client.raise_request_exception = False
    resp = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code in (200, 400), resp.status_code


def test_files_are_one_copy_in_a_shared_cache(client, published):
    """A file's bytes depend on its URL alone: no ``Vary`` (the language and session
    middleware would add ``Accept-Language, Cookie``, so a CDN kept a copy per language and
    cookie); the CKAN API, whose answers follow the language, keeps its ``Vary``."""
    ds, res, v = published
    for url in (f"/data/files/{res.id}/{res.filename}", f"/data/files/{res.id}/v/{v.sha256}/{res.filename}"):
        for headers in ({"HTTP_ACCEPT_LANGUAGE": "zh-hant"}, {"HTTP_IF_NONE_MATCH": f'"{v.sha256}"'}):
            resp = client.get(url, **headers)
            assert resp.status_code in (200, 304)
            assert not resp.has_header("Vary"), (url, resp.status_code, resp["Vary"])
    assert "Accept-Language" in client.get(f"/api/3/action/package_show?id={ds.name}")["Vary"]
