from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "tungban.ledger"
    verbose_name = _("Tamper-evident log")

    def ready(self):
        from django.core import checks as django_checks

        from tungban.core import retention

        from . import chain, checks, transparency

        django_checks.register(checks.merge_delay)

        # Heads on a schedule (issue 14 item 10): the worker's periodic run publishes a fresh
        # signed tree head when the latest is older than TUNGBAN_TREE_HEAD_INTERVAL. It deletes
        # nothing: the log is never purged.
        retention.register("ledger.chain_anchor", chain.anchor)  # before the head, so it is in it
        retention.register("ledger.tree_head", transparency.scheduled_head)
