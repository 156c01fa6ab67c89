"""The fund's pages (issue 20, part A), under ``/staff/subsidy/funds/``."""

from django.urls import path

from . import views_funds as views

urlpatterns = [
    path("", views.home, name="funds"),
    path("release/", views.release, name="funds_release"),
    path("confirm/", views.confirm, name="funds_confirm"),
    path("virement/", views.virement, name="funds_virement"),
    path("prices/", views.add_price, name="funds_price"),
    path("capacity/", views.change_capacity, name="funds_capacity"),
    path("applications/<uuid:public_id>/", views.application, name="funds_application"),
    path("applications/<uuid:public_id>/reallocate/", views.reallocate, name="funds_reallocate"),
    path(
        "applications/<uuid:public_id>/reallocate/<uuid:proposal>/agenda",
        views.reallocation_agenda,
        name="funds_reallocation_agenda",
    ),
]
