"""Intake of the AI Subsidy Scheme (issue 20, part D): the register of eligible institutions,
each application's cost items, and the secretariat's record of its assessment (eligibility,
completeness, technical review, recommendation)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .constants import ApplicantCategory

#: As ``models.MONEY`` (not imported: ``models`` imports this module at its end).
MONEY = {"max_digits": 14, "decimal_places": 2}

__all__ = ["Assessment", "CostItem", "EligibleInstitution", "InstitutionKind"]


class InstitutionKind(models.TextChoices):
    """The kinds of eligible organisation seed 000 §11 names, within its categories."""

    UGC_UNIVERSITY = "ugc_university", _("University funded by the University Grants Committee")
    CAP320_INSTITUTION = "cap320_institution", _("Self-financing degree-awarding institution (Cap. 320)")
    PUBLIC_RD_CENTRE = "public_rd_centre", _("Public research and development centre")
    INNOHK_CENTRE = "innohk_centre", _("InnoHK research centre")
    HKPC = "hkpc", _("Hong Kong Productivity Council")
    HKIB = "hkib", _("Hong Kong Institute of Biotechnology")
    GOVERNMENT_DEPARTMENT = "government_department", _("Government department")
    CYBERPORT_STARTUP = "cyberport_startup", _("Cyberport incubatee or graduate")
    HKSTP_STARTUP = "hkstp_startup", _("Science Park incubatee or graduate")
    TSSSU_STARTUP = "tsssu_startup", _("Start-up under TSSSU")
    RAISE_STARTUP = "raise_startup", _("Start-up under RAISe+")


class EligibleInstitution(models.Model):
    """One organisation of the register of eligible institutions (seed 000 §11(a)–(d)),
    matched by BRN; loaded from ``subsidy/eligibility/institutions.toml``
    (:func:`tungban.subsidy.services.eligibility.load_institutions`)."""

    br_number = models.CharField(_("Business Registration number"), max_length=8, unique=True)
    category = models.CharField(_("Applicant category"), max_length=32, choices=ApplicantCategory.choices)
    kind = models.CharField(_("Kind of institution"), max_length=32, choices=InstitutionKind.choices)
    name_en = models.CharField(_("Name in English"), max_length=200)
    name_zh = models.CharField(_("Name in Chinese"), max_length=100)
    listed = models.BooleanField(_("Listed"), default=True)

    class Meta:
        verbose_name = _("eligible institution")
        verbose_name_plural = _("eligible institutions")
        ordering = ["category", "name_en"]

    def __str__(self):
        return f"{self.br_number} {self.name_en}"


class CostItem(models.Model):
    """A cost item of the project as declared, with any other government funding for it (seed
    000 fn 6, seed 002 ITIB143: no double funding of the same cost)."""

    application = models.ForeignKey(
        "subsidy.Application", on_delete=models.CASCADE, related_name="cost_items", verbose_name=_("application")
    )
    position = models.PositiveSmallIntegerField(_("Position"))
    description = models.CharField(_("Description"), max_length=300)
    amount = models.DecimalField(_("Amount (HK$)"), **MONEY)
    other_funding = models.BooleanField(_("Other government funding declared"), default=False)
    other_funding_source = models.CharField(_("Source of the other funding"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("cost item")
        verbose_name_plural = _("cost items")
        ordering = ["application", "position"]
        constraints = [models.UniqueConstraint(fields=["application", "position"], name="subsidy_cost_item_once")]


class Assessment(models.Model):
    """The secretariat's record of one application (seed 000 §13, §15; seed 002 ITIB239):
    the eligibility check and its reasons, the warnings found at submission, the justification
    the applicant gave, the technical review and the recommendation to the committee
    (:func:`tungban.subsidy.services.intake.recommendation`)."""

    application = models.OneToOneField(
        "subsidy.Application", on_delete=models.CASCADE, related_name="assessment", verbose_name=_("application")
    )
    eligible = models.BooleanField(_("Eligible"), default=False)
    eligibility_basis_en = models.TextField(_("Basis of eligibility in English"), blank=True)
    eligibility_basis_zh = models.TextField(_("Basis of eligibility in Chinese"), blank=True)
    #: ``[{"code", "en", "zh"}]``: what the secretariat must look at (e.g. a double-funded item).
    warnings = models.JSONField(_("Warnings"), default=list, blank=True)
    #: The criterion (b) answers: ``model_size``, ``dataset``, ``precision``, ``workload``, ``justification``.
    justification = models.JSONField(_("Justification"), default=dict, blank=True)
    #: A strategic enterprise's declared conditions (seed 000 §11(e)), re-checked during the award.
    hk_base = models.BooleanField(_("Based in Hong Kong"), null=True, blank=True)
    professionals_employed = models.PositiveIntegerField(_("Professionals employed"), null=True, blank=True)
    conditions_checked_at = models.DateTimeField(_("Conditions last checked at"), null=True, blank=True)
    technical_review_en = models.TextField(_("Technical review in English"), blank=True)
    technical_review_zh = models.TextField(_("Technical review in Chinese"), blank=True)
    reviewed_at = models.DateTimeField(_("Reviewed at"), null=True, blank=True)
    reviewed_by = models.CharField(_("Reviewed by"), max_length=150, blank=True)
    #: The recommended terms (the subsidy engine's terms dict) and the reasons, in both languages.
    recommendation = models.JSONField(_("Recommendation"), default=dict, blank=True)
    recommended_by = models.CharField(_("Recommended by"), max_length=150, blank=True)
    agenda_item = models.CharField(_("Agenda item"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("secretariat's assessment")
        verbose_name_plural = _("secretariat's assessments")

    def __str__(self):
        return str(self.application_id)
