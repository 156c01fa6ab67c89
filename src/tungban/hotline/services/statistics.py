"""Anonymised 1823 case statistics as open data (issue 22; anchor study §7.3: "anonymised case
statistics published to the open-data module"), published monthly like the open data portal's
usage statistics (:mod:`tungban.opendata.services.usage_report`), through
:mod:`tungban.opendata.services.generated` (never opendata's models).

For a finished month (Hong Kong time) one CSV, one row per (case type, department, district,
kind) with any activity: ``received`` (cases submitted in the month), ``closed`` (cases whose
department closed them in the month), ``median_days_to_close`` (of those closed: calendar
days from submission to the department's closure date, one decimal) and
``pct_closed_within_pledge`` (of those closed: closed on or before the closure pledge date,
one decimal). The dataset is :data:`DATASET` (provider: the Digital Policy Office, whose
Efficiency Office runs 1823) with the Table Schema :data:`SCHEMA`.

**Small counts are suppressed** (PDPO: with a case type, a district and a month, a count of
one or two can point at a person): a count from 1 to :data:`SUPPRESS_BELOW` − 1 is left empty,
and so are the median and the percentage when fewer than :data:`SUPPRESS_BELOW` cases were
closed; a row whose counts are all suppressed is left out. Nothing else about a case — no
reference, date, text or coordinate — is in the file.

Idempotent per month (the same month twice stores one version). :func:`monthly_statistics_task`
(a ``django.tasks`` task run by ``tungban worker``) publishes the month just finished and
queues itself for the next month; :func:`ensure_scheduled` queues the first run — it is
registered with :mod:`tungban.core.retention` (``hotline-statistics``), so the worker's
periodic purge keeps the schedule alive without ``tungban setup`` importing 1823.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import statistics as stats
import zoneinfo
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q
from django.tasks import task
from django.utils import timezone

from tungban.opendata.services import generated

from ..constants import CaseState
from ..models import Case

log = logging.getLogger("tungban.hotline")

HONG_KONG = zoneinfo.ZoneInfo("Asia/Hong_Kong")
#: The dataset's name (CKAN ``name``) and its file.
DATASET = "1823-case-statistics"
FILENAME = "1823-case-statistics.csv"
#: Counts below this are suppressed.
SUPPRESS_BELOW = 5
#: The CSV's Frictionless Table Schema (the data dictionary).
SCHEMA = {
    "fields": [
        {
            "name": "month",
            "type": "string",
            "title": "Month (YYYY-MM) 月份",
            "description": "Hong Kong time",
            "constraints": {"required": True, "pattern": r"\d{4}-(0[1-9]|1[0-2])"},
        },
        {"name": "case_type", "type": "string", "title": "Case type (Open311 service_code) 個案類別"},
        {
            "name": "department",
            "type": "string",
            "title": "Department code 部門代號",
            "description": "Empty: not yet with a department",
        },
        {"name": "district", "type": "string", "title": "District 地區", "description": "Empty: no district given"},
        {
            "name": "kind",
            "type": "string",
            "title": "Kind 性質",
            "constraints": {"enum": ["enquiry", "complaint", "suggestion", "compliment"]},
        },
        {
            "name": "received",
            "type": "integer",
            "title": "Cases received 收到個案",
            "description": "Empty: 1 to 4 (suppressed)",
            "constraints": {"minimum": 0},
        },
        {
            "name": "closed",
            "type": "integer",
            "title": "Cases closed 結案個案",
            "description": "Empty: 1 to 4 (suppressed)",
            "constraints": {"minimum": 0},
        },
        {
            "name": "median_days_to_close",
            "type": "number",
            "title": "Median days to close 結案所需日數中位數",
            "description": "Calendar days from submission to closure; empty when fewer than 5 were closed",
            "constraints": {"minimum": 0},
        },
        {
            "name": "pct_closed_within_pledge",
            "type": "number",
            "title": "% closed within the pledge 在服務承諾內結案百分比",
            "description": "Empty when fewer than 5 were closed",
            "constraints": {"minimum": 0, "maximum": 100},
        },
    ],
    "missingValues": [""],
    "primaryKey": ["month", "case_type", "department", "district", "kind"],
}
COLUMNS = [f["name"] for f in SCHEMA["fields"]]
SPEC = generated.GeneratedDataset(
    name=DATASET,
    title_en="1823 case statistics",
    title_zh="1823個案統計數字",
    notes_en="Monthly numbers of enquiries, complaints, suggestions and compliments received and closed by 1823 "
    "and the departments, by case type, department, district and kind, with the median days to close and the "
    "share closed within the service pledge. Counts from 1 to 4 are suppressed.",
    notes_zh="1823及各部門每月收到及完結的查詢、投訴、建議及讚賞個案數目，按個案類別、部門、地區及性質分列，"
    "並列出結案所需日數中位數及在服務承諾內結案的百分比。1至4的數目不予公布。",
    filename=FILENAME,
    resource_name_en="Monthly 1823 case statistics",
    resource_name_zh="每月1823個案統計數字",
    schema=SCHEMA,
    groups=("information-technology-and-broadcasting",),
    tags=("1823", "case statistics", "個案統計", "complaints", "投訴"),
)


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The instants ``month`` (any day of it) starts and ends, Hong Kong time."""
    first = month.replace(day=1)
    nxt = (first + dt.timedelta(days=32)).replace(day=1)
    return (
        dt.datetime.combine(first, dt.time(), tzinfo=HONG_KONG),
        dt.datetime.combine(nxt, dt.time(), tzinfo=HONG_KONG),
    )


