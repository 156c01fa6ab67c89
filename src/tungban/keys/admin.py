from django.contrib import admin

from .models import SigningKey


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    """Signing keys are made by ``tungban rotate_keys`` (:func:`tungban.keys.services.rotate_keys`),
    never typed in: the admin only shows them (an empty add form used to reach the database
    and fail with a 500)."""

    list_display = ("kid", "created_at", "retired_at")
    exclude = ("private_pem",)
    readonly_fields = ("kid", "public_jwk", "created_at", "retired_at")

    def has_add_permission(self, request):
        return False
