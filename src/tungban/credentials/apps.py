from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CredentialsConfig(AppConfig):
    name = "tungban.credentials"
    verbose_name = _("e-Licences (電子證照)")
    default_auto_field = "django.db.models.BigAutoField"
