"""Grantees' progress reports and Cyberport's review (issue 20, part F; seed 000 §21: a grantee
signs an agreement with Cyberport "包括定期提交進度報告供數碼港及獨立委員會檢視" — regular progress
reports for Cyberport and the independent committee to see).

The seed says "regularly" without a period; the schedule is one report per
:data:`INTERVAL_MONTHS` months of the award and a final report, each due
:data:`DUE_AFTER_DAYS` days after its period ends (the practice of NAIRR's and ACCESS's
allocations the anchor study §3 cites: reports during and at the end of an allocation).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from .. import errors
from ..constants import AwardState
from ..models import Award
from ..models_progress import ProgressReport, ProgressReportState

INTERVAL_MONTHS = 3
DUE_AFTER_DAYS = 30

#: What a grantee reports (the form's fields, all but ``progress`` counts ≥ 0).
COUNTS = ("papers", "models_released", "datasets", "talents", "landed_firms")


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    return dt.date(day.year + month // 12, month % 12 + 1, 1)


def schedule(award: Award) -> list[ProgressReport]:
    """Create the award's progress reports if it has none (idempotent): periods of
    :data:`INTERVAL_MONTHS` months from ``starts_on`` (the last one ends on ``ends_on`` and is
    the final report), each due :data:`DUE_AFTER_DAYS` days after its end. Returns them in
    order."""
    with transaction.atomic():
        Award.objects.select_for_update().filter(pk=award.pk).first()
        existing = list(award.progress_reports.order_by("sequence"))
        if existing:
            return existing
        reports, start, sequence = [], award.starts_on, 1
        while start <= award.ends_on:
            end = min(_add_months(start, INTERVAL_MONTHS) - dt.timedelta(days=1), award.ends_on)
            reports.append(
                ProgressReport(
                    award=award,
                    sequence=sequence,
                    period_start=start,
                    period_end=end,
                    due_on=end + dt.timedelta(days=DUE_AFTER_DAYS),
                    final=end == award.ends_on,
                )
            )
            start, sequence = end + dt.timedelta(days=1), sequence + 1
        return ProgressReport.objects.bulk_create(reports)


def submit(
    report: ProgressReport, *, progress: str, counts: dict[str, int], outputs: str, by: str, now=None
) -> ProgressReport:
    """The grantee submits ``report`` (due, or returned for more information).

    :param counts: ``papers``, ``models_released``, ``datasets``, ``talents``,
        ``landed_firms`` (whole numbers ≥ 0; seed 000 §18's KPIs).
    :param by: the mandate id under which the person acts for the grantee (CorpID).
    :raises DomainError: ``progress_report_not_open`` (409: submitted or accepted already),
        ``progress_report_incomplete`` (422: no progress described).
    """
    if not (progress or "").strip():
        raise errors.ProgressReportIncomplete()
    with transaction.atomic():
        locked = ProgressReport.objects.select_for_update().get(pk=report.pk)
        if locked.state not in (ProgressReportState.DUE, ProgressReportState.RETURNED):
            raise errors.ProgressReportNotOpen(state=ProgressReportState(locked.state).label)
        locked.progress = progress.strip()
        locked.outputs = (outputs or "").strip()
        for name in COUNTS:
            setattr(locked, name, int(counts.get(name, 0)))
        locked.state = ProgressReportState.SUBMITTED
        locked.submitted_at = now or timezone.now()
        locked.submitted_by = by
        locked.save()
    return locked


def review(report: ProgressReport, *, accept: bool, comment: str, actor, now=None) -> ProgressReport:
    """Cyberport accepts ``report`` or returns it with ``comment`` (required when returned).

    :raises DomainError: ``progress_report_not_submitted`` (409), ``review_comment_required``
        (422).
    """
    if not accept and not (comment or "").strip():
        raise errors.ReviewCommentRequired()
    with transaction.atomic():
        locked = ProgressReport.objects.select_for_update().get(pk=report.pk)
        if locked.state != ProgressReportState.SUBMITTED:
            raise errors.ProgressReportNotSubmitted(state=ProgressReportState(locked.state).label)
        locked.state = ProgressReportState.ACCEPTED if accept else ProgressReportState.RETURNED
        locked.review_comment = (comment or "").strip()
        locked.reviewed_at = now or timezone.now()
        locked.reviewed_by = actor
        locked.save()
    return locked


def outcomes(start: dt.date, end: dt.date) -> dict[str, int]:
    """Sums of the accepted reports' counts whose period ends from ``start`` to ``end``
    (the annual report's R&D outcomes, talents and firms landed; seed 000 §18, §21)."""
    totals = dict.fromkeys(COUNTS, 0)
    reports = ProgressReport.objects.filter(
        state=ProgressReportState.ACCEPTED, period_end__gte=start, period_end__lte=end
    ).values_list(*COUNTS)
    for row in reports:
        for name, value in zip(COUNTS, row, strict=True):
            totals[name] += value
    return totals


def for_review():
    """Reports awaiting Cyberport's review, oldest submission first."""
    return (
        ProgressReport.objects.filter(state=ProgressReportState.SUBMITTED)
        .select_related("award__application")
        .order_by("submitted_at")
    )


def overdue(today: dt.date | None = None):
    """Reports past their due date that the grantee has not submitted (due, or returned and
    not submitted again), oldest due first: Cyberport chases them (seed 000 §21)."""
    today = today or timezone.localdate()
    return (
        ProgressReport.objects.filter(
            state__in=[ProgressReportState.DUE, ProgressReportState.RETURNED], due_on__lt=today
        )
        .select_related("award__application")
        .order_by("due_on", "award_id", "sequence")
    )


def grants_in_progress():
    """The awards whose progress the committee follows (offered, active, suspended or
    completed; seed 000 §21: progress reports reviewed by Cyberport and the committee), with
    their application and progress reports, by the application's reference."""
    return (
        Award.objects.filter(
            state__in=[AwardState.OFFERED, AwardState.ACTIVE, AwardState.SUSPENDED, AwardState.COMPLETED]
        )
        .select_related("application")
        .prefetch_related("progress_reports")
        .order_by("application__reference")
    )
