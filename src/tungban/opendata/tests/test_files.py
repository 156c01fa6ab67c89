"""Resource files, versions and the historical archive over HTTP (issue 21, acceptance 2), the
upload checks, and usage counting."""

import datetime as dt
import json

import pytest
import requests
from django.test import Client
from django.utils import timezone

from tungban.core.errors import DomainError
from tungban.opendata.constants import UsageKind, VersionState
from tungban.opendata.models import Resource, ResourceVersion, UsageCount
from tungban.opendata.services import archive, publishing, usage, versions

from .conftest import CSV, SCHEMA, make_published

CSV2 = CSV + b"Eastern,2026-11-02,30\n"


@pytest.fixture(autouse=True)
def store(settings, tmp_path):
    settings.TUNGBAN_OPENDATA_FILES = tmp_path / "files"
    return settings.TUNGBAN_OPENDATA_FILES


def _backdate(version, hours):
    """Make ``version`` look published ``hours`` ago (tests cannot wait for the clock)."""
    t = timezone.now() - dt.timedelta(hours=hours)
    ResourceVersion.objects.filter(pk=version.pk).update(captured_at=t, published_at=t)
    version.refresh_from_db()
    return version


def _new_version(officer, ddo, res, data):
    v = versions.add_version(officer, res, data)
    sub = publishing.submit(officer, res.dataset)
    publishing.approve(ddo, sub.pk)
    v.refresh_from_db()
    return v


