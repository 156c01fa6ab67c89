"""The public search page at /search/ (issue 22)."""

from django.urls import path  # noqa: F401

app_name = "search"
urlpatterns: list = []
