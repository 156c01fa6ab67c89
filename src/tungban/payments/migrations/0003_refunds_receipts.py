# Written by hand while the machine was reserved for a benchmark (pay-refund: refunds, their
# instruction batches, the signed e-receipts); checked with `makemigrations --check` afterwards.

import uuid

import django.db.models.deletion
import django_fsm
from django.conf import settings
from django.db import migrations, models

import tungban.core.fields


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_departments_bills_cards"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RefundBatch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("department", models.CharField(max_length=16, verbose_name="department")),
                ("business_date", models.DateField(verbose_name="business date")),
                ("message_id", models.CharField(max_length=35, unique=True, verbose_name="message id")),
                ("xml", models.BinaryField(verbose_name="instruction file")),
                ("sha256", models.CharField(max_length=64, verbose_name="SHA-256 of the file")),
                ("count", models.PositiveIntegerField(verbose_name="number of refunds")),
                ("total_cents", models.PositiveBigIntegerField(verbose_name="total (HK cents)")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("created_by", models.CharField(max_length=150, verbose_name="created by")),
            ],
            options={
                "verbose_name": "refund instruction batch",
                "verbose_name_plural": "refund instruction batches",
                "ordering": ["-business_date", "department"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("department", "business_date"), name="payments_one_refund_batch_a_day"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="Refund",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ("reference", models.CharField(max_length=40, unique=True, verbose_name="reference")),
                ("amount_cents", models.PositiveBigIntegerField(verbose_name="amount (HK cents)")),
                ("reason_en", models.TextField(verbose_name="reason in English")),
                ("reason_zh", models.TextField(verbose_name="reason in Chinese")),
                (
                    "state",
                    django_fsm.FSMField(
                        choices=[
                            ("requested", "Requested, waiting for approval"),
                            ("approved", "Approved, waiting for export"),
                            ("exported", "Sent to the bank"),
                            ("completed", "Refunded"),
                            ("rejected", "Not approved"),
                        ],
                        default="requested",
                        max_length=12,
                        protected=True,
                        verbose_name="state",
                    ),
                ),
                (
                    "needs_second_approval",
                    models.BooleanField(default=False, verbose_name="needs an approver's approval"),
                ),
                ("requested_at", models.DateTimeField(auto_now_add=True, verbose_name="requested at")),
                ("first_approved_at", models.DateTimeField(blank=True, null=True, verbose_name="first approval at")),
                ("approved_at", models.DateTimeField(blank=True, null=True, verbose_name="approved at")),
                ("decided_reason", models.TextField(blank=True, verbose_name="reason for rejection")),
                ("end_to_end_id", models.CharField(max_length=35, unique=True, verbose_name="end-to-end id")),
                ("creditor_name", models.CharField(blank=True, max_length=70, verbose_name="payer's name (masked)")),
                (
                    "creditor_account",
                    tungban.core.fields.EncryptedTextField(blank=True, default="", verbose_name="payer's account"),
                ),
                (
                    "original_end_to_end_id",
                    models.CharField(blank=True, max_length=64, verbose_name="end-to-end id of the payment"),
                ),
                ("completed_at", models.DateTimeField(blank=True, null=True, verbose_name="refunded at")),
                (
                    "amount_available_before",
                    models.PositiveBigIntegerField(verbose_name="amount available when requested (HK cents)"),
                ),
                (
                    "approved_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payment_refunds_approved",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="final approval by",
                    ),
                ),
                (
                    "batch",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="refunds",
                        to="payments.refundbatch",
                        verbose_name="instruction batch",
                    ),
                ),
                (
                    "first_approved_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payment_refunds_first_approved",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="first approval by",
                    ),
                ),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="refunds",
                        to="payments.paymentorder",
                        verbose_name="payment order",
                    ),
                ),
                (
                    "requested_via",
                    models.CharField(blank=True, max_length=150, verbose_name="requested by a department system"),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payment_refunds_requested",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="requested by",
                    ),
                ),
            ],
            options={
                "verbose_name": "refund",
                "verbose_name_plural": "refunds",
                "ordering": ["-requested_at"],
                "indexes": [models.Index(fields=["state", "order"], name="payments_refund_state_order")],
            },
        ),
        migrations.CreateModel(
            name="RefundEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "from_state",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("requested", "Requested, waiting for approval"),
                            ("approved", "Approved, waiting for export"),
                            ("exported", "Sent to the bank"),
                            ("completed", "Refunded"),
                            ("rejected", "Not approved"),
                        ],
                        max_length=12,
                        verbose_name="from",
                    ),
                ),
                (
                    "to_state",
                    models.CharField(
                        choices=[
                            ("requested", "Requested, waiting for approval"),
                            ("approved", "Approved, waiting for export"),
                            ("exported", "Sent to the bank"),
                            ("completed", "Refunded"),
                            ("rejected", "Not approved"),
                        ],
                        max_length=12,
                        verbose_name="to",
                    ),
                ),
                ("action", models.CharField(max_length=30, verbose_name="action")),
                ("actor_kind", models.CharField(max_length=10, verbose_name="actor")),
                ("actor_id", models.CharField(blank=True, max_length=150, verbose_name="actor id")),
                ("reason", models.TextField(blank=True, verbose_name="reason")),
                ("at", models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="time")),
                (
                    "refund",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="payments.refund",
                        verbose_name="refund",
                    ),
                ),
            ],
            options={"verbose_name": "refund event", "verbose_name_plural": "refund events", "ordering": ["at", "id"]},
        ),
        migrations.CreateModel(
            name="Receipt",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ("number", models.CharField(max_length=48, unique=True, verbose_name="receipt number")),
                (
                    "kind",
                    models.CharField(
                        choices=[("receipt", "e-Receipt"), ("credit_note", "Credit note")],
                        default="receipt",
                        max_length=12,
                        verbose_name="kind",
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[("queued", "Queued"), ("running", "In progress"), ("done", "Done"), ("failed", "Failed")],
                        default="queued",
                        max_length=10,
                        verbose_name="state",
                    ),
                ),
                ("task_id", models.CharField(blank=True, max_length=64, verbose_name="task")),
                ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="failed attempts")),
                ("error", models.CharField(blank=True, max_length=200, verbose_name="last error")),
                ("pdf", models.BinaryField(blank=True, null=True, verbose_name="signed PDF")),
                ("sha256", models.CharField(blank=True, max_length=64, verbose_name="SHA-256 of the PDF")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("signed_at", models.DateTimeField(blank=True, null=True, verbose_name="signed at")),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="receipts",
                        to="payments.paymentorder",
                        verbose_name="payment order",
                    ),
                ),
                (
                    "refund",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_note",
                        to="payments.refund",
                        verbose_name="refund",
                    ),
                ),
            ],
            options={
                "verbose_name": "e-receipt",
                "verbose_name_plural": "e-receipts",
                "ordering": ["-created_at"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("kind", "receipt")), fields=("order",), name="payments_one_receipt_per_order"
                    )
                ],
            },
        ),
    ]
