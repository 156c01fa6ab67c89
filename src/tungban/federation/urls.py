"""``/federation/``: the root entity's federation endpoints (§8: fetch, list, resolve, trust mark
status, trust mark) and hosted services' entity configurations and login pages. Mounted in
``tungban/urls.py`` with ``/.well-known/openid-federation`` (:mod:`.urls_root`)."""

from django.urls import path  # noqa: F401

app_name = "federation"
urlpatterns: list = []
