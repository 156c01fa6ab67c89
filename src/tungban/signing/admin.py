"""Read-only views of the CA, certificates and signing requests for administrators.
Revocation is an officer action on the resident's page (/staff/), not an admin edit."""

from django.contrib import admin

from .models import Authority, BehalfSigning, OrganisationSeal, PlatformSeal, SigningCredential, SigningRequest


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Authority)
class AuthorityAdmin(ReadOnly):
    list_display = ("role", "created_at")
    exclude = ("private_pem", "certificate_der")


@admin.register(SigningCredential)
class SigningCredentialAdmin(ReadOnly):
    list_display = ("serial", "resident", "status", "keystore", "not_after", "revoked_at", "revocation_reason")
    list_filter = ("status", "keystore")
    search_fields = ("serial",)
    exclude = ("software_key_pem", "certificate_der")


@admin.register(SigningRequest)
class SigningRequestAdmin(ReadOnly):
    list_display = ("id", "client", "format", "created_at", "signed_at", "callback_status")
    list_filter = ("format",)


@admin.register(PlatformSeal)
class PlatformSealAdmin(ReadOnly):
    list_display = ("purpose", "name", "serial", "status", "keystore", "not_after", "revoked_at")
    list_filter = ("status", "purpose")
    exclude = ("software_key_pem", "certificate_der")


@admin.register(OrganisationSeal)
class OrganisationSealAdmin(ReadOnly):
    list_display = ("organisation_identifier", "name_en", "serial", "status", "keystore", "not_after", "revoked_at")
    list_filter = ("status",)
    search_fields = ("organisation_identifier", "serial")
    exclude = ("software_key_pem", "certificate_der")


@admin.register(BehalfSigning)
class BehalfSigningAdmin(ReadOnly):
    list_display = ("request", "organisation_identifier", "mandate_id", "joint_approval", "second_mandate_id", "seal")
    search_fields = ("organisation_identifier", "mandate_id")
