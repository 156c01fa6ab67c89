"""CorpID (數碼企業身份, issue 19): the Companies Registry's register as CorpID holds it, the
organisations that set CorpID up, the mandates of the people who act for them, and the audit
trail of every change.

Officers' and holders' HKID numbers are personal data: encrypted at rest
(:mod:`tungban.core.fields`) and found through their keyed hash.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from tungban.core.fields import EncryptedTextField, LookupHashField

from .constants import Basis, MandateState, OfficerRole, OrganisationStatus, Role


class RegisteredCompany(models.Model):
    """A company on the Companies Registry's register (loaded from the register file by
    :func:`tungban.corpid.services.load_register`; the same file the CR data provider serves
    ``cr.company-particulars.v1`` from)."""

    br_number = models.CharField(_("Business Registration number"), max_length=8, unique=True)
    company_number = models.CharField(_("Company number"), max_length=8, blank=True)
    name_en = models.CharField(_("Name in English"), max_length=200)
    name_zh = models.CharField(_("Name in Chinese"), max_length=100, blank=True)
    company_type = models.CharField(_("Company type"), max_length=40, blank=True)
    status = models.CharField(_("Status on the register"), max_length=20)
    incorporated_on = models.DateField(_("Incorporated on"))
    registered_office = models.CharField(_("Registered office"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("registered company")
        verbose_name_plural = _("registered companies")
        ordering = ["br_number"]

    def __str__(self):
        return f"{self.br_number} {self.name_en}"


class RegisteredOfficer(models.Model):
    """A director or secretary of a registered company, by HKID number."""

    company = models.ForeignKey(
        RegisteredCompany, on_delete=models.CASCADE, related_name="officers", verbose_name=_("company")
    )
    hkid = EncryptedTextField(_("HKID number"))
    hkid_hash = LookupHashField(_("HKID number's keyed hash"), source="hkid", db_index=True)
    role = models.CharField(_("Role"), max_length=20, choices=OfficerRole.choices)

    class Meta:
        verbose_name = _("registered officer")
        verbose_name_plural = _("registered officers")
        constraints = [models.UniqueConstraint(fields=["company", "hkid_hash", "role"], name="corpid_officer_once")]

    def __str__(self):
        return f"{self.company.br_number} {self.role}"


class Organisation(models.Model):
    """A company with a CorpID: set up by one of its directors, who became its first
    administrator. ``status`` is ``suspended`` while it has no administrator whose mandate is
    in force (Singapore Corppass suspends an entity without an administrator)."""

    public_id = models.UUIDField(_("Public identifier"), default=uuid.uuid4, unique=True, editable=False)
    company = models.OneToOneField(
        RegisteredCompany, on_delete=models.PROTECT, related_name="organisation", verbose_name=_("registered company")
    )
    br_number = models.CharField(_("Business Registration number"), max_length=8, unique=True)
    name_en = models.CharField(_("Name in English"), max_length=200)
    name_zh = models.CharField(_("Name in Chinese"), max_length=100, blank=True)
    status = models.CharField(
        _("Status"), max_length=20, choices=OrganisationStatus.choices, default=OrganisationStatus.ACTIVE
    )
    created_at = models.DateTimeField(_("Set up at"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["br_number"]

    def __str__(self):
        return f"{self.br_number} {self.name_en}"


class Mandate(models.Model):
    """Who may act for an organisation, in which role, for which services and actions, from
    when until when (Corppass assignments; Suomi.fi mandates; the OIDC authority claims draft's
    ``permission``). Offered mandates take effect once the holder accepts them in the app.
    A delegated mandate (``parent``) is in force only while every mandate above it is."""

    public_id = models.UUIDField(_("Public identifier"), default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="mandates", verbose_name=_("organisation")
    )
    holder = models.ForeignKey(
        "identity.Resident", on_delete=models.PROTECT, related_name="corpid_mandates", verbose_name=_("holder")
    )
    role = models.CharField(_("Role"), max_length=20, choices=Role.choices)
    services = models.JSONField(_("Services"), default=list, help_text=_('Service identifiers, or ["*"] for all'))
    actions = models.JSONField(_("Actions"), default=list)
    valid_from = models.DateField(_("Valid from"))
    valid_until = models.DateField(_("Valid until"))
    joint_approval = models.BooleanField(_("Needs a second person's approval"), default=False)
    may_delegate = models.BooleanField(_("May be delegated further"), default=False)
    basis = models.CharField(_("Basis"), max_length=20, choices=Basis.choices)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="delegations",
        verbose_name=_("delegated from"),
    )
    granted_by = models.ForeignKey(
        "identity.Resident",
        null=True,
        on_delete=models.PROTECT,
        related_name="corpid_mandates_granted",
        verbose_name=_("granted by"),
    )
    state = models.CharField(_("State"), max_length=20, choices=MandateState.choices)
    approval_id = models.CharField(_("Current approval request"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("Created at"), auto_now_add=True)
    answered_at = models.DateTimeField(_("Answered at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("Revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        "identity.Resident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    credential_id = models.UUIDField(
        _("Mandate credential"),
        null=True,
        blank=True,
        help_text=_("The SD-JWT VC issued into the holder's app when the holder accepted the mandate"),
    )

    class Meta:
        verbose_name = _("mandate")
        verbose_name_plural = _("mandates")
        ordering = ["organisation", "created_at"]
        indexes = [models.Index(fields=["holder", "state"], name="corpid_mandate_holder")]

    def __str__(self):
        return f"{self.organisation.br_number} {self.role} {self.state}"


class AuditEvent(models.Model):
    """One change to an organisation's CorpID: who, when, what (append-only)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="events", verbose_name=_("organisation")
    )
    mandate = models.ForeignKey(
        Mandate, null=True, blank=True, on_delete=models.PROTECT, related_name="events", verbose_name=_("mandate")
    )
    actor = models.ForeignKey(
        "identity.Resident", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    action = models.CharField(_("What"), max_length=40)
    detail = models.JSONField(_("Details"), default=dict, blank=True)
    at = models.DateTimeField(_("When"), auto_now_add=True)

    class Meta:
        verbose_name = _("CorpID audit event")
        verbose_name_plural = _("CorpID audit events")
        ordering = ["-at", "-id"]


class OrganisationSubject(models.Model):
    """An organisation's pairwise identifier at one OpenID Connect sector (the ``authority``
    claim's ``applies_to.organization_sub``), made as the person's pairwise ``sub`` is (OIDC
    Core §8.1, :func:`tungban.oidc.services.sector_sub`): random, created at the first corporate
    login at that sector, the same for every later one, unrelated to the BRN and different at
    every other sector."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="subjects", verbose_name=_("organisation")
    )
    sector = models.CharField(_("Sector"), max_length=255)
    sub = models.CharField(_("Pairwise identifier"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("organisation's pairwise identifier")
        verbose_name_plural = _("organisations' pairwise identifiers")
        constraints = [models.UniqueConstraint(fields=["organisation", "sector"], name="corpid_org_sub_once")]

    def __str__(self):
        return f"{self.organisation.br_number} @ {self.sector}"
