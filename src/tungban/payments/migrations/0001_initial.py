# Written by hand while the machine was reserved for a benchmark; checked with
# `makemigrations --check` afterwards.

import uuid

import django.db.models.deletion
import django_fsm
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("identity", "0006_tier_labels_tungban"),
    ]

    operations = [
        migrations.CreateModel(
            name="BankMessage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("message_id", models.CharField(max_length=64, unique=True, verbose_name="bank message id")),
                ("kind", models.CharField(max_length=20, verbose_name="kind")),
                ("digest", models.CharField(max_length=64, verbose_name="SHA-256 of the body")),
                ("sent_at", models.DateTimeField(verbose_name="sent at")),
                ("received_at", models.DateTimeField(auto_now_add=True, verbose_name="received at")),
            ],
            options={"verbose_name": "bank message", "verbose_name_plural": "bank messages"},
        ),
        migrations.CreateModel(
            name="FeeItem",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("department", models.CharField(max_length=10, verbose_name="department")),
                ("service", models.CharField(max_length=80, verbose_name="service id")),
                ("code", models.CharField(max_length=40, verbose_name="fee item code")),
                ("label_en", models.CharField(max_length=200, verbose_name="name in English")),
                ("label_zh", models.CharField(max_length=100, verbose_name="name in Chinese")),
                ("source_path", models.CharField(max_length=300, verbose_name="source file")),
            ],
            options={
                "verbose_name": "fee item",
                "verbose_name_plural": "fee items",
                "ordering": ["department", "service", "code"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("department", "service", "code"), name="payments_one_fee_item_per_code"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="FeeVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("amount_cents", models.PositiveIntegerField(verbose_name="amount (HK$ cents)")),
                ("concessions", models.JSONField(blank=True, default=list, verbose_name="concessions")),
                ("effective_from", models.DateField(verbose_name="effective from")),
                ("effective_to", models.DateField(blank=True, null=True, verbose_name="effective to")),
                ("legal_reference", models.CharField(blank=True, max_length=300, verbose_name="legal reference")),
                ("illustrative", models.BooleanField(default=False, verbose_name="illustrative amount")),
                ("digest", models.CharField(max_length=64, verbose_name="SHA-256 of the version")),
                ("loaded_at", models.DateTimeField(auto_now_add=True, verbose_name="loaded at")),
                (
                    "item",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="versions",
                        to="payments.feeitem",
                        verbose_name="fee item",
                    ),
                ),
            ],
            options={
                "verbose_name": "fee version",
                "verbose_name_plural": "fee versions",
                "ordering": ["item", "effective_from"],
                "constraints": [
                    models.UniqueConstraint(fields=("item", "effective_from"), name="payments_one_version_per_start")
                ],
            },
        ),
        migrations.CreateModel(
            name="PaymentOrder",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False, verbose_name="order id"
                    ),
                ),
                ("reference", models.CharField(max_length=25, unique=True, verbose_name="bill reference")),
                ("amount_cents", models.PositiveBigIntegerField(verbose_name="amount (HK$ cents)")),
                ("currency", models.CharField(default="HKD", max_length=3, verbose_name="currency")),
                ("lines", models.JSONField(default=list, verbose_name="fee items charged")),
                ("department", models.CharField(max_length=10, verbose_name="department")),
                ("description_en", models.CharField(max_length=300, verbose_name="description in English")),
                ("description_zh", models.CharField(max_length=200, verbose_name="description in Chinese")),
                ("purpose", models.CharField(max_length=60, verbose_name="purpose")),
                ("purpose_ref", models.CharField(max_length=100, verbose_name="purpose reference")),
                ("payer_sub", models.CharField(blank=True, max_length=64, verbose_name="payer's pairwise subject")),
                (
                    "state",
                    django_fsm.FSMField(
                        choices=[
                            ("created", "Created"),
                            ("awaiting_transfer", "Awaiting transfer"),
                            ("started", "Started"),
                            ("success", "Paid"),
                            ("failed", "Failed"),
                            ("cancelled", "Cancelled"),
                            ("expired", "Expired"),
                            ("partially_paid", "Partially paid"),
                            ("overpaid", "Overpaid"),
                        ],
                        default="created",
                        max_length=20,
                        protected=True,
                        verbose_name="state",
                    ),
                ),
                (
                    "method",
                    models.CharField(
                        choices=[
                            ("fps", "FPS (Faster Payment System)"),
                            ("card", "Card"),
                            ("wallet", "e-Wallet"),
                            ("counter", "At a counter"),
                        ],
                        default="fps",
                        max_length=10,
                        verbose_name="payment method",
                    ),
                ),
                (
                    "amount_received_cents",
                    models.PositiveBigIntegerField(default=0, verbose_name="amount received (HK$ cents)"),
                ),
                ("expires_at", models.DateTimeField(verbose_name="expires at")),
                ("metadata", models.JSONField(blank=True, default=dict, verbose_name="department's metadata")),
                ("idempotency_key", models.CharField(max_length=255, verbose_name="idempotency key")),
                ("created_by", models.CharField(max_length=150, verbose_name="created by")),
                ("return_url", models.CharField(blank=True, max_length=500, verbose_name="page to return to")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                ("paid_at", models.DateTimeField(blank=True, null=True, verbose_name="paid at")),
                ("settled_date", models.DateField(blank=True, null=True, verbose_name="settled on")),
                ("fulfilled_at", models.DateTimeField(blank=True, null=True, verbose_name="purpose done at")),
                ("fulfil_attempts", models.PositiveIntegerField(default=0, verbose_name="purpose attempts")),
                ("receipt_id", models.CharField(blank=True, max_length=64, null=True, verbose_name="receipt")),
                (
                    "payer",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="payment_orders",
                        to="identity.resident",
                        verbose_name="payer",
                    ),
                ),
            ],
            options={
                "verbose_name": "payment order",
                "verbose_name_plural": "payment orders",
                "indexes": [
                    models.Index(fields=["purpose", "purpose_ref"], name="payments_order_purpose"),
                    models.Index(fields=["state", "expires_at"], name="payments_order_state_expiry"),
                    models.Index(fields=["department", "created_at"], name="payments_order_department"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("created_by", "idempotency_key"), name="payments_one_order_per_key")
                ],
            },
        ),
        migrations.CreateModel(
            name="CreditTransfer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("end_to_end_id", models.CharField(max_length=35, unique=True, verbose_name="end-to-end id")),
                ("message_id", models.CharField(max_length=64, verbose_name="bank message id")),
                ("amount_cents", models.PositiveBigIntegerField(verbose_name="amount (HK$ cents)")),
                ("currency", models.CharField(default="HKD", max_length=3, verbose_name="currency")),
                ("value_date", models.DateField(verbose_name="value date")),
                ("booked_at", models.DateTimeField(verbose_name="booked at")),
                ("reference", models.CharField(blank=True, max_length=140, verbose_name="reference carried")),
                ("debtor_name", models.CharField(blank=True, max_length=140, verbose_name="payer's name (masked)")),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("notification", "Bank's payment notification"),
                            ("camt054", "camt.054 debit/credit notification"),
                            ("camt053", "camt.053 statement"),
                            ("psp", "Card or wallet provider"),
                            ("counter", "Counter"),
                        ],
                        max_length=15,
                        verbose_name="first reported by",
                    ),
                ),
                ("seen_in", models.JSONField(default=list, verbose_name="reported by")),
                (
                    "match_status",
                    models.CharField(
                        choices=[
                            ("matched", "Matched"),
                            ("wrong_amount", "Wrong amount"),
                            ("late", "Late (after the order expired)"),
                            ("duplicate_payment", "Order already paid"),
                            ("order_closed", "Order cancelled or failed"),
                            ("unmatched", "No order with this reference"),
                        ],
                        max_length=20,
                        verbose_name="match",
                    ),
                ),
                ("received_at", models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="recorded at")),
                (
                    "order",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credits",
                        to="payments.paymentorder",
                        verbose_name="order",
                    ),
                ),
            ],
            options={
                "verbose_name": "credit transfer",
                "verbose_name_plural": "credit transfers",
                "indexes": [models.Index(fields=["match_status", "value_date"], name="payments_credit_match")],
            },
        ),
        migrations.CreateModel(
            name="PaymentEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "from_state",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("created", "Created"),
                            ("awaiting_transfer", "Awaiting transfer"),
                            ("started", "Started"),
                            ("success", "Paid"),
                            ("failed", "Failed"),
                            ("cancelled", "Cancelled"),
                            ("expired", "Expired"),
                            ("partially_paid", "Partially paid"),
                            ("overpaid", "Overpaid"),
                        ],
                        max_length=20,
                        verbose_name="from",
                    ),
                ),
                (
                    "to_state",
                    models.CharField(
                        choices=[
                            ("created", "Created"),
                            ("awaiting_transfer", "Awaiting transfer"),
                            ("started", "Started"),
                            ("success", "Paid"),
                            ("failed", "Failed"),
                            ("cancelled", "Cancelled"),
                            ("expired", "Expired"),
                            ("partially_paid", "Partially paid"),
                            ("overpaid", "Overpaid"),
                        ],
                        max_length=20,
                        verbose_name="to",
                    ),
                ),
                (
                    "actor_kind",
                    models.CharField(
                        choices=[
                            ("system", "System"),
                            ("resident", "Resident"),
                            ("officer", "Officer"),
                            ("api", "Department system"),
                            ("bank", "Bank"),
                        ],
                        max_length=10,
                        verbose_name="actor",
                    ),
                ),
                ("actor_id", models.CharField(blank=True, max_length=150, verbose_name="actor id")),
                ("reason", models.CharField(blank=True, max_length=300, verbose_name="reason")),
                ("at", models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="time")),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="payments.paymentorder",
                        verbose_name="order",
                    ),
                ),
            ],
            options={"verbose_name": "payment event", "verbose_name_plural": "payment events", "ordering": ["at", "id"]},
        ),
    ]
