"""The registration counter: officers' pages that compose identity, wallet and signing."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CounterConfig(AppConfig):
    name = "tungban.counter"
    label = "counter"
    verbose_name = _("Registration counter")
    default = True

    def ready(self):
        from .roles import ensure_groups

        post_migrate.connect(ensure_groups, sender=self, dispatch_uid="counter-ensure-groups")
