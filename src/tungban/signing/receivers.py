"""Reactions to the app's events: sign on approval, revoke on unbinding or suspension."""

import logging

from django.db import transaction
from django.dispatch import receiver

from tungban.core.errors import DomainError
from tungban.wallet.models import RequestStatus
from tungban.wallet.signals import approval_decided, approval_failed, device_unbound

from . import errors, services
from .constants import SIGN_KIND
from .models import SigningRequest

log = logging.getLogger(__name__)


@receiver(approval_decided)
def _on_decision(sender, request, **kwargs):
    if request.kind != SIGN_KIND:
        return
    if request.status == RequestStatus.APPROVED:
        try:
            services.sign_approved(request)
        except DomainError:
            raise
        except Exception as exc:
            # Whatever broke (a PDF pyHanko cannot sign, the HSM), the approval is recorded as
            # failed and the service is told; nothing was signed.
            log.exception("Signing request for approval %s failed", request.pk)
            raise errors.SigningFailed() from exc
    _notify_after_commit(request)


@receiver(approval_failed)
def _on_failure(sender, request, **kwargs):
    if request.kind == SIGN_KIND:
        _notify_after_commit(request)


def _notify_after_commit(approval) -> None:
    """Tell the service once the decision is committed: signed, declined or failed."""
    transaction.on_commit(
        lambda: services.notify(SigningRequest.objects.select_related("client", "approval").get(approval=approval))
    )


@receiver(device_unbound)
def _on_unbind(sender, device, reason, **kwargs):
    services.revoke_for_device(
        device, reason="privilege_withdrawn" if reason == "suspended" else "cessation_of_operation"
    )
