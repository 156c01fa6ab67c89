"""Public credential documents, 認證易 and the officers' pages, mounted at the site root (see
tungban/urls.py)."""

from django.urls import path

from . import pages, views

app_name = "credentials"

urlpatterns = [
    path(".well-known/jwt-vc-issuer/issuers/<slug:issuer_id>", views.issuer_metadata, name="issuer-metadata"),
    path("issuers/<slug:issuer_id>/jwks.json", views.issuer_jwks, name="issuer-jwks"),
    path("issuers/<slug:issuer_id>/did.json", views.issuer_did, name="issuer-did"),
    path("credentials/types/<slug:type_id>", views.type_metadata, name="type-metadata"),
    path("credentials/status/<slug:issuer_id>/<int:number>", views.status_list, name="status-list"),
    # 認證易 (public)
    path("verify/", pages.verify_page, name="verify"),
    # Officers (Django staff users who are officers of an issuer)
    path("staff/credentials/", pages.officer_home, name="staff-home"),
    path("staff/credentials/issue/<slug:type_id>", pages.issue_one, name="staff-issue"),
    path("staff/credentials/bulk/<slug:type_id>", pages.bulk, name="staff-bulk"),
    path("staff/credentials/bulk/<slug:type_id>/sample.csv", pages.bulk_sample, name="staff-bulk-sample"),
    path("staff/credentials/batches/<uuid:batch_id>", pages.batch_detail, name="staff-batch"),
    path("staff/credentials/<uuid:credential_id>", pages.detail, name="staff-detail"),
    path("staff/credentials/<uuid:credential_id>/status", pages.change_status, name="staff-status"),
    path(
        "staff/credentials/<uuid:credential_id>/status/<slug:new_status>",
        pages.status_confirm,
        name="staff-status-confirm",
    ),
    path("staff/credentials/<uuid:credential_id>/pdf", pages.credential_pdf, name="staff-pdf"),
]
