from django.contrib import admin

from .models import (
    Consent,
    DataProduct,
    DataUserCircuit,
    ExchangeAttempt,
    ExchangeRecord,
    Organisation,
    ProviderCircuit,
)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("id", "name_en", "name_zh", "kind", "client", "endpoint_url", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("id", "name_en", "name_zh")


@admin.register(DataProduct)
class DataProductAdmin(admin.ModelAdmin):
    list_display = ("id", "provider", "name_en", "is_active")
    list_filter = ("provider", "is_active")


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    """Read-only: consents are given and revoked by residents in the app."""

    list_display = ("id", "consumer", "product", "status", "uses", "max_uses", "granted_at", "valid_until")
    list_filter = ("status", "consumer", "product")
    readonly_fields = [f.name for f in Consent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ExchangeRecord)
class ExchangeRecordAdmin(admin.ModelAdmin):
    """Read-only: records are in the tamper-evident log."""

    list_display = ("at", "consumer", "product_id", "outcome", "duration_ms", "ledger_seq")
    list_filter = ("outcome", "consumer", "product_id")
    readonly_fields = [f.name for f in ExchangeRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ExchangeAttempt)
class ExchangeAttemptAdmin(ExchangeRecordAdmin):
    """Read-only: attempts are in the tamper-evident log; one left ``in_flight`` past
    ``unknown_after`` has an unknown outcome (issue 14 item 4)."""

    list_display = ("started_at", "consumer", "product_id", "state", "reason", "unknown_after", "ledger_seq")
    list_filter = ("state", "consumer", "product_id")
    readonly_fields = [f.name for f in ExchangeAttempt._meta.fields]


@admin.register(ProviderCircuit)
class ProviderCircuitAdmin(admin.ModelAdmin):
    """Each provider's circuit breaker (issue 14 item 1): seen here, changed only by calls;
    deleting a row closes that provider's circuit."""

    list_display = ("provider", "state", "failures", "opened_at")
    readonly_fields = ("provider", "state", "failures", "successes", "opened_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DataUserCircuit)
class DataUserCircuitAdmin(ProviderCircuitAdmin):
    """Each data user's circuit breaker towards each provider (review finding H2): seen here,
    changed only by calls; deleting a row closes that circuit."""

    list_display = ("provider", "data_user", "state", "failures", "opened_at")
    list_filter = ("state", "provider")
    readonly_fields = ("provider", "data_user", "state", "failures", "successes", "opened_at")