@pytest.mark.django_db(transaction=True)
def test_acceptance_2_versions_archive_and_conditional_get(live_server, groups, officer, ddo, org):
    ds, res, old = make_published(officer, ddo, org)
    old = _backdate(old, 2)
    base = live_server.url
    current = f"{base}/data/files/{res.pk}/counts.csv"
    first = requests.get(current, timeout=10)
    assert first.status_code == 200 and first.content == CSV
    old_etag = first.headers["ETag"]
    assert old_etag == f'"{old.sha256}"'
    old_url = f"{base}/data/files/{res.pk}/v/{old.sha256}/counts.csv"
    assert requests.get(old_url, timeout=10).headers["ETag"] == old_etag

    new = _new_version(officer, ddo, res, CSV2)
    assert new.state == VersionState.PUBLISHED and new.sha256 != old.sha256

    # the old version URL: the old bytes, the same ETag, cached for ever
    r = requests.get(old_url, timeout=10)
    assert r.status_code == 200 and r.content == CSV and r.headers["ETag"] == old_etag
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # the archive lists both versions
    day = timezone.localdate().strftime("%Y%m%d")
    start = (timezone.localdate() - dt.timedelta(days=1)).strftime("%Y%m%d")
    r = requests.get(
        f"{base}/data/v1/historical-archive/list-file-versions",
        params={"url": current, "start": start, "end": day},
        timeout=10,
    )
    body = r.json()
    assert body["version-count"] == 2
    assert body["timestamps"] == [archive.stamp(old.published_at), archive.stamp(new.published_at)]
    # get-file at a time between them → the old version
    between = archive.stamp(old.published_at + dt.timedelta(hours=1))
    r = requests.get(
        f"{base}/data/v1/historical-archive/get-file",
        params={"url": current, "time": between},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/v/{old.sha256}/counts.csv")
    assert requests.get(base + r.headers["Location"], timeout=10).content == CSV
    # the current URL: 304 to a matching If-None-Match, 200 with the new bytes to the old ETag
    r = requests.get(current, timeout=10)
    new_etag = r.headers["ETag"]
    assert r.content == CSV2 and new_etag == f'"{new.sha256}"'
    assert r.headers["Cache-Control"] == "public, max-age=60"
    r = requests.get(current, headers={"If-None-Match": new_etag}, timeout=10)
    assert r.status_code == 304 and r.content == b"" and r.headers["ETag"] == new_etag
    r = requests.get(current, headers={"If-None-Match": old_etag}, timeout=10)
    assert r.status_code == 200 and r.content == CSV2


@pytest.fixture
def client():
    return Client()


def test_conditional_forms_head_and_headers(client, published):
    ds, res, v = published
    url = f"/data/files/{res.pk}/counts.csv"
    etag = f'"{v.sha256}"'
    for header in ("*", f'"x", {etag}', f"W/{etag}"):
        assert client.get(url, headers={"if-none-match": header}).status_code == 304, header
    assert client.get(url, headers={"if-none-match": '"other"'}).status_code == 200
    r = client.get(url)
    assert r["Content-Disposition"] == 'attachment; filename="counts.csv"'
    assert r["Last-Modified"] and r["Content-Type"].startswith("text/csv")
    assert b"".join(r.streaming_content) == CSV
    r = client.get(url, headers={"if-modified-since": r["Last-Modified"]})
    assert r.status_code == 304
    h = client.head(url)
    assert h.status_code == 200 and h["Content-Length"] == str(len(CSV)) and h["ETag"] == etag
    assert client.post(url).status_code == 405
    assert client.get(f"/data/files/{res.pk}/other.csv").status_code == 404


def test_json_and_xml_forms_are_typed_and_cached_by_digest(client, published, store):
    ds, res, v = published
    r = client.get(f"/data/files/{res.pk}/counts.json")
    assert r.status_code == 200 and r["ETag"] == f'"{v.sha256}.json"'
    records = json.loads(b"".join(r.streaming_content))
    assert records[0] == {"district": "Central and Western", "date": "2026-11-01", "count": 12}
    assert len(records) == 2
    r = client.get(f"/data/files/{res.pk}/v/{v.sha256}/counts.xml")
    xml = b"".join(r.streaming_content).decode()
    assert r["ETag"] == f'"{v.sha256}.xml"' and '<field name="count">7</field>' in xml
    assert r["Cache-Control"].endswith("immutable")
    assert len(list((store / "derived").rglob("*.json"))) == 1
    assert (
        client.get(f"/data/files/{res.pk}/counts.json", headers={"if-none-match": f'"{v.sha256}.json"'}).status_code
        == 304
    )


def test_pending_rejected_and_withdrawn(client, published, officer, ddo):
    ds, res, v = published
    pending = versions.add_version(officer, res, CSV2)
    assert client.get(f"/data/files/{res.pk}/v/{pending.sha256}/counts.csv").status_code == 404
    sub = publishing.submit(officer, ds)
    publishing.reject(ddo, sub.pk, reason_en="Wrong", reason_zh="錯誤")
    assert client.get(f"/data/files/{res.pk}/v/{pending.sha256}/counts.csv").status_code == 404
    assert b"".join(client.get(f"/data/files/{res.pk}/counts.csv").streaming_content) == CSV
    publishing.withdraw(ddo, ds, reason_en="Stale", reason_zh="過時")
    assert client.get(f"/data/files/{res.pk}/counts.csv").status_code == 404
    r = client.get(f"/data/files/{res.pk}/v/{v.sha256}/counts.csv")
    assert r.status_code == 200 and b"".join(r.streaming_content) == CSV


def test_archive_bad_input(client, published):
    ds, res, v = published
    base = "/data/v1/historical-archive/"
    current = f"http://testserver/data/files/{res.pk}/counts.csv"
    for params, name in [
        ({"start": "2026-09-01", "end": "20261231"}, "start"),
        ({"end": "20261231"}, "start"),
        ({"start": "20260101", "end": "2026123"}, "end"),
        ({"start": "20260230", "end": "20261231"}, "start"),
        ({"start": "20261231", "end": "20260101"}, "end"),
        ({"start": "20260101", "end": "20261231", "skip": "-1"}, "skip"),
        ({"start": "20260101", "end": "20261231", "order": "sideways"}, "order"),
    ]:
        r = client.get(base + "list-files", params)
        assert r.status_code == 400 and r.json()["message"] == f"invalid {name} parameter", params
    r = client.get(base + "get-file", {"url": current, "time": "20261301-1000"})
    assert r.status_code == 400 and r.json()["message"] == "invalid time parameter"
    r = client.get(base + "get-file", {"url": current, "time": "20000101-0000"})
    assert r.status_code == 404 and r.json()["error"] == "no_version_at_time"
    for url in (
        "http://testserver/data/files/00000000-0000-0000-0000-000000000000/counts.csv",
        "/nowhere",
        f"/data/files/{res.pk}/x.csv",
    ):
        r = client.get(base + "list-file-versions", {"url": url})
        assert r.status_code == 404 and r.json()["error"] == "unknown_file_url"
    assert client.get(base + "list-file-versions").json()["message"] == "invalid url parameter"
    r = client.get(base + "list-files", {"start": "x"}, headers={"accept-language": "zh-HK"})
    assert r.json()["message"] == "start 參數無效"


def test_list_files_filters_and_schema(client, published, officer, ddo, org):
    ds, res, v = published
    other, ores, ov = make_published(officer, ddo, org, name="air-quality", groups=("environment",))
    day = timezone.localdate().strftime("%Y%m%d")
    base = "/data/v1/historical-archive/"
    r = client.get(base + "list-files", {"start": day, "end": day}).json()
    assert r["file-count"] == 2 and [f["dataset-name"] for f in r["files"]] == ["air-quality", "traffic-counts"]
    r = client.get(base + "list-files", {"start": day, "end": day, "category": "transport"}).json()
    assert [f["url"] for f in r["files"]] == [f"http://testserver/data/files/{res.pk}/counts.csv"]
    assert r["files"][0]["version-count"] == 1 and r["files"][0]["provider"] == "hk-td"
    r = client.get(base + "list-files", {"start": day, "end": day, "order": "desc", "skip": "1"}).json()
    assert r["file-count"] == 2 and [f["dataset-name"] for f in r["files"]] == ["air-quality"]
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).strftime("%Y%m%d")
    assert client.get(base + "list-files", {"start": yesterday, "end": yesterday}).json()["file-count"] == 0
    assert (
        client.get(base + "list-files", {"start": day, "end": day, "search": "nothing-like-it"}).json()["files"] == []
    )
    url = f"/data/files/{res.pk}/counts.csv"
    assert client.get(base + "get-data-dictionary", {"url": url, "date": day}).json() == SCHEMA
    assert client.get(base + "get-schema", {"url": url}).json() == SCHEMA
    assert client.get(base + "get-data-dictionary", {"url": url, "date": yesterday}).status_code == 404


