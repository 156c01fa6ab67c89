"""The payer's pages, under ``/pay/`` (issue 18)."""

from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("<uuid:order_id>/", views.pay, name="pay"),
    path("<uuid:order_id>/status", views.status, name="status"),
    path("<uuid:order_id>/qr.png", views.qr_png, name="qr-png"),
]
