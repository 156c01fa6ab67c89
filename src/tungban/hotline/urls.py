"""1823 for residents at /1823/: submit a case, track it, reopen it (issue 22)."""

from django.urls import path  # noqa: F401

app_name = "hotline"
urlpatterns: list = []
