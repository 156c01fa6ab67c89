"""1823 for residents at /1823/: submit a case, track it, reopen it (issue 22)."""

from django.urls import path

from . import views

app_name = "hotline"
urlpatterns: list = [
    path("", views.home, name="home"),
    path("new/", views.new, name="new"),
    path("new/done/", views.submitted, name="submitted"),
    path("cases/", views.mine, name="mine"),
    path("cases/<str:reference>/", views.detail, name="case"),
    path("track/", views.track, name="track"),
]
