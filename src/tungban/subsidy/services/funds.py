"""The fund of the AI Subsidy Scheme (issue 20, part A): releases per financial year and line,
their confirmation, virements and the ledger's statement.

Sources: seed 000 §10, §19, §20 (the three lines), §23 (the cash flow), §16 (released at the
start of each financial year), §17 (unused compute subsidy redirected at the government's
request); seed 002 ITIB197 (the year's amount confirmed after the annual report is assessed).
Every write is one transaction that appends to :class:`~tungban.subsidy.models.LedgerEntry`.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from .. import errors, rules
from ..constants import FundingLine
from ..models import AnnualReport, EntryKind, FundRelease, LedgerEntry, ReleaseState, Virement

ZERO = Decimal("0.00")


def ensure_plan() -> int:
    """The planned releases of the cash flow (seed 000 §23), one row per financial year and
    line; returns how many were added (0 when all were there: idempotent)."""
    added = 0
    for (fy, line), amount in rules.CASH_FLOW.items():
        _, created = FundRelease.objects.get_or_create(fiscal_year=fy, line=line, defaults={"planned": amount})
        added += created
    return added


def _release_row(fy: str, line: str, *, lock: bool = False) -> FundRelease:
    qs = FundRelease.objects.select_for_update() if lock else FundRelease.objects
    row = qs.filter(fiscal_year=fy, line=line).first()
    if row is None:
        raise errors.FiscalYearUnknown(fy=fy)
    return row


def _amount(value) -> Decimal:
    """A positive, finite HK$ amount. :raises DomainError: ``amount_invalid``."""
    try:
        amount = Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        raise errors.AmountInvalid() from None
    if not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -2:
        raise errors.AmountInvalid()
    return amount


def _within_appropriation(row: FundRelease, amount: Decimal) -> None:
    """The line's funds of every year — each year's confirmed amount, else its released one,
    with ``row``'s year at ``amount`` — stay within the line's appropriation (seed 000 §10,
    §19, §20: HK$2,856M / 100M / 44M).

    :raises DomainError: ``appropriation_exceeded``."""
    total = amount
    for other in FundRelease.objects.filter(line=row.line).exclude(pk=row.pk):
        total += other.confirmed if other.confirmed is not None else other.released
    ceiling = rules.APPROPRIATION[row.line]
    if total > ceiling:
        raise errors.AppropriationExceeded(total=hkd(total), appropriation=hkd(ceiling))


def release(fy: str, line: str = FundingLine.COMPUTE, *, actor: str, amount: Decimal | None = None) -> FundRelease:
    """The funder releases the year's funds of ``line`` at the start of the year (seed 000 §16):
    ``amount`` (default the planned amount) becomes available to commit.

    :raises DomainError: ``fiscal_year_unknown``, ``release_state`` (already released),
        ``amount_invalid`` (not a positive amount in HK$ and cents), ``appropriation_exceeded``
        (the line's years together above its appropriation).
    """
    with transaction.atomic():
        row = _release_row(fy, line, lock=True)
        if row.state != ReleaseState.PLANNED:
            raise errors.ReleaseStateRefused(action=errors.ACTIONS["released"])
        amount = row.planned if amount is None else _amount(amount)
        _within_appropriation(row, amount)
        row.state, row.released, row.released_at = ReleaseState.RELEASED, amount, timezone.now()
        row.save(update_fields=["state", "released", "released_at"])
        LedgerEntry.objects.create(
            fiscal_year=fy,
            line=line,
            kind=EntryKind.RELEASE,
            amount=amount,
            actor=actor,
            reason_en="Released at the start of the financial year (seed 000 §16)",
            reason_zh="於財政年度開始時發放（種子文件000第16段）",
        )
    return row


def confirm(fy: str, line: str, amount: Decimal, *, actor: str, note_en: str, note_zh: str) -> FundRelease:
    """The funder confirms the year's amount after assessing Cyberport's annual report (seed 002
    ITIB197). A confirmed amount different from the released one is a ``release`` entry of the
    difference (negative when lower). A confirmation that would leave less than already
    committed is refused.

    :raises DomainError: ``fiscal_year_unknown``, ``release_state`` (not released, or already
        confirmed), ``amount_invalid``, ``decision_reasons_required`` (a note in both languages),
        ``virement_beyond_available`` (the lower amount is already committed),
        ``appropriation_exceeded`` (the line's years together above its appropriation, seed 000 §10),
        ``annual_report_not_submitted`` (the previous year's annual report is not submitted yet:
        seed 002 ITIB197, the DPO confirms 2025-26's amount after assessing Cyberport's report on
        2024-25; the scheme's first year has no previous report).
    """
    amount = _amount(amount)
    if not (note_en.strip() and note_zh.strip()):
        raise errors.ReasonsRequired()
    with transaction.atomic():
        row = _release_row(fy, line, lock=True)
        if row.state != ReleaseState.RELEASED:
            raise errors.ReleaseStateRefused(action=errors.ACTIONS["confirmed"])
        _previous_report_submitted(fy)
        _within_appropriation(row, amount)
        difference = amount - row.released
        if difference < 0 and available(fy, line) + difference < 0:
            raise errors.VirementBeyondAvailable(line=line, available=hkd(available(fy, line)), fy=fy)
        row.state, row.confirmed, row.confirmed_at = ReleaseState.CONFIRMED, amount, timezone.now()
        row.note_en, row.note_zh = note_en.strip(), note_zh.strip()
        row.save(update_fields=["state", "confirmed", "confirmed_at", "note_en", "note_zh"])
        if difference:
            LedgerEntry.objects.create(
                fiscal_year=fy,
                line=line,
                kind=EntryKind.RELEASE,
                amount=difference,
                actor=actor,
                reason_en=f"Confirmed after the annual report (seed 002 ITIB197): {note_en.strip()}",
                reason_zh=f"評估年度報告後確定（種子文件002 ITIB197）：{note_zh.strip()}",
            )
    return row


def _previous_report_submitted(fy: str) -> None:
    """Seed 002 ITIB197: a year's amount is confirmed after the funder has Cyberport's annual
    report on the year before; the scheme's first year (no previous year in the cash flow of
    seed 000 §23) needs none. :raises DomainError: ``annual_report_not_submitted``."""
    previous = rules.previous_fiscal_year(fy)
    if not any(year == previous for year, _line in rules.CASH_FLOW):
        return
    if not AnnualReport.objects.filter(fiscal_year=previous, submitted_at__isnull=False).exists():
        raise errors.AnnualReportNotSubmitted(fy=fy, previous=previous)


def vire(
    fy: str,
    from_line: str,
    to_line: str,
    amount: Decimal,
    *,
    requested_by: str,
    reason_en: str,
    reason_zh: str,
    actor: str,
) -> Virement:
    """Move ``amount`` of ``fy``'s available funds from one line to another at the government's
    request (seed 000 §17): a :class:`Virement` and its two ledger legs, in one transaction.

    :raises DomainError: ``amount_invalid`` (not above zero, or the same line),
        ``decision_reasons_required`` (reasons in both languages and the request's reference),
        ``virement_beyond_available``.
    """
    amount = _amount(amount)
    if from_line == to_line:
        raise errors.AmountInvalid()
    if not (reason_en.strip() and reason_zh.strip() and requested_by.strip()):
        raise errors.ReasonsRequired()
    with transaction.atomic():
        _release_row(fy, from_line, lock=True)
        _release_row(fy, to_line, lock=True)
        have = available(fy, from_line)
        if amount > have:
            raise errors.VirementBeyondAvailable(line=FundingLine(from_line).label, available=hkd(have), fy=fy)
        v = Virement.objects.create(
            fiscal_year=fy,
            from_line=from_line,
            to_line=to_line,
            amount=amount,
            requested_by=requested_by.strip(),
            reason_en=reason_en.strip(),
            reason_zh=reason_zh.strip(),
            actor=actor,
        )
        for line, signed in ((from_line, -amount), (to_line, amount)):
            LedgerEntry.objects.create(
                fiscal_year=fy,
                line=line,
                kind=EntryKind.VIREMENT,
                amount=signed,
                virement=v,
                actor=actor,
                reason_en=v.reason_en,
                reason_zh=v.reason_zh,
            )
    return v


def _sums(fy: str) -> dict[tuple[str, str], Decimal]:
    rows = (
        LedgerEntry.objects.filter(fiscal_year=fy)
        .values("line", "kind")
        .annotate(total=Sum("amount"))
        .values_list("line", "kind", "total")
    )
    return {(line, kind): total or ZERO for line, kind, total in rows}


def _virement_legs(fy: str) -> dict[tuple[str, bool], Decimal]:
    out: dict[tuple[str, bool], Decimal] = {}
    for line, amount in LedgerEntry.objects.filter(fiscal_year=fy, kind=EntryKind.VIREMENT).values_list(
        "line", "amount"
    ):
        key = (line, amount > 0)
        out[key] = out.get(key, ZERO) + abs(amount)
    return out


def statement(fy: str) -> dict[FundingLine, dict]:
    """The fund's statement of financial year ``fy`` per line, HK$ ``Decimal``:
    ``appropriation`` (the line's whole, seed 000 §10/§19/§20), ``planned`` (cash flow, §23),
    ``released`` (the release entries: at the year's start and any confirmation's difference),
    ``confirmed`` (after the annual report, seed 002 ITIB197; ``None`` until then),
    ``committed``, ``decommitted``, ``spent``, ``lapsed``, ``virements_in``, ``virements_out``
    and ``available`` = released − committed + decommitted + virements_in − virements_out −
    lapsed. (``spent`` is paid out of what is committed: it does not change ``available``.)

    :raises ValueError: ``fy`` is not a financial year label.
    """
    rules.fiscal_year_bounds(fy)
    sums, legs = _sums(fy), _virement_legs(fy)
    releases = {r.line: r for r in FundRelease.objects.filter(fiscal_year=fy)}
    out: dict[FundingLine, dict] = {}
    for line in FundingLine:
        row = releases.get(line.value)
        released = sums.get((line.value, EntryKind.RELEASE), ZERO)
        committed = sums.get((line.value, EntryKind.COMMITMENT), ZERO)
        decommitted = sums.get((line.value, EntryKind.DECOMMITMENT), ZERO)
        lapsed = sums.get((line.value, EntryKind.LAPSE), ZERO)
        v_in, v_out = legs.get((line.value, True), ZERO), legs.get((line.value, False), ZERO)
        out[line] = {
            "appropriation": rules.APPROPRIATION[line],
            "planned": row.planned if row else rules.CASH_FLOW.get((fy, line), ZERO),
            "released": released,
            "confirmed": row.confirmed if row else None,
            "committed": committed,
            "decommitted": decommitted,
            "spent": sums.get((line.value, EntryKind.SPEND), ZERO),
            "lapsed": lapsed,
            "virements_in": v_in,
            "virements_out": v_out,
            "available": released - committed + decommitted + v_in - v_out - lapsed,
        }
    return out


def available(fy: str, line=FundingLine.COMPUTE) -> Decimal:
    """What ``line`` may still commit in ``fy`` (HK$): :func:`statement`'s ``available``."""
    return statement(fy)[FundingLine(line)]["available"]


def headroom(fy: str, line=FundingLine.COMPUTE) -> Decimal:
    """What an award may commit in ``fy``: :func:`available` once the year is released; for a
    later year not yet released, its planned amount (seed 000 §16, §23: it will be released at
    the year's start) less what is already committed against it. HK$ ``Decimal``."""
    row = FundRelease.objects.filter(fiscal_year=fy, line=line).first()
    if row is None:
        return ZERO
    if row.state == ReleaseState.PLANNED:
        s = statement(fy)[FundingLine(line)]
        return row.planned - s["committed"] + s["decommitted"] + s["virements_in"] - s["virements_out"]
    return available(fy, line)


def fiscal_years() -> list[str]:
    """The financial years with a planned release, in order."""
    return sorted(set(FundRelease.objects.values_list("fiscal_year", flat=True)))


def ledger(fy: str, line: str | None = None):
    """The ledger entries of ``fy`` (and ``line``), oldest first."""
    qs = LedgerEntry.objects.filter(fiscal_year=fy).select_related("award")
    return qs.filter(line=line) if line else qs


def hkd(amount: Decimal) -> str:
    """``HK$1,234,567.00``."""
    return f"HK${Decimal(amount):,.2f}"


def record_spend(award, month, amount: Decimal, *, actor: str) -> LedgerEntry:
    """The subsidy paid out of ``award``'s commitment for ``month`` (HK$; seed 000 §21: the
    annual report's use of the subsidy and financial statement), in the financial year of the
    month. At most what that month commits, less what was already spent on it.

    :raises DomainError: ``amount_invalid`` (not above zero, or above the month's unspent
        subsidy), ``award_unknown`` (the month is not in the award).
    """
    from ..models import AwardMonth

    amount = Decimal(amount)
    with transaction.atomic():
        row = AwardMonth.objects.select_for_update().filter(award=award, month=month).first()
        if row is None:
            raise errors.AwardUnknown()
        fy = rules.fiscal_year(month)
        spent = (
            LedgerEntry.objects.filter(award=award, kind=EntryKind.SPEND, month=month).aggregate(t=Sum("amount"))["t"]
            or ZERO
        )
        if amount <= 0 or amount > row.subsidy - spent:
            raise errors.AmountInvalid()
        return LedgerEntry.objects.create(
            fiscal_year=fy,
            line=FundingLine.COMPUTE,
            kind=EntryKind.SPEND,
            amount=amount,
            award=award,
            month=month,
            actor=actor,
            reason_en=f"Subsidy used in {month:%Y-%m}",
            reason_zh=f"{month:%Y-%m} 已用資助",
        )


def decommit(award, *, actor: str, reason_en: str, reason_zh: str) -> list[LedgerEntry]:
    """Give back to each financial year what ``award`` committed there and did not spend (an
    award terminated or completed under its cap): one ``decommitment`` entry per year with a
    balance; nothing when there is none (idempotent).

    :raises DomainError: ``decision_reasons_required`` (reasons in both languages)."""
    if not (reason_en.strip() and reason_zh.strip()):
        raise errors.ReasonsRequired()
    out = []
    from ..models import Award

    with transaction.atomic():
        Award.objects.select_for_update().get(pk=award.pk)  # one decommitment at a time
        rows = LedgerEntry.objects.filter(award=award).values("fiscal_year", "kind").annotate(t=Sum("amount"))
        by_fy: dict[str, Decimal] = {}
        for r in rows:
            sign = {EntryKind.COMMITMENT: 1, EntryKind.SPEND: -1, EntryKind.DECOMMITMENT: -1}.get(r["kind"], 0)
            by_fy[r["fiscal_year"]] = by_fy.get(r["fiscal_year"], ZERO) + sign * (r["t"] or ZERO)
        for fy, balance in sorted(by_fy.items()):
            if balance > 0:
                out.append(
                    LedgerEntry.objects.create(
                        fiscal_year=fy,
                        line=FundingLine.COMPUTE,
                        kind=EntryKind.DECOMMITMENT,
                        amount=balance,
                        award=award,
                        actor=actor,
                        reason_en=reason_en.strip(),
                        reason_zh=reason_zh.strip(),
                    )
                )
    return out