# --- upload checks --------------------------------------------------------------------------


@pytest.fixture
def draft(groups, officer, org):
    ds = publishing.create_dataset(officer, org, name="draft-set", title_en="Draft", title_zh="草稿")
    return publishing.add_resource(officer, ds, name_en="C", name_zh="丙", filename="c.csv", table_schema=SCHEMA)


@pytest.mark.parametrize(
    ("data", "first"),
    [
        (b"district,date,count\nWan Chai,2026-11-01,seven\n", ("type-error", 2, "count")),
        (b"district,day,count\nWan Chai,2026-11-01,7\n", ("incorrect-label", 1, "date")),
        (b"district,date,count\nWan Chai,2026-13-01,7\n", ("type-error", 2, "date")),
        (b"district,date,count\nWan Chai,2026-11-01\n", ("missing-cell", 2, "count")),
        ("district,date,count\n灣仔,2026-11-01,7\n".encode("big5"), ("encoding-error", 0, "")),
    ],
)
def test_a_file_failing_its_schema_is_refused_and_nothing_stored(draft, officer, data, first):
    with pytest.raises(DomainError) as e:
        versions.add_version(officer, draft, data)
    assert e.value.code == "table_schema_failure"
    got = e.value.details["errors"][0]
    assert (got["type"], got["row"], got["field"]) == first
    assert not ResourceVersion.objects.filter(resource=draft).exists()


def test_a_bilingual_refusal_names_row_and_field(draft, officer):
    from django.utils import translation

    data = b"district,date,count\nWan Chai,2026-11-01,seven\n"
    with translation.override("zh-hant"), pytest.raises(DomainError) as e:
        versions.add_version(officer, draft, data)
    assert "第 2 行" in str(e.value.message) and "「count」" in str(e.value.message)
    with translation.override("en"), pytest.raises(DomainError) as e:
        versions.add_version(officer, draft, data)
    assert "Row 2" in str(e.value.message) and "“count”" in str(e.value.message)


def test_constraints_bom_and_row_count(draft, officer, org):
    res = publishing.add_resource(
        officer,
        draft.dataset,
        name_en="K",
        name_zh="丁",
        filename="k.csv",
        table_schema={
            "fields": [
                {"name": "code", "type": "string", "constraints": {"required": True, "pattern": "[A-Z]{2}"}},
                {"name": "n", "type": "number", "constraints": {"minimum": 0}},
                {"name": "ok", "type": "boolean"},
            ],
            "primaryKey": "code",
        },
    )
    good = "\ufeffcode,n,ok\nAB,1.5,true\nCD,,false\n".encode()
    v = versions.add_version(officer, res, good)
    assert v.row_count == 2 and v.table_schema == res.table_schema
    for bad, kind in [
        (b"code,n,ok\nab,1,true\n", "constraint-error"),
        (b"code,n,ok\nAB,-1,true\n", "constraint-error"),
        (b"code,n,ok\n,1,true\n", "required"),
        (b"code,n,ok\nAB,1,yes\n", "type-error"),
        (b"code,n,ok\nAB,1,true\nAB,2,false\n", "primary-key"),
        (b"code,n,ok\nAB,1,true,extra\n", "extra-cell"),
    ]:
        with pytest.raises(DomainError) as e:
            versions.add_version(officer, res, bad)
        assert e.value.details["errors"][0]["type"] == kind, bad


