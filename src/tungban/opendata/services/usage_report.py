"""The monthly usage statistics, published as an open dataset (issue 21: "Usage statistics per
dataset and resource, published monthly as an open dataset").

For a finished month, :func:`publish_month` sums the day-by-day :class:`~..models.UsageCount`
rows (recorded by :mod:`.usage`, one upsert per use) per dataset and resource into a CSV —
``month, dataset, provider, resource, page_views, api_calls, downloads`` (the ``resource``
column is empty for a dataset's own page views and API calls) — with its Table Schema
(:data:`SCHEMA`), and publishes it as a new version of the single resource of the platform's
dataset :data:`DATASET` (provider :data:`PROVIDER`, the Digital Policy Office). Each version
holds one month; earlier months stay in the historical archive, the current file is the
latest month (a version's ``captured_at`` is the end of its month).

The dataset and its versions are **published without a publication request to a
Departmental Data Officer**: the platform generates them (``source = generated``) from its
own counters, there is no officer to prepare them, and their content (counts of public use
of public data) carries no personal data. The dataset is created when missing.

Idempotent per month: a month already published is not stored again (running it twice
stores one version). :func:`monthly_usage_task` (a ``django.tasks`` task, run by
``tungban worker``) publishes the month just finished and queues itself for the next month;
``tungban setup`` queues the first run (:func:`ensure_scheduled`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import zoneinfo
from collections import defaultdict

from django.db import transaction
from django.db.models import Sum
from django.tasks import task
from django.utils import timezone

from ..constants import (
    DatasetState,
    Format,
    Licence,
    OrganizationKind,
    UpdateFrequency,
    UsageKind,
    VersionSource,
)
from ..models import Dataset, DatasetEvent, Group, Organization, Resource, Tag, UsageCount
from . import generated, publishing, search, versions

log = logging.getLogger(__name__)

#: The dataset's name (CKAN ``name``).
DATASET = "open-data-usage-statistics"
#: The file name of its resource.
FILENAME = "open-data-usage-statistics.csv"
#: The provider: the Digital Policy Office (數字政策辦公室).
PROVIDER = {
    "name": "hk-dpo",
    "title_en": "Digital Policy Office",
    "title_zh": "數字政策辦公室",
    "department_code": "DPO",
    "kind": OrganizationKind.GOVERNMENT,
    "website": "https://www.digitalpolicy.gov.hk/",
}
#: Months and days are Hong Kong's (UTC+8, no daylight saving).
HONG_KONG = zoneinfo.ZoneInfo("Asia/Hong_Kong")
#: The CSV's columns and their Frictionless Table Schema (the data dictionary).
SCHEMA = {
    "fields": [
        {
            "name": "month",
            "type": "string",
            "title": "Month (YYYY-MM) 月份",
            "description": "Hong Kong time",
            "constraints": {"pattern": r"\d{4}-(0[1-9]|1[0-2])"},
        },
        {"name": "dataset", "type": "string", "title": "Dataset name 數據集名稱"},
        {"name": "provider", "type": "string", "title": "Data provider 數據提供者"},
        {
            "name": "resource",
            "type": "string",
            "title": "Resource file name 資源檔案名稱",
            "description": "Empty for the dataset's own page views and API calls",
        },
        {"name": "page_views", "type": "integer", "title": "Page views 瀏覽次數", "constraints": {"minimum": 0}},
        {
            "name": "api_calls",
            "type": "integer",
            "title": "API calls 應用程式介面調用次數",
            "constraints": {"minimum": 0},
        },
        {"name": "downloads", "type": "integer", "title": "Downloads 下載次數", "constraints": {"minimum": 0}},
    ],
    "primaryKey": ["month", "dataset", "resource"],
}
COLUMNS = [f["name"] for f in SCHEMA["fields"]]
_KIND_COLUMN = {UsageKind.PAGE: "page_views", UsageKind.API: "api_calls", UsageKind.DOWNLOAD: "downloads"}


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    """The first day of ``month`` (any day in it) and of the month after."""
    first = month.replace(day=1)
    nxt = (first + dt.timedelta(days=32)).replace(day=1)
    return first, nxt


def month_end(month: dt.date) -> dt.datetime:
    """The instant ``month`` ends (00:00 Hong Kong time of the next month's first day)."""
    return dt.datetime.combine(month_bounds(month)[1], dt.time(), tzinfo=HONG_KONG)


def rows_for(month: dt.date) -> list[dict]:
    """``month``'s usage per dataset and resource (:data:`COLUMNS`), sorted by dataset then
    resource file name (the dataset's own row first); pairs with no use are left out."""
    first, nxt = month_bounds(month)
    sums: dict[tuple, dict] = defaultdict(lambda: {"page_views": 0, "api_calls": 0, "downloads": 0})
    names = {}
    for r in (
        UsageCount.objects.filter(day__gte=first, day__lt=nxt)
        .values("dataset__name", "dataset__organization__name", "resource__filename", "resource_id", "kind")
        .annotate(n=Sum("count"))
    ):
        key = (r["dataset__name"], str(r["resource_id"] or ""))
        names[key] = (r["dataset__organization__name"], r["resource__filename"] or "")
        sums[key][_KIND_COLUMN[r["kind"]]] += r["n"]
    out = []
    for key in sorted(sums, key=lambda k: (k[0], names[k][1], k[1])):
        provider, filename = names[key]
        out.append(
            {
                "month": first.strftime("%Y-%m"),
                "dataset": key[0],
                "provider": provider,
                "resource": filename,
                **sums[key],
            }
        )
    return out


def render_csv(rows: list[dict]) -> bytes:
    """``rows`` as UTF-8 CSV with a header line (:data:`COLUMNS`)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def ensure_dataset() -> Resource:
    """The platform's usage-statistics dataset and its resource, created (active, without a
    publication request: module docstring) when missing."""
    with transaction.atomic():
        org, _ = Organization.objects.get_or_create(name=PROVIDER["name"], defaults=PROVIDER)
        now = timezone.now()
        ds, created = Dataset.objects.get_or_create(
            name=DATASET,
            defaults={
                "title_en": "Usage statistics of the open data portal",
                "title_zh": "資料一線通使用統計數字",
                "notes_en": "Monthly page views, API calls and downloads of each dataset and resource "
                "of the open data portal, generated by the platform.",
                "notes_zh": "資料一線通各數據集及資源每月的瀏覽次數、應用程式介面調用次數及下載次數，由平台產生。",
                "organization": org,
                "license_id": Licence.DATA_GOV_HK,
                "update_frequency": UpdateFrequency.MONTHLY,
                "state": DatasetState.ACTIVE,
                "published_at": now,
                "metadata_modified": now,
            },
        )
        if created:
            groups = Group.objects.filter(name__in=["information-technology-and-broadcasting"])
            ds.groups.set(groups)
            ds.tags.set(
                [
                    Tag.objects.get_or_create(name=n)[0]
                    for n in publishing._tags(["usage statistics", "使用統計", "open data", "開放數據"])
                ]
            )
            DatasetEvent.objects.create(dataset=ds, actor="system", action="created")
        res = ds.resources.filter(filename=FILENAME).first()
        if res is None:
            res = Resource.objects.create(
                dataset=ds,
                name_en="Monthly usage statistics",
                name_zh="每月使用統計數字",
                format=Format.CSV,
                filename=FILENAME,
                table_schema=SCHEMA,
            )
        if created:
            search.reindex(ds)
    return res


def published_month(month: dt.date):
    """The version already published for ``month``, or None."""
    res = Resource.objects.filter(dataset__name=DATASET, filename=FILENAME).first()
    if res is None:
        return None
    return versions.published_versions(res).filter(captured_at=month_end(month)).first()


def publish_month(month: dt.date, *, now: dt.datetime | None = None):
    """Publish ``month``'s usage statistics (``month``: any day of it) as a new version of the
    usage-statistics resource; returns the version (the existing one when the month was
    already published: idempotent). A month with no use is published too (one row of zeros
    for this dataset).

    :raises ValueError: ``month`` has not ended yet (Hong Kong time)."""
    now = now or timezone.now()
    if month_end(month) > now:
        raise ValueError(f"{month:%Y-%m} has not ended yet")
    existing = published_month(month)
    if existing is not None:
        return existing
    res = ensure_dataset()
    # A month without use: one row of zeros for this dataset itself, so that each month's
    # file differs (the month column) and is its own version.
    rows = rows_for(month) or [
        {"month": f"{month:%Y-%m}", "dataset": DATASET, "provider": PROVIDER["name"], "resource": ""}
        | dict.fromkeys(("page_views", "api_calls", "downloads"), 0)
    ]
    data = render_csv(rows)
    with transaction.atomic():
        # Two runs at once: the second waits here, then finds the first one's version.
        Resource.objects.select_for_update().get(pk=res.pk)
        existing = published_month(month)
        if existing is not None:
            return existing
        version = versions.add_version(None, res, data, source=VersionSource.GENERATED, captured_at=month_end(month))
        version.row_count = data.count(b"\n") - 1
        version.save(update_fields=["row_count"])
        publishing.publish_version(version, now=now)
        DatasetEvent.objects.create(dataset_id=res.dataset_id, actor="system", action="published_generated")
    return version


def last_finished_month(now: dt.datetime | None = None) -> dt.date:
    """The first day of the month before ``now``'s (Hong Kong time)."""
    return generated.last_finished_month(now)


def ensure_scheduled(now: dt.datetime | None = None) -> bool:
    """Queue :func:`monthly_usage_task` for 01:00 Hong Kong time on the next month's first day
    unless a run is waiting; returns whether it queued one. Called by ``tungban setup``; each
    run queues the next (:func:`.generated.schedule_monthly`)."""
    return generated.schedule_monthly(monthly_usage_task, hour=1, now=now)


@task
def monthly_usage_task(attempt: int = 1) -> str:
    """Publish the month just finished (:func:`publish_month`), then queue the next month's
    run. A failure is retried with the platform's backoff (:func:`tungban.core.jobs.retry_delay`)
    up to ``TUNGBAN_TASK_MAX_ATTEMPTS`` attempts (``attempt``: this one's number), then left
    failed (the task result shows it) and the next month queued. Returns the version's SHA-256."""
    version = generated.run_monthly(
        monthly_usage_task, lambda: publish_month(last_finished_month()), attempt=attempt, hour=1
    )
    log.info("Published the usage statistics of %s", last_finished_month())
    return version.sha256
