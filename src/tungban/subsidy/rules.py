"""The AI Subsidy Scheme's fixed rules and figures (issue 20): pure functions and constants, no
database. Each cites its source: seed ``000_e8d18668e17a2217.txt`` (LegCo paper, April 2024:
"seed 000 §N") and seed ``002_290747ba864f0a9c.txt`` (2025-26 budget replies: "seed 002
ITIBnnn"). Money is HK$ in :class:`~decimal.Decimal`; months are the first day of the month.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal

from .constants import FundingLine

MILLION = Decimal("1000000")

#: The HK$3 billion by line (seed 000 §10: HK$2,856M for compute; §19: HK$100M for network and
#: data security; §20: HK$44M for the AI ecosystem).
APPROPRIATION: dict[FundingLine, Decimal] = {
    FundingLine.COMPUTE: Decimal("2856") * MILLION,
    FundingLine.SECURITY: Decimal("100") * MILLION,
    FundingLine.ECOSYSTEM: Decimal("44") * MILLION,
}

#: The cash flow by financial year and line (seed 000 §23, HK$M: compute 857 / 857 / 1,142;
#: security 42 / 32 / 26; ecosystem 6 / 16 / 22; seed 002 ITIB197 confirms 2025-26's 857/32/16).
CASH_FLOW: dict[tuple[str, FundingLine], Decimal] = {
    ("2024-25", FundingLine.COMPUTE): Decimal("857") * MILLION,
    ("2025-26", FundingLine.COMPUTE): Decimal("857") * MILLION,
    ("2026-27", FundingLine.COMPUTE): Decimal("1142") * MILLION,
    ("2024-25", FundingLine.SECURITY): Decimal("42") * MILLION,
    ("2025-26", FundingLine.SECURITY): Decimal("32") * MILLION,
    ("2026-27", FundingLine.SECURITY): Decimal("26") * MILLION,
    ("2024-25", FundingLine.ECOSYSTEM): Decimal("6") * MILLION,
    ("2025-26", FundingLine.ECOSYSTEM): Decimal("16") * MILLION,
    ("2026-27", FundingLine.ECOSYSTEM): Decimal("22") * MILLION,
}

#: The subsidy's ceiling in a normal case: 70% of the service price (seed 000 §13).
NORMAL_RATE_CEILING = Decimal("0.70")
#: The ceiling the committee may allow in an exceptional case: 90% (seed 000 §13; seed 002
#: ITIB229: awards so far 70–90%).
EXCEPTIONAL_RATE_CEILING = Decimal("0.90")
#: At most 90% of the centre's capacity is subsidised (seed 000 §10: 「最高九成的算力資源」).
SUBSIDISED_CAPACITY_SHARE = Decimal("0.90")
#: The list price per server node per month (seed 002 ITIB229: 每伺服器節點每月32萬元).
LIST_PRICE_PER_NODE_MONTH = Decimal("320000")
#: The longest schedule an award may have, in months (seed 002 ITIB153: 1.5 to about 12 months).
MAX_AWARD_MONTHS = 12


class RuleError(ValueError):
    """A rule of this module refused its input; ``code`` names the rule (the services turn it
    into the documented :mod:`tungban.subsidy.errors` error)."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


def fiscal_year(day: dt.date) -> str:
    """The Hong Kong Government's financial year of ``day`` (1 April – 31 March), labelled
    ``"2024-25"`` (seed 000 §16: funds released at the start of each financial year)."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def previous_fiscal_year(label: str) -> str:
    """The financial year before ``label`` (``"2025-26"`` → ``"2024-25"``).

    :raises ValueError: as :func:`fiscal_year_bounds`."""
    start, _end = fiscal_year_bounds(label)
    return fiscal_year(start - dt.timedelta(days=1))


def fiscal_year_bounds(label: str) -> tuple[dt.date, dt.date]:
    """(1 April, 31 March) of the financial year ``label`` (``"2024-25"``).

    :raises ValueError: not a label of the form ``YYYY-YY`` with consecutive years."""
    try:
        first, second = label.split("-")
        start = int(first)
        ok = len(first) == 4 and len(second) == 2 and int(second) == (start + 1) % 100
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"not a financial year label: {label!r}")
    return dt.date(start, 4, 1), dt.date(start + 1, 3, 31)


def check_rate(rate: Decimal, *, exceptional: bool, reason_en: str = "", reason_zh: str = "") -> None:
    """Refuse a subsidy rate the scheme does not allow (seed 000 §13: up to 70% of the service
    price; the committee may allow up to 90% in exceptional cases, for reasons it records).

    :param rate: the subsidy's share of the price (0.70 = 70%).
    :raises RuleError: ``rate_invalid`` (not a finite number, or below 0), ``rate_above_exceptional_ceiling`` (above 0.90,
        ever), ``rate_needs_exceptional_decision`` (above 0.70 without ``exceptional``),
        ``exceptional_reasons_required`` (exceptional without reasons in both languages).
    """
    rate = Decimal(rate)
    if not rate.is_finite() or rate < 0:
        raise RuleError("rate_invalid")
    if rate > EXCEPTIONAL_RATE_CEILING:
        raise RuleError("rate_above_exceptional_ceiling")
    if rate > NORMAL_RATE_CEILING and not exceptional:
        raise RuleError("rate_needs_exceptional_decision")
    if exceptional and not (reason_en.strip() and reason_zh.strip()):
        raise RuleError("exceptional_reasons_required")


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """The months (first days) from ``start``'s month to ``end``'s, both included; empty when
    ``end`` is before ``start``."""
    out, month, last = [], first_of_month(start), first_of_month(end)
    while month <= last:
        out.append(month)
        month = add_months(month, 1)
    return out


def last_day(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def gpu_minutes(schedule: dict[dt.date, int], gpus_per_node: int) -> int:
    """The GPU-minutes of a schedule (month → nodes): nodes × GPUs per node × days in that
    month × 1,440, summed — the account's limit on the scheduler (anchor §7.3:
    ``GrpTRESMins=gres/gpu=...``)."""
    return sum(nodes * gpus_per_node * calendar.monthrange(m.year, m.month)[1] * 1440 for m, nodes in schedule.items())


def subsidised_cap(capacity_nodes: int) -> int:
    """The nodes of a month's capacity that may be subsidised: the floor of 90% (seed 000 §10)."""
    return int((Decimal(capacity_nodes) * SUBSIDISED_CAPACITY_SHARE).to_integral_value(rounding="ROUND_FLOOR"))


