"""Shared pieces for the apps' Django admin modules."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """A model shown, never added, changed or deleted in the admin (rows the services own)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
