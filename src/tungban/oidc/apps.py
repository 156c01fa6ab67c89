from django.apps import AppConfig


class OidcConfig(AppConfig):
    name = "tungban.oidc"
    label = "oidc"
