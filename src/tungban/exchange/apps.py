from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "tungban.exchange"
    verbose_name = _("Consented Data Exchange Gateway")

    def ready(self):
        from . import receivers  # noqa: F401  (connects to the app's approval signals)
