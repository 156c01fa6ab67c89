"""``/cross-boundary/``: the public page of cross-boundary services (跨境通辦) the federation's
services offer, linked from the e-services catalogue's cross-boundary facet."""

from django.urls import path  # noqa: F401

app_name = "federation_public"
urlpatterns: list = []
