"""The app (wallet) a resident holds: bound devices, approval requests, release history.

Protocol (issue #2): at binding the device generates an ECDSA P-256 key pair and sends only
the public key (JWK). Every approval is a JWS (RFC 7515, ES256) made with that key over a
payload bound to one :class:`ApprovalRequest` (its id, the requester, the requested data, a
server nonce); the request expires after ``TUNGBAN_APPROVAL_TTL`` seconds.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tungban.identity.models import Resident


class Platform(models.TextChoices):
    WEB = "web", _("Web app")
    CLI = "cli", _("Command-line app")


class DeviceStatus(models.TextChoices):
    ACTIVE = "active", _("Bound")
    UNBOUND = "unbound", _("Unbound")


class Device(models.Model):
    """A phone (or CLI key file) bound to one resident. Holds only public keys."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="devices")
    platform = models.CharField(max_length=10, choices=Platform.choices)
    name = models.CharField(max_length=80, blank=True)
    public_jwk = models.JSONField(help_text="Public EC P-256 JWK of the device key")
    jwk_thumbprint = models.CharField(
        max_length=64, unique=True, help_text="RFC 7638 thumbprint; one device key → one account"
    )
    webauthn_credential_id = models.CharField(max_length=512, null=True, blank=True, unique=True)
    webauthn_public_key = models.BinaryField(null=True, blank=True)
    webauthn_sign_count = models.PositiveBigIntegerField(default=0)
    verifies_user = models.BooleanField(
        default=False,
        help_text="The binding registered a passkey with user verification (WebAuthn UV: the "
        "authenticator's PIN or biometric), which every approval repeats; a CLI app's PIN only "
        "unlocks its key file and is never seen by the platform",
    )
    status = models.CharField(max_length=10, choices=DeviceStatus.choices, default=DeviceStatus.ACTIVE)
    bound_at = models.DateTimeField(auto_now_add=True)
    unbound_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("bound device")
        verbose_name_plural = _("bound devices")
        constraints = [
            # One phone binds one account and an account has one bound phone at a time.
            models.UniqueConstraint(
                fields=["resident"], condition=Q(status="active"), name="one_active_device_per_resident"
            ),
        ]

    @property
    def has_passkey(self) -> bool:
        return bool(self.webauthn_credential_id)


class ActivationCode(models.Model):
    """A one-time code an officer hands over so the resident can bind the app."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="activation_codes")
    code_hash = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("activation code")
        verbose_name_plural = _("activation codes")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")


class ApprovalRequest(models.Model):
    """Something the resident must approve in the app: a login, a form filling, a binding,
    a signature.

    ``requested_claims`` is a list of ``{"name": str, "essential": bool}``; the resident may
    untick non-essential ones, and ``approved_claims`` holds what was finally approved.
    ``context`` holds what the requester needs to resume (e.g. the OpenID Connect request) and
    what the app shows; ``context["binds"]`` (``{name: JSON value}``) holds the values the
    device's signed decision must repeat, e.g. the documents' digests of a signing request.
    ``kind`` is a kind registered with :mod:`tungban.wallet.kinds` (no ``choices``: a new
    domain registers its kind without a wallet migration).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=40, help_text="A kind registered with tungban.wallet.kinds")
    requester_id = models.CharField(max_length=100, blank=True, help_text="client_id of the online service")
    requester_name_en = models.CharField(max_length=200, blank=True)
    requester_name_zh = models.CharField(max_length=200, blank=True)
    requester_logo_url = models.URLField(blank=True)
    requested_claims = models.JSONField(default=list, blank=True)
    approved_claims = models.JSONField(default=list, blank=True)
    nonce = models.CharField(max_length=64)
    resident = models.ForeignKey(
        Resident,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="approval_requests",
        db_index=False,  # the (resident, status) index below serves every lookup by resident
    )
    # Indexed where set only (Meta): a request gets its device when approved, and the one
    # lookup by device (the SET NULL of a device's deletion) names one (issue 15, pgdiet).
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="approvals", db_index=False
    )
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    user_verification = models.CharField(
        max_length=20,
        blank=True,
        help_text="passkey (WebAuthn assertion with user verification) | none (device key only, e.g. "
        "the CLI app); 'pin' in approvals recorded before issue 13 meant none",
    )
    signature = models.TextField(blank=True, help_text="The device's JWS over the decision")
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(
        max_length=60, blank=True, help_text="Why an approved request could not be carried out"
    )
    user_code = models.CharField(
        max_length=8,
        blank=True,
        help_text="The number shown on the requesting page that the resident must type in the app to "
        "approve (cross-device binding code); empty when the request is not shown on a page",
    )
    code_attempts = models.PositiveSmallIntegerField(default=0, help_text="Approvals refused for a wrong code")

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        indexes = [
            models.Index(fields=["resident", "status"]),
            models.Index(fields=["device"], condition=Q(device__isnull=False), name="wallet_approval_device_nn"),
        ]

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at

    def effective_status(self) -> str:
        """The status, reading an overdue pending request as ``expired``."""
        if self.status == RequestStatus.PENDING and self.is_expired:
            return RequestStatus.EXPIRED
        return self.status


