"""The assistant's page at /assistant/ (issue 22)."""

from django.urls import path

from . import views

app_name = "assistant"
urlpatterns = [
    path("", views.chat, name="chat"),
    path("new", views.new, name="new"),
]
