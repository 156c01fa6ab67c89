"""The public search page at /search/ (issue 22)."""

from django.urls import path

from . import views

app_name = "search"
urlpatterns: list = [path("", views.search_page, name="search")]
