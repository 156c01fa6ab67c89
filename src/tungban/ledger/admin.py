from django.contrib import admin

from .models import Entry


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only."""

    list_display = ("seq", "kind", "reference", "created_at", "entry_hash")
    list_filter = ("kind",)
    search_fields = ("reference", "entry_hash")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
