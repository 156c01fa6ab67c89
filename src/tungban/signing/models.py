"""Digital signing (tungban+ accounts, issue #3): the platform's certification authority, residents'
signing credentials (a remote key plus an X.509 certificate), CRLs and signing requests.

Signing keys are remote, as in the Cloud Signature Consortium model: they stay in the
platform's keystore (PKCS#11, :mod:`.keystore`) and each use needs the resident's approval
in the app, whose device signature over the document digests is kept as evidence of sole
control (``SigningRequest.approval.signature``).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tungban.identity.models import Resident
from tungban.oidc.models import Client
from tungban.wallet.models import ApprovalRequest, Device


class AuthorityRole(models.TextChoices):
    ROOT = "root", _("Root CA")
    SIGNING = "signing", _("Signing CA (issues residents' certificates)")
    TSA = "tsa", _("Time-stamping authority")


class Authority(models.Model):
    """A CA or TSA key and certificate, created at set-up. ``private_pem`` is PKCS#8 PEM
    encrypted with the platform secret key (as the ID-token keys are)."""

    role = models.CharField(max_length=10, choices=AuthorityRole.choices, unique=True)
    certificate_der = models.BinaryField()
    private_pem = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("signing certificate authority")
        verbose_name_plural = _("signing certificate authorities")


class CredentialStatus(models.TextChoices):
    ACTIVE = "active", _("Valid")
    REVOKED = "revoked", _("Revoked")


class Keystore(models.TextChoices):
    PKCS11 = "pkcs11", "PKCS#11"
    SOFTWARE = "software", _("Software (encrypted at rest)")


class SigningCredential(models.Model):
    """A resident's signing key and certificate, tied to the bound device that approves its
    use. A new device gets a new credential; unbinding revokes the old one (RFC 5280 §5.3.1
    reason codes in ``revocation_reason``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # PROTECT: a resident's certificates (and their CRL entries) outlive any admin deletion.
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="signing_credentials")
    device = models.ForeignKey(Device, null=True, on_delete=models.SET_NULL, related_name="signing_credentials")
    serial = models.CharField(max_length=40, unique=True, help_text="Certificate serial number, hex")
    subject_serial = models.CharField(
        max_length=40, help_text="Subject serialNumber: random, the same for all of a resident's certificates"
    )
    certificate_der = models.BinaryField()
    keystore = models.CharField(max_length=10, choices=Keystore.choices)
    key_label = models.CharField(max_length=64, help_text="Label of the private key in the keystore")
    software_key_pem = models.BinaryField(null=True, blank=True, help_text="Encrypted key (software keystore only)")
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    status = models.CharField(max_length=10, choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("signing certificate")
        verbose_name_plural = _("signing certificates")
        constraints = [
            models.UniqueConstraint(
                fields=["device"], condition=Q(status="active"), name="one_active_credential_per_device"
            ),
        ]
        indexes = [models.Index(fields=["status", "revoked_at"])]


class SealKey(models.Model):
    """What every seal holds (:class:`PlatformSeal`, :class:`OrganisationSeal`): a key in the
    keystore (registered in :mod:`tungban.keys.token` when it is in a PKCS#11 token) and its
    certificate from the signing CA, valid until revoked (in the signing CA's CRL)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    serial = models.CharField(_("serial number"), max_length=40, unique=True, help_text="Certificate serial, hex")
    certificate_der = models.BinaryField(_("certificate"))
    keystore = models.CharField(_("keystore"), max_length=10, choices=Keystore.choices)
    key_label = models.CharField(_("key label"), max_length=64)
    software_key_pem = models.BinaryField(_("encrypted key"), null=True, blank=True)
    not_before = models.DateTimeField(_("valid from"))
    not_after = models.DateTimeField(_("valid until"))
    status = models.CharField(
        _("status"), max_length=10, choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revocation_reason = models.CharField(_("revocation reason"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        abstract = True


class PlatformSeal(SealKey):
    """The platform's own signing credential for one purpose: an electronic seal (ETSI EN 319
    142-1 calls a signature of a legal person a seal), e.g. ``payments.receipts`` for e-receipts
    and credit notes (issue 18). Like a resident's credential its key is in the keystore
    (PKCS#11, registered in :mod:`tungban.keys.token`) and its certificate comes from the
    signing CA, but no resident and no app approval is involved: the platform signs what it
    issues itself. One valid seal per purpose; a seal near expiry is superseded by a new one
    (the old one revoked with reason ``superseded``, in the signing CA's CRL)."""

    purpose = models.CharField(_("purpose"), max_length=40)
    name = models.CharField(_("name in the certificate"), max_length=64)

    class Meta:
        verbose_name = _("platform seal")
        verbose_name_plural = _("platform seals")
        constraints = [
            models.UniqueConstraint(
                fields=["purpose"], condition=Q(status="active"), name="one_active_seal_per_purpose"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} ({self.serial})"


class OrganisationSeal(SealKey):
    """An organisation's electronic seal (the company chop's replacement, issue 19): a legal
    person's certificate (ETSI EN 319 412-3: ``C=HK``, ``O=`` the organisation's name,
    ``organizationIdentifier`` as ETSI EN 319 412-1 §5.1.4, e.g. ``NTRHK-21812345``) from the
    signing CA, its key in the keystore like residents' keys. Signing knows organisations only
    by that identifier: whoever registers a checker in :mod:`.behalf` (CorpID) decides who may
    use the seal. One valid seal per organisation; revoked when the organisation may no longer
    use it (its CorpID suspended), replaced near expiry or when its name changes."""

    organisation_identifier = models.CharField(_("organisation identifier"), max_length=64)
    name_en = models.CharField(_("name in English"), max_length=200)
    name_zh = models.CharField(_("name in Chinese"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("organisation seal")
        verbose_name_plural = _("organisation seals")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation_identifier"],
                condition=Q(status="active"),
                name="one_active_seal_per_organisation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_identifier} ({self.serial})"


class Crl(models.Model):
    """The latest CRL (RFC 5280 §5) a CA published; rebuilt when stale or after a revocation."""

    role = models.CharField(max_length=10, choices=AuthorityRole.choices, unique=True)
    number = models.PositiveBigIntegerField(default=0)
    der = models.BinaryField(null=True)
    this_update = models.DateTimeField(null=True)
    next_update = models.DateTimeField(null=True)
    stale = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("certificate revocation list")
        verbose_name_plural = _("certificate revocation lists")


class SigningFormat(models.TextChoices):
    CADES = "cades", _("Detached CMS (CAdES) over a digest")
    PADES = "pades", _("PDF (PAdES)")


class JobState(models.TextChoices):
    """The background signing job of an approved request (``tungban worker``)."""

    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("In progress")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class SigningRequest(models.Model):
    """A service's request to have documents signed, approved once in the app.

    ``resident`` is set when the service asked after a login (the token's resident); for
    anonymous signing it is whoever approves. ``tungban purge_signing`` (cron) deletes
    submitted PDFs and results after ``TUNGBAN_SIGNING_RESULT_TTL`` seconds; the digests and
    the approval stay as the record.

    Once approved, a background job (``sign_state``: queued → running → done | failed) signs
    the documents in ``tungban worker``, storing each result once; then a callback job tells
    the service (``callback_status``), retried with backoff.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="signing_requests")
    resident = models.ForeignKey(
        Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="signing_requests"
    )
    approval = models.OneToOneField(ApprovalRequest, on_delete=models.PROTECT, related_name="signing_request")
    format = models.CharField(max_length=10, choices=SigningFormat.choices)
    reason = models.CharField(max_length=200, blank=True)
    credential = models.ForeignKey(
        SigningCredential, null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    callback_status = models.CharField(
        max_length=40,
        blank=True,
        help_text="pending | http_<code> (delivered) | retrying_<outcome> | failed_<outcome> (gave up)",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    purge_after = models.DateTimeField()
    sign_state = models.CharField(max_length=10, choices=JobState.choices, blank=True)
    sign_task_id = models.CharField(max_length=64, blank=True)
    sign_attempts = models.PositiveSmallIntegerField(default=0)
    callback_task_id = models.CharField(max_length=64, blank=True)
    callback_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("signing request")
        verbose_name_plural = _("signing requests")
        indexes = [models.Index(fields=["purge_after"])]

    @property
    def anonymous(self) -> bool:
        return self.approval.resident_id is None and self.resident_id is None

    def status(self) -> str:
        """``pending`` (waiting for the approval, or approved and being signed: see
        ``sign_state``) | ``signed`` | ``declined`` | ``expired`` | ``failed``."""
        if self.signed_at:
            return "signed"
        status = self.approval.effective_status()
        if status == "approved" and self.sign_state in (JobState.QUEUED, JobState.RUNNING):
            return "pending"
        second = self.second_approval_status() if status == "approved" and not self.sign_state else None
        if second is not None:  # for an organisation, with joint approval: the second signatory's
            return "pending" if second in ("pending", "approved") else {"completed": "failed"}.get(second, second)
        return {"approved": "failed", "completed": "failed"}.get(status, status)

    def second_approval_status(self) -> str | None:
        """For a request made for an organisation under joint approval (:class:`BehalfSigning`):
        the second signatory's approval status (``pending`` while it is not opened yet);
        ``None`` for any other request."""
        behalf = getattr(self, "behalf", None)
        if behalf is None or not behalf.joint_approval:
            return None
        return behalf.second_approval.effective_status() if behalf.second_approval_id else "pending"

    def failure_code(self) -> str:
        """Why a ``failed`` request failed: the code of the approval that failed."""
        behalf = getattr(self, "behalf", None)
        second = behalf.second_approval if behalf is not None and behalf.second_approval_id else None
        return self.approval.failure_code or (second.failure_code if second else "") or "signing_failed"


class SigningDocument(models.Model):
    """One document of a request: its name and SHA-256, the submitted PDF, the result."""

    request = models.ForeignKey(SigningRequest, on_delete=models.CASCADE, related_name="documents")
    index = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64, help_text="Lowercase hex SHA-256 of the document")
    content = models.BinaryField(null=True, help_text="Submitted PDF (PAdES), until purged")
    result = models.BinaryField(null=True, help_text="Signed PDF or DER CMS signature, until purged")

    class Meta:
        verbose_name = _("document to sign")
        verbose_name_plural = _("documents to sign")
        ordering = ["index"]
        constraints = [models.UniqueConstraint(fields=["request", "index"], name="one_document_per_index")]


class BehalfSigning(models.Model):
    """A signing request made for an organisation (issue 19): the authorised person signs with
    their own certificate, a second authorised person too when the authority requires joint
    approval, then the organisation's seal (:class:`OrganisationSeal`) covers their signatures.

    ``scheme`` names the checker registered in :mod:`.behalf` (``corpid``) that says, at the
    request, at each approval and when the job signs, whether the person may sign for
    ``organisation`` in ``service``; what it answered (the organisation's identifier and names,
    the mandate) is recorded here and written into the signatures."""

    request = models.OneToOneField(
        SigningRequest, on_delete=models.CASCADE, related_name="behalf", verbose_name=_("signing request")
    )
    scheme = models.CharField(_("authority scheme"), max_length=40)
    organisation = models.CharField(_("organisation"), max_length=64, help_text="The scheme's key, e.g. a BRN")
    service = models.CharField(_("service"), max_length=64)
    organisation_identifier = models.CharField(_("organisation identifier"), max_length=64)
    organisation_name_en = models.CharField(_("organisation's name in English"), max_length=200)
    organisation_name_zh = models.CharField(_("organisation's name in Chinese"), max_length=100, blank=True)
    mandate_id = models.CharField(_("mandate"), max_length=64)
    joint_approval = models.BooleanField(_("needs a second signatory"), default=False)
    second_approval = models.OneToOneField(
        ApprovalRequest,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="second_signing",
        verbose_name=_("second signatory's approval"),
    )
    second_resident = models.ForeignKey(
        Resident,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("second signatory"),
    )
    second_mandate_id = models.CharField(_("second signatory's mandate"), max_length=64, blank=True)
    second_credential = models.ForeignKey(
        SigningCredential,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("second signatory's certificate"),
    )
    seal = models.ForeignKey(
        OrganisationSeal,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests",
        verbose_name=_("organisation seal"),
    )

    class Meta:
        verbose_name = _("signature for an organisation")
        verbose_name_plural = _("signatures for organisations")

    @property
    def awaiting_second(self) -> bool:
        """Joint approval is required and the second signatory has not approved yet."""
        return self.joint_approval and (self.second_approval_id is None or self.second_approval.status != "approved")
