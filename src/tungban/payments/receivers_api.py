"""What the payments' department side hears (connected in :meth:`PaymentsConfig.ready`):

* every :class:`~tungban.payments.models.PaymentEvent` written is turned into webhook
  deliveries for the department's endpoints in the same transaction (the outbox:
  :func:`tungban.payments.services.webhooks.queue_deliveries`; delivered by the worker) — not
  once it commits, which a crash right after the commit would skip (review finding 7);
* the water bill the personal assistant shows (``exchange.signals.water_bill_shown``) is kept
  as a bill, and its card gets a "Pay" item (:func:`tungban.payments.services.bills.water_bill_item`).
"""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from tungban.exchange.signals import water_bill_shown

from .models import PaymentEvent


@receiver(post_save, sender=PaymentEvent, dispatch_uid="payments-webhooks")
def queue_webhooks(sender, instance: PaymentEvent, created: bool, raw: bool = False, **kwargs) -> None:
    if not created or raw:
        return
    from .services import webhooks

    webhooks.queue_deliveries(instance)


@receiver(water_bill_shown, dispatch_uid="payments-water-bill")
def water_bill(sender, resident, data: dict, fetched_at, **kwargs) -> dict | None:
    from .services import bills

    return bills.water_bill_item(resident, data)
