"""The composition floor: setup, demo data and seeding commands that use every domain app."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SetupConfig(AppConfig):
    name = "tungban.setup"
    label = "setup"
    verbose_name = _("Setup and demo")
