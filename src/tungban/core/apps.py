from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def _create_cache_tables(sender, using="default", **kwargs):
    """``createcachetable`` after every ``migrate`` (set-up, upgrades, test databases): the
    rate limiter's counters live in a ``DatabaseCache`` table (:mod:`tungban.core.ratelimit`).
    Idempotent: existing tables are left alone."""
    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "tungban.core"
    label = "core"
    verbose_name = "tungban core"

    def ready(self):
        post_migrate.connect(_create_cache_tables, sender=self, dispatch_uid="tungban.core.createcachetable")
