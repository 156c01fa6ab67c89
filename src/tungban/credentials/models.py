"""e-Licences (電子證照) and 認證易 e-certificates (issue #5, MISSION §4).

W3C/IETF terms: an *issuer* (a department) signs *credentials* of a *credential type* about a
*holder* (a resident); a *verifier* checks them. Credentials are SD-JWT VCs
(draft-ietf-oauth-sd-jwt-vc): every claim is selectively disclosable, and the credential is
bound to the holder's app key (``cnf.jwk``, RFC 7800) when the holder has one.

* :class:`Issuer` — a department with its own signing keys (:class:`IssuerKey`), published
  as JWT VC Issuer Metadata, a JWKS and a ``did:web`` document.
* :class:`CredentialType` — id (the ``vct`` path), names in both languages, a JSON Schema for
  the claims, a validity period and a display template.
* :class:`Credential` — one issued credential: the SD-JWT as issued, where its status lives
  in a status list (:class:`StatusList`, IETF Token Status List) and the leaf index of its
  issuance in the transparency log (:mod:`tungban.ledger`).
* :class:`IssuanceBatch` — one CSV upload or API batch and its per-row outcome.
* :class:`StatusChange` — every revocation, suspension and reinstatement, with its log leaf.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tungban.identity.models import Resident
from tungban.oidc.models import Client
from tungban.wallet.models import Device

SLUG = RegexValidator(r"^[a-z][a-z0-9-]{1,39}$", _("Lower-case letters, digits and hyphens, starting with a letter."))


class Issuer(models.Model):
    """A department that issues credentials (e.g. ``swd`` 社會福利署)."""

    id = models.CharField(primary_key=True, max_length=40, validators=[SLUG])
    name_en = models.CharField(max_length=120)
    name_zh = models.CharField(max_length=60)
    client = models.OneToOneField(
        Client,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="credential_issuer",
        help_text="The department system's OpenID Connect client for the issuance API (scope 'credentials').",
    )
    officers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="credential_issuers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("issuing department")
        verbose_name_plural = _("issuing departments")

    def __str__(self) -> str:
        return f"{self.name_en} {self.name_zh}"

    def name(self, language: str | None) -> str:
        return self.name_zh if (language or "").startswith("zh") else self.name_en


class IssuerKey(models.Model):
    """An issuer's ES256 signing key; the private key is PEM-encrypted with the platform secret."""

    issuer = models.ForeignKey(Issuer, on_delete=models.CASCADE, related_name="keys")
    kid = models.CharField(max_length=64, unique=True)
    private_pem = models.BinaryField()
    public_jwk = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("issuer key")
        verbose_name_plural = _("issuer keys")


class CredentialType(models.Model):
    """A kind of e-licence or e-certificate (e.g. ``senior-citizen-card``)."""

    id = models.CharField(primary_key=True, max_length=40, validators=[SLUG])
    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="credential_types")
    name_en = models.CharField(max_length=120)
    name_zh = models.CharField(max_length=60)
    description_en = models.TextField(blank=True)
    description_zh = models.TextField(blank=True)
    schema = models.JSONField(help_text="JSON Schema (draft 2020-12) of the claims")
    validity_days = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: does not expire")
    display = models.JSONField(default=dict, help_text="Display template: colours and the claims' labels and order")
    holder_claims = models.JSONField(
        default=dict, blank=True, help_text="Claims filled from the holder's identity: claim name → resident attribute"
    )
    min_age = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The holder must be at least this old when issued"
    )
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("credential type")
        verbose_name_plural = _("credential types")

    def __str__(self) -> str:
        return f"{self.name_en} {self.name_zh}"

    def name(self, language: str | None) -> str:
        return self.name_zh if (language or "").startswith("zh") else self.name_en


class StatusList(models.Model):
    """One IETF Token Status List of an issuer (2 bits per credential: valid, invalid,
    suspended). The signed status list token is rebuilt in the transaction that changes a
    status, so every worker serves the same token."""

    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="status_lists")
    number = models.PositiveIntegerField()
    size = models.PositiveIntegerField(default=131072)
    allocated = models.PositiveIntegerField(default=0)
    token = models.TextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("status list")
        verbose_name_plural = _("status lists")
        constraints = [models.UniqueConstraint(fields=["issuer", "number"], name="one_status_list_number_per_issuer")]


