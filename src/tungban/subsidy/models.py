"""The AI Subsidy Scheme's core records (issue 20): the centre's classes of service and their
price book, calls and batches, applications and their requested compute, awards and their
monthly schedule.

This module is the skeleton the scheme's parts share; each part adds its own models in a module
of its own under ``subsidy`` (imported at the end of this file). Money is HK$ in
``Decimal`` with 2 places; months are the first day of the month (``datetime.date``).
Organisations are named by their Business Registration number (BRN, 8 digits) and names: a
company's particulars are not personal data. The person who applied is the e-services
application's (``reference``), whose answers are encrypted there.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from .constants import ApplicantCategory, ApplicationState, AwardState

MONEY = {"max_digits": 14, "decimal_places": 2}


class ServiceClass(models.Model):
    """A class of service of the centre: a kind of server node (seed 000 §14: price ranges and
    plans per class of service and compute). ``pflops_per_node`` converts node-months to the
    PFLOPS the scheme's figures use (seed 002 ITIB153: projects of 8–512 PFLOPS)."""

    code = models.SlugField(_("Code"), max_length=40, unique=True)
    name_en = models.CharField(_("Name in English"), max_length=120)
    name_zh = models.CharField(_("Name in Chinese"), max_length=60)
    gpus_per_node = models.PositiveSmallIntegerField(_("GPUs per node"))
    pflops_per_node = models.DecimalField(_("PFLOPS per node"), max_digits=8, decimal_places=2)

    class Meta:
        verbose_name = _("class of service")
        verbose_name_plural = _("classes of service")
        ordering = ["code"]

    def __str__(self):
        return self.code


class PriceVersion(models.Model):
    """One version of a class's list price per node per month, in force from
    ``effective_from`` (seed 002 ITIB229: HK$320,000 per server node per month; seed 000 §14:
    re-estimated periodically). Never changed once saved: a new estimate is a new version."""

    service_class = models.ForeignKey(
        ServiceClass, on_delete=models.PROTECT, related_name="prices", verbose_name=_("class of service")
    )
    list_price = models.DecimalField(_("List price per node-month (HK$)"), **MONEY)
    #: The bottom of the class's price range (seed 000 §14: price ranges per class of service);
    #: the list price is its top. Empty: no lower bound published (0).
    min_price = models.DecimalField(_("Lowest negotiated price per node-month (HK$)"), null=True, blank=True, **MONEY)
    effective_from = models.DateField(_("In force from"))
    basis = models.TextField(_("Basis of the estimate"), blank=True)
    created_at = models.DateTimeField(_("Recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("list price")
        verbose_name_plural = _("list prices")
        ordering = ["service_class", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["service_class", "effective_from"], name="subsidy_price_once_per_day")
        ]

    def __str__(self):
        return f"{self.service_class_id} {self.list_price} from {self.effective_from}"


class Call(models.Model):
    """A call for applications, open all year in batches (seed 000 §15)."""

    code = models.SlugField(_("Code"), max_length=40, unique=True)
    title_en = models.CharField(_("Title in English"), max_length=200)
    title_zh = models.CharField(_("Title in Chinese"), max_length=100)
    opens_on = models.DateField(_("Opens on"))
    closes_on = models.DateField(_("Closes on"))

    class Meta:
        verbose_name = _("call for applications")
        verbose_name_plural = _("calls for applications")
        ordering = ["-opens_on"]

    def __str__(self):
        return self.code


class Batch(models.Model):
    """A batch of a call: applications received by ``cut_off`` go to the committee meeting
    planned for ``meeting_on`` (seed 000 §15: batches with cut-off dates; the committee meets
    regularly)."""

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="batches", verbose_name=_("call"))
    number = models.PositiveSmallIntegerField(_("Batch number"))
    cut_off = models.DateTimeField(_("Cut-off"))
    meeting_on = models.DateField(_("Committee meeting planned on"))

    class Meta:
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        ordering = ["cut_off"]
        constraints = [models.UniqueConstraint(fields=["call", "number"], name="subsidy_batch_number_once")]

    def __str__(self):
        return f"{self.call_id}#{self.number}"


