"""Cross-boundary login (跨境通辦, issue 23) on OpenID Federation 1.0 (draft 45).

Two halves:

* **The federation**: the entities this instance hosts and signs for (:class:`Entity`: the trust
  anchor, the platform — OpenID provider and intermediate of its services —, and hosted
  online services that are relying parties), their keys (:class:`EntityKey`), what a superior
  says about each subordinate (:class:`Subordinate`: its keys pinned at enrolment, metadata
  policy, constraints, revocation), the trust-mark types it issues and the trust marks issued
  (:class:`TrustMarkType`, :class:`TrustMark`), and the trust anchors it accepts
  (:class:`TrustAnchor`, keys pinned out of band, §1.2).
* **The people**: the partner platforms across the boundary with the legal basis for personal
  data sent to them (:class:`Partner`: the GBA standard contract's filing reference, seeds 001
  ¶7 and 004), a resident's consented binding to a partner (:class:`Binding`: Guangdong's
  「經個人授權同意完成…賬號的綁定」, design study §1(b)), each release across the boundary
  (:class:`CrossBoundaryRelease`), and, on the relying-party side, logins at a hosted service
  with an identity from a partner's provider (:class:`RemoteLogin`).

An entity's identifier is not stored: it is ``TUNGBAN_ISSUER`` plus the entity's ``path``
(:attr:`Entity.entity_id`), so that one database serves one public address.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tungban.core.fields import EncryptedTextField
from tungban.identity.models import Resident

from .constants import (
    ENTITY_CONFIGURATION_LIFETIME,
    SUBORDINATE_STATEMENT_LIFETIME,
    TRUST_MARK_LIFETIME,
    KeyUse,
    Role,
)


class Entity(models.Model):
    """A federation entity this instance hosts and signs for (OpenID Federation 1.0 §1.2, §3).

    ``path`` is "" for the instance's root entity (the platform, or a trust anchor's instance),
    else e.g. ``services/hk-cross-boundary``; its entity identifier is
    ``TUNGBAN_ISSUER/path``. ``metadata`` holds what the entity declares beyond what the
    platform computes (the OpenID provider's is its discovery document; a service's
    ``openid_relying_party`` holds ``client_name``, ``redirect_uris`` …): ``{entity_type: {…}}``.
    ``trust_marks`` are the trust marks it received (``[{"trust_mark_type", "trust_mark"}]``,
    §3.1.1). ``authority_hints`` are its superiors' entity identifiers (§3.1.1).
    """

    path = models.CharField(_("Path under the platform's address"), max_length=100, unique=True, blank=True)
    role = models.CharField(_("Role"), max_length=20, choices=Role.choices)
    name_en = models.CharField(_("Name (English)"), max_length=200)
    name_zh = models.CharField(_("Name (Chinese)"), max_length=200)
    organization_en = models.CharField(_("Organisation (English)"), max_length=200, blank=True)
    organization_zh = models.CharField(_("Organisation (Chinese)"), max_length=200, blank=True)
    department = models.CharField(
        _("Department code"), max_length=20, blank=True, help_text=_("The department that runs a hosted service.")
    )
    authority_hints = models.JSONField(_("Authority hints"), default=list, blank=True)
    metadata = models.JSONField(_("Declared metadata"), default=dict, blank=True)
    trust_marks = models.JSONField(_("Trust marks received"), default=list, blank=True)
    required_acr = models.CharField(
        _("Lowest assurance level accepted"),
        max_length=40,
        blank=True,
        help_text=_("A hosted service: the lowest acr it accepts from a partner platform's identities."),
    )
    lifetime = models.PositiveIntegerField(
        _("Entity configuration lifetime (seconds)"), default=ENTITY_CONFIGURATION_LIFETIME
    )
    is_active = models.BooleanField(_("Active"), default=True)
    created_at = models.DateTimeField(_("Created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("federation entity")
        verbose_name_plural = _("federation entities")
        ordering = ["path"]

    def __str__(self):
        return self.entity_id

    @property
    def entity_id(self) -> str:
        """The entity identifier (§1.2): ``TUNGBAN_ISSUER`` plus ``/path`` (no trailing slash)."""
        base = settings.TUNGBAN_ISSUER.rstrip("/")
        return f"{base}/{self.path}" if self.path else base


class EntityKey(models.Model):
    """A signing key of a hosted entity: ES256 (P-256), private key sealed with the platform's
    secret (:mod:`tungban.keys.sealing`), as the ID-token keys are. ``use`` separates federation
    entity keys (statements, trust marks) from protocol keys (§1.2). A retired key stays
    published until ``retired_at`` plus the longest statement lifetime (key rollover, §11.1)."""

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="keys", verbose_name=_("entity"))
    use = models.CharField(_("Use"), max_length=20, choices=KeyUse.choices)
    kid = models.CharField(_("Key ID"), max_length=64, unique=True)
    private_key = models.BinaryField(_("Private key (sealed PEM)"))
    public_jwk = models.JSONField(_("Public JWK"))
    created_at = models.DateTimeField(_("Created at"), auto_now_add=True)
    retired_at = models.DateTimeField(_("Retired at"), null=True, blank=True)

    class Meta:
        verbose_name = _("federation entity key")
        verbose_name_plural = _("federation entity keys")
        ordering = ["entity", "use", "-created_at"]

    def __str__(self):
        return f"{self.entity.path or '/'} {self.use} {self.kid}"


class Subordinate(models.Model):
    """What a hosted trust anchor or intermediate (``superior``) says about an entity it
    vouches for: the content of its subordinate statement (§3.1.2, served by the fetch
    endpoint §8.1). ``jwks`` are the subordinate's federation keys, pinned when it joined
    (docs/integrators.md "Joining the federation"). A revoked subordinate has no statement: the
    fetch endpoint answers ``not_found``, so every chain through it fails at its next
    resolution."""

    superior = models.ForeignKey(
        Entity, on_delete=models.CASCADE, related_name="subordinates", verbose_name=_("superior")
    )
    entity_id = models.URLField(_("Entity identifier"), max_length=500)
    name_en = models.CharField(_("Name (English)"), max_length=200)
    name_zh = models.CharField(_("Name (Chinese)"), max_length=200)
    entity_types = models.JSONField(_("Entity types"), default=list)
    jwks = models.JSONField(_("Federation keys (JWK Set)"))
    metadata_policy = models.JSONField(_("Metadata policy"), default=dict, blank=True)
    metadata = models.JSONField(_("Metadata set by the superior"), default=dict, blank=True)
    constraints = models.JSONField(_("Constraints"), default=dict, blank=True)
    lifetime = models.PositiveIntegerField(
        _("Subordinate statement lifetime (seconds)"), default=SUBORDINATE_STATEMENT_LIFETIME
    )
    enrolled_at = models.DateTimeField(_("Enrolled at"), auto_now_add=True)
    enrolled_by = models.CharField(_("Enrolled by"), max_length=150, blank=True)
    revoked_at = models.DateTimeField(_("Revoked at"), null=True, blank=True)
    revoked_reason = models.TextField(_("Reason for revocation"), blank=True)

    class Meta:
        verbose_name = _("subordinate")
        verbose_name_plural = _("subordinates")
        ordering = ["superior", "entity_id"]
        constraints = [models.UniqueConstraint(fields=["superior", "entity_id"], name="federation_subordinate_once")]

    def __str__(self):
        return f"{self.superior} → {self.entity_id}"


class TrustMarkType(models.Model):
    """A kind of trust mark a hosted entity issues (§7), e.g. "cross-boundary service (跨境通辦)".
    ``trust_mark_type`` is its identifier (a URL under the issuer's entity identifier)."""

    issuer = models.ForeignKey(
        Entity, on_delete=models.CASCADE, related_name="trust_mark_types", verbose_name=_("issuer")
    )
    trust_mark_type = models.URLField(_("Trust mark type"), max_length=500, unique=True)
    name_en = models.CharField(_("Name (English)"), max_length=200)
    name_zh = models.CharField(_("Name (Chinese)"), max_length=200)
    lifetime = models.PositiveIntegerField(_("Trust mark lifetime (seconds)"), default=TRUST_MARK_LIFETIME)

    class Meta:
        verbose_name = _("trust mark type")
        verbose_name_plural = _("trust mark types")

    def __str__(self):
        return self.trust_mark_type


class TrustMark(models.Model):
    """A trust mark issued to ``subject`` (§7.1); its status is served by the trust mark status
    endpoint (§8.6): ``active`` until ``expires_at``, ``revoked`` once ``revoked_at`` is set."""

    type = models.ForeignKey(TrustMarkType, on_delete=models.CASCADE, related_name="issued", verbose_name=_("type"))
    subject = models.URLField(_("Subject entity identifier"), max_length=500)
    department_en = models.CharField(_("Department (English)"), max_length=200, blank=True)
    department_zh = models.CharField(_("Department (Chinese)"), max_length=200, blank=True)
    jti = models.CharField(_("Identifier (jti)"), max_length=64, unique=True)
    issued_at = models.DateTimeField(_("Issued at"))
    expires_at = models.DateTimeField(_("Expires at"))
    revoked_at = models.DateTimeField(_("Revoked at"), null=True, blank=True)
    revoked_reason = models.TextField(_("Reason for revocation"), blank=True)

    class Meta:
        verbose_name = _("trust mark")
        verbose_name_plural = _("trust marks")
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["type", "subject"])]

    def __str__(self):
        return f"{self.type} → {self.subject}"


