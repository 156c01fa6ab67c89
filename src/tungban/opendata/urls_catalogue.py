"""urls_catalogue (issue 21)."""

from django.urls import path  # noqa: F401

app_name = "opendata_catalogue"
urlpatterns: list = []
