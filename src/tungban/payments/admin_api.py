"""The departments' side of e-payment in the Django admin (issue 18 part 4), read-only like the
rest of the app: department payment systems, bills, card attempts, payment webhooks and their
delivery log. (Imported by :mod:`.admin`.)"""

from django.contrib import admin

from .models import Bill, CardPayment, PaymentSystem, PaymentWebhookDelivery, PaymentWebhookEndpoint


class ReadOnly(admin.ModelAdmin):
    """Shown, never changed here (as :mod:`.admin`'s models)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PaymentSystem)
class PaymentSystemAdmin(ReadOnly):
    list_display = ("client", "department", "department_name_en", "created_at")


@admin.register(Bill)
class BillAdmin(ReadOnly):
    list_display = ("department", "bill_number", "amount_cents", "due_on", "state", "source", "created_at")
    list_filter = ("state", "source", "department")
    search_fields = ("bill_number",)
    exclude = ("account", "payer_hkid_hash", "resident")


@admin.register(CardPayment)
class CardPaymentAdmin(ReadOnly):
    list_display = ("provider", "psp_payment_id", "order", "status", "instrument", "failure_code", "created_at")
    list_filter = ("provider", "status", "instrument")


@admin.register(PaymentWebhookEndpoint)
class PaymentWebhookEndpointAdmin(ReadOnly):
    list_display = ("department", "url", "active", "created_by", "created_at")
    list_filter = ("department", "active")
    exclude = ("secret",)


@admin.register(PaymentWebhookDelivery)
class PaymentWebhookDeliveryAdmin(ReadOnly):
    list_display = ("created_at", "event_type", "sequence", "order", "state", "attempts", "last_status")
    list_filter = ("state", "event_type")
    exclude = ("body",)
