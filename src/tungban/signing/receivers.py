"""Reactions to the app's events: sign on approval, revoke on unbinding or suspension."""

import logging

from django.dispatch import receiver
from django.tasks import TaskResultStatus
from django.tasks.signals import task_finished

from tungban.core.errors import DomainError
from tungban.wallet.models import RequestStatus
from tungban.wallet.signals import approval_decided, approval_failed, device_unbound

from . import errors, services
from .constants import SIGN_KIND

log = logging.getLogger(__name__)


@receiver(approval_decided)
def _on_decision(sender, request, **kwargs):
    if request.kind != SIGN_KIND:
        return
    if request.status == RequestStatus.APPROVED:
        try:
            services.accept_approval(request)  # signs in the worker, then calls back
        except DomainError:
            raise
        except Exception as exc:
            # Whatever broke (the keystore, the CA), the approval is recorded as failed and
            # the service is told; nothing was signed.
            log.exception("Signing request for approval %s failed", request.pk)
            raise errors.SigningFailed() from exc
        return
    _queue_callback(request)


@receiver(approval_failed)
def _on_failure(sender, request, **kwargs):
    if request.kind == SIGN_KIND:
        _queue_callback(request)


def _queue_callback(approval) -> None:
    """Tell the service (a background task, committed with the decision): declined or failed."""
    services.queue_callback(services.request_of_approval(approval.pk))


@receiver(task_finished)
def _on_task_finished(sender, task_result, **kwargs):
    """A signing task that failed outside its own handler (``tungban worker`` gave up on it
    after its workers died repeatedly) counts as a failed attempt of the signing job."""
    if (
        task_result.status == TaskResultStatus.FAILED
        and task_result.task.module_path == services.sign_request_task.module_path
    ):
        services.signing_task_lost(task_result.args[0], str(task_result.id))


@receiver(device_unbound)
def _on_unbind(sender, device, reason, **kwargs):
    services.revoke_for_device(
        device, reason="privilege_withdrawn" if reason == "suspended" else "cessation_of_operation"
    )
