from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import client_secrets
from .models import Client


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    """Platform administrators register online services here (name in both languages,
    logo, exact redirect URIs, allowed scopes)."""

    list_display = ("client_id", "name_en", "name_zh", "token_endpoint_auth_method", "is_active")
    search_fields = ("client_id", "name_en", "name_zh")
    exclude = ("client_secret_hash",)
    actions = ["new_secret"]

    @admin.action(description=_("Generate a new client secret (shown once)"))
    def new_secret(self, request, queryset):
        for client in queryset:
            secret = client_secrets.generate()
            client.client_secret_hash = client_secrets.digest(secret)
            client.save(update_fields=["client_secret_hash"])
            self.message_user(request, f"{client.client_id}: {secret}", messages.WARNING)
