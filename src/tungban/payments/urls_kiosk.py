"""The self-service kiosk (no login), mounted at ``/pay/kiosk/``, and the signed receipt
links (``/pay/receipts/``)."""

from django.urls import path

from . import views_counter, views_receipts

app_name = "payments-kiosk"

urlpatterns = [
    path("kiosk/", views_counter.kiosk, name="home"),
    path("kiosk/<str:reference>", views_counter.kiosk_order, name="order"),
    path("kiosk/<str:reference>/status", views_counter.kiosk_status, name="status"),
    path("receipts/<uuid:receipt_id>/<str:token>.pdf", views_receipts.download, name="receipt"),
]
