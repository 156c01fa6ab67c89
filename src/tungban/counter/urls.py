"""The registration counter's pages, mounted at ``/staff/``."""

from django.urls import path

from . import personal_code, views

app_name = "counter"

urlpatterns = [
    path("", views.staff_home, name="staff-home"),
    path("residents/new", views.register, name="register"),
    path("personal-code", personal_code.personal_code, name="personal-code"),
    path("residents/<uuid:public_id>", views.resident_detail, name="resident"),
    path(
        "residents/<uuid:public_id>/signing-certificates/<slug:serial>/revoke",
        views.revoke_signing_certificate,
        name="revoke-signing-certificate",
    ),
    path("residents/<uuid:public_id>/activation-code", views.activation_code, name="activation-code"),
    path("residents/<uuid:public_id>/suspend", views.suspend, name="suspend"),
    path("logout", views.staff_logout, name="logout"),
    path("residents/<uuid:public_id>/rebind", views.request_rebind, name="request-rebind"),
    path("rebind-requests/<int:pk>/approve", views.decide_rebind, {"decision": "approve"}, name="approve-rebind"),
    path("rebind-requests/<int:pk>/reject", views.decide_rebind, {"decision": "reject"}, name="reject-rebind"),
    path("rebind-requests/<int:pk>/issue", views.issue_rebind_code, name="issue-rebind-code"),
    path("residents/<uuid:public_id>/<slug:action>", views.resident_action, name="resident-action"),
]
