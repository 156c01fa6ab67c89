from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import client_secrets, scopes
from .models import Client


class UriLinesField(forms.CharField):
    """A list of absolute http(s) URIs typed one per line (issue 16, staff16 item 4): the
    administrator never types JSON. Each line is checked as RFC 6749 §3.1.2 asks of a
    redirection endpoint (absolute, no fragment); an error names the line at fault."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 60, "spellcheck": "false", "autocapitalize": "off"})

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value)
        return value

    def to_python(self, value) -> list[str]:
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        return [line.strip() for line in (value or "").splitlines() if line.strip()]

    def validate(self, value):
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        bad = []
        for uri in value:
            parts = urlsplit(uri)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment or " " in uri:
                bad.append(uri)
        if bad:
            raise ValidationError(
                gettext("Not an absolute http(s) URL without a fragment (#…): %(uris)s") % {"uris": ", ".join(bad)},
                code="invalid_uri",
            )

    def has_changed(self, initial, data):
        return self.to_python(initial) != self.to_python(data)


class ScopesField(forms.MultipleChoiceField):
    """The scopes registered with :mod:`tungban.oidc.scopes`, as checkboxes (name and what it
    gives), read when the form is built so a scope registered by another app is listed."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", self._choices)
        super().__init__(**kwargs)

    @staticmethod
    def _choices():
        return [(name, f"{name} — {scopes.get(name).description}") for name in scopes.supported()]


class ClientAdminForm(forms.ModelForm):
    """The client form with URI lists one per line and scopes as checkboxes."""

    redirect_uris = UriLinesField(
        label=_("Redirect URIs (exact match)"),
        help_text=_("One per line: absolute https URLs (http only for localhost), without a fragment (#…)."),
    )
    post_logout_redirect_uris = UriLinesField(
        label=_("Post-logout redirect URIs"), required=False, help_text=_("One per line, like the redirect URIs.")
    )
    allowed_scopes = ScopesField(
        label=_("Allowed scopes"), help_text=_("The scopes this service may ask for (registered scopes only).")
    )

    class Meta:
        model = Client
        exclude = ("client_secret_hash",)
        labels = {
            "client_id": _("Client ID"),
            "token_endpoint_auth_method": _("How the service authenticates at the token endpoint"),
            "is_active": _("Active"),
        }


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
    form = ClientAdminForm
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
