"""The subsidy engine's records (issue 20, part A): the fund's releases per financial year and
line, its ledger, virements, the centre's capacity per month, market-price commitments, grant
agreements, co-payment invoices and reallocation
proposals. Money is HK$ ``Decimal`` with 2 places; months are the first day of the month.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .constants import FundingLine

MONEY = {"max_digits": 14, "decimal_places": 2}


class ReleaseState(models.TextChoices):
    """A year's funds (seed 000 §16: released at the start of each financial year; seed 002
    ITIB197: the year's amount confirmed after the funder assesses the annual report)."""

    PLANNED = "planned", _("Planned in the cash flow")
    RELEASED = "released", _("Released")
    CONFIRMED = "confirmed", _("Confirmed")


class FundRelease(models.Model):
    """One financial year's funds of one line: ``planned`` (the cash flow, seed 000 §23),
    ``released`` (at the start of the year, seed 000 §16), ``confirmed`` (after the annual
    report is assessed, seed 002 ITIB197)."""

    fiscal_year = models.CharField(_("Financial year"), max_length=7)
    line = models.CharField(_("Funding line"), max_length=16, choices=FundingLine.choices)
    state = models.CharField(_("State"), max_length=12, choices=ReleaseState.choices, default=ReleaseState.PLANNED)
    planned = models.DecimalField(_("Planned (HK$)"), **MONEY)
    released = models.DecimalField(_("Released (HK$)"), **MONEY, default=0)
    released_at = models.DateTimeField(_("Released at"), null=True, blank=True)
    confirmed = models.DecimalField(_("Confirmed (HK$)"), **MONEY, null=True, blank=True)
    confirmed_at = models.DateTimeField(_("Confirmed at"), null=True, blank=True)
    note_en = models.TextField(_("Note in English"), blank=True)
    note_zh = models.TextField(_("Note in Chinese"), blank=True)

    class Meta:
        verbose_name = _("fund release")
        verbose_name_plural = _("fund releases")
        ordering = ["fiscal_year", "line"]
        constraints = [models.UniqueConstraint(fields=["fiscal_year", "line"], name="subsidy_release_once")]

    def __str__(self):
        return f"{self.fiscal_year} {self.line}"


class EntryKind(models.TextChoices):
    RELEASE = "release", _("Release")
    COMMITMENT = "commitment", _("Commitment")
    DECOMMITMENT = "decommitment", _("Decommitment")
    SPEND = "spend", _("Spend")
    VIREMENT = "virement", _("Virement")
    LAPSE = "lapse", _("Lapse")


class LedgerEntry(models.Model):
    """One movement of the fund (append-only): ``amount`` HK$ is positive, except a
    ``virement``'s leg out of a line and a confirmation below the released amount, which are
    negative. Who (``actor``), when (``at``) and why (``reason_en/zh``)."""

    fiscal_year = models.CharField(_("Financial year"), max_length=7, db_index=True)
    line = models.CharField(_("Funding line"), max_length=16, choices=FundingLine.choices)
    kind = models.CharField(_("Kind"), max_length=16, choices=EntryKind.choices)
    amount = models.DecimalField(_("Amount (HK$)"), **MONEY)
    award = models.ForeignKey(
        "subsidy.Award",
        on_delete=models.PROTECT,
        related_name="ledger_entries",
        verbose_name=_("award"),
        null=True,
        blank=True,
    )
    virement = models.ForeignKey(
        "subsidy.Virement",
        on_delete=models.PROTECT,
        related_name="entries",
        verbose_name=_("virement"),
        null=True,
        blank=True,
    )
    #: The award's month a ``spend`` is for.
    month = models.DateField(_("Month"), null=True, blank=True)
    actor = models.CharField(_("Recorded by"), max_length=150)
    at = models.DateTimeField(_("Recorded at"), auto_now_add=True)
    reason_en = models.TextField(_("Reason in English"), blank=True)
    reason_zh = models.TextField(_("Reason in Chinese"), blank=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.fiscal_year} {self.line} {self.kind} {self.amount}"


