from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SigningConfig(AppConfig):
    name = "tungban.signing"
    verbose_name = _("Digital signing")

    def ready(self):
        from . import receivers  # noqa: F401  (connects to wallet and identity signals)
