"""Files and the historical archive (issue 21).

Every published version of a resource's file stays served at its own URL for ever; the
archive answers, in data.gov.hk's shape (Historical Archive API, ``/v1/historical-archive/``;
anchor study ``eservices-payments-opendata-1823`` §5.1), which files had versions in a date
range, which versions a file had, and which version was current at a given minute.

URLs (the agreed layout, issue 21):

* current file: ``/data/files/<resource uuid>/<filename>`` (a tabular resource also
  ``<stem>.json`` and ``<stem>.xml``);
* a version: ``/data/files/<resource uuid>/v/<sha256>/<filename>`` (and the same variants).

Times are Hong Kong time (GMT+8), as data.gov.hk's: dates ``YYYYMMDD``, times
``YYYYMMDD-HHMM``. A version's archive time is when it was published. The version *current
at* a time T is, among the versions published before the end of minute T, the newest by
capture time — the rule by which :func:`~.publishing.publish_version` moves ``current``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Q

from .. import errors
from ..constants import DatasetState, VersionState
from ..models import Resource, ResourceVersion

#: data.gov.hk gives archive dates and times in Hong Kong time.
HKT = ZoneInfo("Asia/Hong_Kong")
#: data.gov.hk's list-files answers at most this many files.
MAX_FILES = 10_000
DERIVED = ("json", "xml")
_FILE_PATH = re.compile(r"^/data/files/(?P<id>[0-9a-fA-F-]{32,36})/(?P<filename>[^/]+)$")


# --- files ------------------------------------------------------------------------------------


def stem(filename: str) -> str:
    return filename.rsplit(".", 1)[0] if "." in filename else filename


def variant(resource: Resource, filename: str) -> str | None:
    """Which form of ``resource`` the URL's last segment asks for: ``""`` its file, ``"json"``
    or ``"xml"`` the derived forms of a tabular resource; None: no such file."""
    if filename == resource.filename:
        return ""
    if resource.tabular:
        for ext in DERIVED:
            if filename == f"{stem(resource.filename)}.{ext}":
                return ext
    return None


def variant_filename(resource: Resource, kind: str) -> str:
    return resource.filename if not kind else f"{stem(resource.filename)}.{kind}"


def current(resource_id) -> Resource | None:
    """The resource ``resource_id`` of a published (active) dataset with its current version
    loaded (``resource.current``), or None — one indexed query (primary keys)."""
    rows = list(
        Resource.objects.select_related("current")
        .filter(pk=resource_id, dataset__state=DatasetState.ACTIVE, current__isnull=False)
        .order_by()[:1]
    )
    return rows[0] if rows else None


def version(resource_id, sha256: str) -> ResourceVersion | None:
    """The published version of ``resource_id`` holding ``sha256``, its resource loaded, or
    None (pending and rejected versions are not served). A withdrawn dataset's published
    versions stay served here (the archive). One query (the ``(resource, sha256)`` unique
    index)."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        return None
    rows = list(
        ResourceVersion.objects.select_related("resource")
        .filter(resource_id=resource_id, sha256=sha256, state=VersionState.PUBLISHED)
        .order_by()[:1]
    )
    return rows[0] if rows else None


def file_path(resource: Resource, filename: str | None = None) -> str:
    """The current-file URL path of ``resource``."""
    return f"/data/files/{resource.pk}/{filename or resource.filename}"


def version_path(resource_id, sha256: str, filename: str) -> str:
    """The URL path of one version (immutable)."""
    return f"/data/files/{resource_id}/v/{sha256}/{filename}"


# --- parameters -------------------------------------------------------------------------------


def _bad(name: str):
    return errors.InvalidArchiveParameter(name=name, field=name)


def parse_day(value: str | None, name: str) -> dt.date:
    """``YYYYMMDD`` → a date. :raises DomainError: ``invalid_parameter`` (“invalid <name>
    parameter”; data.gov.hk's text) when missing or malformed (e.g. ``2026-09-01``)."""
    if not value or not re.fullmatch(r"\d{8}", value):
        raise _bad(name)
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise _bad(name) from None


