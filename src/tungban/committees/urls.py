"""The committees' staff pages, under ``/staff/committees/`` (issue 20, part E)."""

from django.urls import path

from . import views

app_name = "committees"

urlpatterns = [
    path("", views.home, name="home"),
    path("declarations/", views.declarations, name="declarations"),
    path("meetings/<int:meeting_id>/", views.meeting, name="meeting"),
    path("meetings/<int:meeting_id>/<slug:action>", views.meeting_action, name="meeting-action"),
    path("meetings/<int:meeting_id>/minutes/", views.minutes_page, name="minutes"),
    path("meetings/<int:meeting_id>/minutes.pdf", views.minutes_pdf, name="minutes-pdf"),
    path("items/<int:item_id>/", views.item, name="item"),
    path("items/<int:item_id>/score", views.item_score, name="item-score"),
    path("items/<int:item_id>/decide", views.item_decide, name="item-decide"),
    path("items/<int:item_id>/declare", views.item_declare, name="item-declare"),
    path("conflicts/<int:conflict_id>/dismiss", views.conflict_dismiss, name="conflict-dismiss"),
]
