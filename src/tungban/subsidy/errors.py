"""The AI Subsidy Scheme's error codes (issue 20), declared once; each part's codes under its
heading. Each is refused before anything is written, or inside the service's transaction, so
nothing partial is stored. Listed in the OpenAPI document under the ``subsidy`` tag.
"""

from django.utils.translation import gettext_lazy as _  # noqa: F401

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound  # noqa: F401

# Funds, prices, capacity and awards (the subsidy engine)

# Intake: calls, batches, applications, eligibility, the secretariat's assessment

# Reports
ReportFrozen = Conflict.define(
    "report_frozen",
    _("The annual report for %(fy)s was submitted on %(date)s and cannot change (seed 000 §21)."),
)
FiscalYearNotEnded = Conflict.define(
    "fiscal_year_not_ended",
    _(
        "The annual report for %(fy)s can be submitted only after the financial year ends on %(end)s (seed 002 ITIB153)."
    ),
)
FiscalYearFormat = DomainError.define(
    "fiscal_year_format", _("A financial year is written like 2025-26."), field="fiscal_year"
)
ProgressReportUnknown = NotFound.define("progress_report_unknown", _("There is no such progress report."))
ProgressReportNotOpen = Conflict.define(
    "progress_report_not_open", _("This progress report is %(state)s: it cannot be submitted now.")
)
ProgressReportNotSubmitted = Conflict.define(
    "progress_report_not_submitted", _("Only a submitted progress report can be reviewed; this one is %(state)s.")
)
ProgressReportIncomplete = DomainError.define(
    "progress_report_incomplete", _("Describe the progress made in the period."), field="progress", status=422
)
ReviewCommentRequired = DomainError.define(
    "review_comment_required",
    _("Say what is missing: a returned report needs a comment for the grantee."),
    field="review_comment",
    status=422,
)
