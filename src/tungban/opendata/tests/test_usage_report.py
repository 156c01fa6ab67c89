"""The monthly usage statistics published as an open dataset (:mod:`.services.usage_report`):
sums per dataset and resource, the CSV against its Table Schema, one version per month
(idempotent), made without a DDO's request, and the monthly task."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from tungban.opendata import storage
from tungban.opendata.constants import DatasetState, UsageKind, VersionSource, VersionState
from tungban.opendata.models import Dataset, Resource, ResourceVersion, Submission
from tungban.opendata.services import usage as usage_counter
from tungban.opendata.services import usage_report

from .conftest import make_published
from .test_seed import check_against_schema

pytestmark = pytest.mark.django_db

NOV = dt.date(2026, 11, 1)
NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def _count(day, ds, res, kind, n):
    """``n`` uses, recorded as the platform records them (one upsert each)."""
    for _ in range(n):
        usage_counter.record(ds.pk, res.pk if res else None, kind, day=day)


@pytest.fixture
def usage(published, officer, ddo, org, settings, tmp_path):
    settings.TUNGBAN_OPENDATA_FILES = tmp_path / "files"
    ds, res, _v = published
    other, other_res, _ = make_published(officer, ddo, org, name="bus-stops")
    rows = [
        (dt.date(2026, 11, 1), ds, None, UsageKind.PAGE, 5),
        (dt.date(2026, 11, 30), ds, None, UsageKind.PAGE, 7),
        (dt.date(2026, 11, 2), ds, None, UsageKind.API, 3),
        (dt.date(2026, 11, 2), ds, res, UsageKind.DOWNLOAD, 11),
        (dt.date(2026, 11, 3), ds, res, UsageKind.DOWNLOAD, 4),
        (dt.date(2026, 11, 3), ds, res, UsageKind.API, 2),
        (dt.date(2026, 11, 15), other, other_res, UsageKind.DOWNLOAD, 1),
        # other months: not counted in November
        (dt.date(2026, 10, 31), ds, res, UsageKind.DOWNLOAD, 100),
        (dt.date(2026, 12, 1), ds, None, UsageKind.PAGE, 100),
    ]
    for r in rows:
        _count(*r)
    return rows


def _read(version) -> list[dict]:
    return list(csv.DictReader(io.StringIO(storage.read(version.sha256).decode())))


def test_the_months_sums_per_dataset_and_resource(usage):
    november = [r for r in usage if r[0].month == 11]
    version = usage_report.publish_month(NOV, now=NOW)
    rows = _read(version)
    check_against_schema(storage.read(version.sha256), usage_report.SCHEMA)
    # Recomputed from the rows above.
    expected = {}
    for _day, ds, res, kind, n in november:
        key = (ds.name, res.filename if res else "")
        col = {UsageKind.PAGE: "page_views", UsageKind.API: "api_calls", UsageKind.DOWNLOAD: "downloads"}[kind]
        expected.setdefault(key, {"page_views": 0, "api_calls": 0, "downloads": 0})[col] += n
    got = {
        (r["dataset"], r["resource"]): {k: int(r[k]) for k in ("page_views", "api_calls", "downloads")} for r in rows
    }
    assert got == expected
    assert {r["month"] for r in rows} == {"2026-11"} and {r["provider"] for r in rows} == {"hk-td"}
    assert got[("traffic-counts", "")] == {"page_views": 12, "api_calls": 3, "downloads": 0}


def test_published_without_a_request_as_the_digital_policy_offices_dataset(usage):
    version = usage_report.publish_month(NOV, now=NOW)
    ds = Dataset.objects.get(name=usage_report.DATASET)
    assert ds.state == DatasetState.ACTIVE and ds.organization.name == "hk-dpo"
    assert not Submission.objects.filter(dataset=ds).exists()
    assert version.state == VersionState.PUBLISHED and version.source == VersionSource.GENERATED
    res = Resource.objects.get(dataset=ds)
    assert res.current == version and res.table_schema == usage_report.SCHEMA
    assert version.row_count == len(_read(version))


def test_running_twice_stores_one_version(usage):
    first = usage_report.publish_month(NOV, now=NOW)
    # A late count does not make a second November version.
    _count(dt.date(2026, 11, 20), Dataset.objects.get(name="traffic-counts"), None, UsageKind.API, 9)
    again = usage_report.publish_month(dt.date(2026, 11, 17), now=NOW)
    assert again.pk == first.pk
    assert ResourceVersion.objects.filter(resource__dataset__name=usage_report.DATASET).count() == 1


def test_each_month_is_a_version_and_the_newest_is_current(usage):
    nov = usage_report.publish_month(NOV, now=NOW)
    sep = usage_report.publish_month(dt.date(2026, 9, 1), now=NOW)  # no use: one row of zeros
    assert nov.sha256 != sep.sha256
    assert [r["month"] for r in _read(sep)] == ["2026-09"]
    res = Resource.objects.get(dataset__name=usage_report.DATASET)
    assert res.current == nov
    assert res.versions.count() == 2


def test_an_unfinished_month_is_refused(usage):
    with pytest.raises(ValueError):
        usage_report.publish_month(dt.date(2026, 12, 1), now=NOW)
    assert not Dataset.objects.filter(name=usage_report.DATASET).exists()


def test_the_monthly_task_publishes_last_month_and_queues_the_next(usage, settings, monkeypatch):
    from django_tasks_db.models import DBTaskResult

    monkeypatch.setattr(usage_report, "last_finished_month", lambda now=None: NOV)
    usage_report.monthly_usage_task.call()
    assert usage_report.published_month(NOV) is not None
    queued = DBTaskResult.objects.get(task_path=usage_report.monthly_usage_task.module_path)
    assert queued.run_after > timezone.now()
    assert timezone.localtime(queued.run_after, usage_report.HONG_KONG).day == 1
    assert usage_report.ensure_scheduled() is False  # one run waits already
