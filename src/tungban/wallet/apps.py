"""The wallet app: registers its own approval kind (binding the app)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WalletConfig(AppConfig):
    name = "tungban.wallet"
    label = "wallet"

    def ready(self):
        from . import kinds

        kinds.register(kinds.BIND, _("Bind the app"), app=self.label)