def month_money(nodes: int, price: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """(subsidy, co-payment) of ``nodes`` node-months at ``price`` per node-month and ``rate``
    (seed 000 §13: the subsidy is a share of the service price; the grantee pays the rest),
    HK$ rounded to cents (half up)."""
    cost = Decimal(nodes) * Decimal(price)
    subsidy = (cost * Decimal(rate)).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    return subsidy, cost - subsidy


#: The precision of a subsidy rate: a tenth of a per cent (``Award.rate`` keeps 3 decimals).
RATE_STEP = Decimal("0.001")
#: Money is HK$ to the cent.
CENT = Decimal("0.01")


def quantize_rate(rate) -> Decimal:
    """The subsidy rate as it is stored and as the money is computed with it: a fraction rounded
    once to :data:`RATE_STEP` (0.1 per cent), half to even (seed 000 §13: the subsidy is a share
    of the service price; the same rate must give the same money wherever it is read back).

    :raises RuleError: ``rate_invalid`` (not a finite number: NaN, sNaN, Infinity, unreadable)."""
    try:
        rate = Decimal(rate)
    except (ArithmeticError, TypeError, ValueError):
        raise RuleError("rate_invalid") from None
    if not rate.is_finite():
        raise RuleError("rate_invalid")
    return rate.quantize(RATE_STEP, rounding=ROUND_HALF_EVEN)


def quantize_price(price) -> Decimal:
    """A price per node-month in HK$ to the cent, rounded half to even (seed 000 §14: the
    negotiated price per class of service; money is kept to the cent).

    :raises RuleError: ``price_invalid`` (not a finite number)."""
    try:
        price = Decimal(price)
    except (ArithmeticError, TypeError, ValueError):
        raise RuleError("price_invalid") from None
    if not price.is_finite():
        raise RuleError("price_invalid")
    return price.quantize(CENT, rounding=ROUND_HALF_EVEN)


def check_price(price: Decimal, *, list_price: Decimal, min_price: Decimal | None = None) -> None:
    """Refuse a negotiated price outside the range of its class of service (seed 000 §14: price
    ranges and plans per class of service, the actual price set per application; seed 002
    ITIB229: the list price, HK$320,000 per server node per month, is the top of the range).

    :param price: HK$ per node-month; ``list_price``: the price version in force;
        ``min_price``: the bottom of the class's range (``None``: 0).
    :raises RuleError: ``price_invalid`` (not finite, or not above 0: subsidised capacity is
        never given away at no price, seed 000 §13: the grantee pays the rest of a price),
        ``price_out_of_range`` (below ``min_price`` or above ``list_price``; params ``low``,
        ``high``)."""
    price = Decimal(price)
    if not price.is_finite() or price <= 0:
        raise RuleError("price_invalid")
    low = Decimal(min_price) if min_price is not None else Decimal("0")
    if price < low or price > Decimal(list_price):
        raise RuleError("price_out_of_range", low=low, high=Decimal(list_price))


def non_profits_rated_higher(non_profit_rates: list[Decimal], other_rates: list[Decimal]) -> bool | None:
    """Whether the scheme meets its expectation that non-profits get higher subsidy rates (seed
    000 fn 6: 「一般而言，我們預期本地大學、研發機構等非牟利團體將獲得較高資助」): the average
    rate (a fraction, e.g. ``Decimal("0.8")``) awarded to non-profits is at least the average
    awarded to the others. An expectation, not a ceiling: nothing is refused by it; the standard
    reports and the committee's decision page show it. ``None`` when either group has no award."""
    if not non_profit_rates or not other_rates:
        return None
    return sum(non_profit_rates) / len(non_profit_rates) >= sum(other_rates) / len(other_rates)
