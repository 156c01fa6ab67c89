"""The AI Subsidy Scheme's error codes (issue 20), declared once; each part's codes under its
heading. Each is refused before anything is written, or inside the service's transaction, so
nothing partial is stored. Listed in the OpenAPI document under the ``subsidy`` tag.
"""

from django.utils.translation import gettext_lazy as _  # noqa: F401

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound  # noqa: F401

# Funds, prices, capacity and awards (the subsidy engine)

# Intake: calls, batches, applications, eligibility, the secretariat's assessment
RegisterInvalid = DomainError.define(
    "eligibility_register_invalid", _("The register of eligible institutions is not valid: %(problems)s"), status=422
)
SubsidyApplicationUnknown = NotFound.define("subsidy_application_unknown", _("There is no such subsidy application."))
NotSecretariat = Forbidden.define(
    "not_secretariat", _("Only officers of Cyberport, the scheme's secretariat, can do this.")
)
IntakeStateRefused = Conflict.define(
    "subsidy_state_refused", _("This cannot be done to an application that is %(state)s.")
)
NotComplete = Conflict.define(
    "subsidy_not_complete",
    _("The application's information is not complete: mark it complete before the review or the recommendation."),
)
TextRequiredBoth = DomainError.define(
    "subsidy_text_required", _("Give the text in both English and Chinese."), field="text_en"
)
RecommendationInvalid = DomainError.define(
    "subsidy_recommendation_invalid", _("The recommendation is not valid: %(problem)s"), status=422
)
NoMeeting = Conflict.define(
    "subsidy_no_meeting",
    _("There is no committee meeting for batch %(batch)s yet: the committee secretary plans it first."),
)

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
