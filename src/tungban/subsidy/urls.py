"""The AI Subsidy Scheme's public and grantees' pages, under ``/subsidy/`` (issue 20)."""

from django.urls import include, path

app_name = "subsidy"

urlpatterns = [
    path("", include("tungban.subsidy.urls_public")),  # the scheme page, calls and batches, my applications
    path("grants/", include("tungban.subsidy.urls_grants")),  # an award: agreement, invoices, usage, reports
]
