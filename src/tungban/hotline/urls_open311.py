"""Open311 GeoReport v2 at /open311/v2/ (issue 22): every resource in ``.json`` and ``.xml``."""

from django.urls import re_path

from . import views_open311 as v

app_name = "open311"
F = r"\.(?P<fmt>json|xml)$"
urlpatterns: list = [
    re_path(r"^v2/discovery" + F, v.discovery, name="discovery"),
    re_path(r"^v2/services" + F, v.services, name="services"),
    re_path(r"^v2/services/(?P<service_code>[-a-zA-Z0-9_]+)" + F, v.service_definition, name="service"),
    re_path(r"^v2/requests" + F, v.requests_, name="requests"),
    re_path(r"^v2/requests/(?P<service_request_id>[-A-Za-z0-9]+)" + F, v.request_detail, name="request"),
]
