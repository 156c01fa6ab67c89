"""Reactions to the app's events: a consent request answered in the app."""

from django.dispatch import receiver

from tungban.wallet.models import RequestKind
from tungban.wallet.signals import approval_decided

from . import services


@receiver(approval_decided)
def _on_decision(sender, request, **kwargs):
    if request.kind == RequestKind.CONSENT:
        services.on_approval_decided(request)
