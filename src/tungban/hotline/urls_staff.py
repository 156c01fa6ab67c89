"""1823 for staff at /staff/1823/: department case desks, the coordinator, the KPI dashboard (issue 22)."""

from django.urls import path

from . import views_staff as views

app_name = "hotline_staff"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("coordinator/", views.coordinator, name="coordinator"),
    path("kpi/", views.kpi_page, name="kpi"),
    path("kpi/chart.svg", views.kpi_svg, name="kpi-svg"),
    path("cases/<str:reference>/", views.case, name="case"),
    path("cases/<str:reference>/attachments/<int:attachment_id>", views.attachment, name="attachment"),
    path("cases/<str:reference>/<slug:action>", views.act, name="act"),
]
