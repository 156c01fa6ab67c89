"""Pages of the AI Subsidy Scheme: grants (issue 20; filled by the part that owns them)."""

from django.urls import include, path

urlpatterns: list = [
    path("<uuid:award>/reports/", include("tungban.subsidy.urls_progress")),
]
