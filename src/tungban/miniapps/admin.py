"""Mini-programs in the Django admin: an administrator suspends one at once (``is_active``:
the kill switch, anchor study §4(e) E9) or registers its pairwise sector; bundles are
published with ``tungban publish_miniapp`` and shown read-only."""

from django.contrib import admin

from .models import MiniApp, MiniAppVersion


class VersionInline(admin.TabularInline):
    model = MiniAppVersion
    fields = ("version", "sha256", "size", "uploaded_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(MiniApp)
class MiniAppAdmin(admin.ModelAdmin):
    list_display = ("id", "name_en", "name_zh", "publisher_name_en", "is_active")
    list_filter = ("is_active", "publisher_id")
    search_fields = ("id", "name_en", "name_zh")
    fields = (
        "id",
        "name_en",
        "name_zh",
        "publisher_id",
        "publisher_name_en",
        "publisher_name_zh",
        "current",
        "sector_identifier",
        "is_active",
    )
    readonly_fields = ("id", "name_en", "name_zh", "publisher_id", "publisher_name_en", "publisher_name_zh", "current")
    inlines = [VersionInline]

    def has_add_permission(self, request):
        return False  # published from a bundle (tungban publish_miniapp)
