"""Reactions to the app's events: an approved pledge is written to the resident's audit trail."""

from django.dispatch import receiver

from tungban.identity import services as identity
from tungban.wallet.models import RequestStatus
from tungban.wallet.signals import approval_decided

from .constants import PLEDGE_KIND


@receiver(approval_decided)
def _on_decision(sender, request, **kwargs):
    if request.kind == PLEDGE_KIND and request.status == RequestStatus.APPROVED:
        identity.audit(request.resident, "sample_pledge_made", None, approval=str(request.id))
