"""The public catalogue pages, under ``/services/`` beside the resident's pages
(:mod:`tungban.eservices.urls`, included first)."""

from django.urls import path

from . import views_catalogue

app_name = "eservices_catalogue"

urlpatterns = [
    path("", views_catalogue.catalogue, name="catalogue"),
    path("<slug:slug>/", views_catalogue.service, name="service"),
]
