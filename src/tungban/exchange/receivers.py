"""Reactions to the app's events: a consent request answered in the app, or its approval
refused by a check (issue 19: the approver holds no authority for the organisation)."""

from django.dispatch import receiver

from tungban.wallet.signals import approval_decided, approval_failed

from . import services
from .constants import CONSENT_KIND


@receiver(approval_decided)
def _on_decision(sender, request, **kwargs):
    if request.kind == CONSENT_KIND:
        services.on_approval_decided(request)


@receiver(approval_failed)
def _on_failure(sender, request, **kwargs):
    if request.kind == CONSENT_KIND:
        services.on_approval_failed(request)
