"""``/federation/``: the root entity's federation endpoints (§8: fetch, list, resolve, trust mark
status, trust mark) and hosted services' entity configurations and login pages. Mounted in
``tungban/urls.py`` with ``/.well-known/openid-federation`` (:mod:`.urls_root`)."""

from django.urls import path

from . import views_services

app_name = "federation"
urlpatterns: list = [
    # Hosted services (relying parties of a partner's OpenID provider; part frp).
    path("services/<slug:slug>/", views_services.service_page, name="service"),
    path("services/<slug:slug>/login", views_services.service_login, name="service-login"),
    path("services/<slug:slug>/callback", views_services.service_callback, name="service-callback"),
    path("services/<slug:slug>/logout", views_services.service_logout, name="service-logout"),
]
