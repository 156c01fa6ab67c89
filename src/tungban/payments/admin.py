"""e-Payment in the Django admin (issue 18): everything is read-only here — the fee schedule is
files (``fees/``, ``tungban load_fees``), orders change only through their state machine, and
money received is recorded from the banks' messages."""

from django.contrib import admin

from .models import BankMessage, CreditTransfer, FeeItem, FeeVersion, PaymentEvent, PaymentOrder


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class FeeVersionInline(admin.TabularInline):
    model = FeeVersion
    extra = 0
    can_delete = False
    fields = ("effective_from", "effective_to", "amount_cents", "concessions", "legal_reference", "illustrative")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(FeeItem)
class FeeItemAdmin(ReadOnly):
    list_display = ("department", "service", "code", "label_en", "label_zh")
    list_filter = ("department",)
    search_fields = ("service", "code", "label_en", "label_zh")
    inlines = [FeeVersionInline]


class PaymentEventInline(admin.TabularInline):
    model = PaymentEvent
    extra = 0
    can_delete = False
    fields = ("at", "from_state", "to_state", "actor_kind", "actor_id", "reason")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PaymentOrder)
class PaymentOrderAdmin(ReadOnly):
    list_display = ("reference", "department", "amount_cents", "amount_received_cents", "state", "method", "created_at")
    list_filter = ("state", "method", "department")
    search_fields = ("reference", "purpose_ref")
    readonly_fields = [f.name for f in PaymentOrder._meta.fields if f.name != "payer"]
    exclude = ("payer",)
    inlines = [PaymentEventInline]


@admin.register(CreditTransfer)
class CreditTransferAdmin(ReadOnly):
    list_display = ("end_to_end_id", "amount_cents", "value_date", "reference", "match_status", "source", "order")
    list_filter = ("match_status", "source", "value_date")
    search_fields = ("end_to_end_id", "reference")
    exclude = ("debtor_name", "debtor_account")  # personal data: the staff pages show the name masked


@admin.register(BankMessage)
class BankMessageAdmin(ReadOnly):
    list_display = ("message_id", "kind", "sent_at", "received_at")


from . import admin_api  # noqa: E402, F401 - the departments' side (issue 18 part 4)

# --- refunds, their instruction files and the e-receipts (pay-refund): read-only; refunds
# change only through the officers' pages (/staff/payments/), receipts only by their task. ---
from .models_refunds import Receipt, Refund, RefundBatch, RefundEvent  # noqa: E402


class RefundEventInline(admin.TabularInline):
    model = RefundEvent
    extra = 0
    can_delete = False
    fields = ("at", "from_state", "to_state", "action", "actor_kind", "actor_id", "reason")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Refund)
class RefundAdmin(ReadOnly):
    list_display = ("reference", "order", "amount_cents", "state", "requested_by", "requested_at", "batch")
    list_filter = ("state",)
    search_fields = ("reference", "end_to_end_id", "order__reference")
    exclude = ("creditor_name", "creditor_account")  # personal data: only the refund file carries them
    inlines = [RefundEventInline]


@admin.register(RefundBatch)
class RefundBatchAdmin(ReadOnly):
    list_display = ("message_id", "department", "business_date", "count", "total_cents", "created_by")
    list_filter = ("department",)
    exclude = ("xml",)


@admin.register(Receipt)
class ReceiptAdmin(ReadOnly):
    list_display = ("number", "kind", "order", "state", "attempts", "signed_at")
    list_filter = ("kind", "state")
    search_fields = ("number", "order__reference")
    exclude = ("pdf",)


# --- reconciliation (its pages are /staff/payments/reconciliation/; the admin only shows) ---
from .models_recon import DailyClose, ReconciliationException, StatementImport  # noqa: E402


@admin.register(StatementImport)
class StatementImportAdmin(ReadOnly):
    list_display = ("created_at", "kind", "source", "statement_date", "state", "lines_total", "lines_new", "exceptions")
    list_filter = ("state", "kind", "source")
    exclude = ("content",)


@admin.register(ReconciliationException)
class ReconciliationExceptionAdmin(ReadOnly):
    list_display = ("business_date", "kind", "reason", "department", "amount_cents", "state", "resolution")
    list_filter = ("state", "kind", "reason", "department")
    search_fields = ("transfer__end_to_end_id", "transfer__reference", "order__reference")


@admin.register(DailyClose)
class DailyCloseAdmin(ReadOnly):
    list_display = ("business_date", "closed_by", "closed_at")
