from django.urls import path

from . import views

app_name = "corpid"

urlpatterns = [
    path("", views.home, name="home"),
    path("set-up", views.set_up, name="set-up"),
    path("<str:br_number>/", views.organisation, name="organisation"),
    path("<str:br_number>/grant", views.grant, name="grant"),
    path("<str:br_number>/mandates/<uuid:mandate_id>/revoke", views.revoke, name="revoke"),
    path("<str:br_number>/consents/<str:consent_id>/revoke", views.revoke_consent, name="revoke-consent"),
]
