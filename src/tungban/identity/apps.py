from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "tungban.identity"
    verbose_name = _("Residents and identity")
    label = "identity"
