"""Rules of seed 000 (the LegCo paper of April 2024) that no other test proved as behaviour
(issue 20, acceptance 2): the committee's criteria weights are configuration, not code (§13)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tungban.committees import services as committees
from tungban.committees.management.commands.load_committee import DEFAULT
from tungban.committees.models import Criterion
from tungban.committees.tests.conftest import add_member
from tungban.subsidy.committee import APPLICATION_KIND

from .conftest import make_application
from .rulebook import covers

SCORES = {"a": 8, "b": 6, "c": 7, "d": 9}


def _weighted(path, reference: str) -> Decimal:
    committee = committees.load_committee(path)
    member = add_member(committee, brn="20000000")
    meeting = committees.create_meeting(committee, f"2025-{reference}", dt.date(2025, 1, 10), quorum=1)
    item = committees.add_item(meeting, APPLICATION_KIND, str(make_application(reference).public_id))
    chair = committee.members.get(role="chair")
    committees.open_meeting(meeting, actor=chair.user)
    for code, value in SCORES.items():
        committees.score(item, member.user, code, value)
    return committees.weighted_score(item)


@covers("R20")
def test_the_four_criteria_weights_come_from_the_committees_file(loaded, tmp_path):
    """Seed 000 §13 (a)–(d): the committee scores four criteria; the weights of (c) and (d) are
    not published, so they are configuration — the same scores weigh differently under another
    file, and a file whose weights do not add up to 1 is refused before anything is stored."""
    published = _weighted(DEFAULT, "AISS-0001")
    assert {c.code: c.weight for c in Criterion.objects.all()} == {
        "a": Decimal("0.25"),
        "b": Decimal("0.20"),
        "c": Decimal("0.30"),
        "d": Decimal("0.25"),
    }
    assert published == sum(w * SCORES[c] for c, w in Criterion.objects.values_list("code", "weight"))

    text = DEFAULT.read_text(encoding="utf-8")
    other = tmp_path / "other.toml"
    other.write_text(
        text.replace('code = "ai-subsidy-scheme"', 'code = "other-scheme"')
        .replace('weight = "0.30"', 'weight = "0.10"')
        .replace('code = "d"\nweight = "0.25"', 'code = "d"\nweight = "0.45"'),
        encoding="utf-8",
    )
    reweighted = _weighted(other, "AISS-0002")
    # (a) 0.25×8 + (b) 0.20×6 + (c) 0.10×7 + (d) 0.45×9
    assert reweighted == Decimal("7.950") != published

    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('code = "ai-subsidy-scheme"', 'code = "bad"').replace('"0.30"', '"0.31"'))
    before = Criterion.objects.count()
    with pytest.raises(ValueError, match="add up to"):
        committees.load_committee(bad)
    assert Criterion.objects.count() == before
