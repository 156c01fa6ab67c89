"""What the e-services hear (connected in :meth:`EservicesConfig.ready`):

* the resident: a request for information, a rejection and an issued e-licence reach the
  app's inbox (and its push notifications) through :mod:`tungban.notify`, sent by the
  portal's sender (:mod:`.portal`) after the change committed;
* the department systems: each :class:`~tungban.eservices.models.ApplicationEvent` saved is
  turned into webhook deliveries *in the transaction that records it* (the outbox,
  :func:`tungban.eservices.services.webhooks.queue_deliveries`; delivered by the worker), so a
  crash right after the commit loses none (payments review finding 7, the shared
  :mod:`tungban.notify.webhooks`)."""

from __future__ import annotations

import logging

from django.core.exceptions import ObjectDoesNotExist
from django.db.models.signals import post_save
from django.dispatch import receiver

from tungban.notify import services as notify

from . import portal
from .models import Application, ApplicationEvent
from .signals import application_changed

log = logging.getLogger(__name__)

NOTIFIED = {"information_requested", "rejected", "licence_issued", "payment_reversed"}


def personalisation(application: Application, event) -> dict:
    """The message's one placeholder: the application's reference (:data:`portal.TEMPLATES`)."""
    return {"reference": application.reference}


@receiver(application_changed, sender=Application, dispatch_uid="eservices-notify-resident")
def notify_resident(sender, application: Application, event, **kwargs) -> None:
    if event.action not in NOTIFIED:
        return
    try:
        sender_row = portal.sender()
        template = notify.template_named(sender_row, event.action)
    except ObjectDoesNotExist:  # the portal is not set up (tungban setup makes it): nothing to send with
        log.warning("e-services portal sender missing: %s not notified for %s", event.action, application.reference)
        return
    notify.send_to_resident(
        sender_row,
        template,
        application.resident,
        personalisation(application, event),
        reference=application.reference,
    )


@receiver(post_save, sender=ApplicationEvent, dispatch_uid="eservices-webhooks")
def queue_webhooks(sender, instance: ApplicationEvent, created: bool, raw: bool = False, **kwargs) -> None:
    """The department systems' webhooks: deliveries written and queued in the event's
    transaction (delivered by the worker, never in the request) —
    :func:`tungban.eservices.services.webhooks.queue_deliveries`."""
    if not created or raw:
        return
    from .services import webhooks

    webhooks.queue_deliveries(instance.application, instance)
