"""The officers' e-services pages, mounted at ``/staff/eservices/``."""

from django.urls import path

from . import urls as _resident_urls  # noqa: F401 - registers the "ref" converter
from . import views_staff as views

app_name = "eservices-staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("cases/<ref:reference>/", views.case, name="case"),
    path("cases/<ref:reference>/documents/<int:attachment_id>", views.attachment, name="attachment"),
    path("cases/<ref:reference>/<slug:action>", views.act, name="act"),
    path("<slug:code>/", views.queues, name="queues"),
    path("<slug:code>/bulk", views.bulk, name="bulk"),
    path("<slug:code>/reports/", views.report_page, name="reports"),
    path("<slug:code>/reports/<slug:name>.csv", views.report_csv, name="report-csv"),
    path("<slug:code>/reports/<slug:name>.svg", views.report_svg, name="report-svg"),
    path("<slug:code>/webhooks/", views.webhook_log, name="webhooks"),
]
