"""The AI Subsidy Scheme's error codes (issue 20), declared once; each part's codes under its
heading. Each is refused before anything is written, or inside the service's transaction, so
nothing partial is stored. Listed in the OpenAPI document under the ``subsidy`` tag.
"""

from django.utils.translation import gettext_lazy as _  # noqa: F401
from django.utils.translation import pgettext_lazy

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound  # noqa: F401

# Funds, prices, capacity and awards (the subsidy engine)
RateInvalid = DomainError.define("rate_invalid", _("The subsidy rate must be between 0 and 90 per cent."), field="rate")
RateNeedsExceptionalDecision = DomainError.define(
    "rate_needs_exceptional_decision",
    _(
        "A subsidy above 70 per cent of the price needs the committee's decision that the case is exceptional (seed 000 §13)."
    ),
    field="rate",
)
RateAboveExceptionalCeiling = DomainError.define(
    "rate_above_exceptional_ceiling",
    _("A subsidy may never exceed 90 per cent of the price, even in an exceptional case (seed 000 §13)."),
    field="rate",
)
ExceptionalReasonsRequired = DomainError.define(
    "exceptional_reasons_required",
    _("Give the reasons for the exceptional case in English and in Chinese."),
    field="exceptional_reason_en",
)
PriceInvalid = DomainError.define("price_invalid", _("The price per node-month must be above zero."), field="price")
ScheduleInvalid = DomainError.define(
    "schedule_invalid",
    _("The schedule must give whole nodes (at least one) for 1 to 12 consecutive months: %(reason)s"),
    field="schedule",
)
ScheduleOutsideRequest = DomainError.define(
    "schedule_outside_request",
    _("The schedule asks for more than the application requested in %(month)s."),
    field="schedule",
)
BeyondRelease = Conflict.define(
    "commitment_beyond_release",
    _(
        "The subsidy of %(amount)s in financial year %(fy)s is more than the funds released and not yet"
        " committed (%(available)s)."
    ),
)
BeyondCapacity = Conflict.define(
    "capacity_exceeded",
    _(
        "In %(month)s only %(free)s nodes may still be subsidised (90%% of the centre's capacity, seed 000 §10);"
        " %(nodes)s were asked."
    ),
)
DoubleFunded = Conflict.define(
    "double_funded",
    _(
        "Cost item %(item)s already receives other government funding (%(source)s): it cannot also be"
        " subsidised (seed 000 footnote 6)."
    ),
)
ReasonsRequired = DomainError.define(
    "decision_reasons_required", _("Give the reasons for the decision in English and in Chinese."), field="reasons_en"
)
ApplicationNotDecidable = Conflict.define(
    "application_not_decidable", _("This application cannot be decided in its state (%(state)s).")
)
ServiceClassUnknown = NotFound.define("service_class_unknown", _("There is no such class of service."))
NoPriceInForce = Conflict.define("no_price_in_force", _("The class of service has no list price in force on %(day)s."))
FiscalYearUnknown = NotFound.define("fiscal_year_unknown", _("There is no such financial year: %(fy)s."), field="fy")
ReleaseStateRefused = Conflict.define("release_state", _("This release cannot be %(action)s in its state."))
AnnualReportNotSubmitted = Conflict.define(
    "annual_report_not_submitted",
    _(
        "The amount for %(fy)s can be confirmed only after Cyberport has submitted its annual report for %(previous)s (seed 002 ITIB197)."
    ),
    field="fy",
)
AmountInvalid = DomainError.define("amount_invalid", _("Give an amount above zero in HK$."), field="amount")
AppropriationExceeded = Conflict.define(
    "appropriation_exceeded",
    _("This would take the line's funds across all years to %(total)s, above its appropriation of %(appropriation)s."),
    field="amount",
)
VirementBeyondAvailable = Conflict.define(
    "virement_beyond_available",
    _("The line %(line)s has only %(available)s available in %(fy)s: the virement cannot move more."),
)
AwardUnknown = NotFound.define("award_unknown", _("There is no such award."))
AwardStateRefused = Conflict.define("award_state", _("This award cannot be %(action)s in its state (%(state)s)."))
NotGrantee = Forbidden.define("not_grantee", _("Only a person authorised to sign for the grantee can do this."))
ReallocationInvalid = DomainError.define(
    "reallocation_invalid", _("The GPU-minutes to lend must be above zero and at most the unused balance (%(unused)s).")
)
PriceBackdated = Conflict.define(
    "price_backdated",
    _("A new list price takes effect today or later, never before the price in force (seed 000 §14)."),
    field="effective_from",
)
BasisRequired = DomainError.define(
    "price_basis_required", _("Say what the new price is based on (the market estimate)."), field="basis"
)
CapacityBelowCommitted = Conflict.define(
    "capacity_below_committed",
    _("In %(month)s, %(committed)s nodes are already committed: the capacity cannot be lower."),
    field="nodes",
)
NotFundsOfficer = Forbidden.define(
    "not_funds_officer", _("Only officers of the Digital Policy Office or of Cyberport may do this.")
)

