"""The e-services in the Django admin: the catalogue is read-only here (departments edit the
files under ``catalogue/`` and run ``tungban load_catalogue``); officers' department roles are
edited here; applications are read-only and never show answers (personal data)."""

from django.contrib import admin

from .models import Application, ApplicationEvent, Department, DepartmentOfficer, Form, FormVersion, Service


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Department)
class DepartmentAdmin(ReadOnly):
    list_display = ("code", "name_en", "name_zh", "issuer_id", "organisation_id")


@admin.register(DepartmentOfficer)
class DepartmentOfficerAdmin(admin.ModelAdmin):
    list_display = ("user", "department", "role")
    list_filter = ("department", "role")
    autocomplete_fields = ()


@admin.register(Service)
class ServiceAdmin(ReadOnly):
    list_display = ("slug", "department", "name_en", "category", "online", "pledge_working_days")
    list_filter = ("department", "category", "online")
    search_fields = ("slug", "name_en", "name_zh")


@admin.register(Form)
class FormAdmin(ReadOnly):
    list_display = ("slug", "title_en", "title_zh")


@admin.register(FormVersion)
class FormVersionAdmin(ReadOnly):
    list_display = ("form", "number", "digest", "published_at")


class EventInline(admin.TabularInline):
    model = ApplicationEvent
    fields = ("at", "from_state", "to_state", "action", "actor_kind", "actor_id")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Application)
class ApplicationAdmin(ReadOnly):
    list_display = ("reference", "service", "state", "submitted_at", "pledge_due", "assigned_to")
    list_filter = ("state", "service__department")
    search_fields = ("reference",)
    fields = (
        "reference",
        "service",
        "form_version",
        "state",
        "submitted_at",
        "decided_at",
        "pledge_due",
        "assigned_to",
    )
    inlines = [EventInline]
