"""Awards of the AI Subsidy Scheme (issue 20, part A): the terms the committee decides, their
checks, the award and its commitments in the fund's ledger, the grantee's agreement, the monthly
co-payment invoices (through :mod:`tungban.payments`) and the scheduler account (through
:mod:`tungban.compute`).

Rules and their sources: seed 000 §13 (subsidy up to 70% of the price, up to 90% in exceptional
cases, the committee decides amount, duration and conditions), §10 (at most 90% of capacity
subsidised), §16 (commitments within the year's release), fn 6 and seed 002 ITIB143 (no double
funding of a cost item), seed 002 ITIB153 (projects of 1.5 to about 12 months), §21 (the
grantee signs an agreement with Cyberport).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from tungban.core import jobs
from tungban.payments import services as payments

from .. import errors, rules
from ..constants import ApplicationState, AwardState, FundingLine
from ..models import (
    AccountState,
    Agreement,
    Application,
    Award,
    AwardMonth,
    CapacityMonth,
    CoPaymentInvoice,
    EntryKind,
    FundRelease,
    InvoiceState,
    LedgerEntry,
    PriceVersion,
)
from . import capacity, funds

log = logging.getLogger(__name__)

#: The e-service applicants use (part D's catalogue entry); CorpID mandates name it.
SERVICE_SLUG = "ai-subsidy-scheme"
#: The scheme's administrator, as a department of the e-services catalogue (part D adds it).
DEPARTMENT = "CYBERPORT"
#: The payments purpose of a co-payment invoice (registered in ``SubsidyConfig.ready``).
PURPOSE = "subsidy.co_payment"
CREATED_BY = "subsidy"
#: Application states in which the committee may decide.
DECIDABLE = (
    ApplicationState.COMPLETE,
    ApplicationState.RECOMMENDED,
    ApplicationState.ON_AGENDA,
    ApplicationState.DEFERRED,
)

_RULE_ERRORS = {
    "rate_invalid": errors.RateInvalid,
    "price_invalid": errors.PriceInvalid,
    "price_out_of_range": errors.PriceOutOfRange,
    "rate_above_exceptional_ceiling": errors.RateAboveExceptionalCeiling,
    "rate_needs_exceptional_decision": errors.RateNeedsExceptionalDecision,
    "exceptional_reasons_required": errors.ExceptionalReasonsRequired,
}


@dataclass
class AwardTerms:
    """What the committee decides: ``schedule`` (month's first day → whole nodes), ``price``
    (HK$ per node-month, negotiated; seed 000 §14), ``rate`` (the subsidy's share, 0.70 = 70%;
    seed 000 §13), the exceptional case and its reasons, the conditions (both languages)."""

    schedule: dict[dt.date, int]
    price: Decimal
    rate: Decimal
    exceptional: bool = False
    exceptional_reason_en: str = ""
    exceptional_reason_zh: str = ""
    conditions_en: str = ""
    conditions_zh: str = ""
    extra: dict = field(default_factory=dict, repr=False)


def terms_to_dict(t: AwardTerms) -> dict:
    """JSON-safe terms: months ISO (``"2025-01-01"``), Decimals as strings."""
    return {
        "schedule": {m.isoformat(): int(n) for m, n in sorted(t.schedule.items())},
        "price": str(t.price),
        "rate": str(t.rate),
        "exceptional": bool(t.exceptional),
        "exceptional_reason_en": t.exceptional_reason_en,
        "exceptional_reason_zh": t.exceptional_reason_zh,
        "conditions_en": t.conditions_en,
        "conditions_zh": t.conditions_zh,
    }


def terms_from_dict(d: dict) -> AwardTerms:
    """The terms of :func:`terms_to_dict`'s shape (also ``schedule`` as a list of
    ``{"month", "nodes"}``).

    :raises DomainError: ``schedule_invalid``, ``price_invalid``, ``rate_invalid`` (unreadable).
    """
    raw = d.get("schedule") or {}
    if isinstance(raw, list):
        raw = {row.get("month"): row.get("nodes") for row in raw}
    schedule: dict[dt.date, int] = {}
    try:
        for month, nodes in raw.items():
            day = month if isinstance(month, dt.date) else dt.date.fromisoformat(str(month)[:10])
            schedule[day] = int(nodes)
    except (TypeError, ValueError, ArithmeticError):
        raise errors.ScheduleInvalid(reason=errors.SCHEDULE_PROBLEMS["unreadable"]) from None
    try:
        price = Decimal(str(d.get("price")))
    except InvalidOperation:
        raise errors.PriceInvalid() from None
    try:
        rate = Decimal(str(d.get("rate")))
    except InvalidOperation:
        raise errors.RateInvalid() from None
    if not price.is_finite():
        raise errors.PriceInvalid()
    if not rate.is_finite():
        raise errors.RateInvalid()
    return AwardTerms(
        schedule=schedule,
        price=price,
        rate=rate,
        exceptional=bool(d.get("exceptional")),
        exceptional_reason_en=str(d.get("exceptional_reason_en") or ""),
        exceptional_reason_zh=str(d.get("exceptional_reason_zh") or ""),
        conditions_en=str(d.get("conditions_en") or ""),
        conditions_zh=str(d.get("conditions_zh") or ""),
    )


def normalised(terms: AwardTerms) -> AwardTerms:
    """``terms`` with the rate rounded once to the stored precision (0.1 per cent, half to even:
    :func:`rules.quantize_rate`, seed 000 §13) and the price to the cent
    (:func:`rules.quantize_price`, seed 000 §14): every HK$ of an award is computed from the rate
    and price it stores, so reading the award back gives the same money.

    :raises DomainError: ``rate_invalid``, ``price_invalid`` (NaN, sNaN, Infinity, unreadable)."""
    try:
        price = rules.quantize_price(terms.price)
        rate = rules.quantize_rate(terms.rate)
    except rules.RuleError as exc:
        raise _RULE_ERRORS[exc.code]() from None
    return replace(terms, price=price, rate=rate)


def check_price(service_class, price: Decimal, *, on: dt.date | None = None, required: bool = True) -> None:
    """Refuse a negotiated price outside the range of ``service_class`` in the price version in
    force on ``on`` (default today): from its ``min_price`` (0 when the price book gives none)
    to its list price (seed 000 §14: price ranges per class of service, the price set per
    application; seed 002 ITIB229: HK$320,000 per node-month). ``required=False`` (the
    secretariat's recommendation, before the price book is kept): with no version in force the
    range is 0 to :data:`rules.LIST_PRICE_PER_NODE_MONTH`.

    :raises DomainError: ``price_invalid``, ``price_out_of_range`` (bilingual, with the range),
        ``no_price_in_force`` (only when ``required``)."""
    try:
        version = list_price(service_class, on or timezone.localdate())
        top, bottom = version.list_price, version.min_price
    except errors.NoPriceInForce:
        if required:
            raise
        top, bottom = rules.LIST_PRICE_PER_NODE_MONTH, None
    try:
        rules.check_price(price, list_price=top, min_price=bottom)
    except rules.RuleError as exc:
        if exc.code == "price_out_of_range":
            raise errors.PriceOutOfRange(low=funds.hkd(exc.params["low"]), high=funds.hkd(exc.params["high"])) from None
        raise _RULE_ERRORS[exc.code]() from None


def money_by_month(terms: AwardTerms) -> dict[dt.date, tuple[Decimal, Decimal]]:
    """Month → (subsidy, co-payment) HK$ of ``terms`` (:func:`rules.month_money`)."""
    return {m: rules.month_money(n, terms.price, terms.rate) for m, n in sorted(terms.schedule.items())}


def subsidy_by_fy(terms: AwardTerms) -> dict[str, Decimal]:
    """Financial year → the subsidy of its months (HK$)."""
    out: dict[str, Decimal] = {}
    for m, (subsidy, _) in money_by_month(terms).items():
        fy = rules.fiscal_year(m)
        out[fy] = out.get(fy, Decimal("0")) + subsidy
    return out


def _check_schedule(application: Application, schedule: dict[dt.date, int]) -> None:
    problems = errors.SCHEDULE_PROBLEMS
    if not schedule:
        raise errors.ScheduleInvalid(reason=problems["no_month"])
    months = sorted(schedule)
    if any(m.day != 1 for m in months) or any(n < 1 for n in schedule.values()):
        raise errors.ScheduleInvalid(reason=problems["not_whole"])
    if len(months) > rules.MAX_AWARD_MONTHS:
        raise errors.ScheduleInvalid(reason=problems["too_long"])
    if rules.months_between(months[0], months[-1]) != months:
        raise errors.ScheduleInvalid(reason=problems["not_consecutive"])
    requested = dict(application.requested_months.values_list("month", "nodes"))
    for m in months:
        if schedule[m] > requested.get(m, 0):
            raise errors.ScheduleOutsideRequest(month=m.strftime("%Y-%m"))


def check_terms(application: Application, terms: AwardTerms, *, exclude_award=None, on: dt.date | None = None) -> None:
    """Refuse terms the scheme does not allow; returns ``None`` when they may be awarded. The
    rate and price are first rounded as they will be stored (:func:`normalised`); ``on``: the
    day of the decision (default today) whose price version bounds the price.

    :raises DomainError: ``price_invalid`` (not a finite number, or not above 0); ``price_out_of_range``
        (outside the class's range in the price version in force, above the list price: seed 000
        §14, seed 002 ITIB229); ``no_price_in_force``; ``rate_invalid`` (not a finite number),
        ``rate_above_exceptional_ceiling`` (above 90%, ever), ``rate_needs_exceptional_decision``
        (above 70% without the exceptional decision), ``exceptional_reasons_required`` (seed 000
        §13); ``schedule_invalid`` (empty, not whole nodes, not consecutive, more than 12 months:
        seed 002 ITIB153); ``schedule_outside_request`` (more nodes than requested in a month);
        ``double_funded`` (a cost item the subsidy covers has other government funding: seed 000
        fn 6, seed 002 ITIB143); ``capacity_exceeded`` (more than 90% of a month's capacity
        subsidised: seed 000 §10); ``commitment_beyond_release`` (a financial year's subsidy
        above what is released and uncommitted: seed 000 §16).
    """
    terms = normalised(terms)
    if terms.price < 0:
        raise errors.PriceInvalid()
    check_price(application.service_class, terms.price, on=on)
    try:
        rules.check_rate(
            terms.rate,
            exceptional=terms.exceptional,
            reason_en=terms.exceptional_reason_en,
            reason_zh=terms.exceptional_reason_zh,
        )
    except rules.RuleError as exc:
        raise _RULE_ERRORS[exc.code]() from None
    _check_schedule(application, terms.schedule)
    # The cost items the application declares (part D's intake) are the costs it asks the
    # subsidy to cover: one with other government funding declared is double funded.
    doubled = application.cost_items.filter(other_funding=True).order_by("position").first()
    if doubled is not None:
        raise errors.DoubleFunded(item=doubled.description, source=doubled.other_funding_source or "—")
    free = capacity.remaining(application.service_class, list(terms.schedule), exclude_award=exclude_award)
    for m, nodes in sorted(terms.schedule.items()):
        if nodes > free[m]["free_subsidised"]:
            raise errors.BeyondCapacity(month=m.strftime("%Y-%m"), free=free[m]["free_subsidised"], nodes=nodes)
    for fy, amount in sorted(subsidy_by_fy(terms).items()):
        have = funds.headroom(fy)
        if amount > have:
            raise errors.BeyondRelease(fy=fy, amount=funds.hkd(amount), available=funds.hkd(have))


def list_price(service_class, on: dt.date) -> PriceVersion:
    """The list price of ``service_class`` in force on ``on`` (seed 000 §14; seed 002 ITIB229).

    :raises DomainError: ``no_price_in_force``."""
    found = (
        PriceVersion.objects.filter(service_class=service_class, effective_from__lte=on)
        .order_by("-effective_from")
        .first()
    )
    if found is None:
        raise errors.NoPriceInForce(day=on.isoformat())
    return found


def _lock_application(application: Application) -> Application:
    return Application.objects.select_for_update().select_related("service_class").get(pk=application.pk)


def _lock_shared(application: Application, terms: AwardTerms) -> None:
    """Lock the rows two awards at once would both count on: the compute releases of the
    schedule's years and the capacity of its months (in a fixed order: no deadlock)."""
    fys = sorted(subsidy_by_fy(terms))
    list(
        FundRelease.objects.select_for_update()
        .filter(line=FundingLine.COMPUTE, fiscal_year__in=fys)
        .order_by("fiscal_year")
    )
    list(
        CapacityMonth.objects.select_for_update()
        .filter(service_class=application.service_class, month__in=list(terms.schedule))
        .order_by("month")
    )


def make_award(
    application: Application,
    terms: AwardTerms,
    *,
    decided_at: dt.datetime,
    actor: str,
    reasons_en: str = "",
    reasons_zh: str = "",
) -> Award:
    """Award ``terms`` to ``application`` in one transaction: :func:`check_terms` again under
    locks, the :class:`Award` (the list price in force at the decision, the subsidy cap and
    co-payment) and its :class:`AwardMonth` rows, one ``commitment`` ledger entry per financial
    year (line ``compute``), and the application ``approved``. It neither provisions nor bills:
    that is at the agreement (:func:`sign_agreement`).

    :raises DomainError: ``application_not_decidable`` (already decided, or not yet complete),
        ``no_price_in_force``, and every error of :func:`check_terms`.
    """
    terms = normalised(terms)
    with transaction.atomic():
        application = _lock_application(application)
        if application.state not in DECIDABLE or Award.objects.filter(application=application).exists():
            raise errors.ApplicationNotDecidable(state=ApplicationState(application.state).label)
        _lock_shared(application, terms)
        check_terms(application, terms, on=timezone.localdate(decided_at))
        book = list_price(application.service_class, timezone.localdate(decided_at))
        money = money_by_month(terms)
        months = sorted(terms.schedule)
        subsidy_cap = sum((s for s, _ in money.values()), Decimal("0"))
        co_payment = sum((c for _, c in money.values()), Decimal("0"))
        award = Award.objects.create(
            application=application,
            starts_on=months[0],
            ends_on=rules.last_day(months[-1]),
            node_months=sum(terms.schedule.values()),
            list_price=book.list_price,
            price=terms.price,
            rate=terms.rate,
            exceptional=terms.exceptional,
            exceptional_reason_en=terms.exceptional_reason_en.strip(),
            exceptional_reason_zh=terms.exceptional_reason_zh.strip(),
            subsidy_cap=subsidy_cap,
            co_payment=co_payment,
            conditions_en=terms.conditions_en.strip(),
            conditions_zh=terms.conditions_zh.strip(),
            decided_at=decided_at,
            offer_expires_on=offer_expiry(decided_at),
        )
        AwardMonth.objects.bulk_create(
            AwardMonth(award=award, month=m, nodes=terms.schedule[m], subsidy=money[m][0], co_payment=money[m][1])
            for m in months
        )
        for fy, amount in sorted(subsidy_by_fy(terms).items()):
            LedgerEntry.objects.create(
                fiscal_year=fy,
                line=FundingLine.COMPUTE,
                kind=EntryKind.COMMITMENT,
                amount=amount,
                award=award,
                actor=actor,
                reason_en=f"Award to {application.reference} (seed 000 §13)",
                reason_zh=f"批予 {application.reference} 的資助（種子文件000第13段）",
            )
        application.state = ApplicationState.APPROVED
        application.decided_at = decided_at
        application.decision_reasons_en = reasons_en.strip()
        application.decision_reasons_zh = reasons_zh.strip()
        application.save(update_fields=["state", "decided_at", "decision_reasons_en", "decision_reasons_zh"])
        _event(
            award, "offered", actor, f"Offered until {award.offer_expires_on}", f"要約有效至{award.offer_expires_on}"
        )
        _notify_after_commit(award, "subsidy_offer")
    return award


def _close(application, state, *, reasons_en, reasons_zh, decided_at) -> Application:
    if not (reasons_en.strip() and reasons_zh.strip()):
        raise errors.ReasonsRequired()
    with transaction.atomic():
        application = _lock_application(application)
        if application.state not in DECIDABLE:
            raise errors.ApplicationNotDecidable(state=ApplicationState(application.state).label)
        application.state = state
        application.decided_at = decided_at if state == ApplicationState.REJECTED else None
        application.decision_reasons_en = reasons_en.strip()
        application.decision_reasons_zh = reasons_zh.strip()
        application.save(update_fields=["state", "decided_at", "decision_reasons_en", "decision_reasons_zh"])
    return application


def reject(application: Application, *, reasons_en: str, reasons_zh: str, decided_at, actor: str) -> Application:
    """The committee rejects ``application``, with its reasons in both languages (seed 002
    ITIB153: legislators ask the reasons for rejection).

    :raises DomainError: ``decision_reasons_required``, ``application_not_decidable``."""
    return _close(
        application, ApplicationState.REJECTED, reasons_en=reasons_en, reasons_zh=reasons_zh, decided_at=decided_at
    )


def defer(application: Application, *, reasons_en: str, reasons_zh: str, decided_at, actor: str) -> Application:
    """The committee defers ``application`` to a later meeting (state ``deferred``), with its
    reasons in both languages (seed 000 §15: the committee meets regularly).

    :raises DomainError: ``decision_reasons_required``, ``application_not_decidable``."""
    return _close(
        application, ApplicationState.DEFERRED, reasons_en=reasons_en, reasons_zh=reasons_zh, decided_at=decided_at
    )


# --- the agreement, the scheduler account and the co-payment ---
def account_name(award: Award) -> str:
    """The award's account on the scheduler: ``aisc-`` and the first 12 hex digits of its id."""
    return f"aisc-{award.public_id.hex[:12]}"


def get_award(public_id) -> Award:
    """:raises DomainError: ``award_unknown``."""
    found = Award.objects.select_related("application__service_class").filter(public_id=public_id).first()
    if found is None:
        raise errors.AwardUnknown()
    return found


def sign_agreement(award: Award, resident, br_number: str, *, today: dt.date | None = None) -> Award:
    """The grantee's authorised person signs the agreement with Cyberport (seed 000 §21): their
    CorpID mandate must allow ``sign`` for the scheme's e-service and the grantee's BRN. In one
    transaction the award becomes ``active``, its :class:`Agreement` is stored with the scheduler
    account's name, and tasks are queued for the account (:func:`open_account_task`) and the
    co-payment invoice of each month that has started, the first month's at once
    (:func:`issue_invoice_task`).

    :raises DomainError: ``not_grantee`` (another organisation's award), CorpID's authority
        errors (``no_mandate``, ``mandate_out_of_scope``…), ``award_state`` (not offered),
        ``offer_lapsed`` (signed after the offer's last day, ``Award.offer_expires_on``).
    """
    from tungban.corpid.services import authority

    if br_number != award.application.br_number:
        raise errors.NotGrantee()
    mandate = authority(resident, br_number, SERVICE_SLUG, "sign")
    today = today or timezone.localdate()
    with transaction.atomic():
        award = Award.objects.select_for_update().select_related("application").get(pk=award.pk)
        if award.state == AwardState.LAPSED or (
            award.state == AwardState.OFFERED and award.offer_expires_on and today > award.offer_expires_on
        ):
            raise errors.OfferLapsed(day=award.offer_expires_on.isoformat())
        if award.state != AwardState.OFFERED:
            raise errors.AwardStateRefused(action=errors.ACTIONS["signed"], state=AwardState(award.state).label)
        award.state = AwardState.ACTIVE
        award.account = account_name(award)
        award.save(update_fields=["state", "account"])
        Agreement.objects.create(
            award=award,
            signed_at=timezone.now(),
            signed_by=resident,
            br_number=br_number,
            mandate_id=str(mandate.public_id),
            account_state=AccountState.REQUESTED,
        )
        _event(award, "signed", str(resident.public_id), "Agreement signed", "已簽署協議")
        jobs.enqueue(open_account_task, award.pk)
        months = list(award.months.order_by("month"))
        for i, am in enumerate(months):
            if i == 0 or am.month <= today:
                _queue_invoice(award, am)
    return award


def _queue_invoice(award: Award, am: AwardMonth) -> tuple[CoPaymentInvoice, bool]:
    invoice, created = CoPaymentInvoice.objects.get_or_create(
        award=award, month=am.month, defaults={"amount": am.co_payment}
    )
    if created:
        jobs.enqueue(issue_invoice_task, invoice.pk)
    return invoice, created


def issue_due_invoices(now: dt.datetime) -> dict[str, int]:
    """The worker's periodic run: the invoice of every month of an active award that has started
    and has none yet (idempotent)."""
    today = timezone.localdate(now)
    invoiced = CoPaymentInvoice.objects.filter(award=OuterRef("award"), month=OuterRef("month"))
    due = AwardMonth.objects.filter(award__state=AwardState.ACTIVE, month__lte=today).exclude(Exists(invoiced))
    count = 0
    for am in due.select_related("award"):
        with transaction.atomic():
            count += _queue_invoice(am.award, am)[1]
    return {"subsidy.CoPaymentInvoice (queued)": count}


def issue_invoice(invoice: CoPaymentInvoice) -> CoPaymentInvoice:
    """Make the payment order of a co-payment invoice (purpose ``subsidy.co_payment``, payable on
    ``/pay/<order>/`` by the agreement's signatory for the organisation); idempotent (the order's
    key is the award and month). A month with nothing to pay is marked paid."""
    invoice = CoPaymentInvoice.objects.select_related("award__application", "award__agreement").get(pk=invoice.pk)
    if invoice.state in (InvoiceState.ISSUED, InvoiceState.PAID):
        return invoice
    award = invoice.award
    cents = int((invoice.amount * 100).to_integral_value())
    if cents <= 0:
        invoice.state, invoice.paid_at = InvoiceState.PAID, timezone.now()
        invoice.save(update_fields=["state", "paid_at"])
        return invoice
    month = invoice.month.strftime("%Y-%m")
    app = award.application
    order = payments.create_order(
        department=DEPARTMENT,
        purpose=PURPOSE,
        purpose_ref=str(invoice.pk),
        lines=[
            payments.Line(
                code="co_payment",
                label_en=f"AI Subsidy Scheme co-payment {month}",
                label_zh=f"人工智能資助計劃 {month} 共付額",
                unit_cents=cents,
            )
        ],
        description_en=f"AI Subsidy Scheme — co-payment for {month}, {app.organisation_name_en}",
        description_zh=f"人工智能資助計劃 — {month} 共付額，{app.organisation_name_zh or app.organisation_name_en}",
        created_by=CREATED_BY,
        idempotency_key=f"{award.public_id}:{month}",
        payer=award.agreement.signed_by,
        metadata={"award": str(award.public_id), "month": month, "br_number": app.br_number},
        return_url=reverse("subsidy:grant", args=[award.public_id]),
    )
    invoice.state, invoice.order_reference, invoice.error = InvoiceState.ISSUED, order.reference, ""
    invoice.save(update_fields=["state", "order_reference", "error"])
    return invoice


@task(takes_context=True)
def issue_invoice_task(context, invoice_id: int, attempt: int = 1) -> str:
    """Issue a co-payment invoice's order; retried with ``core.jobs`` backoff, its last error
    visible on the invoice."""
    try:
        return issue_invoice(CoPaymentInvoice(pk=invoice_id)).state
    except Exception as exc:
        failed = not jobs.can_retry(attempt)
        CoPaymentInvoice.objects.filter(pk=invoice_id).update(
            error=str(exc)[:500], **({"state": InvoiceState.FAILED} if failed else {})
        )
        if not failed:
            jobs.enqueue(issue_invoice_task, invoice_id, attempt + 1, delay=jobs.retry_delay(attempt))
        raise


def receive_co_payment(order) -> None:
    """The purpose's ``on_paid``: the invoice is paid (idempotent)."""
    CoPaymentInvoice.objects.filter(pk=int(order.purpose_ref)).exclude(state=InvoiceState.PAID).update(
        state=InvoiceState.PAID, paid_at=timezone.now()
    )


def co_payment_reversed(order) -> None:
    """The purpose's ``on_reversed``: the bank took the payment back: the invoice is due again."""
    CoPaymentInvoice.objects.filter(pk=int(order.purpose_ref), state=InvoiceState.PAID).update(
        state=InvoiceState.ISSUED, paid_at=None
    )


def describe_co_payment(order) -> dict:
    """The purpose's ``describe``: the invoice's title and the grant's page."""
    url = order.return_url
    return {"title_en": order.description_en, "title_zh": order.description_zh, "url": url}


def compute_services():
    """:mod:`tungban.compute.services` (part B); ``None`` when it cannot be imported (the
    callers then fail visibly: the agreement shows "scheduler account pending")."""
    try:
        from tungban.compute import services as compute
    except ImportError:
        return None
    return compute


def open_account(award: Award) -> None:
    """Ask the centre's scheduler for the award's account (:func:`tungban.compute.services.open_account`,
    idempotent by name) with the schedule's GPU-minutes (:func:`rules.gpu_minutes`).

    :raises RuntimeError: the compute app is not installed (the agreement shows
        "scheduler account pending" with that error)."""
    award = Award.objects.select_related("application__service_class").get(pk=award.pk)
    compute = compute_services()
    if compute is None:
        raise RuntimeError("tungban.compute is not installed: the scheduler account cannot be opened yet")
    schedule = dict(award.months.values_list("month", "nodes"))
    compute.open_account(
        account_name(award),
        gpu_minutes=rules.gpu_minutes(schedule, award.application.service_class.gpus_per_node),
        starts_on=award.starts_on,
        ends_on=award.ends_on,
        owner=str(award.public_id),
        kind="subsidised",
        description=f"{award.application.reference} {award.application.project_title_en}"[:200],
    )


@task(takes_context=True)
def open_account_task(context, award_id: int, attempt: int = 1) -> str:
    """Open the award's scheduler account; on failure the agreement shows ``pending`` and the
    error, and the task is retried with ``core.jobs`` backoff."""
    try:
        open_account(Award(pk=award_id))
    except Exception as exc:
        Agreement.objects.filter(award_id=award_id).update(
            account_state=AccountState.PENDING, account_error=str(exc)[:500]
        )
        if jobs.can_retry(attempt):
            jobs.enqueue(open_account_task, award_id, attempt + 1, delay=jobs.retry_delay(attempt))
        raise
    Agreement.objects.filter(award_id=award_id).update(account_state=AccountState.REQUESTED, account_error="")
    return "requested"


def usage(award: Award) -> dict | None:
    """The award's usage from the scheduler (:func:`tungban.compute.services.usage`), or
    ``None`` when there is no account yet or compute is not installed."""
    compute = compute_services()
    if compute is None or not award.account:
        return None
    try:
        return compute.usage(award.account)
    except Exception:  # an account not provisioned yet
        log.info("no usage for %s yet", award.account)
        return None


def end_award(award: Award, state: str, *, reason_en: str, reason_zh: str, actor: str) -> Award:
    """End an offered, active or suspended award: ``completed`` (its period is over) or
    ``terminated`` (the committee's decision, e.g. conditions not met: seed 000 §13, §21). In one
    transaction the state changes and what the award committed and did not spend goes back to
    each financial year (:func:`funds.decommit`); the scheduler account is closed by a queued
    task (:func:`close_account_task`).

    :raises DomainError: ``award_state`` (already ended, or ``state`` not an end),
        ``decision_reasons_required``."""
    if state not in (AwardState.COMPLETED, AwardState.TERMINATED):
        raise errors.AwardStateRefused(
            action=errors.ACTIONS["ended"], state=AwardState(state).label if state in AwardState.values else "—"
        )
    if not (reason_en.strip() and reason_zh.strip()):
        raise errors.ReasonsRequired()
    with transaction.atomic():
        award = Award.objects.select_for_update().get(pk=award.pk)
        if award.state not in capacity.HOLDING:
            raise errors.AwardStateRefused(action=errors.ACTIONS["ended"], state=AwardState(award.state).label)
        award.state = state
        award.save(update_fields=["state"])
        funds.decommit(award, actor=actor, reason_en=reason_en, reason_zh=reason_zh)
        if award.account:
            jobs.enqueue(close_account_task, award.pk)
    return award


@task(takes_context=True)
def close_account_task(context, award_id: int, attempt: int = 1) -> str:
    """Close the ended award's scheduler account (:func:`tungban.compute.services.close_account`),
    retried with ``core.jobs`` backoff; the agreement shows the last error."""
    try:
        compute = compute_services()
        if compute is None:
            raise RuntimeError("tungban.compute is not installed: the scheduler account cannot be closed yet")
        compute.close_account(Award.objects.get(pk=award_id).account)
    except Exception as exc:
        Agreement.objects.filter(award_id=award_id).update(account_error=str(exc)[:500])
        if jobs.can_retry(attempt):
            jobs.enqueue(close_account_task, award_id, attempt + 1, delay=jobs.retry_delay(attempt))
        raise
    return "closed"


# --- tmoney: the offer's validity, its lapse, the notifications, who may pay ---
def offer_days() -> int:
    """The days an offer stays open for signing after the decision: setting
    ``TUNGBAN_SUBSIDY_OFFER_DAYS`` (default 30; docs/operations.md). An unsigned offer would
    otherwise hold its commitment (seed 000 §16) and its capacity (seed 000 §10) for ever."""
    from django.conf import settings

    return int(getattr(settings, "TUNGBAN_SUBSIDY_OFFER_DAYS", 30))


def offer_expiry(decided_at: dt.datetime) -> dt.date:
    """The offer's last day for signing: the decision's day (Hong Kong) + :func:`offer_days`."""
    return timezone.localdate(decided_at) + dt.timedelta(days=offer_days())


def _event(award: Award, action: str, actor: str, note_en: str = "", note_zh: str = "") -> None:
    from ..models import AwardEvent

    AwardEvent.objects.create(award=award, action=action, actor=actor[:80], note_en=note_en, note_zh=note_zh)


#: The applicant's messages about an offer (sent by the e-services portal's sender; both
#: languages use the same placeholders, :func:`tungban.notify.services.create_template`).
TEMPLATES = {
    "subsidy_offer": {
        "subject_en": "AI Subsidy Scheme: your application ((reference)) is approved",
        "subject_zh": "人工智能資助計劃：你的申請 ((reference)) 獲批",
        "body_en": "The committee approved your application ((reference)). Sign the agreement on the award's page"
        " by ((until)); an offer not signed by then lapses.",
        "body_zh": "委員會已批准你的申請 ((reference))。請於 ((until)) 或之前在資助頁面簽署協議；逾期未簽署，要約即告失效。",
    },
    "subsidy_offer_lapsed": {
        "subject_en": "AI Subsidy Scheme: the offer for ((reference)) lapsed",
        "subject_zh": "人工智能資助計劃：申請 ((reference)) 的要約已失效",
        "body_en": "The agreement for your application ((reference)) was not signed by ((until)): the offer"
        " lapsed and its compute and funds are released. Contact Cyberport to apply again.",
        "body_zh": "你的申請 ((reference)) 未有於 ((until)) 或之前簽署協議：要約已失效，其算力及資助已撥回。"
        "如需再次申請，請聯絡數碼港。",
    },
}


def _notify(award_id: int, name: str) -> None:
    """Send the applicant (the e-services application's resident) the message ``name`` of
    :data:`TEMPLATES`; logged and skipped when the portal's sender is not set up."""
    from django.core.exceptions import ObjectDoesNotExist

    from tungban.eservices import portal
    from tungban.eservices import services as eservices
    from tungban.notify import services as notify

    award = Award.objects.select_related("application").get(pk=award_id)
    try:
        sender = portal.sender()
        e_app = eservices.get_application(award.application.reference)
    except (ObjectDoesNotExist, errors.DomainError):
        log.warning("offer message %s for %s not sent: no portal sender or application", name, award.public_id)
        return
    notify.ensure_templates(sender, {name: TEMPLATES[name]})
    notify.send_to_resident(
        sender,
        notify.template_named(sender, name),
        e_app.resident,
        {"reference": award.application.reference, "until": award.offer_expires_on.isoformat()},
        reference=award.application.reference,
    )


def _notify_after_commit(award: Award, name: str) -> None:
    award_id = award.pk
    transaction.on_commit(lambda: _notify(award_id, name))


def lapse_offers(now: dt.datetime) -> dict[str, int]:
    """The worker's periodic sweep (registered with :mod:`tungban.core.retention`): each offer
    still unsigned after its last day (``offer_expires_on``) lapses, in its own transaction —
    state ``lapsed`` (its nodes no longer held: :data:`capacity.HOLDING`), its commitments given
    back by reversing ``decommitment`` entries in the ledger (:func:`funds.decommit`, never a
    delete; seed 000 §16), an :class:`AwardEvent`, and the applicant told after the commit."""
    today = timezone.localdate(now)
    due = list(Award.objects.filter(state=AwardState.OFFERED, offer_expires_on__lt=today).values_list("pk", flat=True))
    count = 0
    for pk in due:
        with transaction.atomic():
            award = Award.objects.select_for_update().select_related("application").get(pk=pk)
            if award.state != AwardState.OFFERED or not award.offer_expires_on or award.offer_expires_on >= today:
                continue  # signed meanwhile
            award.state = AwardState.LAPSED
            award.save(update_fields=["state"])
            day = award.offer_expires_on.isoformat()
            funds.decommit(
                award,
                actor="worker",
                reason_en=f"Offer to {award.application.reference} lapsed unsigned on {day}",
                reason_zh=f"批予 {award.application.reference} 的要約於{day}未簽署而失效",
            )
            _event(award, "lapsed", "worker", f"Not signed by {day}", f"未於{day}或之前簽署")
            _notify_after_commit(award, "subsidy_offer_lapsed")
            count += 1
    return {"subsidy.Award (lapsed offers)": count}


def require_payer(award: Award, resident) -> None:
    """Refuse a person who may not pay the grantee's co-payment invoices: the CorpID mandate
    for the grantee's organisation must allow ``pay`` for the scheme's e-service (the
    organisation's administrators' mandates do when their scope holds it); not only the
    agreement's signatory (seed 000 §13: the grantee pays the co-payment).

    :raises DomainError: ``not_payer`` (the mandate does not allow paying), CorpID's authority
        errors (``no_mandate``…)."""
    from tungban.corpid import errors as corpid_errors
    from tungban.corpid.services import authority

    try:
        authority(resident, award.application.br_number, SERVICE_SLUG, "pay")
    except corpid_errors.MandateOutOfScope:
        raise errors.NotPayer() from None
