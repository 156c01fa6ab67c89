from django.urls import path

from . import views

app_name = "wallet"

urlpatterns = [
    path("", views.app_shell, name="app"),
    path("approve/<uuid:approval_id>", views.app_shell, name="approve"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="sw"),
]
