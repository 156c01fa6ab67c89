from django.apps import AppConfig
from django.core.management import call_command
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate, pre_migrate
from django.utils.translation import gettext_lazy as _

from . import db
from .files import tighten_sqlite


def _create_cache_tables(sender, using="default", **kwargs):
    """``createcachetable`` after every ``migrate`` (set-up, upgrades, test databases): the
    rate limiter's counters live in a ``DatabaseCache`` table (:mod:`tungban.core.ratelimit`).
    Idempotent: existing tables are left alone. On PostgreSQL the counters' table is then
    made ``UNLOGGED`` (or logged again: ``TUNGBAN_RATELIMIT_UNLOGGED``; issue 15, pgdiet)."""
    call_command("createcachetable", database=using, verbosity=0)
    from .ratelimit import apply_counters_persistence

    apply_counters_persistence(using)


def _private_database(sender, connection, **kwargs):
    """A SQLite database file (and its WAL) is owner-only, even one created before the
    umask was narrowed (issue 13 item 10): it holds personal data."""
    if connection.vendor == "sqlite":
        tighten_sqlite(connection.settings_dict["NAME"])


class CoreConfig(AppConfig):
    name = "tungban.core"
    label = "core"
    verbose_name = _("tungban core")

    def ready(self):
        connection_created.connect(_private_database, dispatch_uid="tungban.core.private_database")
        post_migrate.connect(_create_cache_tables, sender=self, dispatch_uid="tungban.core.createcachetable")
        # Statement bounds (issue 14 item 8): lifted for work that runs long, on every connection it opens.
        connection_created.connect(db.on_connection_created, dispatch_uid="tungban.core.unbounded")
        pre_migrate.connect(db.on_pre_migrate, sender=self, dispatch_uid="tungban.core.migrate_unbounded")
        post_migrate.connect(db.on_post_migrate, sender=self, dispatch_uid="tungban.core.migrate_bounded")
        # Idempotency records expire (issue 14 item 2): purged with the other expired protocol state.
        from . import idempotency, retention, signals_trim

        # Django's close_caches after every request, when no configured cache has anything to close (issue 15).
        signals_trim.disconnect_needless()

        retention.register("idempotency", idempotency.purge_expired)