class Virement(models.Model):
    """Money moved between lines at the government's request (seed 000 §17: unused compute
    subsidy redirected to promotion, talent and the ecosystem)."""

    fiscal_year = models.CharField(_("Financial year"), max_length=7)
    from_line = models.CharField(_("From line"), max_length=16, choices=FundingLine.choices)
    to_line = models.CharField(_("To line"), max_length=16, choices=FundingLine.choices)
    amount = models.DecimalField(_("Amount (HK$)"), **MONEY)
    requested_by = models.CharField(_("Requested by (the government's reference)"), max_length=200)
    reason_en = models.TextField(_("Reason in English"))
    reason_zh = models.TextField(_("Reason in Chinese"))
    actor = models.CharField(_("Recorded by"), max_length=150)
    at = models.DateTimeField(_("Recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("virement")
        verbose_name_plural = _("virements")
        ordering = ["-at"]

    def __str__(self):
        return f"{self.fiscal_year} {self.from_line}→{self.to_line} {self.amount}"


class CapacityMonth(models.Model):
    """The nodes of a class of service in service in one month (seed 002 ITIB042: about 1,300
    PFLOPS from the end of 2024, rising to 3,000 within 2025)."""

    service_class = models.ForeignKey(
        "subsidy.ServiceClass", on_delete=models.PROTECT, related_name="capacity", verbose_name=_("class of service")
    )
    month = models.DateField(_("Month"))
    nodes = models.PositiveIntegerField(_("Nodes"))

    class Meta:
        verbose_name = _("capacity month")
        verbose_name_plural = _("capacity months")
        ordering = ["service_class", "month"]
        constraints = [models.UniqueConstraint(fields=["service_class", "month"], name="subsidy_capacity_once")]


class MarketCommitment(models.Model):
    """Nodes sold at the market price in one month (seed 000 §5: the centre runs on a market
    model; §17: compute may go to market-price projects)."""

    service_class = models.ForeignKey(
        "subsidy.ServiceClass", on_delete=models.PROTECT, related_name="market", verbose_name=_("class of service")
    )
    month = models.DateField(_("Month"))
    nodes = models.PositiveIntegerField(_("Nodes"))
    customer = models.CharField(_("Customer"), max_length=200)
    account = models.CharField(_("Scheduler account"), max_length=64, blank=True)
    # tcommittee: the market price charged and the committee's approval (services.market)
    price = models.DecimalField(_("Market price per node-month (HK$)"), null=True, blank=True, **MONEY)
    proposal = models.ForeignKey(
        "subsidy.ReallocationProposal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="market_commitments",
        verbose_name=_("reallocation approved by the committee"),
    )
    committed_by = models.CharField(_("Committed by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("market commitment")
        verbose_name_plural = _("market commitments")
        ordering = ["service_class", "month"]


class AccountState(models.TextChoices):
    NOT_REQUESTED = "", _("Not requested")
    PENDING = "pending", _("Scheduler account pending")
    REQUESTED = "requested", _("Scheduler account requested")


class Agreement(models.Model):
    """The grantee's agreement with Cyberport (seed 000 §21), signed by a person with a CorpID
    mandate to sign for the organisation; ``account_state`` shows the scheduler account's
    provisioning through :mod:`tungban.compute` and ``account_error`` its last failure."""

    award = models.OneToOneField(
        "subsidy.Award", on_delete=models.PROTECT, related_name="agreement", verbose_name=_("award")
    )
    signed_at = models.DateTimeField(_("Signed at"))
    signed_by = models.ForeignKey(
        "identity.Resident", on_delete=models.PROTECT, related_name="+", verbose_name=_("signed by")
    )
    br_number = models.CharField(_("Business Registration number"), max_length=8)
    mandate_id = models.CharField(_("Mandate"), max_length=64)
    account_state = models.CharField(
        _("Scheduler account"), max_length=12, choices=AccountState.choices, blank=True, default=""
    )
    account_error = models.TextField(_("Last scheduler error"), blank=True)

    class Meta:
        verbose_name = _("grant agreement")
        verbose_name_plural = _("grant agreements")


class InvoiceState(models.TextChoices):
    QUEUED = "queued", _("Being issued")
    ISSUED = "issued", _("Issued")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Not issued")


class CoPaymentInvoice(models.Model):
    """The grantee's share of one month (seed 000 §13: the subsidy covers at most 70–90% of the
    price; the rest is the grantee's), issued as a payment order (``order_reference``) of the
    ``subsidy.co_payment`` purpose."""

    award = models.ForeignKey(
        "subsidy.Award", on_delete=models.PROTECT, related_name="invoices", verbose_name=_("award")
    )
    month = models.DateField(_("Month"))
    amount = models.DecimalField(_("Amount (HK$)"), **MONEY)
    state = models.CharField(_("State"), max_length=10, choices=InvoiceState.choices, default=InvoiceState.QUEUED)
    order_reference = models.CharField(_("Payment order"), max_length=40, blank=True)
    error = models.TextField(_("Last error"), blank=True)
    created_at = models.DateTimeField(_("Created at"), auto_now_add=True)
    paid_at = models.DateTimeField(_("Paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("co-payment invoice")
        verbose_name_plural = _("co-payment invoices")
        ordering = ["award", "month"]
        constraints = [models.UniqueConstraint(fields=["award", "month"], name="subsidy_invoice_once_per_month")]


class ReallocationState(models.TextChoices):
    PROPOSED = "proposed", _("Proposed by Cyberport")
    APPROVED = "approved", _("Approved by the committee")
    REJECTED = "rejected", _("Rejected by the committee")
    DEFERRED = "deferred", _("Deferred by the committee")


class ReallocationProposal(models.Model):
    """Cyberport proposes lending an award's unused GPU-minutes to a market-price account; the
    committee decides (seed 000 §17: 「數碼港可向獨立委員會建議調撥部分算力」)."""

    public_id = models.UUIDField(_("Public identifier"), unique=True, editable=False)
    award = models.ForeignKey(
        "subsidy.Award", on_delete=models.PROTECT, related_name="reallocations", verbose_name=_("award")
    )
    to_account = models.CharField(_("Market-price account"), max_length=64)
    gpu_minutes = models.PositiveBigIntegerField(_("GPU-minutes"))
    reason_en = models.TextField(_("Reason in English"))
    reason_zh = models.TextField(_("Reason in Chinese"))
    state = models.CharField(
        _("State"), max_length=10, choices=ReallocationState.choices, default=ReallocationState.PROPOSED
    )
    proposed_by = models.CharField(_("Proposed by"), max_length=150)
    proposed_at = models.DateTimeField(_("Proposed at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("Decided at"), null=True, blank=True)
    decision_reasons_en = models.TextField(_("Reasons for the decision in English"), blank=True)
    decision_reasons_zh = models.TextField(_("Reasons for the decision in Chinese"), blank=True)

    class Meta:
        verbose_name = _("reallocation proposal")
        verbose_name_plural = _("reallocation proposals")
        ordering = ["-proposed_at"]
