"""The payer's pages of API-created payments, card payments, the providers' webhooks and the
mock provider's hosted page, under ``/pay/`` (:mod:`.views_pay`)."""

from django.urls import path

from . import views_pay as views

app_name = "pay"

urlpatterns = [
    path("o/<uuid:order_id>/", views.order_page, name="order"),
    path("o/<uuid:order_id>/status", views.order_status, name="status"),
    path("o/<uuid:order_id>/card", views.card_start, name="card"),
    path("card/<uuid:attempt_id>/return", views.card_return, name="card-return"),
    path("psp/<slug:provider>/webhook", views.psp_webhook, name="psp-webhook"),
    path("psp-mock/<str:payment_id>/", views.mock_page, name="mock-psp"),
    path("psp-mock/<str:payment_id>/3ds", views.mock_3ds, name="mock-psp-3ds"),
]
