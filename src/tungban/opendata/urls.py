"""The public pages and the DCAT-AP 3 documents of 資料一線通 under ``/data/`` (issue 21, part
opages; the agreed URL layout in the common brief)."""

from django.urls import path

from . import views

app_name = "opendata"
urlpatterns = [
    path("", views.search_page, name="search"),
    path("catalog.jsonld", views.catalog, {"fmt": "jsonld"}, name="catalog-jsonld"),
    path("catalog.ttl", views.catalog, {"fmt": "ttl"}, name="catalog-ttl"),
    path("dataset/<slug:name>/", views.dataset_page, name="dataset"),
    path("dataset/<slug:name>.jsonld", views.dataset_rdf, {"fmt": "jsonld"}, name="dataset-jsonld"),
    path("dataset/<slug:name>.ttl", views.dataset_rdf, {"fmt": "ttl"}, name="dataset-ttl"),
    path("organization/", views.organization_list, name="organizations"),
    path("organization/<slug:name>/", views.organization_page, name="organization"),
    path("group/", views.group_list, name="groups"),
    path("group/<slug:name>/", views.group_page, name="group"),
]