def test_size_limits(draft, officer, settings):
    settings.TUNGBAN_OPENDATA_MAX_UPLOAD = 40
    with pytest.raises(DomainError) as e:
        versions.add_version(officer, draft, CSV)
    assert e.value.code == "file_too_large" and e.value.status == 413
    with pytest.raises(DomainError) as e:
        versions.add_version(officer, draft, b"")
    assert e.value.code == "empty_file"
    assert not ResourceVersion.objects.filter(resource=draft).exists()


@pytest.mark.parametrize(
    "schema",
    [
        {},
        {"fields": []},
        {"fields": [{"name": "a", "type": "colour"}]},
        {"fields": [{"name": "a"}, {"name": "a"}]},
        {"fields": [{"name": "a", "constraints": {"pattern": "("}}]},
        {"fields": [{"name": "a", "constraints": {"bogus": 1}}]},
        {"fields": [{"name": "a"}], "primaryKey": "b"},
    ],
)
def test_an_invalid_table_schema_is_refused(groups, officer, org, schema):
    ds = publishing.create_dataset(officer, org, name="schema-set", title_en="S", title_zh="模式")
    with pytest.raises(DomainError) as e:
        publishing.add_resource(officer, ds, name_en="S", name_zh="模式", filename="s.csv", table_schema=schema)
    assert e.value.code == "invalid_table_schema"
    assert not Resource.objects.filter(dataset=ds).exists()


# --- usage ----------------------------------------------------------------------------------


def test_downloads_are_counted_not_revalidations(client, published):
    ds, res, v = published
    url = f"/data/files/{res.pk}/counts.csv"
    client.get(url)
    client.get(f"/data/files/{res.pk}/v/{v.sha256}/counts.csv")
    client.get(url, headers={"if-none-match": f'"{v.sha256}"'})
    client.head(url)
    row = UsageCount.objects.get(dataset=ds, resource=res, kind=UsageKind.DOWNLOAD)
    assert row.count == 2 and row.day == timezone.localdate()


def test_usage_upsert_and_counts(published):
    ds, res, v = published
    for _ in range(3):
        usage.record(ds.pk, res.pk, UsageKind.DOWNLOAD)
    usage.record(ds.pk, None, UsageKind.PAGE)
    usage.record(ds.pk, None, UsageKind.PAGE)
    usage.record(ds.pk, res.pk, UsageKind.DOWNLOAD, day=dt.date(2026, 1, 5))
    assert UsageCount.objects.filter(dataset=ds).count() == 3
    totals = {(r["kind"]): r["count"] for r in usage.counts(dataset_id=ds.pk)}
    assert totals == {"download": 4, "page": 2}
    months = usage.counts(by="month", kind=UsageKind.DOWNLOAD)
    assert [(m["month"], m["count"]) for m in months][0] == ("2026-01", 1)
    by_res = usage.counts(by="resource", start=timezone.localdate())
    assert {(r["resource_id"], r["count"]) for r in by_res} == {(res.pk, 3), (None, 2)}
    with pytest.raises(ValueError):
        usage.record(ds.pk, None, "bogus")


def test_changing_a_schema_is_checked_and_old_versions_keep_theirs(client, published, officer):
    ds, res, v = published
    with pytest.raises(DomainError) as e:
        versions.set_table_schema(officer, res, {"fields": [{"name": "x", "type": "nope"}]})
    assert e.value.code == "invalid_table_schema"
    res.refresh_from_db()
    assert res.table_schema == SCHEMA
    wider = {"fields": [*SCHEMA["fields"], {"name": "note", "type": "string"}]}
    versions.set_table_schema(officer, res, wider)
    day = timezone.localdate().strftime("%Y%m%d")
    url = f"/data/files/{res.pk}/counts.csv"
    assert client.get("/data/v1/historical-archive/get-data-dictionary", {"url": url, "date": day}).json() == SCHEMA
    r = client.get(f"/data/files/{res.pk}/v/{v.sha256}/counts.json")
    assert json.loads(b"".join(r.streaming_content))[1]["count"] == 7


def test_a_304_costs_one_query_and_a_download_two(client, published, django_assert_num_queries):
    ds, res, v = published
    url = f"/data/files/{res.pk}/counts.csv"
    with django_assert_num_queries(1):
        assert client.get(url, headers={"if-none-match": f'"{v.sha256}"'}).status_code == 304
    with django_assert_num_queries(2):  # the resource with its current version; the usage upsert
        assert client.get(url).status_code == 200
