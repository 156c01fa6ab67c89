from django.urls import path

from . import views

app_name = "signing"

urlpatterns = [
    path("crl/<str:name>", views.crl, name="crl"),
    path("ca/<str:name>", views.ca_certificate, name="ca-certificate"),
    path("verify", views.verify_page, name="verify"),
]
