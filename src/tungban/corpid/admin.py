from django.contrib import admin

from .models import AuditEvent, Mandate, Organisation, RegisteredCompany


@admin.register(RegisteredCompany)
class RegisteredCompanyAdmin(admin.ModelAdmin):
    list_display = ("br_number", "name_en", "name_zh", "status")
    search_fields = ("br_number", "name_en", "name_zh")


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("br_number", "name_en", "status", "created_at")
    readonly_fields = ("public_id", "company", "br_number", "name_en", "name_zh", "status", "created_at")


@admin.register(Mandate)
class MandateAdmin(admin.ModelAdmin):
    """Read-only: mandates change only through the services (audited)."""

    list_display = ("organisation", "role", "state", "valid_from", "valid_until")
    list_filter = ("role", "state")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("organisation", "action", "at")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
