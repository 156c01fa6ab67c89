from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "tungban.identity"
    label = "identity"
