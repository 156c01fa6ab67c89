"""The payments staff pages, mounted at ``/staff/payments/``: refunds and the payment counter."""

from django.urls import path

from . import views_counter, views_staff

app_name = "payments-staff"

urlpatterns = [
    path("", views_staff.home, name="home"),
    path("orders/<str:reference>", views_staff.order, name="order"),
    path("orders/<str:reference>/refunds", views_staff.request_refund, name="request-refund"),
    path("refunds/<uuid:refund_id>", views_staff.refund, name="refund"),
    path("refunds/<uuid:refund_id>/<slug:action>", views_staff.act, name="refund-act"),
    path("refund-files/<str:code>/today", views_staff.export, name="export"),
    path("refund-files/<int:file_id>", views_staff.batch, name="batch"),
    path("refund-files/<int:file_id>/pain001.xml", views_staff.batch_file, name="batch-file"),
    path("counter/", views_counter.counter_home, name="counter"),
    path("counter/find", views_counter.counter_find, name="counter-find"),
    path("counter/orders/<str:reference>", views_counter.counter_order, name="counter-order"),
    path("counter/orders/<str:reference>/status", views_counter.counter_status, name="counter-status"),
    path("counter/static-qr", views_counter.static_qr, name="static-qr"),
    path("counter/static-qr.png", views_counter.static_qr_png, name="static-qr-png"),
    path("counter/check", views_counter.check, name="check"),
]
