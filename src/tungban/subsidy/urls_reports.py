"""Pages of the AI Subsidy Scheme: reports (issue 20, part F), under ``/staff/subsidy/reports/``."""

from django.urls import path

from . import views_reports as v

urlpatterns = [
    path("", v.dashboard, name="reports"),
    path("charts/<slug:name>.svg", v.chart, name="report-chart"),
    path("standard/", v.standard, name="standard-reports"),
    path("standard/<slug:name>.csv", v.standard_csv, name="standard-report-csv"),
    path("annual/", v.annual_list, name="annual-reports"),
    path("annual/<str:fy>/", v.annual_report, name="annual-report"),
    path("annual/<str:fy>/submit/", v.annual_submit, name="annual-submit"),
    path("annual/<str:fy>/report.<str:kind>", v.annual_file, name="annual-file"),
    path("progress/", v.progress_list, name="progress-list"),
    path("progress/<uuid:report>/", v.progress_review, name="progress-review"),
]
