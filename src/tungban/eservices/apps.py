from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EservicesConfig(AppConfig):
    name = "tungban.eservices"
    label = "eservices"
    verbose_name = _("e-Services")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tungban.core import retention

        from . import (
            receivers,  # noqa: F401 - connects the resident's notifications
            services,
        )

        retention.register(self.label, services.purge_expired, own_transactions=True)
