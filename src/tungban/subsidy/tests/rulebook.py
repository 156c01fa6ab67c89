"""The AI Subsidy Scheme's rulebook (issue 20, acceptance 2): every rule of the issue's "The
scheme's rules" section (``R01``…) and every item of its "Bad input" section (``B01``…), each with
a one-line statement and its source in the seeds — ``seed 000 §N`` (the LegCo paper
``000_e8d18668e17a2217.txt``; ``§11(e)`` a sub-paragraph, ``fn 6`` a footnote) or ``seed 002
ITIBnnn`` (the 2025-26 budget replies ``002_290747ba864f0a9c.txt``); the anchor study
``design/anchors/ai-subsidy-scheme.md`` §2 quotes each one.

How to add a rule: add an :class:`Entry` to :data:`RULES` (or :data:`BAD_INPUTS`) with the next
free id and the paragraph the rule comes from; write the test that proves it (behaviour, not a
constant copied from the code), decorate it with ``@covers("Rnn")`` and give it a docstring
naming the same paragraph ("seed 000 §13", "seed 002 ITIB229"). ``test_rulebook.py`` then checks
that every entry has a test, that each covering test's docstring (or its class's) names the
rule's paragraph, and that the paragraph exists in the seed. A rule the code does not implement
yet gets ``gap=`` (where it belongs): the check marks it ``xfail(strict=True)``, so it fails —
and reminds you to remove the ``gap`` — the day a test covers it. A bad input's test asserts the
service's documented code with nothing stored (row counts before and after) and, where a page
takes the input, the page's refusal in English and in Chinese (``test_bad_input.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One rule or bad input: ``id`` (``R01``/``B01``), ``statement`` (one line, English),
    ``sources`` (``"seed 000 §13"``, ``"seed 000 fn 6"``, ``"seed 002 ITIB229"``; a covering
    test names at least one of them), ``gap`` (not implemented on main: where it should go)."""

    id: str
    statement: str
    sources: tuple[str, ...]
    gap: str = ""


RULES: tuple[Entry, ...] = (
    Entry(
        "R01",
        "HK$3bn in three lines: compute HK$2,856M, security HK$100M, ecosystem HK$44M.",
        ("seed 000 §8", "seed 000 §10", "seed 000 §19", "seed 000 §20"),
    ),
    Entry(
        "R02",
        "The cash flow by financial year: compute 857/857/1,142, security 42/32/26, ecosystem 6/16/22 "
        "(HK$M), each line summing to its appropriation.",
        ("seed 000 §23", "seed 002 ITIB197"),
    ),
    Entry("R03", "The year's funds are released at the start of each financial year (1 April).", ("seed 000 §16",)),
    Entry(
        "R04",
        "The funder confirms the year's final amount after assessing the annual report; the release is adjusted to it.",
        ("seed 002 ITIB197",),
    ),
    Entry(
        "R05",
        "A year's amount is confirmed only once the annual report it depends on has been submitted.",
        ("seed 002 ITIB197",),
    ),
    Entry(
        "R06",
        "Unused compute-subsidy money moves to promotion, training and the ecosystem at the government's "
        "request (a virement between lines), never more than is available.",
        ("seed 000 §17",),
    ),
    Entry(
        "R07",
        "Capacity about 1,300 PFLOPS in service from end-2024, rising to 3,000 PFLOPS.",
        ("seed 002 ITIB042", "seed 000 §5"),
    ),
    Entry("R08", "At most 90% of the centre's capacity is subsidised, month by month.", ("seed 000 §10",)),
    Entry(
        "R09",
        "Eligible: local universities (the 8 UGC-funded, Cap. 320 degree-awarding institutions).",
        ("seed 000 §11",),
    ),
    Entry("R10", "Eligible: R&D institutions (public R&D centres, InnoHK centres, HKPC, HKIB).", ("seed 000 §11",)),
    Entry("R11", "Eligible: government departments.", ("seed 000 §11",)),
    Entry(
        "R12",
        "Eligible: AI start-ups (Cyberport/HKSTP incubatees and graduates, TSSSU and RAISe+ start-ups).",
        ("seed 000 §11",),
    ),
    Entry(
        "R13",
        "Eligible: strategic enterprises that are based in Hong Kong and employ the specified number of professionals.",
        ("seed 000 §11",),
    ),
    Entry(
        "R14", "Individuals cannot apply: only organisations, through a person with a mandate.", ("seed 002 ITIB229",)
    ),
    Entry(
        "R15",
        "A strategic enterprise's conditions hold for the whole award and are re-checked during it.",
        ("seed 000 §11",),
    ),
    Entry(
        "R16",
        "Applications all year in batches with cut-off dates; a submission joins the first batch whose "
        "cut-off is at or after it; each batch goes to the committee's meeting.",
        ("seed 000 §15",),
    ),
    Entry(
        "R17",
        "The secretariat's first assessment takes about 2 months, counted from complete information.",
        ("seed 002 ITIB239",),
    ),
    Entry(
        "R18",
        "The secretariat recommends the price, the subsidy rate and the conditions to the committee.",
        ("seed 000 §13", "seed 000 §14"),
    ),
    Entry(
        "R19",
        "The committee's members come from the AI industry, academia, the I&T sector and government.",
        ("seed 000 §12",),
    ),
    Entry(
        "R20",
        "The committee scores four criteria (a)-(d) with configurable weights ((a) 25%, (b) 20% published).",
        ("seed 000 §13",),
    ),
    Entry("R21", "The list price is HK$320,000 per server node per month.", ("seed 002 ITIB229",)),
    Entry(
        "R22",
        "The market price is re-estimated periodically: a versioned price book, never backdated.",
        ("seed 000 §14",),
    ),
    Entry(
        "R23",
        "Price ranges and charging plans per class of service; the actual price within its class's range.",
        ("seed 000 §14",),
    ),
    Entry("R24", "The subsidy is at most 70% of the price in a normal case.", ("seed 000 §13",)),
    Entry(
        "R25",
        "In an exceptional case the committee may allow up to 90%, with its reasons in both languages.",
        ("seed 000 §13", "seed 002 ITIB229"),
    ),
    Entry(
        "R26",
        "Non-profits (universities, R&D institutions) are expected to get higher rates.",
        ("seed 000 fn 6",),
    ),
    Entry(
        "R27",
        "The subsidised part of a cost item may not receive any other government funding.",
        ("seed 000 fn 6", "seed 002 ITIB143"),
    ),
    Entry(
        "R28",
        "On low demand Cyberport may propose compute for market-price users; the committee decides.",
        ("seed 000 §17",),
    ),
    Entry("R29", "Grantees sign an agreement with Cyberport (through a person with a mandate).", ("seed 000 §21",)),
    Entry("R30", "Grantees submit periodic progress reports, reviewed by Cyberport.", ("seed 000 §21",)),
    Entry(
        "R31",
        "The committee reviews the grantees' progress reports too.",
        ("seed 000 §21",),
    ),
    Entry(
        "R32",
        "The annual report after the financial year ends: performance, security audit, use of the subsidy, "
        "financial report, next year's work plan and budget.",
        ("seed 002 ITIB153", "seed 002 ITIB197"),
    ),
    Entry("R33", "The annual report is frozen once submitted.", ("seed 000 §21",)),
    Entry(
        "R34",
        "KPIs: AISC utilisation, AI-model R&D projects, firms landed, talents, operations, cyber security, ecosystem.",
        ("seed 000 §18", "seed 000 §21", "seed 002 ITIB153"),
    ),
    Entry("R35", "Standard report: applications and the reasons for rejection.", ("seed 002 ITIB153",)),
    Entry("R36", "Standard report: min/average/max time from application to approval.", ("seed 002 ITIB239",)),
    Entry("R37", "Standard report: amount and duration per project.", ("seed 002 ITIB179", "seed 002 ITIB227")),
    Entry("R38", "Standard report: usage by applicant category.", ("seed 002 ITIB229",)),
    Entry(
        "R39",
        "An award's schedule is 1 to 12 consecutive months (approved so far: 1.5 to 12 months).",
        ("seed 002 ITIB153",),
    ),
)

