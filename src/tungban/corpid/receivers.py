"""Reactions to the app's events: a mandate accepted or declined in the app."""

from django.dispatch import receiver

from tungban.wallet.signals import approval_decided

from . import services
from .constants import MANDATE_KIND


@receiver(approval_decided)
def _on_decision(sender, request, **kwargs):
    if request.kind == MANDATE_KIND:
        services.on_approval_decided(request)
