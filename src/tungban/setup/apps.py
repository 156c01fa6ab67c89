"""The composition floor: setup, demo data and seeding commands that use every domain app."""

from django.apps import AppConfig


class SetupConfig(AppConfig):
    name = "tungban.setup"
    label = "setup"
    verbose_name = "tungban setup and demo"
