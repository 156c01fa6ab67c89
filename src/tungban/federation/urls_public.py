"""``/cross-boundary/``: the public page of cross-boundary services (跨境通辦) the federation's
services offer, linked from the e-services catalogue's cross-boundary facet."""

from django.urls import path

from . import views_services

app_name = "federation_public"
urlpatterns: list = [
    path("", views_services.cross_boundary, name="index"),
]
