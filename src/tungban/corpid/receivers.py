"""Reactions to the app's events: a mandate accepted or declined in the app, or an offer whose
acceptance failed because it had lapsed."""

from django.dispatch import receiver

from tungban.wallet.signals import approval_decided, approval_failed

from . import services
from .constants import MANDATE_KIND


@receiver(approval_decided)
def _on_decision(sender, request, **kwargs):
    if request.kind == MANDATE_KIND:
        services.on_approval_decided(request)


@receiver(approval_failed)
def _on_failure(sender, request, **kwargs):
    if request.kind == MANDATE_KIND:
        services.on_approval_failed(request)
