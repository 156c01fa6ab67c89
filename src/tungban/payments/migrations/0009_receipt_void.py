"""A reversed payment (issue 18, pay-left item 1).

- ``Receipt.voided_at`` / ``void_reason``: a receipt whose payment the bank reversed is void
  (its PDF is never altered); an order has one receipt that is not void, so an order paid again
  after a reversal gets a new one.
- The department webhook ``payment.reversed``: endpoints subscribed to every event there was
  (the default) are subscribed to it too; endpoints that chose their events are left as chosen.

After pay-trust2's ``0008_two_people`` on main: this migration then depends on it (renumbered
0009 for that reason).
"""

from django.db import migrations, models

#: Every payment webhook event before ``payment.reversed``.
EVENTS_BEFORE = {
    "payment.started",
    "payment.succeeded",
    "payment.partially_paid",
    "payment.overpaid",
    "payment.cancelled",
    "payment.expired",
    "payment.refunded",
}
REVERSED = "payment.reversed"


def subscribe_all(apps, schema_editor):
    endpoint_model = apps.get_model("payments", "PaymentWebhookEndpoint")
    for endpoint in endpoint_model.objects.all():
        if EVENTS_BEFORE <= set(endpoint.events) and REVERSED not in endpoint.events:
            endpoint.events = [*endpoint.events, REVERSED]
            endpoint.save(update_fields=["events"])


def unsubscribe(apps, schema_editor):
    endpoint_model = apps.get_model("payments", "PaymentWebhookEndpoint")
    for endpoint in endpoint_model.objects.all():
        if REVERSED in endpoint.events:
            endpoint.events = [e for e in endpoint.events if e != REVERSED]
            endpoint.save(update_fields=["events"])


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0008_two_people"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="receipt",
            name="payments_one_receipt_per_order",
        ),
        migrations.AddField(
            model_name="receipt",
            name="void_reason",
            field=models.CharField(
                blank=True,
                choices=[("payment_reversed", "Payment reversed by the bank")],
                max_length=20,
                verbose_name="why it is void",
            ),
        ),
        migrations.AddField(
            model_name="receipt",
            name="voided_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="voided at"),
        ),
        migrations.AddConstraint(
            model_name="receipt",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "receipt"), ("voided_at__isnull", True)),
                fields=("order",),
                name="payments_one_live_receipt_per_order",
            ),
        ),
        migrations.RunPython(subscribe_all, unsubscribe),
    ]