class Status(models.TextChoices):
    VALID = "valid", _("Valid")
    SUSPENDED = "suspended", _("Suspended")
    REVOKED = "revoked", _("Revoked")


class JobState(models.TextChoices):
    """Where a background job is: ``queued`` → ``running`` → ``done`` | ``rejected`` |
    ``failed`` (``rejected``: a bulk file with invalid rows, nothing issued)."""

    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("In progress")
    DONE = "done", _("Done")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")


class IssuanceBatch(models.Model):
    """A bulk issuance (CSV upload or API): its input rows, and the job that checks and issues
    them in a background worker (``state``, progress ``rows_issued`` of ``rows_total``).

    ``rows`` holds the parsed file (``[{"row", "hkid", "claims"}]``) until the job ends.
    Issued credentials carry ``(batch, batch_row)``, unique, so a re-run after a crash
    never issues a row twice.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    credential_type = models.ForeignKey(CredentialType, on_delete=models.PROTECT, related_name="batches")
    issued_by = models.CharField(max_length=150)
    filename = models.CharField(max_length=255, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_issued = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.DONE)
    issue_valid_rows = models.BooleanField(default=False)
    rows = models.JSONField(default=list, blank=True)
    valid_rows = models.JSONField(
        null=True, blank=True, help_text="Row numbers that passed the checks (None: unchecked)"
    )
    cursor = models.PositiveIntegerField(default=0, help_text="How many of valid_rows are done")
    task_id = models.CharField(max_length=64, blank=True, help_text="The background task that carries the job on")
    attempts = models.PositiveSmallIntegerField(default=0)
    failure = models.CharField(max_length=200, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("issuance batch")
        verbose_name_plural = _("issuance batches")

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.REJECTED, JobState.FAILED)


class Credential(models.Model):
    """One issued credential. ``id`` is internal (officers, the API, the app); the
    credential itself carries no identifier beyond its status-list position, and the
    transparency log names it by ``digest``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    credential_type = models.ForeignKey(CredentialType, on_delete=models.PROTECT, related_name="credentials")
    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="credentials")
    holder = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="credentials")
    holder_device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sd_jwt = models.TextField(help_text="The SD-JWT as issued, with every disclosure")
    digest = models.CharField(max_length=64, unique=True, help_text="hex SHA-256 of the issuer-signed JWT (logged)")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VALID)
    status_list = models.ForeignKey(StatusList, on_delete=models.PROTECT, related_name="credentials")
    status_index = models.PositiveIntegerField()
    issued_at = models.DateTimeField()
    valid_from = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.CharField(max_length=150)
    batch = models.ForeignKey(
        IssuanceBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="credentials"
    )
    log_index = models.BigIntegerField(help_text="Transparency-log leaf index of the issuance")
    batch_row = models.PositiveIntegerField(null=True, blank=True, help_text="Line of the batch's file")

    class Meta:
        verbose_name = _("credential")
        verbose_name_plural = _("credentials")
        constraints = [
            models.UniqueConstraint(fields=["status_list", "status_index"], name="one_credential_per_status_index"),
            models.UniqueConstraint(fields=["batch", "batch_row"], name="one_credential_per_batch_row"),
        ]
        indexes = [models.Index(fields=["holder", "-issued_at"])]
        ordering = ["-issued_at"]


class StatusChange(models.Model):
    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="status_changes")
    old_status = models.CharField(max_length=10, choices=Status.choices)
    new_status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=200, blank=True)
    changed_by = models.CharField(max_length=150)
    changed_at = models.DateTimeField(default=timezone.now)
    log_index = models.BigIntegerField()

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")


class VerifierNonce(models.Model):
    """A verifier code offered by 認證易 (issue 13 item 12): the holder's app puts it in the
    KB-JWT ``nonce`` (SD-JWT §7.3), and a proof naming it is accepted once, before
    ``expires_at``. ``value`` is the code without its dash (``K7Q2M9XD``)."""

    value = models.CharField(max_length=16, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("verifier code")
        verbose_name_plural = _("verifier codes")
