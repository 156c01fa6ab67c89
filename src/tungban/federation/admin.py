"""The federation in the Django admin: read-only (the operators' commands own every write, so
that keys are pinned, statements signed and revocations dated the one way,
docs/operations.md "Federation"). Private keys and the secrets of logins are never shown."""

from django.contrib import admin

from tungban.core.admin_kit import ReadOnlyAdmin

from .models import (
    Binding,
    CrossBoundaryRelease,
    Entity,
    EntityKey,
    Partner,
    RemoteLogin,
    Subordinate,
    TrustAnchor,
    TrustMark,
    TrustMarkType,
)


@admin.register(Entity)
class EntityAdmin(ReadOnlyAdmin):
    list_display = ("path", "role", "name_en", "name_zh", "department", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("path", "name_en", "name_zh")


@admin.register(EntityKey)
class EntityKeyAdmin(ReadOnlyAdmin):
    list_display = ("entity", "use", "kid", "created_at", "retired_at")
    list_filter = ("use",)
    exclude = ("private_key",)


@admin.register(Subordinate)
class SubordinateAdmin(ReadOnlyAdmin):
    list_display = ("superior", "entity_id", "name_en", "enrolled_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("entity_id", "name_en", "name_zh")


@admin.register(TrustMarkType)
class TrustMarkTypeAdmin(ReadOnlyAdmin):
    list_display = ("trust_mark_type", "issuer", "name_en", "name_zh", "lifetime")


@admin.register(TrustMark)
class TrustMarkAdmin(ReadOnlyAdmin):
    list_display = ("type", "subject", "department_en", "issued_at", "expires_at", "revoked_at")
    list_filter = ("type",)
    search_fields = ("subject", "jti")


@admin.register(TrustAnchor)
class TrustAnchorAdmin(ReadOnlyAdmin):
    list_display = ("entity_id", "name_en", "name_zh", "is_active", "added_at")


@admin.register(Partner)
class PartnerAdmin(ReadOnlyAdmin):
    list_display = ("entity_id", "name_en", "name_zh", "jurisdiction", "filing_reference", "is_active")


@admin.register(Binding)
class BindingAdmin(ReadOnlyAdmin):
    list_display = ("id", "partner", "created_at", "removed_at")
    list_filter = ("partner",)


@admin.register(CrossBoundaryRelease)
class CrossBoundaryReleaseAdmin(ReadOnlyAdmin):
    list_display = ("recipient", "binding", "acr", "filing_reference", "released_at")


@admin.register(RemoteLogin)
class RemoteLoginAdmin(ReadOnlyAdmin):
    list_display = ("service", "provider", "created_at", "completed_at", "acr", "error")
    exclude = ("code_verifier", "claims", "state_hash", "browser_hash", "nonce")
