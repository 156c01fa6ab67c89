"""Pages of the AI Subsidy Scheme: public (issue 20, part D)."""

from django.urls import path

from . import views_public

urlpatterns = [
    path("", views_public.scheme, name="scheme"),
    path("mine/", views_public.mine, name="mine"),
]
