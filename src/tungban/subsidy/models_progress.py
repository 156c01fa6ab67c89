"""Reports of the AI Subsidy Scheme (issue 20, part F): the grantees' progress reports and
their review (seed 000 §21: grantees submit progress reports regularly "供數碼港及獨立委員會檢視",
for Cyberport and the committee to see), and Cyberport's annual report to the funder, frozen
once submitted (seed 000 §21; seed 002 ITIB153, ITIB197).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["AnnualReport", "ProgressReport", "ProgressReportState"]


class ProgressReportState(models.TextChoices):
    """A progress report from its due date to Cyberport's review (seed 000 §21)."""

    DUE = "due", _("Due")
    SUBMITTED = "submitted", _("Submitted, awaiting review")
    ACCEPTED = "accepted", _("Accepted")
    RETURNED = "returned", _("Returned for more information")


class ProgressReport(models.Model):
    """One periodic progress report of an award (seed 000 §21), due on ``due_on`` for the
    period ``period_start``–``period_end``. The grantee reports progress and the outputs the
    scheme's KPIs count (seed 000 §18: AI-model R&D, firms and teams landed, talents; §21:
    R&D outcomes): papers, models and datasets, talents involved and firms landed. Cyberport
    reviews it (accepted or returned with a comment); a returned report may be submitted again.
    """

    public_id = models.UUIDField(_("Public identifier"), default=uuid.uuid4, unique=True, editable=False)
    award = models.ForeignKey(
        "subsidy.Award", on_delete=models.CASCADE, related_name="progress_reports", verbose_name=_("award")
    )
    sequence = models.PositiveSmallIntegerField(_("Report number"))
    period_start = models.DateField(_("Period from"))
    period_end = models.DateField(_("Period to"))
    due_on = models.DateField(_("Due on"))
    final = models.BooleanField(_("Final report"), default=False)
    state = models.CharField(
        _("State"), max_length=20, choices=ProgressReportState.choices, default=ProgressReportState.DUE
    )
    progress = models.TextField(_("Progress in the period"), blank=True)
    papers = models.PositiveIntegerField(_("Papers"), default=0)
    models_released = models.PositiveIntegerField(_("AI models"), default=0)
    datasets = models.PositiveIntegerField(_("Datasets"), default=0)
    outputs = models.TextField(_("Outputs (titles, DOIs or links)"), blank=True)
    talents = models.PositiveIntegerField(_("Talents and professionals involved"), default=0)
    landed_firms = models.PositiveIntegerField(_("Mainland or overseas firms and teams landed"), default=0)
    submitted_at = models.DateTimeField(_("Submitted at"), null=True, blank=True)
    #: The person who submitted it for the grantee (a resident acting under a CorpID mandate).
    submitted_by = models.CharField(_("Submitted by (mandate)"), max_length=64, blank=True)
    review_comment = models.TextField(_("Reviewer's comment"), blank=True)
    reviewed_at = models.DateTimeField(_("Reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )

    class Meta:
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")
        ordering = ["award", "sequence"]
        constraints = [models.UniqueConstraint(fields=["award", "sequence"], name="subsidy_progress_report_once")]

    def __str__(self):
        return f"{self.award_id}#{self.sequence}"


class AnnualReport(models.Model):
    """Cyberport's report to the funder for one financial year (seed 000 §21: performance,
    security audit and finances; seed 002 ITIB153: after the FY ends, with the use of the
    subsidy and a financial report; ITIB197: next year's work plan and latest budget). The
    figures are computed from the records when it is drafted; at submission the bilingual PDF
    and the CSV are rendered once and stored with the SHA-256 of each (hex), and nothing of it
    changes afterwards (``report_frozen``)."""

    fiscal_year = models.CharField(_("Financial year"), max_length=7, unique=True)
    security_audit_en = models.TextField(_("Security audit status in English"), blank=True)
    security_audit_zh = models.TextField(_("Security audit status in Chinese"), blank=True)
    work_plan_en = models.TextField(_("Next year's work plan in English"), blank=True)
    work_plan_zh = models.TextField(_("Next year's work plan in Chinese"), blank=True)
    next_year_budget = models.DecimalField(
        _("Next year's budget (HK$)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    submitted_at = models.DateTimeField(_("Submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    figures = models.JSONField(_("Figures at submission"), null=True, blank=True)
    pdf = models.BinaryField(_("PDF as submitted"), null=True, blank=True)
    csv = models.BinaryField(_("CSV as submitted"), null=True, blank=True)
    pdf_sha256 = models.CharField(_("SHA-256 of the PDF"), max_length=64, blank=True)
    csv_sha256 = models.CharField(_("SHA-256 of the CSV"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("annual report")
        verbose_name_plural = _("annual reports")
        ordering = ["-fiscal_year"]

    def __str__(self):
        return self.fiscal_year

    @property
    def frozen(self) -> bool:
        return self.submitted_at is not None
