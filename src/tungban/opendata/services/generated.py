"""Datasets the platform generates itself (issue 21's usage statistics, issue 22's 1823 case
statistics): another app publishes a period's file through these functions and never touches
opendata's models.

Like :mod:`.usage_report`, a generated dataset is **published without a publication request
to a Departmental Data Officer**: the platform makes it from its own records (``source =
generated``), there is no officer to prepare it, and its owner must make sure it carries no
personal data (aggregates with small counts suppressed). The dataset and its resource are
created when missing; each period is one version whose ``captured_at`` is the period's end, so
earlier periods stay in the historical archive and the current file is the latest period.
Publishing a period twice stores one version (idempotent).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from tungban.core import jobs

from ..constants import DatasetState, Format, Licence, OrganizationKind, UpdateFrequency, VersionSource
from ..models import Dataset, DatasetEvent, Group, Organization, Resource, Tag
from . import publishing, search, versions

#: The Digital Policy Office (數字政策辦公室), provider of the platform's generated datasets.
DPO = {
    "name": "hk-dpo",
    "title_en": "Digital Policy Office",
    "title_zh": "數字政策辦公室",
    "department_code": "DPO",
    "kind": OrganizationKind.GOVERNMENT,
    "website": "https://www.digitalpolicy.gov.hk/",
}


@dataclass(frozen=True)
class GeneratedDataset:
    """What a generated dataset is: its CKAN ``name``, titles and notes in both languages, its
    one CSV resource's ``filename`` and names, the Table Schema of the CSV, the groups (names)
    and tags, and the provider (an organisation's fields; default the DPO)."""

    name: str
    title_en: str
    title_zh: str
    notes_en: str
    notes_zh: str
    filename: str
    resource_name_en: str
    resource_name_zh: str
    schema: dict
    groups: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    provider: dict = field(default_factory=lambda: dict(DPO))
    update_frequency: str = UpdateFrequency.MONTHLY


def ensure(spec: GeneratedDataset) -> Resource:
    """The dataset and its CSV resource, created (active) when missing."""
    with transaction.atomic():
        org, _ = Organization.objects.get_or_create(name=spec.provider["name"], defaults=spec.provider)
        now = timezone.now()
        ds, created = Dataset.objects.get_or_create(
            name=spec.name,
            defaults={
                "title_en": spec.title_en,
                "title_zh": spec.title_zh,
                "notes_en": spec.notes_en,
                "notes_zh": spec.notes_zh,
                "organization": org,
                "license_id": Licence.DATA_GOV_HK,
                "update_frequency": spec.update_frequency,
                "state": DatasetState.ACTIVE,
                "published_at": now,
                "metadata_modified": now,
            },
        )
        if created:
            ds.groups.set(Group.objects.filter(name__in=spec.groups))
            ds.tags.set([Tag.objects.get_or_create(name=n)[0] for n in publishing._tags(spec.tags)])
            DatasetEvent.objects.create(dataset=ds, actor="system", action="created")
        res = ds.resources.filter(filename=spec.filename).first()
        if res is None:
            res = Resource.objects.create(
                dataset=ds,
                name_en=spec.resource_name_en,
                name_zh=spec.resource_name_zh,
                format=Format.CSV,
                filename=spec.filename,
                table_schema=spec.schema,
            )
        if created:
            search.reindex(ds)
    return res


def published(spec: GeneratedDataset, captured_at: dt.datetime):
    """The version published for the period ending at ``captured_at``, or None."""
    res = Resource.objects.filter(dataset__name=spec.name, filename=spec.filename).first()
    if res is None:
        return None
    return versions.published_versions(res).filter(captured_at=captured_at).first()


def publish(spec: GeneratedDataset, data: bytes, *, captured_at: dt.datetime, now: dt.datetime | None = None):
    """Publish ``data`` (UTF-8 CSV with a header line, valid against ``spec.schema``) as the
    version for the period ending at ``captured_at``; returns it (the one already published
    for that period, unchanged, when there is one).

    :raises DomainError: as :func:`.versions.add_version` (``table_schema_failure``, …)."""
    existing = published(spec, captured_at)
    if existing is not None:
        return existing
    res = ensure(spec)
    with transaction.atomic():
        # Two runs at once: the second waits here, then finds the first one's version.
        Resource.objects.select_for_update().get(pk=res.pk)
        existing = published(spec, captured_at)
        if existing is not None:
            return existing
        version = versions.add_version(None, res, data, source=VersionSource.GENERATED, captured_at=captured_at)
        publishing.publish_version(version, now=now or timezone.now())
        DatasetEvent.objects.create(dataset_id=res.dataset_id, actor="system", action="published_generated")
    return version


# --- the monthly schedule of a generated dataset (usage statistics, 1823 case statistics) -----

HONG_KONG = zoneinfo.ZoneInfo("Asia/Hong_Kong")


def last_finished_month(now: dt.datetime | None = None) -> dt.date:
    """The first day of the month before ``now``'s (Hong Kong time)."""
    today = timezone.localtime(now or timezone.now(), HONG_KONG).date()
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _waiting(task):
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=task.module_path, status=TaskResultStatus.READY)


def schedule_monthly(task, *, hour: int, now: dt.datetime | None = None) -> bool:
    """Queue ``task`` (a ``django.tasks`` task taking ``attempt``) for ``hour``:00 Hong Kong
    time on the first day of the month after ``now``'s, unless a run of it is waiting already;
    returns whether it queued one. Every run queues the next (:func:`run_monthly`), so calling
    this once (``tungban setup``, or a periodic sweep) keeps the schedule alive."""
    if _waiting(task).exists():
        return False
    now = now or timezone.now()
    today = timezone.localtime(now, HONG_KONG).date()
    first = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    jobs.enqueue(task, delay=dt.datetime.combine(first, dt.time(hour), tzinfo=HONG_KONG) - now)
    return True


def run_monthly(task, publish, *, attempt: int, hour: int):
    """The body of a monthly task: ``publish()`` (the month just finished; returns its
    version), then queue the next month's run (:func:`schedule_monthly`). A failure is retried
    with the platform's backoff (:func:`tungban.core.jobs.retry_delay`) up to
    ``TUNGBAN_TASK_MAX_ATTEMPTS`` attempts (``attempt``: this one's number), then left failed
    (the task result shows it) and the next month queued; the exception is raised again."""
    try:
        version = publish()
    except Exception:
        if jobs.can_retry(attempt):
            jobs.enqueue(task, attempt=attempt + 1, delay=jobs.retry_delay(attempt))
        else:
            schedule_monthly(task, hour=hour)
        raise
    schedule_monthly(task, hour=hour)
    return version
