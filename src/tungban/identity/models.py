"""Residents (tungban accounts), their guardians' consents and the population register.

Source: ../shared/MISSION.md §1 and issue #2 — HKID holders aged 11+, 11-17 with a
parent's or guardian's consent; two tiers (tungban ``basic``, tungban+ ``plus``)
stored with how identity was proofed; one HKID → one account.

At rest (issue 13 item 10): HKID numbers, names, dates of birth and the e-ME contact data
(addresses, phone, e-mail) are encrypted (:class:`tungban.core.fields.EncryptedTextField`); residents and
register entries are found by ``hkid_hash``, the keyed hash of the canonical number
(:func:`tungban.core.fields.lookup_hash`), set on every save and bulk create — use
``Resident.objects.by_hkid(canonical)`` / ``.by_hkids([...])``. Raw SQL inserts must set it
themselves (:mod:`.seeding` does).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tungban.core.fields import EncryptedDateField, EncryptedTextField, LookupHashField, lookup_hash

from . import hkid as hkid_mod


class HkidQuerySet(models.QuerySet):
    """Look-ups by canonical HKID number, through the keyed hash column ``hkid_hash``."""

    def by_hkid(self, canonical: str):
        return self.filter(hkid_hash=lookup_hash(canonical))

    def by_hkids(self, canonicals):
        return self.filter(hkid_hash__in=[lookup_hash(c) for c in canonicals])


class Tier(models.TextChoices):
    BASIC = "basic", _("tungban (basic)")
    PLUS = "plus", _("tungban+ (plus)")


class ProofingMethod(models.TextChoices):
    COUNTER_IN_PERSON = "counter_in_person", _("In person at a counter, card checked by an officer")
    POPULATION_REGISTER = "population_register", _("Self-registration checked against the population register")


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class ResidentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")


class Resident(models.Model):
    """A resident's digital identity and e-ME profile (the data subject)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    hkid = EncryptedTextField(_("HKID number"), help_text=_("Canonical form, e.g. A1234563"))
    hkid_hash = LookupHashField(source="hkid", unique=True)
    family_name_en = EncryptedTextField(_("Surname (English)"))
    given_name_en = EncryptedTextField(_("Given name (English)"))
    name_zh = EncryptedTextField(_("Name (Chinese)"), blank=True)
    date_of_birth = EncryptedDateField(_("Date of birth"))
    gender = models.CharField(_("Gender"), max_length=10, choices=Gender.choices)
    tier = models.CharField(_("Tier"), max_length=10, choices=Tier.choices, default=Tier.BASIC)
    proofing_method = models.CharField(_("Identity proofed by"), max_length=32, choices=ProofingMethod.choices)
    proofed_at = models.DateTimeField(_("Identity proofed at"))
    proofed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("Officer"),
    )
    status = models.CharField(_("Status"), max_length=10, choices=ResidentStatus.choices, default=ResidentStatus.ACTIVE)
    status_reason = models.CharField(_("Reason"), max_length=200, blank=True)
    # e-ME profile (form filling); names, HKID, gender and date of birth come from above.
    # Lengths and formats are checked by the services (identity.services.clean_text).
    residential_address = EncryptedTextField(_("Residential address"), blank=True)
    billing_address = EncryptedTextField(_("Billing address"), blank=True)
    phone = EncryptedTextField(_("Phone"), blank=True)
    email = EncryptedTextField(_("Email"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = HkidQuerySet.as_manager()

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name_en} {hkid_mod.masked(self.hkid)}"

    @property
    def name_en(self) -> str:
        """English name as printed on the HKID card: SURNAME, Given Names."""
        return f"{self.family_name_en.upper()}, {self.given_name_en}"

    @property
    def hkid_display(self) -> str:
        return hkid_mod.display(self.hkid)

    @property
    def hkid_masked(self) -> str:
        return hkid_mod.masked(self.hkid)

    @property
    def is_active(self) -> bool:
        return self.status == ResidentStatus.ACTIVE


class GuardianConsent(models.Model):
    """The recorded consent of a parent or guardian for a resident aged 11-17."""

    resident = models.OneToOneField(Resident, on_delete=models.CASCADE, related_name="guardian_consent")
    guardian_name = EncryptedTextField(_("Parent or guardian's name"))
    guardian_hkid = EncryptedTextField(_("Parent or guardian's HKID number"))
    relationship = models.CharField(_("Relationship"), max_length=40)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("guardian's consent")
        verbose_name_plural = _("guardians' consents")


class PopulationRecord(models.Model):
    """An entry of the (seeded) population register used to proof self-registrations."""

    hkid = EncryptedTextField()
    hkid_hash = LookupHashField(source="hkid", unique=True)
    family_name_en = EncryptedTextField()
    given_name_en = EncryptedTextField()
    name_zh = EncryptedTextField(blank=True)
    date_of_birth = EncryptedDateField()
    gender = models.CharField(max_length=10, choices=Gender.choices)

    objects = HkidQuerySet.as_manager()

    class Meta:
        verbose_name = _("population register record")
        verbose_name_plural = _("population register records")

    def __str__(self) -> str:
        return hkid_mod.masked(self.hkid)


class SyntheticSeed(models.Model):
    """One batch of synthetic residents (:mod:`.seeding`): indices ``start`` … ``start +
    count - 1``. Their HKID numbers are encrypted, so the next free index is read here."""

    start = models.PositiveIntegerField()
    count = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("synthetic data seed")
        verbose_name_plural = _("synthetic data seeds")


class AuditEvent(models.Model):
    """Who did what to a resident's account (officer actions, suspensions, bindings)."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="audit_events")
    action = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("account event")
        verbose_name_plural = _("account events")
        ordering = ["-created_at"]
