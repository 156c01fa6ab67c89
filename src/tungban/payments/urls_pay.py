"""Card and e-wallet payments, the payment service providers' webhooks and the mock provider's
hosted page, under ``/pay/`` beside the order's payment page (:mod:`.urls`; views:
:mod:`.views_pay`)."""

from django.urls import path

from . import views_pay as views

app_name = "pay"

urlpatterns = [
    path("card/<uuid:order_id>", views.card_start, name="card"),
    path("card/return/<uuid:attempt_id>", views.card_return, name="card-return"),
    path("psp/<slug:provider>/webhook", views.psp_webhook, name="psp-webhook"),
    path("psp-mock/<str:payment_id>/", views.mock_page, name="mock-psp"),
    path("psp-mock/<str:payment_id>/3ds", views.mock_3ds, name="mock-psp-3ds"),
]
