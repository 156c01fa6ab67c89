"""Review finding 12: renewals are linked explicitly (``PaymentOrder.supersedes``) instead of
"same purpose and purpose reference". The orders the platform renewed itself before this
migration — an e-services application's (``eservices.application``, keys ``<ref>:<n>``) and
a bill's (``payments.bill``, keys ``bill:<id>[:<n>]``) — are linked to the order made just
before them for the same thing; the departments' own orders (the API's) are left unlinked, so
two of their orders with one reference (instalments) are independent."""

import django.db.models.deletion
from django.db import migrations, models

#: The purposes whose orders of one reference were renewals of each other.
RENEWED = ("eservices.application", "payments.bill")


def link_renewals(apps, schema_editor):
    PaymentOrder = apps.get_model("payments", "PaymentOrder")
    previous: dict[tuple[str, str], object] = {}
    rows = PaymentOrder.objects.filter(purpose__in=RENEWED).order_by("purpose", "purpose_ref", "created_at", "pk")
    for order in rows.only("pk", "purpose", "purpose_ref").iterator():
        key = (order.purpose, order.purpose_ref)
        before = previous.get(key)
        if before is not None:
            PaymentOrder.objects.filter(pk=order.pk).update(supersedes=before)
        previous[key] = order.pk


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0004_reconciliation"),
    ]

    operations = [
        migrations.AddField(
            model_name="paymentorder",
            name="supersedes",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="superseded_by",
                to="payments.paymentorder",
                verbose_name="replaces the order",
            ),
        ),
        migrations.RunPython(link_renewals, migrations.RunPython.noop),
    ]
