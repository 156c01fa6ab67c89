"""The notification service in the Django admin (issue 16): senders and templates are edited
here or with ``tungban notify``; API keys are made only by ``tungban notify key`` (the key is
shown once) and can be revoked here; notifications are read-only and show their delivery state,
never their texts (personal data)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import services
from .models import ApiKey, Notification, Sender, Template


@admin.register(Sender)
class SenderAdmin(admin.ModelAdmin):
    list_display = ("id", "name_en", "name_zh", "client", "created_at")
    search_fields = ("id", "name_en", "name_zh")


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "sender", "version", "updated_at")
    list_filter = ("sender",)
    readonly_fields = ("version",)

    def save_model(self, request, obj, form, change):
        if change and form.changed_data:
            obj.version += 1  # notifications keep the version they were made from
        super().save_model(request, obj, form, change)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("key_id", "sender", "kind", "name", "created_at", "last_used_at", "revoked_at")
    list_filter = ("kind", "sender")
    readonly_fields = [f.name for f in ApiKey._meta.fields]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke the selected API keys"))
    def revoke(self, request, queryset):
        for key in queryset:
            services.revoke_api_key(key)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "sender", "key_kind", "status", "attempts", "created_at", "completed_at")
    list_filter = ("status", "key_kind", "sender")
    fields = readonly_fields = (
        "id", "sender", "key_kind", "template", "template_version", "reference", "status",
        "attempts", "created_at", "sent_at", "completed_at", "read_at",
    )  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
