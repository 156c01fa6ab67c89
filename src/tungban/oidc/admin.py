from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import client_secrets
from .models import Client

#: Client authentication methods that use a client secret (RFC 6749 §2.3.1).
SECRET_METHODS = ("client_secret_basic", "client_secret_post")


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    """Platform administrators register online services here (name in both languages,
    logo, exact redirect URIs, allowed scopes).

    A confidential client gets its secret when it is created (or first needs one, e.g. a
    public client switched to ``client_secret_basic``): it is shown once, in a message after
    saving, and only its SHA-256 digest is stored (:mod:`.client_secrets`; issue 13 item 20).
    The "Generate a new client secret" action replaces it.
    """

    list_display = ("client_id", "name_en", "name_zh", "token_endpoint_auth_method", "fapi", "is_active")
    search_fields = ("client_id", "name_en", "name_zh")
    exclude = ("client_secret_hash",)
    actions = ["new_secret"]

    def save_model(self, request, obj, form, change):
        secret = None
        if obj.token_endpoint_auth_method in SECRET_METHODS and not obj.client_secret_hash:
            secret = client_secrets.generate()
            obj.client_secret_hash = client_secrets.digest(secret)
        super().save_model(request, obj, form, change)
        if secret is not None:
            self._show_secret(request, obj, secret)

    def _show_secret(self, request, client, secret):
        self.message_user(
            request,
            gettext("Client secret of %(client_id)s — copy it now, it is shown only once: %(secret)s")
            % {"client_id": client.client_id, "secret": secret},
            messages.WARNING,
        )

    @admin.action(description=_("Generate a new client secret (shown once)"))
    def new_secret(self, request, queryset):
        for client in queryset:
            secret = client_secrets.generate()
            client.client_secret_hash = client_secrets.digest(secret)
            client.save(update_fields=["client_secret_hash"])
            self._show_secret(request, client, secret)
