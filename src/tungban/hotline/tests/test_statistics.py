"""Anonymised 1823 case statistics as open data (issue 22): one row per case type, department,
district and kind, counts from 1 to 4 suppressed, the median days to close and the share closed
within the pledge computed from the cases, the CSV valid against its Table Schema, one version
per month (idempotent), and the monthly task that queues the next month."""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics as stats

import pytest
from django.utils import timezone

from tungban.hotline.models import Case
from tungban.hotline.services import cases
from tungban.hotline.services import statistics as case_stats
from tungban.opendata import storage, tabular

from .conftest import lamp_case

NOV = dt.date(2026, 11, 1)
HK = case_stats.HONG_KONG


def _at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=HK)


@pytest.fixture
def november(hotline, hyd_officer, settings, tmp_path):
    """Seven street-light complaints in Wan Chai received in November (six closed there, on
    days 1..6 after submission; the pledge day is 4 days after), two tree enquiries (too few:
    suppressed) and one October case closed in November."""
    settings.TUNGBAN_OPENDATA_FILES = tmp_path / "files"
    made = []
    for i in range(7):
        case, _c = lamp_case()
        made.append(case)
        Case.objects.filter(pk=case.pk).update(submitted_at=_at(2 + i))
        if i < 6:
            cases.accept(case, hyd_officer)
            cases.close(case, hyd_officer, "Fixed.")
            Case.objects.filter(pk=case.pk).update(
                closed_at=_at(2 + i) + dt.timedelta(days=i + 1), close_due=(_at(2 + i) + dt.timedelta(days=4)).date()
            )
    for _ in range(2):
        case, _c = lamp_case(case_type="tree-safety", kind="enquiry", attribute_values={}, district="sai-kung")
        Case.objects.filter(pk=case.pk).update(submitted_at=_at(20))
    october, _c = lamp_case()
    Case.objects.filter(pk=october.pk).update(submitted_at=dt.datetime(2026, 10, 30, tzinfo=HK))
    return made


def _read(version) -> list[dict]:
    return list(csv.DictReader(io.StringIO(storage.read(version.sha256).decode())))


def test_rows_suppress_small_counts_and_compute_from_the_cases(november):
    rows = case_stats.rows_for(NOV)
    # The street lights: seven received and six closed in November (the October case is still
    # open); the tree enquiries (two) are left out entirely.
    assert [(r["case_type"], r["department"], r["district"], r["kind"]) for r in rows] == [
        ("street-light-fault", "HYD", "wan-chai", "complaint")
    ]
    [row] = rows
    closed = Case.objects.filter(state="closed", closed_at__gte=_at(1, 0))
    days = [(c.closed_at - c.submitted_at).total_seconds() / 86400 for c in closed]
    within = sum(1 for c in closed if timezone.localtime(c.closed_at, HK).date() <= c.close_due)
    assert row["received"] == "7" and row["closed"] == str(len(days)) == "6"
    assert row["median_days_to_close"] == f"{stats.median(days):.1f}"
    assert row["pct_closed_within_pledge"] == f"{100 * within / len(days):.1f}"
    # Fewer than five closed: no median, no percentage; the count itself blank.
    Case.objects.filter(pk__in=[c.pk for c in november[:2]]).update(closed_at=_at(1) + dt.timedelta(days=40))
    [row] = case_stats.rows_for(NOV)
    assert row["closed"] == "" and row["median_days_to_close"] == "" and row["pct_closed_within_pledge"] == ""


def test_published_once_per_month_valid_against_its_schema(november):
    now = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
    with pytest.raises(ValueError):
        case_stats.publish_month(dt.date(2026, 12, 1), now=now)
    version = case_stats.publish_month(NOV, now=now)
    data = storage.read(version.sha256)
    assert tabular.validate(data, case_stats.SCHEMA).row_count == 1
    assert _read(version)[0]["case_type"] == "street-light-fault"
    assert "Fixed." not in data.decode() and "Hennessy" not in data.decode()
    assert case_stats.publish_month(NOV, now=now).pk == version.pk  # idempotent
    from tungban.opendata.services import publishing

    ds = publishing.dataset(case_stats.DATASET)
    assert ds.title_zh == "1823個案統計數字"
    october = case_stats.publish_month(dt.date(2026, 10, 1), now=now)  # one case: suppressed
    assert october.pk != version.pk and [(r["case_type"], r["received"]) for r in _read(october)] == [("", "")]
    assert tabular.validate(storage.read(october.sha256), case_stats.SCHEMA).row_count == 1
    september = case_stats.publish_month(dt.date(2026, 9, 1), now=now)  # no case at all
    assert [r["received"] for r in _read(september)] == ["0"]


def test_the_monthly_task_publishes_and_queues_the_next(november, monkeypatch):
    from django_tasks_db.models import DBTaskResult

    monkeypatch.setattr(case_stats, "last_finished_month", lambda now=None: NOV)
    case_stats.monthly_statistics_task.call()
    assert case_stats.generated.published(case_stats.SPEC, case_stats.month_bounds(NOV)[1]) is not None
    queued = DBTaskResult.objects.get(task_path=case_stats.monthly_statistics_task.module_path)
    assert queued.run_after > timezone.now()
    assert timezone.localtime(queued.run_after, HK).day == 1
    assert case_stats.ensure_scheduled() is False
    assert case_stats.keep_scheduled(timezone.now()) == {"hotline_statistics_scheduled": 0}
