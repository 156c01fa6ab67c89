"""Search editors (who may set best bets) in the Django admin (issue 22)."""

from django.contrib import admin

from .models import SearchEditor


@admin.register(SearchEditor)
class SearchEditorAdmin(admin.ModelAdmin):
    list_display = ("user", "added_at")
    raw_id_fields = ("user",)