class TrustAnchor(models.Model):
    """A trust anchor whose chains this instance accepts, with its federation keys pinned out of
    band (§1.2, §10.1: the anchor's keys are not learnt from its own entity configuration)."""

    entity_id = models.URLField(_("Entity identifier"), max_length=500, unique=True)
    name_en = models.CharField(_("Name (English)"), max_length=200)
    name_zh = models.CharField(_("Name (Chinese)"), max_length=200)
    jwks = models.JSONField(_("Federation keys (JWK Set)"))
    is_active = models.BooleanField(_("Active"), default=True)
    added_at = models.DateTimeField(_("Added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("trust anchor")
        verbose_name_plural = _("trust anchors")

    def __str__(self):
        return self.entity_id


class Partner(models.Model):
    """A partner platform across the boundary, e.g. Guangdong's unified identity authentication
    platform (廣東省統一身份認證平台). ``entity_id`` is its platform entity, the authority of its
    services (a chain through it identifies a service as the partner's). Personal data sent to
    its services leaves Hong Kong under ``legal_basis_*`` with the standard contract's
    ``filing_reference`` (《粵港澳大灣區(內地、香港)個人信息跨境流動標準合同》, seeds 001 ¶7, 004).
    ``acr_map`` maps the partner's assurance levels to this platform's (``{partner_acr: acr}``),
    for this platform's services that accept the partner's identities."""

    entity_id = models.URLField(_("Platform entity identifier"), max_length=500, unique=True)
    name_en = models.CharField(_("Name (English)"), max_length=200)
    name_zh = models.CharField(_("Name (Chinese)"), max_length=200)
    jurisdiction = models.CharField(_("Jurisdiction"), max_length=20, help_text=_("ISO 3166-2 code, e.g. CN-GD"))
    legal_basis_en = models.TextField(_("Legal basis for transfers (English)"))
    legal_basis_zh = models.TextField(_("Legal basis for transfers (Chinese)"))
    filing_reference = models.CharField(_("Standard contract filing reference"), max_length=100)
    acr_map = models.JSONField(_("Assurance level mapping"), default=dict, blank=True)
    is_active = models.BooleanField(_("Active"), default=True)
    created_at = models.DateTimeField(_("Created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("partner platform")
        verbose_name_plural = _("partner platforms")

    def __str__(self):
        return self.name_en


class Binding(models.Model):
    """A resident's consented binding of their account to a partner platform (「可用不可見」):
    made by the resident's signed decision in the app at their first cross-boundary login to
    any of the partner's services (``approval``), listing exactly the claims that may cross
    beyond the pairwise identifier and the assurance level (``claims``). Removed by the
    resident in the app (``removed_at``): the partner's tokens are revoked and the next login
    asks again. At most one live binding per resident and partner."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="cross_boundary_bindings", verbose_name=_("resident")
    )
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="bindings", verbose_name=_("partner"))
    claims = models.JSONField(_("Claims that may cross"), default=list, blank=True)
    approval = models.ForeignKey(
        "wallet.ApprovalRequest", null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("approval")
    )
    created_at = models.DateTimeField(_("Bound at"), auto_now_add=True)
    removed_at = models.DateTimeField(_("Removed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("cross-boundary binding")
        verbose_name_plural = _("cross-boundary bindings")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "partner"],
                condition=Q(removed_at__isnull=True),
                name="federation_binding_live_once",
            )
        ]

    def __str__(self):
        return f"{self.resident_id} ↔ {self.partner}"


class CrossBoundaryRelease(models.Model):
    """One release of a resident's data to a partner's service: the recipient, the claims, and
    the legal basis with the standard contract's filing reference, copied at the time (an
    exportable transfer register). Written in the same transaction as the token it records;
    also shown in the app's "who used my data" history (``release``)."""

    binding = models.ForeignKey(Binding, on_delete=models.CASCADE, related_name="releases", verbose_name=_("binding"))
    recipient = models.URLField(_("Recipient service"), max_length=500)
    recipient_name_en = models.CharField(_("Recipient (English)"), max_length=200)
    recipient_name_zh = models.CharField(_("Recipient (Chinese)"), max_length=200)
    claims = models.JSONField(_("Claims released"), default=list)
    acr = models.CharField(_("Assurance level"), max_length=40, blank=True)
    legal_basis = models.TextField(_("Legal basis"))
    filing_reference = models.CharField(_("Standard contract filing reference"), max_length=100)
    release = models.ForeignKey(
        "wallet.ReleaseRecord",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        verbose_name=_("release record"),
    )
    released_at = models.DateTimeField(_("Released at"), auto_now_add=True)

    class Meta:
        verbose_name = _("cross-boundary release")
        verbose_name_plural = _("cross-boundary releases")
        ordering = ["-released_at"]

    def __str__(self):
        return f"{self.recipient} {self.released_at:%Y-%m-%d %H:%M}"


class RemoteLogin(models.Model):
    """A login at a hosted service (:class:`Entity` of role ``service``) with an identity from a
    partner platform's OpenID provider: the state of the authorization request (OIDC Core §3.1.2,
    PKCE RFC 7636) until the callback, then who logged in. ``subject`` is the provider's
    pairwise subject for this service; ``claims`` (encrypted at rest) whatever else crossed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(
        Entity, on_delete=models.CASCADE, related_name="remote_logins", verbose_name=_("service")
    )
    provider = models.URLField(_("OpenID provider"), max_length=500)
    state_hash = models.CharField(_("State (keyed digest)"), max_length=64, unique=True)
    nonce = models.CharField(_("Nonce"), max_length=64)
    code_verifier = EncryptedTextField(_("PKCE code verifier"))
    browser_hash = models.CharField(_("Browser binding (keyed digest)"), max_length=64)
    created_at = models.DateTimeField(_("Started at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("Completed at"), null=True, blank=True)
    subject = models.CharField(_("Subject at the provider"), max_length=255, blank=True)
    acr = models.CharField(_("Assurance level reached"), max_length=40, blank=True)
    claims = EncryptedTextField(_("Claims received (JSON)"), blank=True, default="")
    error = models.CharField(_("Error"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("login with a partner identity")
        verbose_name_plural = _("logins with a partner identity")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.service.path} ← {self.provider}"


class RegisteredClient(models.Model):
    """The OpenID provider's record of a federation relying party it registered automatically
    (OpenID Federation 1.0 §12.1): the ``oidc`` client row written from the RP's resolved
    metadata, the partner platform its trust chain passes through (whose legal basis covers
    what crosses to it), the trust anchor, and when the chain was last resolved. Rewritten at
    every login (every login resolves the chain afresh)."""

    client = models.OneToOneField(
        "oidc.Client", on_delete=models.CASCADE, related_name="federation", verbose_name=_("client")
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="registered_clients", verbose_name=_("partner")
    )
    anchor = models.URLField(_("Trust anchor"), max_length=500)
    trust_chain_expires_at = models.DateTimeField(_("Trust chain expires at"))
    resolved_at = models.DateTimeField(_("Last resolved at"))

    class Meta:
        verbose_name = _("registered federation client")
        verbose_name_plural = _("registered federation clients")

    def __str__(self):
        return self.client.client_id
