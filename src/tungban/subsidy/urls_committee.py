"""The committee's read-only pages of the AI Subsidy Scheme, under ``/staff/subsidy/committee/``."""

from django.urls import path

from . import views_committee as views

urlpatterns = [
    path("applications/<uuid:public_id>/", views.application, name="committee_application"),
    path(
        "applications/<uuid:public_id>/documents/<int:attachment_id>",
        views.attachment,
        name="committee_attachment",
    ),
    path("reallocations/<uuid:public_id>/", views.reallocation_page, name="committee_reallocation"),
    path("grants/", views.grants, name="committee_grants"),
]
