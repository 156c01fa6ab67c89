"""``/.well-known/openid-federation``: the instance's root entity configuration (§9)."""

from django.urls import path

from . import views_federation

urlpatterns: list = [
    path(".well-known/openid-federation", views_federation.root_configuration, name="federation_configuration"),
]
