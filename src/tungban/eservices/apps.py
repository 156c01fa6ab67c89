from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EservicesConfig(AppConfig):
    name = "tungban.eservices"
    label = "eservices"
    verbose_name = _("e-Services")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tungban.oidc import scopes

        from . import receivers  # noqa: F401 - connects the resident's notifications
        from .services.webhooks import SCOPE

        # The department systems' scope (client_credentials with private_key_jwt only).
        scopes.register(SCOPE, _("Process a department's e-services applications"), key_only=True, app=self.label)
