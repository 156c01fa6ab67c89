from django.contrib import admin

from tungban.core.errors import DomainError

from . import hkid as hkid_mod
from .models import PopulationRecord, Resident


class HkidSearch:
    """Search by HKID number (any spelling) through the keyed hash: the number itself is
    encrypted (issue 13 item 10), and so are the names."""

    def get_search_results(self, request, queryset, search_term):
        try:
            canonical = hkid_mod.normalize(search_term)
        except DomainError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.by_hkid(canonical), False


@admin.register(Resident)
class ResidentAdmin(HkidSearch, admin.ModelAdmin):
    list_display = ("family_name_en", "given_name_en", "name_zh", "tier", "status", "created_at")
    list_filter = ("tier", "status", "proofing_method")
    search_fields = ("public_id",)  # names are encrypted too: search by HKID number or id
    readonly_fields = ("public_id", "hkid", "proofed_at", "proofed_by", "proofing_method", "created_at", "updated_at")


@admin.register(PopulationRecord)
class PopulationRecordAdmin(HkidSearch, admin.ModelAdmin):
    list_display = ("hkid", "family_name_en", "given_name_en", "date_of_birth")
    search_fields = ("id",)
