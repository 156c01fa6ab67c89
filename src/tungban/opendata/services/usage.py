"""Usage counting (issue 21): how often each dataset and resource is used, per day (Hong Kong
time) and kind (:class:`~tungban.opendata.constants.UsageKind`), published monthly as an
open dataset (data.gov.hk publishes its download statistics the same way).

:func:`record` is one statement, an upsert (``INSERT … ON CONFLICT … DO UPDATE SET count =
count + 1``) against the model's two partial unique constraints (one for rows with a
resource, one for the dataset's own rows), on SQLite and PostgreSQL alike: two servers
counting the same download at once both count, neither fails.

What counts as a download: a ``GET`` answered 200 with the file (any format, the current
file or a version). A ``304 Not Modified`` is not counted — no file is transferred, and
data.gov.hk counts downloads, not cache revalidations; ``HEAD`` is not counted either.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from ..constants import UsageKind
from ..models import UsageCount

_TABLE = UsageCount._meta.db_table


def _id(value) -> str:
    """A UUID as the database stores it (hex without dashes on SQLite; PostgreSQL's uuid type
    takes either form)."""
    u = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    return u.hex if connection.vendor != "postgresql" else str(u)


def record(dataset_id, resource_id=None, kind: str = UsageKind.DOWNLOAD, *, day: dt.date | None = None) -> None:
    """Count one use of ``dataset_id`` (and ``resource_id``, or None for the dataset's page or
    API calls) of ``kind`` today (Hong Kong time) or on ``day``. One upsert; runs in the
    caller's transaction if there is one.

    :raises ValueError: ``kind`` is not a :class:`UsageKind`."""
    if kind not in UsageKind.values:
        raise ValueError(f"unknown usage kind {kind!r}")
    day = day or timezone.localdate()
    q = connection.ops.quote_name
    count = q("count")
    if resource_id is None:
        sql = (
            f"INSERT INTO {q(_TABLE)} (day, dataset_id, resource_id, kind, {count}) VALUES (%s, %s, NULL, %s, 1) "
            f"ON CONFLICT (day, dataset_id, kind) WHERE resource_id IS NULL "
            f"DO UPDATE SET {count} = {q(_TABLE)}.{count} + 1"
        )
        params = [connection.ops.adapt_datefield_value(day), _id(dataset_id), str(kind)]
    else:
        sql = (
            f"INSERT INTO {q(_TABLE)} (day, dataset_id, resource_id, kind, {count}) VALUES (%s, %s, %s, %s, 1) "
            f"ON CONFLICT (day, dataset_id, resource_id, kind) WHERE resource_id IS NOT NULL "
            f"DO UPDATE SET {count} = {q(_TABLE)}.{count} + 1"
        )
        params = [connection.ops.adapt_datefield_value(day), _id(dataset_id), _id(resource_id), str(kind)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def counts(
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    dataset_id=None,
    kind: str | None = None,
    by: str = "dataset",
) -> list[dict]:
    """Totals for reports: the sum of counts from ``start`` to ``end`` (inclusive days; either
    open), optionally for one dataset and one kind, grouped ``by`` ``"dataset"`` (rows
    ``{"dataset_id", "kind", "count"}``), ``"resource"`` (``{"dataset_id", "resource_id",
    "kind", "count"}``; resource None for the dataset's own uses) or ``"month"``
    (``{"month": "YYYY-MM", "dataset_id", "kind", "count"}``), largest first.

    :raises ValueError: an unknown ``by``."""
    qs = UsageCount.objects.all()
    if start:
        qs = qs.filter(day__gte=start)
    if end:
        qs = qs.filter(day__lte=end)
    if dataset_id:
        qs = qs.filter(dataset_id=dataset_id)
    if kind:
        qs = qs.filter(kind=kind)
    if by == "dataset":
        rows = qs.values("dataset_id", "kind").annotate(count=Sum("count"))
    elif by == "resource":
        rows = qs.values("dataset_id", "resource_id", "kind").annotate(count=Sum("count"))
    elif by == "month":
        from django.db.models.functions import TruncMonth

        rows = qs.annotate(m=TruncMonth("day")).values("m", "dataset_id", "kind").annotate(count=Sum("count"))
        out = [
            {"month": r["m"].strftime("%Y-%m"), "dataset_id": r["dataset_id"], "kind": r["kind"], "count": r["count"]}
            for r in rows
        ]
        return sorted(out, key=lambda r: (r["month"], -r["count"], str(r["dataset_id"])))
    else:
        raise ValueError(f"unknown grouping {by!r}")
    return sorted(rows, key=lambda r: (-r["count"], str(r["dataset_id"]), r["kind"]))