# tmoney: money and terms findings of the review (issue 20)
PriceOutOfRange = DomainError.define(
    "price_out_of_range",
    _(
        "The price per node-month must lie within the range of its class of service in the price book in force:"
        " %(low)s to %(high)s, the list price (seed 000 §14)."
    ),
    field="price",
)
OfferLapsed = Conflict.define(
    "offer_lapsed",
    _("The offer lapsed on %(day)s without a signed agreement: it can no longer be signed. Contact Cyberport."),
)
NotPayer = Forbidden.define(
    "not_payer",
    _("Your mandate for this organisation does not allow paying its invoices: ask its administrator."),
)
#: The words the errors above interpolate (``%(action)s``, ``%(reason)s``), each translated, so a
#: Chinese message holds no English (review finding: English inside Chinese errors).
ACTIONS = {
    "signed": pgettext_lazy("subsidy action", "signed"),
    "ended": pgettext_lazy("subsidy action", "ended"),
    "reallocated": pgettext_lazy("subsidy action", "reallocated"),
    "decided": pgettext_lazy("subsidy action", "decided"),
    "released": pgettext_lazy("subsidy action", "released"),
    "confirmed": pgettext_lazy("subsidy action", "confirmed"),
    "lapsed": pgettext_lazy("subsidy action", "lapsed"),
}
SCHEDULE_PROBLEMS = {
    "unreadable": pgettext_lazy("subsidy schedule", "the months or the nodes cannot be read"),
    "no_month": pgettext_lazy("subsidy schedule", "no month is given"),
    "not_whole": pgettext_lazy("subsidy schedule", "each month is its first day and has at least 1 node"),
    "too_long": pgettext_lazy("subsidy schedule", "more than 12 months (seed 002 ITIB153)"),
    "not_consecutive": pgettext_lazy("subsidy schedule", "the months are not consecutive"),
    "month_format": pgettext_lazy("subsidy schedule", "write the month as YYYY-MM"),
}

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

# The JSON API for integrators (branch tapi)
SubsidyBatchUnknown = DomainError.define(
    "subsidy_batch_unknown",
    _("There is no such batch: give a call's code and a batch number."),
    field="batch",
    status=422,
)
NotSecretariatSystem = Forbidden.define(
    "not_secretariat_system",
    _("Only a system of Cyberport, the scheme's secretariat, registered for the scheme's API can do this."),
)

# tgaps: the grant's cluster users
GrantNotSigned = Conflict.define(
    "grant_not_signed", _("Cluster users can be named once the agreement is signed and the account requested.")
)
GrantNotActive = Conflict.define(
    "grant_not_active", _("Cluster users can be named only while the grant is active; it is %(state)s.")
)
ClusterUserOfAnotherOrganisation = Conflict.define(
    "cluster_user_of_another_organisation",
    _("%(user)s is a cluster user of another organisation's account; choose a user of your own team."),
    field="user",
)

# tcommittee: reallocation to market-price users, market commitments
ReallocationNotMarket = DomainError.define(
    "reallocation_not_market",
    _("Compute can be lent only to a market-price account (seed 000 §17); “%(account)s” is not one."),
    field="to_account",
)
MarketCommitmentInvalid = DomainError.define(
    "market_commitment_invalid", _("The market-price commitment is not valid: %(problem)s"), field="schedule"
)
MarketBeyondCapacity = Conflict.define(
    "market_capacity_exceeded",
    _("In %(month)s only %(free)s nodes are free for market-price users; %(nodes)s were asked."),
)
