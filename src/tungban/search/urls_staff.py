"""Best bets for staff at /staff/search/ (issue 22)."""

from django.urls import path  # noqa: F401

app_name = "search_staff"
urlpatterns: list = []
