"""The AI Subsidy Scheme's staff pages, under ``/staff/subsidy/`` (issue 20): the Cyberport
secretariat, the funder (Digital Policy Office) and the reports."""

from django.urls import include, path

app_name = "subsidy_staff"

urlpatterns = [
    path("", include("tungban.subsidy.urls_secretariat")),  # applications, eligibility, first assessment
    path("funds/", include("tungban.subsidy.urls_funds")),  # the fund's ledger, prices, capacity, awards
    path("recommend/", include("tungban.subsidy.urls_recommend")),  # the award optimiser's recommendation
    path("reports/", include("tungban.subsidy.urls_reports")),  # annual report, standard reports, KPIs
    path("committee/", include("tungban.subsidy.urls_committee")),  # the committee's read-only pages
]
