"""``/.well-known/openid-federation``: the instance's root entity configuration (§9)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
