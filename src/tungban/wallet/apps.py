"""The wallet app: registers its own approval kind (binding the app) and its hot paths."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WalletConfig(AppConfig):
    name = "tungban.wallet"
    verbose_name = _("tungban app")
    label = "wallet"

    def ready(self):
        from tungban.core import hotpaths, retention

        from . import hot, kinds, services

        kinds.register(kinds.BIND, _("Bind the app"), app=self.label)
        retention.register(self.label, services.purge_expired)
        # The app's approval calls before the page middleware (issue 15; fall through on errors).
        hotpaths.register(hot.REQUEST_PATH, hot.app_request, methods=("GET",))
        hotpaths.register(hot.DECISION_PATH, hot.decision, methods=("POST",))
