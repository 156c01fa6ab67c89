"""1823 for staff at /staff/1823/: department case desks, the coordinator, the KPI dashboard (issue 22)."""

from django.urls import path  # noqa: F401

app_name = "hotline_staff"
urlpatterns: list = []
