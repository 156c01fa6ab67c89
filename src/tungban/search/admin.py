"""Search editors (who may set best bets) in the Django admin (issue 22)."""

from django.contrib import admin

from .models import IndexState, SearchEditor


@admin.register(SearchEditor)
class SearchEditorAdmin(admin.ModelAdmin):
    list_display = ("user", "added_at")
    raw_id_fields = ("user",)


@admin.register(IndexState)
class IndexStateAdmin(admin.ModelAdmin):
    """The index's generation and the last background rebuild (read-only: the task writes it)."""

    list_display = ("generation", "reindex_state", "reindex_attempts", "reindexed_at")
    readonly_fields = (
        "generation",
        "reindex_state",
        "reindex_attempts",
        "reindexed_at",
        "reindex_counts",
        "reindex_error",
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
