from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComputeConfig(AppConfig):
    name = "tungban.compute"
    verbose_name = _("Compute")
    default_auto_field = "django.db.models.BigAutoField"