def _one_decimal(value: float) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _count(n: int) -> str:
    return str(n) if n == 0 or n >= SUPPRESS_BELOW else ""


def rows_for(month: dt.date) -> list[dict]:
    """``month``'s rows (:data:`COLUMNS`, values as CSV text), sorted by case type, department,
    district, kind; small counts suppressed (module docstring)."""
    start, end = month_bounds(month)
    received: dict[tuple, int] = defaultdict(int)
    closed_days: dict[tuple, list[float]] = defaultdict(list)
    within: dict[tuple, int] = defaultdict(int)
    qs = Case.objects.filter(
        Q(submitted_at__gte=start, submitted_at__lt=end)
        | Q(state=CaseState.CLOSED, closed_at__gte=start, closed_at__lt=end)
    ).values_list(
        "case_type_id", "department_id", "district", "kind", "state", "submitted_at", "closed_at", "close_due"
    )
    for code, dept, district, kind, state, submitted_at, closed_at, close_due in qs:
        key = (code, dept or "", district or "", kind)
        if start <= submitted_at < end:
            received[key] += 1
        if state == CaseState.CLOSED and closed_at is not None and start <= closed_at < end:
            closed_days[key].append((closed_at - submitted_at).total_seconds() / 86400)
            local = timezone.localtime(closed_at, HONG_KONG).date()
            if close_due is None or local <= close_due:
                within[key] += 1
    label = f"{month:%Y-%m}"
    out = []
    for key in sorted(set(received) | set(closed_days)):
        n_in, days = received.get(key, 0), closed_days.get(key, [])
        if max(n_in, len(days)) < SUPPRESS_BELOW:
            continue  # every count of the row would be suppressed
        enough = len(days) >= SUPPRESS_BELOW
        out.append(
            {
                "month": label,
                "case_type": key[0],
                "department": key[1],
                "district": key[2],
                "kind": key[3],
                "received": _count(n_in),
                "closed": _count(len(days)),
                "median_days_to_close": _one_decimal(stats.median(days)) if enough else "",
                "pct_closed_within_pledge": _one_decimal(100 * within[key] / len(days)) if enough else "",
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


def publish_month(month: dt.date, *, now: dt.datetime | None = None):
    """Publish ``month``'s statistics (``month``: any day of it) as a new version of the
    dataset's CSV; returns the version (the one already published for that month: idempotent).
    A month without a row to show is published as one row without a case type (zeros if
    there was no case, blanks if every row was suppressed).

    :raises ValueError: ``month`` has not ended yet (Hong Kong time)."""
    now = now or timezone.now()
    end = month_bounds(month)[1]
    if end > now:
        raise ValueError(f"{month:%Y-%m} has not ended yet")
    existing = generated.published(SPEC, end)
    if existing is not None:
        return existing
    # A month without a row to show: one row without a case type, so that each month's file
    # differs (the month column) and is its own version — zeros when there was no case at all,
    # blanks when every row was suppressed.
    rows = rows_for(month)
    if not rows:
        start, end = month_bounds(month)
        any_case = Case.objects.filter(
            Q(submitted_at__gte=start, submitted_at__lt=end) | Q(closed_at__gte=start, closed_at__lt=end)
        ).exists()
        total = "" if any_case else "0"
        rows = [dict.fromkeys(COLUMNS, "") | {"month": f"{month:%Y-%m}", "received": total, "closed": total}]
    data = render_csv(rows)
    return generated.publish(SPEC, data, captured_at=end, now=now)


def last_finished_month(now: dt.datetime | None = None) -> dt.date:
    """The first day of the month before ``now``'s (Hong Kong time)."""
    return generated.last_finished_month(now)


def ensure_scheduled(now: dt.datetime | None = None) -> bool:
    """Queue :func:`monthly_statistics_task` for 02:00 Hong Kong time on the next month's
    first day unless a run is waiting; returns whether it queued one."""
    return generated.schedule_monthly(monthly_statistics_task, hour=2, now=now)


def keep_scheduled(now: dt.datetime) -> dict[str, int]:
    """The :mod:`tungban.core.retention` hook: makes sure a run is queued (a purge function's
    shape: ``{name: rows}``)."""
    return {"hotline_statistics_scheduled": int(ensure_scheduled(now))}


@task
def monthly_statistics_task(attempt: int = 1) -> str:
    """Publish the month just finished (:func:`publish_month`), then queue the next month's
    run. A failure is retried with the platform's backoff up to ``TUNGBAN_TASK_MAX_ATTEMPTS``
    attempts, then left failed (the task result shows it) and the next month queued. Returns
    the version's SHA-256."""
    version = generated.run_monthly(
        monthly_statistics_task, lambda: publish_month(last_finished_month()), attempt=attempt, hour=2
    )
    log.info("Published the 1823 case statistics of %s", last_finished_month())
    return version.sha256
