"""The committees' rules (issue 20, part E): conflicts and recusal (anchor study §3.2, Waldur's
model; seed 000 §12), scoring on the four criteria (seed 000 §13), decisions with reasons in
both languages, minutes frozen at close."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.core.management import call_command

from tungban.committees import services
from tungban.committees.constants import ConflictSource, ConflictStatus, Sector, Severity
from tungban.committees.models import AgendaItem, Conflict, Criterion, Meeting, Member, Score
from tungban.core.errors import DomainError
from tungban.subsidy.tests.rulebook import covers

from .conftest import add_member

pytestmark = pytest.mark.django_db

SUBJECT_BRN = "12345678"


def _code(exc_info) -> str:
    return exc_info.value.code


@pytest.fixture
def people(committee):
    chair = Member.objects.get(committee=committee, role="chair")
    chair.user.is_staff = True
    conflicted = add_member(committee, brn=SUBJECT_BRN, name="Conflicted member")
    other = add_member(committee, brn="87654321", name="Other member")
    return chair, conflicted, other


@pytest.fixture
def item(kind, meeting, people):
    kind.proposal("p1", brns=[SUBJECT_BRN], cap=1000)
    it = services.add_item(meeting, kind.KIND, "p1")
    services.open_meeting(meeting, actor=people[0].user)
    it.refresh_from_db()
    return it


@covers("R19", "R20")
def test_bundled_committee_has_the_four_criteria_and_every_sector_seed_000_s12_s13(db, capsys):
    """Seed 000 §12, §13: members from every sector; the four criteria with weights."""
    call_command("load_committee")
    call_command("load_committee")  # idempotent
    crit = {c.code: c for c in Criterion.objects.filter(committee__code="ai-subsidy-scheme")}
    assert {k: c.weight for k, c in crit.items()} == {
        "a": Decimal("0.250"),
        "b": Decimal("0.200"),
        "c": Decimal("0.300"),
        "d": Decimal("0.250"),
    }
    assert [k for k, c in crit.items() if not c.published] == ["c", "d"]
    sectors = set(Member.objects.filter(committee__code="ai-subsidy-scheme").values_list("sector", flat=True))
    assert sectors == set(Sector.values)
    assert Member.objects.filter(committee__code="ai-subsidy-scheme", role="chair").count() == 1
    assert "4 criteria, 5 members" in capsys.readouterr().out


def test_member_of_the_subjects_organisation_is_recused_when_the_item_is_added_anchor_s3_2(item, people):
    chair, conflicted, other = people
    (conflict,) = Conflict.objects.filter(item=item)
    assert conflict.member == conflicted
    assert (conflict.source, conflict.severity, conflict.status) == (
        ConflictSource.ORGANISATION,
        Severity.REAL,
        ConflictStatus.RECUSED,
    )
    assert services.is_recused(item, conflicted) and not services.is_recused(item, other)


def test_standing_declaration_recuses_at_once_on_open_items_and_later_ones(kind, meeting, people):
    chair, conflicted, other = people
    kind.proposal("p2", brns=["55555555"])
    item = services.add_item(meeting, kind.KIND, "p2")
    assert not services.is_recused(item, other)
    services.declare(other, nature="equity", severity=Severity.APPARENT, organisation_brn="55555555")
    c = services.conflict_of(item, other)
    assert (c.status, c.severity, c.source) == (
        ConflictStatus.RECUSED,
        Severity.APPARENT,
        ConflictSource.DECLARED_INTEREST,
    )
    kind.proposal("p3", brns=["55555555", "66666666"])
    later = services.add_item(meeting, kind.KIND, "p3")
    assert services.is_recused(later, other)


def test_declaration_for_one_meeting_does_not_reach_another(kind, committee, meeting, people):
    import datetime as dt

    _, _, other = people
    second = services.create_meeting(committee, "2027-B1", dt.date(2027, 3, 1))
    kind.proposal("p4", brns=["44444444"])
    in_first = services.add_item(meeting, kind.KIND, "p4")
    in_second = services.add_item(second, kind.KIND, "p4")
    services.declare(other, nature="board", organisation_brn="44444444", meeting=second)
    assert services.is_recused(in_second, other)
    assert not services.is_recused(in_first, other)


def test_declaration_on_an_item_recuses_from_that_item(item, people):
    _, _, other = people
    services.declare(other, nature="other", item=item, details="My spouse advises the applicant.")
    c = services.conflict_of(item, other)
    assert c.status == ConflictStatus.RECUSED and c.source == ConflictSource.DECLARED_FOR_ITEM


def test_declaration_needs_a_brn_or_an_item(people):
    with pytest.raises(DomainError) as e:
        services.declare(people[2], nature="other")
    assert _code(e) == "declaration_target"


@covers("B08")
def test_conflicted_member_cannot_score_nor_see_scores(item, people):
    """Seed 000 §12: a conflicted member cannot score; nothing stored."""
    chair, conflicted, other = people
    services.score(item, other.user, "a", 7)
    with pytest.raises(DomainError) as e:
        services.score(item, conflicted.user, "a", 9)
    assert _code(e) == "member_conflicted" and e.value.status == 403
    assert not Score.objects.filter(member=conflicted).exists()
    with pytest.raises(DomainError) as e:
        services.scores_for(item, conflicted.user)
    assert _code(e) == "member_conflicted"
    assert [s.value for s in services.scores_for(item, other.user)] == [7]


@pytest.mark.parametrize("value", [-1, 11, 5.5, True, "7"])
def test_score_outside_0_to_10_is_refused(item, people, value):
    with pytest.raises(DomainError) as e:
        services.score(item, people[2].user, "a", value)
    assert _code(e) == "score_range"
    assert not Score.objects.exists()


def test_non_member_and_unknown_criterion_are_refused(item, people):
    from tungban.testing.factories import staff_user

    outsider = staff_user("none")
    with pytest.raises(DomainError) as e:
        services.score(item, outsider, "a", 5)
    assert _code(e) == "not_member"
    with pytest.raises(DomainError) as e:
        services.score(item, people[2].user, "z", 5)
    assert _code(e) == "unknown_criterion"
    assert not Score.objects.exists()


def test_scoring_needs_an_open_meeting(kind, meeting, people):
    kind.proposal("p5", brns=["11111111"])
    item = services.add_item(meeting, kind.KIND, "p5")
    with pytest.raises(DomainError) as e:
        services.score(item, people[2].user, "a", 5)
    assert _code(e) == "meeting_not_open"


@covers("R20")
def test_weighted_score_is_the_weighted_sum_of_means_seed_000_s13(item, committee, people):
    """Seed 000 §13: the four criteria, weighted."""
    chair, conflicted, other = people
    assert services.weighted_score(item) is None
    for code, value in zip("abc", (8, 6, 7), strict=True):
        services.score(item, other.user, code, value)
    assert services.weighted_score(item) is None  # (d) has no score yet
    services.score(item, other.user, "d", 9)
    assert services.weighted_score(item) == Decimal("7.550")  # 0.25×8 + 0.20×6 + 0.30×7 + 0.25×9
    for code, value in zip("abcd", (6, 8, 5, 7), strict=True):
        services.score(item, chair.user, code, value)
    # means a 7, b 7, c 6, d 8 → 0.25×7 + 0.20×7 + 0.30×6 + 0.25×8 = 6.95
    assert services.weighted_score(item) == Decimal("6.950")
    # A member recused afterwards no longer counts.
    services.declare(other, nature="consulting", item=item)
    assert (
        services.weighted_score(item)
        == Decimal("0.25") * 6 + Decimal("0.20") * 8 + Decimal("0.30") * 5 + Decimal("0.25") * 7
    )


@covers("B09")
def test_decision_requires_reasons_in_both_languages(item, people, kind):
    """Seed 000 §13: a decision needs its reasons in both languages."""
    chair = people[0]
    for en, zh in (("", "理由"), ("Reasons", ""), ("  ", "  ")):
        with pytest.raises(DomainError) as e:
            services.decide(item, outcome="reject", terms=None, reasons_en=en, reasons_zh=zh, actor=chair.user)
        assert _code(e) == "reasons_required"
    item.refresh_from_db()
    assert item.outcome == "" and kind.DECIDED == []


def test_decision_approves_with_terms_and_calls_the_kind(item, people, kind):
    chair, _, other = people
    for code in "abcd":
        services.score(item, other.user, code, 8)
    services.decide(
        item, outcome="approve", terms={"amount": 900}, reasons_en="Strong.", reasons_zh="優秀。", actor=chair.user
    )
    item.refresh_from_db()
    assert (item.outcome, item.terms, item.decided_by) == ("approve", {"amount": 900}, chair)
    assert item.weighted_score_at_decision == Decimal("8.000")
    assert kind.DECIDED == [("p1", "approve", {"amount": 900}, "Strong.", "優秀。")]
    with pytest.raises(DomainError) as e:
        services.decide(item, outcome="reject", terms=None, reasons_en="x", reasons_zh="x", actor=chair.user)
    assert _code(e) == "already_decided"


def test_kind_validation_refuses_and_nothing_is_decided(item, people, kind):
    with pytest.raises(DomainError) as e:
        services.decide(
            item, outcome="approve", terms={"amount": 5000}, reasons_en="a", reasons_zh="甲", actor=people[0].user
        )
    assert _code(e) == "over_cap"
    assert AgendaItem.objects.get(pk=item.pk).outcome == ""


def test_failure_in_the_kinds_decided_hook_undoes_the_decision(kind, meeting, people):
    kind.proposal("bad", brns=["99999999"], fail=True)
    item = services.add_item(meeting, kind.KIND, "bad")
    services.open_meeting(meeting, actor=people[0].user)
    with pytest.raises(DomainError) as e:
        services.decide(item, outcome="reject", terms=None, reasons_en="No.", reasons_zh="否。", actor=people[0].user)
    assert _code(e) == "downstream_failed"
    item.refresh_from_db()
    assert item.outcome == "" and item.decided_at is None


def test_only_the_chair_or_secretary_decides_and_not_when_recused(item, committee, people):
    chair, conflicted, other = people
    with pytest.raises(DomainError) as e:
        services.decide(item, outcome="defer", terms=None, reasons_en="a", reasons_zh="甲", actor=other.user)
    assert _code(e) == "not_chair"
    services.declare(chair, nature="board", item=item)
    with pytest.raises(DomainError) as e:
        services.decide(item, outcome="defer", terms=None, reasons_en="a", reasons_zh="甲", actor=chair.user)
    assert _code(e) == "member_conflicted"
    secretary = Member.objects.get(committee=committee, role="secretary")
    services.decide(
        item, outcome="defer", terms={"amount": 1}, reasons_en="Later.", reasons_zh="押後。", actor=secretary.user
    )
    item.refresh_from_db()
    assert item.outcome == "defer" and item.terms == {}  # terms only with an approval


def test_chair_dismisses_an_apparent_conflict_with_reasons_never_a_real_one(item, people):
    chair, conflicted, other = people
    real = services.conflict_of(item, conflicted)
    with pytest.raises(DomainError) as e:
        services.dismiss_conflict(real, actor=chair.user, reasons_en="x", reasons_zh="x")
    assert _code(e) == "conflict_real"
    services.declare(other, nature="gifts", severity=Severity.APPARENT, organisation_brn=SUBJECT_BRN)
    apparent = services.conflict_of(item, other)
    with pytest.raises(DomainError) as e:
        services.dismiss_conflict(apparent, actor=chair.user, reasons_en="Old and small.", reasons_zh="")
    assert _code(e) == "reasons_required"
    with pytest.raises(DomainError) as e:
        services.dismiss_conflict(apparent, actor=other.user, reasons_en="a", reasons_zh="甲")
    assert _code(e) == "not_chair"
    services.dismiss_conflict(
        apparent, actor=chair.user, reasons_en="Old and small.", reasons_zh="年代久遠，金額輕微。"
    )
    apparent.refresh_from_db()
    assert apparent.status == ConflictStatus.DISMISSED and apparent.resolved_by == chair
    services.score(item, other.user, "a", 6)  # may score again
    # A real interest declared afterwards recuses again.
    services.declare(other, nature="employment", severity=Severity.REAL, organisation_brn=SUBJECT_BRN)
    apparent.refresh_from_db()
    assert apparent.status == ConflictStatus.RECUSED and apparent.severity == Severity.REAL


def test_close_freezes_minutes_with_digest_and_refuses_later_decisions(item, meeting, people, kind):
    chair, conflicted, other = people
    services.score(item, other.user, "a", 5)
    services.decide(
        item, outcome="reject", terms=None, reasons_en="Not ready.", reasons_zh="未準備好。", actor=chair.user
    )
    kind.proposal("p9", brns=["77777777"])
    pending = services.add_item(meeting, kind.KIND, "p9")
    minutes = services.close_meeting(meeting, actor=chair.user)
    assert minutes.digest == hashlib.sha256(bytes(minutes.pdf)).hexdigest()
    (first, second) = minutes.content["items"]
    assert first["recused"] == ["Conflicted member"]
    assert (first["outcome"], first["reasons_en"], first["reasons_zh"]) == ("reject", "Not ready.", "未準備好。")
    assert second["outcome"] == ""
    with pytest.raises(DomainError) as e:
        services.decide(pending, outcome="defer", terms=None, reasons_en="a", reasons_zh="甲", actor=chair.user)
    assert _code(e) == "meeting_closed"
    with pytest.raises(DomainError) as e:
        services.close_meeting(meeting, actor=chair.user)
    assert _code(e) == "meeting_state"
    with pytest.raises(DomainError) as e:
        services.add_item(meeting, kind.KIND, "p9")
    assert _code(e) == "meeting_closed"
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=bytes(minutes.pdf), capture_output=True, check=True
        ).stdout.decode()
        assert "Conflicted member" in text and "未準備好" in text and "Not ready." in text


def test_add_item_twice_and_unknown_kind(item, meeting, kind):
    with pytest.raises(DomainError) as e:
        services.add_item(meeting, kind.KIND, "p1")
    assert _code(e) == "already_on_agenda"
    with pytest.raises(DomainError) as e:
        services.add_item(meeting, "nobody.kind", "x")
    assert _code(e) == "unknown_subject_kind" and e.value.status == 404


def test_meeting_for_batch(meeting):
    assert services.meeting_for_batch("2026-B1") == meeting
    assert services.meeting_for_batch("2030-B9") is None


def test_member_out_of_term_cannot_score(item, people):
    import datetime as dt

    other = people[2]
    Member.objects.filter(pk=other.pk).update(term_to=dt.date(2020, 1, 1))
    with pytest.raises(DomainError) as e:
        services.score(item, other.user, "a", 5)
    assert _code(e) == "out_of_term"
    assert not Score.objects.exists()


def test_decision_needs_a_quorum_of_members_not_recused_anchor_s2_14(item, meeting, committee, people, kind):
    chair = people[0]
    eligible = Member.objects.filter(committee=committee).count() - 1  # one is recused
    Meeting.objects.filter(pk=meeting.pk).update(quorum=eligible + 1)
    with pytest.raises(DomainError) as e:
        services.decide(item, outcome="defer", terms=None, reasons_en="a", reasons_zh="甲", actor=chair.user)
    assert _code(e) == "no_quorum" and e.value.details is None
    assert AgendaItem.objects.get(pk=item.pk).outcome == "" and kind.DECIDED == []
    Meeting.objects.filter(pk=meeting.pk).update(quorum=eligible)
    services.decide(item, outcome="defer", terms=None, reasons_en="a", reasons_zh="甲", actor=chair.user)
    assert AgendaItem.objects.get(pk=item.pk).outcome == "defer"


def test_a_recused_chair_cannot_dismiss_their_own_conflict_and_decide(kind, committee, meeting):
    """Review finding (issue 20, first wave): the chair's own apparent conflict is not theirs to
    dismiss — they stay recused, and the item cannot be decided by them (anchor study §3.2)."""
    chair = add_member(committee, role="chair")
    for _ in range(4):
        add_member(committee)
    kind.PROPOSALS["own"] = {
        "title_en": "P",
        "title_zh": "P",
        "brns": ["12345678"],
        "names": ["X"],
        "cap": 10,
        "fail": False,
    }
    services.declare(chair, nature="equity", severity=Severity.APPARENT, organisation_brn="12345678")
    item = services.add_item(meeting, kind.KIND, "own")
    services.open_meeting(meeting, actor=chair.user)
    conflict = Conflict.objects.get(item=item, member=chair)
    with pytest.raises(DomainError) as refused:
        services.dismiss_conflict(conflict, actor=chair.user, reasons_en="not really", reasons_zh="並非")
    assert refused.value.code == "own_conflict"
    conflict.refresh_from_db()
    assert conflict.status == ConflictStatus.RECUSED and services.is_recused(item, chair)
    with pytest.raises(DomainError):
        services.decide(
            item, outcome="approve", terms={"amount": 5}, reasons_en="ok", reasons_zh="可", actor=chair.user
        )
    item.refresh_from_db()
    assert not item.decided


# tcommittee


def test_a_member_sees_the_others_scores_only_after_scoring_or_once_decided(item, committee, people, kind):
    """The committee scores criteria (a)–(d) of seed 000 §13 each on their own judgement: the
    others' scores show only once the member scored the item themselves or it is decided, never
    while recused (seed 000 §12; anchor study §2.14)."""
    chair, conflicted, other = people
    late = add_member(committee, brn="11112222")
    services.score(item, other.user, "a", 7)
    with pytest.raises(DomainError) as e:
        services.scores_for(item, late.user)
    assert _code(e) == "scores_hidden" and e.value.status == 403
    assert not services.sees_scores(item, late) and services.sees_scores(item, other)
    services.score(item, late.user, "a", 5)
    assert sorted(s.value for s in services.scores_for(item, late.user)) == [5, 7]
    assert not services.sees_scores(item, chair)
    services.decide(item, outcome="reject", terms=None, reasons_en="No.", reasons_zh="否。", actor=chair.user)
    item.refresh_from_db()
    assert services.sees_scores(item, chair) and not services.sees_scores(item, conflicted)


def test_a_withdrawn_item_stays_on_record_and_takes_no_score_nor_decision(item, people, meeting):
    """seed 000 §15: an application withdrawn by the applicant leaves the meeting's agenda; the
    item is kept with the reasons (the minutes show it) and refuses scores and decisions."""
    chair, conflicted, other = people
    with pytest.raises(DomainError) as e:
        services.withdraw_item(item, reasons_en="Withdrawn.", reasons_zh="")
    assert _code(e) == "reasons_required"
    assert services.open_items(item.kind, item.subject_id) == [item]
    services.withdraw_item(item, reasons_en="The applicant withdrew.", reasons_zh="申請人已撤回。")
    item.refresh_from_db()
    assert item.withdrawn and services.open_items(item.kind, item.subject_id) == []
    assert services.withdraw_item(item, reasons_en="again", reasons_zh="再").withdrawal_reason_en == (
        "The applicant withdrew."
    )
    with pytest.raises(DomainError) as e:
        services.score(item, other.user, "a", 5)
    assert _code(e) == "item_withdrawn"
    with pytest.raises(DomainError) as e:
        services.decide(item, outcome="reject", terms=None, reasons_en="x", reasons_zh="否", actor=chair.user)
    assert _code(e) == "item_withdrawn"
    record = services.minutes_record(meeting)["items"][0]
    assert record["withdrawal_reason_zh"] == "申請人已撤回。" and record["withdrawn_at"]


def test_a_decided_item_is_not_withdrawn(item, people):
    chair, _conflicted, _other = people
    services.decide(item, outcome="defer", terms=None, reasons_en="Later.", reasons_zh="稍後。", actor=chair.user)
    with pytest.raises(DomainError) as e:
        services.withdraw_item(item, reasons_en="x", reasons_zh="否")
    assert _code(e) == "already_decided"


def test_who_reads_a_subjects_record(kind, committee, meeting, item, people):
    """seed 000 §12–§13: members in term of the committee read the subject unless recused from
    it (on an agenda) or conflicted with its organisations (not on one yet)."""
    chair, conflicted, other = people
    assert services.reader_of(kind.KIND, "p1", other.user) == other
    with pytest.raises(DomainError) as e:
        services.reader_of(kind.KIND, "p1", conflicted.user)
    assert _code(e) == "member_conflicted"
    kind.proposal("p9", brns=[SUBJECT_BRN], cap=10)  # on no agenda yet
    assert services.reader_of(kind.KIND, "p9", other.user) == other
    with pytest.raises(DomainError) as e:
        services.reader_of(kind.KIND, "p9", conflicted.user)
    assert _code(e) == "member_conflicted"
    outsider = add_member(committee)
    outsider.delete()
    with pytest.raises(DomainError) as e:
        services.reader_of(kind.KIND, "p1", outsider.user)
    assert _code(e) == "not_member"
