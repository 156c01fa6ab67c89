"""The wallet app: registers its own approval kind (binding the app)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WalletConfig(AppConfig):
    name = "tungban.wallet"
    label = "wallet"

    def ready(self):
        from tungban.core import retention

        from . import kinds, services

        kinds.register(kinds.BIND, _("Bind the app"), app=self.label)
        retention.register(self.label, services.purge_expired)