class ReleaseRecord(models.Model):
    """One release of e-ME data to an online service: which fields, when, how.

    An append-only audit row, one per UserInfo and form-data answer (issue 15, pgdiet). Its
    ``resident`` and ``approval`` are links for the ORM, not database constraints
    (``db_constraint=False``): the hot path copies both ids from the rows it has just read
    with the token (the resident by an inner join, the approval through the code), the ORM's
    ``on_delete`` still deletes a resident's releases and empties a deleted approval's link,
    and an approval a release names is never purged (a login's is completed, the purge takes
    expired ones). A constraint would only add, at each answer's commit, a ``FOR KEY SHARE``
    lock of the resident's and of the approval's row (a WAL record and a dirtied page each).
    The approval's link is not indexed and not followed on deletion (fourth round: the field's
    comment); a deleted approval leaves the id it had.
    Row ids are never reused, so a release recorded while its resident was being deleted can
    never be read as another resident's.
    """

    # No index of its own: the (resident, -released_at) index below serves every lookup by
    # resident, and each release insert (one per UserInfo answer) maintains every index (issue 15).
    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="releases", db_index=False, db_constraint=False
    )
    requester_id = models.CharField(max_length=100)
    requester_name_en = models.CharField(max_length=200)
    requester_name_zh = models.CharField(max_length=200)
    kind = models.CharField(max_length=40, help_text="A kind registered with tungban.wallet.kinds")
    claims = models.JSONField(default=list)
    # Not indexed (issue 15, fourth round: one index fewer per insert): nothing looks a
    # release up by its approval. A release names an approval that was approved, which never
    # expires, so the purge of expired ones never meets it (``services.purge_expired``); an
    # approval deleted otherwise leaves its releases as they were (DO_NOTHING: no statement on
    # this table, which without an index would read all of it).
    approval = models.ForeignKey(
        ApprovalRequest,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="releases",
        db_constraint=False,  # class docstring
        db_index=False,
    )
    released_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("data release record")
        verbose_name_plural = _("data release records")
        ordering = ["-released_at"]
        indexes = [models.Index(fields=["resident", "-released_at"])]


class UsedProof(models.Model):
    """``jti`` values of device request proofs already seen (replay protection)."""

    jti = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("used request proof")
        verbose_name_plural = _("used request proofs")


class AccountNotice(models.Model):
    """Something done to the account that its app must tell the resident, e.g. a counter
    issuing a new activation code to bind another phone (issue 13 item 1). The app shows it in
    the history and, once, when it next opens; an unbound phone is told it with its
    ``device_unbound`` error. ``kind`` picks the text (:data:`tungban.wallet.services.NOTICE_TEXTS`);
    ``details`` holds what the text needs (JSON)."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=40)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("account notice")
        verbose_name_plural = _("account notices")
        ordering = ["-created_at", "-id"]


class PanelCard(models.Model):
    """A card the resident put on the personal assistant panel (issue 16): a kind registered
    with :mod:`tungban.wallet.cards` (no ``choices``: a new domain adds its kind without a
    wallet migration), at ``position`` (0 first)."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="panel_cards")
    kind = models.CharField(max_length=40, help_text="A kind registered with tungban.wallet.cards")
    position = models.PositiveSmallIntegerField(default=0)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("assistant card")
        verbose_name_plural = _("assistant cards")
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["resident", "kind"], name="one_panel_card_per_kind")]
