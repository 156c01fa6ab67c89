from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EservicesConfig(AppConfig):
    name = "tungban.eservices"
    label = "eservices"
    verbose_name = _("e-Services")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tungban.core import retention
        from tungban.oidc import scopes

        from . import (
            receivers,  # noqa: F401 - connects the resident's notifications and the webhooks
            services,
        )
        from .services.webhooks import SCOPE

        retention.register(self.label, services.purge_expired, own_transactions=True)
        # The department systems' scope (client_credentials with private_key_jwt only).
        scopes.register(SCOPE, _("Process a department's e-services applications"), key_only=True, app=self.label)