def parse_time(value: str | None, name: str = "time") -> dt.datetime:
    """``YYYYMMDD-HHMM`` (Hong Kong time) → an aware datetime.
    :raises DomainError: ``invalid_parameter``."""
    if not value or not re.fullmatch(r"\d{8}-\d{4}", value):
        raise _bad(name)
    try:
        return dt.datetime.strptime(value, "%Y%m%d-%H%M").replace(tzinfo=HKT)
    except ValueError:
        raise _bad(name) from None


def stamp(moment: dt.datetime) -> str:
    """An archive timestamp: ``YYYYMMDD-HHMM`` in Hong Kong time."""
    return moment.astimezone(HKT).strftime("%Y%m%d-%H%M")


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=HKT)


def _range(start: str | None, end: str | None, *, required: bool) -> tuple[dt.datetime | None, dt.datetime | None]:
    lo = parse_day(start, "start") if (required or start) else None
    hi = parse_day(end, "end") if (required or end) else None
    if lo and hi and hi < lo:
        raise _bad("end")
    return (_day_start(lo) if lo else None, _day_start(hi + dt.timedelta(days=1)) if hi else None)


@dataclass(frozen=True)
class FileRef:
    """A file URL of the archive: the resource and the form asked for (``""``, ``json``,
    ``xml``) and the file name as given."""

    resource: Resource
    kind: str
    filename: str


def resolve_url(url: str | None) -> FileRef:
    """The file a current-file URL names (absolute, any host, or just the path).

    :raises DomainError: ``invalid_parameter`` (no ``url``). :raises NotFound:
        ``unknown_file_url`` (not a file URL, no such resource, or a draft dataset's)."""
    if not url:
        raise _bad("url")
    m = _FILE_PATH.match(urlsplit(url).path)
    res = None
    if m:
        try:
            rid = uuid.UUID(m["id"])
        except ValueError:
            rid = None
        if rid:
            res = (
                Resource.objects.select_related("dataset", "dataset__organization")
                .filter(pk=rid, dataset__state__in=[DatasetState.ACTIVE, DatasetState.DELETED])
                .first()
            )
    kind = variant(res, m["filename"]) if res is not None else None
    if kind is None:
        raise errors.UnknownFileUrl(url=url[:300], field="url")
    return FileRef(res, kind, m["filename"])


# --- the archive ------------------------------------------------------------------------------


def _published(resource: Resource):
    return ResourceVersion.objects.filter(
        resource=resource, state=VersionState.PUBLISHED, published_at__isnull=False
    ).order_by("published_at", "pk")


def list_file_versions(url: str | None, start: str | None = None, end: str | None = None) -> dict:
    """``{"version-count": N, "timestamps": ["YYYYMMDD-HHMM", …]}``: the versions of the file
    at ``url`` published from ``start`` to ``end`` (``YYYYMMDD``, inclusive; either may be
    left out), oldest first.

    :raises DomainError: ``invalid_parameter`` (``url``, ``start``, ``end``).
    :raises NotFound: ``unknown_file_url``."""
    lo, hi = _range(start, end, required=False)
    ref = resolve_url(url)
    qs = _published(ref.resource)
    if lo:
        qs = qs.filter(published_at__gte=lo)
    if hi:
        qs = qs.filter(published_at__lt=hi)
    stamps = [stamp(t) for t in qs.values_list("published_at", flat=True)]
    return {"version-count": len(stamps), "timestamps": stamps}


def version_at(url: str | None, moment: dt.datetime) -> tuple[ResourceVersion, str]:
    """The version of the file at ``url`` current at ``moment`` (to the minute: versions
    published before the end of that minute) and the file name to serve it under.

    :raises NotFound: ``unknown_file_url``, ``no_version_at_time``."""
    ref = resolve_url(url)
    cutoff = moment.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    v = _published(ref.resource).filter(published_at__lt=cutoff).order_by("-captured_at", "-pk").first()
    if v is None:
        raise errors.NoVersionAtTime()
    return v, ref.filename


def get_file(url: str | None, time: str | None) -> str:
    """The URL path of the version current at ``time`` (``YYYYMMDD-HHMM``), in the form the
    ``url`` asked for. :raises DomainError: ``invalid_parameter``; :raises NotFound: as
    :func:`version_at`."""
    moment = parse_time(time)
    v, filename = version_at(url, moment)
    return version_path(v.resource_id, v.sha256, filename)


