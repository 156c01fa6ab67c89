"""The data officers' desk and the Departmental Data Officer's approvals under /staff/data/
(issue 21, part opages): roles (another provider's officer is refused, a data officer cannot
approve, staff without a role get 403, anonymous users the login page), the upload of a CSV
with or without a Table Schema, refusals on the form in the user's language with nothing
stored, idempotent double submits, approval and return with reasons in both languages."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tungban.opendata.constants import DatasetState, Role, SubmissionState, VersionState
from tungban.opendata.models import (
    DataOfficer,
    Dataset,
    DatasetEvent,
    Organization,
    Resource,
    ResourceVersion,
    Submission,
)
from tungban.testing.factories import login_staff, staff_user

from .conftest import CSV, SCHEMA

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hant"}


@pytest.fixture(autouse=True)
def _files(settings, tmp_path):
    settings.TUNGBAN_OPENDATA_FILES = tmp_path / "opendata"


def new_dataset(client, name="bus-stops", lang=EN, **extra):
    data = {
        "organization": "hk-td",
        "name": name,
        "title_en": "Bus stops",
        "title_zh": "巴士站位置",
        "notes_en": "Where the buses stop.",
        "notes_zh": "巴士站的位置。",
        "groups": ["transport"],
        "tags": "bus, 巴士",
        "license_id": "hk-dgu",
        "update_frequency": "monthly",
        **extra,
    }
    return client.post("/staff/data/new/", data, **lang)


def upload(client, name="bus-stops", data=CSV, schema=None, filename="stops.csv", lang=EN):
    files = {
        "res-name_en": "Stops",
        "res-name_zh": "站位",
        "res-file": SimpleUploadedFile(filename, data, content_type="text/csv"),
    }
    if schema is not None:
        files["res-schema"] = SimpleUploadedFile("schema.json", schema, content_type="application/json")
    return client.post(f"/staff/data/dataset/{name}/resources/", files, **lang)


def test_officer_creates_uploads_submits_and_ddo_approves(client, groups, officer, ddo, org):
    login_staff(client, officer)
    resp = new_dataset(client)
    assert resp.status_code == 302 and resp["Location"] == "/staff/data/dataset/bus-stops/"
    ds = Dataset.objects.get(name="bus-stops")
    assert ds.state == DatasetState.DRAFT and ds.organization == org
    assert sorted(t.name for t in ds.tags.all()) == ["bus", "巴士"]
    assert upload(client).status_code == 302
    res = Resource.objects.get(dataset=ds)
    # No schema uploaded: every column of the header as a string (the choice documented in services/desk.py).
    assert res.table_schema == {"fields": [{"name": n, "type": "string"} for n in ("district", "date", "count")]}
    assert res.filename == "stops.csv"
    version = ResourceVersion.objects.get(resource=res)
    assert version.row_count == 2 and version.size == len(CSV) and version.state == VersionState.PENDING
    resp = client.post("/staff/data/dataset/bus-stops/submit/", {"sub-note": "Please publish."}, **EN)
    assert resp.status_code == 302
    sub = Submission.objects.get(dataset=ds)
    # A data officer has no approval queue and cannot approve.
    assert client.get("/staff/data/approvals/", **EN).status_code == 403
    assert client.post(f"/staff/data/approvals/{sub.pk}/approve/", **EN).status_code == 403
    sub.refresh_from_db()
    assert sub.state == SubmissionState.PENDING

    client.logout()
    login_staff(client, ddo)
    queue = client.get("/staff/data/approvals/", **EN).content.decode()
    assert f'data-submission="{sub.pk}"' in queue
    page = client.get(f"/staff/data/approvals/{sub.pk}/", **EN).content.decode().replace("\xa0", " ")
    assert "Size 76 bytes, 2 rows." in page
    assert "<td>Central and Western</td>" in page  # the preview
    assert "Please publish." in page
    assert client.get(f"/staff/data/approvals/{sub.pk}/approve/").status_code == 405  # POST only
    assert client.post(f"/staff/data/approvals/{sub.pk}/approve/", **EN).status_code == 302
    ds.refresh_from_db()
    version.refresh_from_db()
    assert ds.state == DatasetState.ACTIVE and version.state == VersionState.PUBLISHED
    # A second click: already decided, shown on the page, nothing changes.
    again = client.post(f"/staff/data/approvals/{sub.pk}/approve/", **EN)
    assert again.status_code == 409 and "This publication request has already been decided." in again.content.decode()
    assert [e.action for e in DatasetEvent.objects.filter(dataset=ds).order_by("at", "id")] == [
        "created",
        "submitted",
        "approved",
    ]
    history = client.get("/staff/data/dataset/bus-stops/", **EN).content.decode()
    assert 'td-ddo · <span data-action="approved">Approved and published</span>' in history
    history = client.get("/staff/data/dataset/bus-stops/", **ZH).content.decode()
    assert '<span data-action="submitted">已提交批核</span>' in history
    # Public now.
    assert client.get("/data/dataset/bus-stops/").status_code == 200


def test_uploaded_table_schema_is_kept_and_checked(client, groups, officer):
    login_staff(client, officer)
    new_dataset(client)
    wrong = json.dumps({"fields": [{"name": "district"}, {"name": "when"}, {"name": "count"}]}).encode()
    resp = upload(client, schema=wrong)
    assert resp.status_code == 400
    assert "The data dictionary (Table Schema) is not valid" in resp.content.decode()
    assert not Resource.objects.exists() and not ResourceVersion.objects.exists()
    resp = upload(client, schema=json.dumps(SCHEMA).encode(), lang=ZH)
    assert resp.status_code == 302
    assert Resource.objects.get().table_schema == SCHEMA


@pytest.mark.parametrize(
    ("data", "en", "zh"),
    [
        (b"", "The submitted file is empty.", "送出的檔案是空的。"),  # Django's own check
        ("區,數目\n中西區,1\n".encode("big5"), "it is not in UTF-8", "不是 UTF-8"),
        (b"a,b\n1,2,3\n", "row 2 has 3 cells, the header row 2", "第 2 行有 3 格"),
    ],
)
def test_bad_files_are_refused_in_the_users_language_and_nothing_is_stored(client, groups, officer, data, en, zh):
    login_staff(client, officer)
    new_dataset(client)
    resp = upload(client, data=data, lang=EN)
    assert resp.status_code == 400 and en in resp.content.decode()
    resp = upload(client, data=data, lang=ZH)
    assert resp.status_code == 400 and zh in resp.content.decode()
    assert not Resource.objects.exists() and not ResourceVersion.objects.exists()


def test_file_over_the_limit(client, groups, officer, settings):
    settings.TUNGBAN_OPENDATA_MAX_UPLOAD = 50
    login_staff(client, officer)
    new_dataset(client)
    resp = upload(client, lang=ZH)
    assert resp.status_code == 400 and "檔案大於" in resp.content.decode()
    assert not Resource.objects.exists()


def test_double_submits_create_nothing_twice(client, groups, officer):
    login_staff(client, officer)
    assert new_dataset(client).status_code == 302
    second = new_dataset(client, lang=ZH)
    assert second.status_code == 400
    assert "已有數據集名為「bus-stops」。" in second.content.decode()
    assert Dataset.objects.count() == 1
    upload(client)
    assert client.post("/staff/data/dataset/bus-stops/submit/", **EN).status_code == 302
    again = client.post("/staff/data/dataset/bus-stops/submit/", **EN)
    assert again.status_code == 409
    assert "This dataset already has a publication request waiting for approval." in again.content.decode()
    assert Submission.objects.count() == 1


def test_form_errors_in_chinese(client, groups, officer):
    login_staff(client, officer)
    resp = new_dataset(client, name="Bad Name!", lang=ZH)
    assert resp.status_code == 400
    assert "名稱有 2 至 100 個字元" in resp.content.decode()
    resp = client.post("/staff/data/dataset/bus-stops/submit/", **ZH)
    assert resp.status_code == 404  # no such dataset
    new_dataset(client)
    resp = client.post("/staff/data/dataset/bus-stops/submit/", **ZH)
    assert resp.status_code == 409 and "請先加入最少一項" in resp.content.decode()
    assert not Submission.objects.exists()


def test_another_providers_officer_is_refused(client, groups, officer, org):
    login_staff(client, officer)
    new_dataset(client)
    upload(client)
    other_org = Organization.objects.create(name="hk-hko", title_en="Hong Kong Observatory", title_zh="香港天文台")
    stranger = staff_user("none", username="hko-officer")
    DataOfficer.objects.create(user=stranger, organization=other_org, role=Role.DDO)
    client.logout()
    login_staff(client, stranger)
    res = Resource.objects.get()
    assert client.get("/staff/data/dataset/bus-stops/", **EN).status_code == 403
    assert upload(client).status_code == 403
    resp = client.post(
        f"/staff/data/dataset/bus-stops/resources/{res.id}/versions/",
        {"v0-file": SimpleUploadedFile("x.csv", b"district,date,count\nA,B,1\n")},
        **EN,
    )
    assert resp.status_code == 403
    assert client.post("/staff/data/dataset/bus-stops/submit/", **EN).status_code == 403
    assert 'data-name="bus-stops"' not in client.get("/staff/data/", **EN).content.decode()
    resp = new_dataset(client, name="sneaky")
    assert resp.status_code == 400 and not Dataset.objects.filter(name="sneaky").exists()
    # Its DDO cannot decide on the Transport Department's request either.
    client.logout()
    login_staff(client, officer)
    client.post("/staff/data/dataset/bus-stops/submit/")
    sub = Submission.objects.get()
    client.logout()
    login_staff(client, stranger)
    assert f'data-submission="{sub.pk}"' not in client.get("/staff/data/approvals/", **EN).content.decode()
    assert client.get(f"/staff/data/approvals/{sub.pk}/", **EN).status_code == 403
    assert client.post(f"/staff/data/approvals/{sub.pk}/approve/", **EN).status_code == 403
    sub.refresh_from_db()
    assert sub.state == SubmissionState.PENDING


def test_staff_without_role_and_anonymous(client, groups):
    resp = client.get("/staff/data/")
    assert resp.status_code == 302 and resp["Location"].startswith("/admin/login/")
    login_staff(client, staff_user("counter_officer"))
    resp = client.get("/staff/data/", **EN)
    assert resp.status_code == 403
    assert "You are not a data officer of any data provider." in resp.content.decode()


def test_return_with_reasons_in_both_languages(client, groups, officer, ddo):
    login_staff(client, officer)
    new_dataset(client)
    upload(client)
    client.post("/staff/data/dataset/bus-stops/submit/")
    sub = Submission.objects.get()
    client.logout()
    login_staff(client, ddo)
    resp = client.post(f"/staff/data/approvals/{sub.pk}/return/", {"ret-reason_en": "Add the stop codes."}, **ZH)
    assert resp.status_code == 400 and "這個欄位是必須的。" in resp.content.decode()
    sub.refresh_from_db()
    assert sub.state == SubmissionState.PENDING
    resp = client.post(
        f"/staff/data/approvals/{sub.pk}/return/",
        {"ret-reason_en": "Add the stop codes.", "ret-reason_zh": "請加入站位編號。"},
        **EN,
    )
    assert resp.status_code == 302
    sub.refresh_from_db()
    assert sub.state == SubmissionState.REJECTED and sub.reason_zh == "請加入站位編號。"
    assert ResourceVersion.objects.get().state == VersionState.REJECTED
    client.logout()
    login_staff(client, officer)
    assert "請加入站位編號。" in client.get("/staff/data/dataset/bus-stops/", **ZH).content.decode()
    assert "Add the stop codes." in client.get("/staff/data/dataset/bus-stops/", **EN).content.decode()


def test_new_version_of_a_published_resource(client, published, officer, ddo):
    ds, res, first = published
    login_staff(client, officer)
    new = b"district,date,count\nSha Tin,2026-12-01,3\nTai Po,2026-12-01,4\nIslands,2026-12-01,5\n"
    field = f"v{res.position}-file"
    resp = client.post(
        f"/staff/data/dataset/{ds.name}/resources/{res.id}/versions/", {field: SimpleUploadedFile("c.csv", new)}
    )
    assert resp.status_code == 302
    # Other columns are refused: the resource keeps its Table Schema.
    resp = client.post(
        f"/staff/data/dataset/{ds.name}/resources/{res.id}/versions/",
        {field: SimpleUploadedFile("c.csv", b"a,b\n1,2\n")},
        **EN,
    )
    assert resp.status_code == 400 and "The file does not match its data dictionary" in resp.content.decode()
    assert ResourceVersion.objects.filter(resource=res).count() == 2
    client.post(f"/staff/data/dataset/{ds.name}/submit/")
    sub = Submission.objects.get(state=SubmissionState.PENDING)
    client.logout()
    login_staff(client, ddo)
    page = client.get(f"/staff/data/approvals/{sub.pk}/", **EN).content.decode().replace("\xa0", " ")
    assert (
        f"Size {len(new)} bytes, 3 rows." in page and "Now published: 76 bytes" in page
    )  # its rows were not counted (uploaded by the service)
    client.post(f"/staff/data/approvals/{sub.pk}/approve/")
    res.refresh_from_db()
    assert res.current.row_count == 3 and res.current != first


def test_register_a_harvest_source(client, published, officer, settings):
    from tungban.opendata.models import HarvestSource

    ds, res, _v = published
    login_staff(client, officer)
    url = f"/staff/data/dataset/{ds.name}/resources/{res.id}/harvest/"
    field = f"h{res.position}"
    settings.TUNGBAN_OPENDATA_HARVEST_MIN_INTERVAL = 15
    resp = client.post(
        url, {f"{field}-url": "https://data.example.org/counts.csv", f"{field}-interval_minutes": "5"}, **ZH
    )
    assert resp.status_code == 400 and "間隔" in resp.content.decode()
    assert not HarvestSource.objects.exists()
    resp = client.post(url, {f"{field}-url": "https://data.example.org/counts.csv", f"{field}-interval_minutes": "60"})
    assert resp.status_code == 302
    source = HarvestSource.objects.get(resource=res)
    assert source.url == "https://data.example.org/counts.csv" and source.interval_minutes == 60
    assert not source.approved  # until the Departmental Data Officer approves the next request
    page = client.get(f"/staff/data/dataset/{ds.name}/", **EN).content.decode()
    assert "https://data.example.org/counts.csv · waiting for approval" in page