BAD_INPUTS: tuple[Entry, ...] = (
    Entry("B01", "An ineligible organisation: taken in as ineligible, never assessed nor awarded.", ("seed 000 §11",)),
    Entry("B02", "A person without the organisation's mandate.", ("seed 002 ITIB229",)),
    Entry("B03", "A compute request beyond capacity (the class's nodes, 90% subsidised).", ("seed 000 §10",)),
    Entry("B04", "A rate above 70% without an exceptional-case decision.", ("seed 000 §13",)),
    Entry("B05", "A rate above 90%, ever.", ("seed 000 §13",)),
    Entry("B06", "A commitment beyond the financial year's release.", ("seed 000 §16",)),
    Entry("B07", "A double-funded cost item.", ("seed 000 fn 6", "seed 002 ITIB143")),
    Entry("B08", "A committee member scoring an application they are conflicted on.", ("seed 000 §12",)),
    Entry("B09", "A decision without reasons in both languages.", ("seed 000 §13",)),
)  # fmt: skip

ENTRIES: dict[str, Entry] = {e.id: e for e in RULES + BAD_INPUTS}

#: The attribute :func:`covers` sets on a test function.
ATTRIBUTE = "rulebook_covers"


def covers(*ids: str) -> Callable:
    """Mark a test as proving the rules / bad inputs ``ids`` (``@covers("R24", "B04")``).

    :raises KeyError: an id not in the rulebook (a typo fails at import)."""
    unknown = [i for i in ids if i not in ENTRIES]
    if unknown or not ids:
        raise KeyError(f"not in the rulebook: {unknown or 'no id'}")

    def mark(fn):
        setattr(fn, ATTRIBUTE, tuple(sorted(set(getattr(fn, ATTRIBUTE, ())) | set(ids))))
        return fn

    return mark


_SEED000 = re.compile(
    r"seed\s*0{0,2}0\b((?:\s*(?:,|and|/|–|-|&)?\s*(?:§+\s*\d+(?:\s*\([a-e]\))?|(?:fn\.?|footnote)\s*\d+))+)", re.I
)
_PART = re.compile(r"(§+|fn\.?|footnote)?\s*(\d+)", re.I)
_ITIB = re.compile(r"ITIB\s*(\d{3})", re.I)


def references(text: str) -> set[str]:
    """The seed paragraphs named in ``text``, canonical: ``"seed 000 §13"``, ``"seed 000 fn 6"``,
    ``"seed 002 ITIB229"`` (``§11(e)`` counts as ``§11``; ``§10, §16`` names both)."""
    found: set[str] = set()
    for run in _SEED000.finditer(text or ""):
        kind = "§"
        for mark, number in _PART.findall(run.group(1)):
            if mark:
                kind = "fn " if mark.lower().startswith(("fn", "foot")) else "§"
            found.add(f"seed 000 {kind}{int(number)}")
    found |= {f"seed 002 ITIB{n}" for n in _ITIB.findall(text or "")}
    return found