def schema_at(url: str | None, date: str | None = None, time: str | None = None) -> dict:
    """The Table Schema (data dictionary) of the version current at the end of ``date``
    (``YYYYMMDD``) or at ``time`` (``YYYYMMDD-HHMM``); neither: the current version.

    :raises DomainError: ``invalid_parameter``. :raises NotFound: ``unknown_file_url``,
        ``no_version_at_time`` (also when the version has no schema: not tabular)."""
    if time:
        moment = parse_time(time)
    elif date:
        moment = _day_start(parse_day(date, "date")) + dt.timedelta(days=1) - dt.timedelta(minutes=1)
    else:
        moment = dt.datetime.now(tz=HKT)
    v, _ = version_at(url, moment)
    schema = v.table_schema
    if schema is None:
        raise errors.NoVersionAtTime()
    return schema


ORDERS = ("asc", "desc")


def list_files(
    *,
    start: str | None,
    end: str | None,
    category: str = "",
    provider: str = "",
    format: str = "",
    search: str = "",
    order: str = "",
    skip: str | int = 0,
) -> dict:
    """``{"file-count": total, "files": [...]}``: the files with at least one version published
    from ``start`` to ``end`` (``YYYYMMDD``, both required, inclusive), filtered by
    ``category`` (a group name), ``provider`` (an organization name), ``format`` (e.g.
    ``CSV``, any case), ``search`` (words in the dataset's or resource's name, either
    language); ordered by dataset name and resource position (``order`` ``asc``, the
    default, or ``desc``); ``skip`` files left out at the start; at most :data:`MAX_FILES`.
    Each file: ``url`` (path), ``dataset-name``, ``dataset-title-en``/``-tc``,
    ``resource-name-en``/``-tc``, ``format``, ``provider``, ``category`` (list),
    ``version-count`` (in the range), ``last-updated`` (``YYYYMMDD-HHMM`` of the newest
    version in the range).

    :raises DomainError: ``invalid_parameter`` (``start``, ``end``, ``order``, ``skip``)."""
    lo, hi = _range(start, end, required=True)
    if order and order not in ORDERS:
        raise _bad("order")
    try:
        skip = int(skip or 0)
        if skip < 0:
            raise ValueError
    except (TypeError, ValueError):
        raise _bad("skip") from None
    versions = ResourceVersion.objects.filter(
        state=VersionState.PUBLISHED, published_at__gte=lo, published_at__lt=hi
    ).exclude(resource__dataset__state=DatasetState.DRAFT)
    if category:
        versions = versions.filter(resource__dataset__groups__name=category)
    if provider:
        versions = versions.filter(resource__dataset__organization__name=provider)
    if format:
        versions = versions.filter(resource__format__iexact=format)
    for word in search.split()[:10]:
        versions = versions.filter(
            Q(resource__dataset__title_en__icontains=word)
            | Q(resource__dataset__title_zh__icontains=word)
            | Q(resource__name_en__icontains=word)
            | Q(resource__name_zh__icontains=word)
            | Q(resource__dataset__name__icontains=word)
        )
    per_file = versions.values("resource_id").annotate(n=Count("pk", distinct=True), last=Max("published_at"))
    stats = {r["resource_id"]: r for r in per_file}
    direction = "-" if order == "desc" else ""
    resources = (
        Resource.objects.filter(pk__in=list(stats))
        .select_related("dataset", "dataset__organization")
        .prefetch_related("dataset__groups")
        .order_by(f"{direction}dataset__name", f"{direction}position", f"{direction}created")
    )
    total = len(stats)
    skip = min(skip, total)  # past the end: an empty page (an OFFSET beyond 2**63 is a database error)
    files = []
    for res in resources[skip : skip + MAX_FILES]:
        ds = res.dataset
        files.append(
            {
                "url": file_path(res),
                "dataset-name": ds.name,
                "dataset-title-en": ds.title_en,
                "dataset-title-tc": ds.title_zh,
                "resource-name-en": res.name_en,
                "resource-name-tc": res.name_zh,
                "format": res.format,
                "provider": ds.organization.name,
                "category": [g.name for g in ds.groups.all()],
                "version-count": stats[res.pk]["n"],
                "last-updated": stamp(stats[res.pk]["last"]),
            }
        )
    return {"file-count": total, "files": files}