class Application(models.Model):
    """An organisation's application to the scheme, made through the e-services engine by a
    person acting for it under a CorpID mandate (``reference`` is the e-services
    application's). ``complete_at`` starts the secretariat's 2-month clock (seed 002 ITIB239:
    counted from receipt of complete information, not from submission)."""

    public_id = models.UUIDField(_("Public identifier"), default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("E-services reference"), max_length=40, unique=True)
    batch = models.ForeignKey(
        Batch, on_delete=models.PROTECT, related_name="applications", verbose_name=_("batch"), null=True, blank=True
    )
    br_number = models.CharField(_("Business Registration number"), max_length=8, db_index=True)
    organisation_name_en = models.CharField(_("Organisation's name in English"), max_length=200)
    organisation_name_zh = models.CharField(_("Organisation's name in Chinese"), max_length=100, blank=True)
    category = models.CharField(_("Applicant category"), max_length=32, choices=ApplicantCategory.choices)
    non_profit = models.BooleanField(_("Non-profit"), default=False)
    project_title_en = models.CharField(_("Project title in English"), max_length=300)
    project_title_zh = models.CharField(_("Project title in Chinese"), max_length=150, blank=True)
    service_class = models.ForeignKey(
        ServiceClass, on_delete=models.PROTECT, related_name="applications", verbose_name=_("class of service")
    )
    state = models.CharField(
        _("State"), max_length=32, choices=ApplicationState.choices, default=ApplicationState.SUBMITTED
    )
    submitted_at = models.DateTimeField(_("Submitted at"))
    complete_at = models.DateTimeField(_("Information complete at"), null=True, blank=True)
    recommended_at = models.DateTimeField(_("Recommended at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("Decided at"), null=True, blank=True)
    #: The committee's reasons (seed 002 ITIB153: legislators ask the reasons for rejection).
    decision_reasons_en = models.TextField(_("Reasons for the decision in English"), blank=True)
    decision_reasons_zh = models.TextField(_("Reasons for the decision in Chinese"), blank=True)

    class Meta:
        verbose_name = _("subsidy application")
        verbose_name_plural = _("subsidy applications")
        ordering = ["-submitted_at"]

    def __str__(self):
        return self.reference


class RequestedMonth(models.Model):
    """The compute requested for one month: whole server nodes of the application's class."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="requested_months", verbose_name=_("application")
    )
    month = models.DateField(_("Month"))
    nodes = models.PositiveIntegerField(_("Nodes"))

    class Meta:
        verbose_name = _("requested month")
        verbose_name_plural = _("requested months")
        ordering = ["application", "month"]
        constraints = [models.UniqueConstraint(fields=["application", "month"], name="subsidy_requested_month_once")]


class Award(models.Model):
    """What the committee approved for an application (seed 000 §13: amount, duration and
    conditions), with the prices and rate it was decided at: ``list_price`` is the price book's
    at the decision, ``price`` the negotiated price per node-month (seed 000 §14), ``rate`` the
    subsidy's share of it (at most 0.70, or 0.90 with ``exceptional`` and its reasons; seed 000
    §13). ``subsidy_cap`` = node-months × price × rate, ``co_payment`` = node-months × price −
    ``subsidy_cap`` (HK$)."""

    public_id = models.UUIDField(_("Public identifier"), default=uuid.uuid4, unique=True, editable=False)
    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, related_name="award", verbose_name=_("application")
    )
    state = models.CharField(_("State"), max_length=20, choices=AwardState.choices, default=AwardState.OFFERED)
    starts_on = models.DateField(_("Starts on"))
    ends_on = models.DateField(_("Ends on"))
    node_months = models.PositiveIntegerField(_("Node-months"))
    list_price = models.DecimalField(_("List price per node-month at the decision (HK$)"), **MONEY)
    price = models.DecimalField(_("Negotiated price per node-month (HK$)"), **MONEY)
    rate = models.DecimalField(_("Subsidy rate"), max_digits=4, decimal_places=3)
    exceptional = models.BooleanField(_("Exceptional case"), default=False)
    exceptional_reason_en = models.TextField(_("Reason for the exceptional rate in English"), blank=True)
    exceptional_reason_zh = models.TextField(_("Reason for the exceptional rate in Chinese"), blank=True)
    subsidy_cap = models.DecimalField(_("Subsidy cap (HK$)"), **MONEY)
    co_payment = models.DecimalField(_("Co-payment (HK$)"), **MONEY)
    conditions_en = models.TextField(_("Conditions in English"), blank=True)
    conditions_zh = models.TextField(_("Conditions in Chinese"), blank=True)
    #: The account on the centre's scheduler (:mod:`tungban.compute`), once the agreement is signed.
    account = models.CharField(_("Scheduler account"), max_length=64, blank=True)
    decided_at = models.DateTimeField(_("Decided at"))
    #: The last day the offer may be signed (``TUNGBAN_SUBSIDY_OFFER_DAYS`` after the decision);
    #: an offer unsigned after it lapses (:func:`tungban.subsidy.services.awards.lapse_offers`).
    offer_expires_on = models.DateField(_("Offer valid until"), null=True, blank=True)

    class Meta:
        verbose_name = _("award")
        verbose_name_plural = _("awards")
        ordering = ["-decided_at"]

    def __str__(self):
        return str(self.public_id)


class AwardMonth(models.Model):
    """The award's nodes in one month, and that month's subsidy and co-payment (HK$)."""

    award = models.ForeignKey(Award, on_delete=models.CASCADE, related_name="months", verbose_name=_("award"))
    month = models.DateField(_("Month"))
    nodes = models.PositiveIntegerField(_("Nodes"))
    subsidy = models.DecimalField(_("Subsidy (HK$)"), **MONEY)
    co_payment = models.DecimalField(_("Co-payment (HK$)"), **MONEY)

    class Meta:
        verbose_name = _("award month")
        verbose_name_plural = _("award months")
        ordering = ["award", "month"]
        constraints = [models.UniqueConstraint(fields=["award", "month"], name="subsidy_award_month_once")]


from .models_progress import *  # noqa
from .models_intake import *  # noqa: E402, F401, F403
from .models_funds import *  # noqa: E402, F403
from .models_offers import *  # noqa: E402,F401,F403
