"""The departmental data catalogue (issue 21; part ocat), mounted at ``/staff/data/catalogue/``."""

from django.urls import path

from . import views_catalogue as views

app_name = "opendata_catalogue"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("progress/", views.progress, name="progress"),
    path("progress.svg", views.progress_svg, name="progress-svg"),
    path("<int:pk>/", views.detail, name="entry"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/propose-open/", views.propose, name="propose"),
    path("<int:pk>/offer-exchange/", views.offer, name="offer"),
    path("<int:pk>/internal/", views.internal, name="internal"),
]
