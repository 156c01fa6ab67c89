"""Publishing a dataset (issue 21): a data officer submits, the Departmental Data Officer
(seed 002 ITIB156) approves or returns it; nothing partial is stored on a refusal."""

import pytest

from tungban.core.errors import Conflict, DomainError, Forbidden
from tungban.opendata import storage
from tungban.opendata.constants import DatasetState, VersionState
from tungban.opendata.models import Dataset, ResourceVersion, Submission
from tungban.opendata.services import publishing, versions

from .conftest import CSV, SCHEMA


def test_approval_publishes_the_dataset_and_its_version(published):
    ds, res, version = published
    assert ds.state == DatasetState.ACTIVE and ds.published_at is not None
    assert version.state == VersionState.PUBLISHED and res.current_id == version.pk
    assert storage.read(version.sha256) == CSV
    assert "交通" in ds.search_text.split() and "traffic" in ds.search_text.split()


def test_a_data_officer_cannot_approve_and_the_submitter_cannot_decide(groups, org, officer, ddo):
    ds = publishing.create_dataset(officer, org, name="x-data", title_en="X", title_zh="甲")
    res = publishing.add_resource(officer, ds, name_en="X", name_zh="甲", filename="x.csv", table_schema=SCHEMA)
    versions.add_version(officer, res, CSV)
    sub = publishing.submit(officer, ds)
    with pytest.raises(Forbidden) as e:
        publishing.approve(officer, sub.pk)
    assert e.value.code == "not_ddo"
    # a DDO who submitted their own request cannot approve it
    ds2 = publishing.create_dataset(ddo, org, name="y-data", title_en="Y", title_zh="乙")
    res2 = publishing.add_resource(ddo, ds2, name_en="Y", name_zh="乙", filename="y.csv")
    versions.add_version(ddo, res2, b"a\n1\n")
    sub2 = publishing.submit(ddo, ds2)
    with pytest.raises(Forbidden) as e:
        publishing.approve(ddo, sub2.pk)
    assert e.value.code == "own_submission"
    assert Dataset.objects.get(pk=ds.pk).state == DatasetState.DRAFT
    assert Submission.objects.get(pk=sub.pk).state == "pending"


def test_a_returned_request_publishes_nothing_and_needs_reasons_in_both_languages(groups, org, officer, ddo):
    ds = publishing.create_dataset(officer, org, name="z-data", title_en="Z", title_zh="丙")
    res = publishing.add_resource(officer, ds, name_en="Z", name_zh="丙", filename="z.csv")
    versions.add_version(officer, res, b"a\n1\n")
    sub = publishing.submit(officer, ds)
    with pytest.raises(DomainError) as e:
        publishing.reject(ddo, sub.pk, reason_en="Wrong columns", reason_zh=" ")
    assert e.value.code == "reason_required"
    assert Submission.objects.get(pk=sub.pk).state == "pending"
    publishing.reject(ddo, sub.pk, reason_en="Wrong columns", reason_zh="欄位有誤")
    assert ResourceVersion.objects.get(resource=res).state == VersionState.REJECTED
    assert Dataset.objects.get(pk=ds.pk).state == DatasetState.DRAFT


def test_bad_input_stores_nothing(groups, org, officer):
    before = Dataset.objects.count()
    for kwargs, code in [
        ({"name": "Bad Name", "title_en": "A", "title_zh": "甲"}, "invalid_name"),
        ({"name": "ok-name", "title_en": "A", "title_zh": ""}, "title_required"),
        ({"name": "ok-name", "title_en": "A", "title_zh": "甲", "groups": ["nope"]}, "unknown_group"),
        ({"name": "ok-name", "title_en": "A", "title_zh": "甲", "license_id": "gpl"}, "invalid_choice"),
        ({"name": "ok-name", "title_en": "A", "title_zh": "甲", "tags": ["x" * 101]}, "tag_too_long"),
    ]:
        with pytest.raises(DomainError) as e:
            publishing.create_dataset(officer, org, **kwargs)
        assert e.value.code == code
    assert Dataset.objects.count() == before
    publishing.create_dataset(officer, org, name="ok-name", title_en="A", title_zh="甲")
    with pytest.raises(Conflict) as e:
        publishing.create_dataset(officer, org, name="ok-name", title_en="B", title_zh="乙")
    assert e.value.code == "name_taken"
    ds = Dataset.objects.get(name="ok-name")
    with pytest.raises(Conflict) as e:
        publishing.submit(officer, ds)
    assert e.value.code == "nothing_to_publish"


def test_the_same_bytes_are_one_version(groups, org, officer):
    ds = publishing.create_dataset(officer, org, name="dup-data", title_en="D", title_zh="丁")
    res = publishing.add_resource(officer, ds, name_en="D", name_zh="丁", filename="d.csv")
    a = versions.add_version(officer, res, b"a\n1\n")
    b = versions.add_version(officer, res, b"a\n1\n")
    assert a.pk == b.pk and ResourceVersion.objects.filter(resource=res).count() == 1
    with pytest.raises(DomainError) as e:
        versions.add_version(officer, res, b"")
    assert e.value.code == "empty_file"
