from django.contrib import admin

from .models import SigningKey


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    list_display = ("kid", "created_at", "retired_at")
    exclude = ("private_pem",)
    readonly_fields = ("kid", "public_jwk", "created_at", "retired_at")
