from django.contrib import admin

from .models import PopulationRecord, Resident


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):
    list_display = ("family_name_en", "given_name_en", "name_zh", "tier", "status", "created_at")
    list_filter = ("tier", "status", "proofing_method")
    search_fields = ("hkid", "family_name_en", "given_name_en", "name_zh")
    readonly_fields = ("public_id", "hkid", "proofed_at", "proofed_by", "proofing_method", "created_at", "updated_at")


@admin.register(PopulationRecord)
class PopulationRecordAdmin(admin.ModelAdmin):
    list_display = ("hkid", "family_name_en", "given_name_en", "date_of_birth")
    search_fields = ("hkid",)
