"""``/federation/``: the root entity's federation endpoints (§8: fetch, list, resolve, trust mark
status, trust mark) and hosted services' entity configurations and login pages. Mounted in
``tungban/urls.py`` with ``/.well-known/openid-federation`` (:mod:`.urls_root`)."""

from django.urls import path

from . import views_federation, views_services

app_name = "federation"
urlpatterns: list = [
    # --- federation endpoints (part fcore) ---
    path("fetch", views_federation.fetch, name="fetch"),
    path("list", views_federation.list_subordinates, name="list"),
    path("resolve", views_federation.resolve, name="resolve"),
    path("trust_mark_status", views_federation.trust_mark_status, name="trust_mark_status"),
    path("trust_mark", views_federation.trust_mark, name="trust_mark"),
    path(
        "services/<slug:slug>/.well-known/openid-federation",
        views_federation.service_configuration,
        name="service_configuration",
    ),
    # --- hosted services' pages (relying parties of a partner's OpenID provider; part frp) ---
    path("services/<slug:slug>/", views_services.service_page, name="service"),
    path("services/<slug:slug>/login", views_services.service_login, name="service-login"),
    path("services/<slug:slug>/callback", views_services.service_callback, name="service-callback"),
    path("services/<slug:slug>/logout", views_services.service_logout, name="service-logout"),
]
