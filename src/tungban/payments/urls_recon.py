"""Reconciliation's staff pages, mounted at ``/staff/payments/reconciliation/``."""

from django.urls import path

from . import views_recon as views

app_name = "payments-recon"

urlpatterns = [
    path("", views.home, name="home"),
    path("fetch", views.fetch, name="fetch"),
    path("imports/<uuid:import_id>/", views.import_detail, name="import"),
    path("imports/<uuid:import_id>/<slug:action>", views.import_detail, name="import-action"),
    path("exceptions/", views.queue, name="queue"),
    path("exceptions/<uuid:exception_id>/", views.exception_detail, name="exception"),
    path("exceptions/<uuid:exception_id>/<slug:action>", views.exception_detail, name="resolve"),
    path("refund-files/<int:file_id>.xml", views.refund_file, name="refund-file"),
    path("close/", views.close, name="close"),
    path("close/<str:day>.csv", views.close_csv, name="close-csv"),
]
