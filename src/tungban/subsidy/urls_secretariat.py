"""Pages of the AI Subsidy Scheme: the secretariat's console (issue 20, part D)."""

from django.urls import path

from . import views_secretariat as views

urlpatterns = [
    path("", views.queue, name="queue"),
    path("applications/<uuid:public_id>/", views.application, name="application"),
    path("applications/<uuid:public_id>/<slug:action>", views.act, name="act"),
]
