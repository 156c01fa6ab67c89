"""The committees' domain rules (issue 20, part E): agenda, conflicts and recusal, scoring,
decisions, meetings and their minutes.

Conflicts (anchor study §3.2, Waldur's model; seed 000 §12 and the DPO committee's terms of
reference, anchor study §2.14: "arrangements for managing conflict of interests"): a member is
recused from an item, as soon as it is on the agenda or as soon as the interest is declared,
when their own organisation's BRN, or the BRN of any interest they declared (standing, or for
that meeting), is among the subject's organisations; or when they declared an interest in the
item itself. A recused member cannot score the item nor see the others' scores of it, and is
listed as recused in the minutes. The chair may dismiss an apparent or potential conflict with
reasons in both languages (recorded), never a real one.

Scores are whole numbers 0–10 per criterion (seed 000 §13 (a)–(d)); the weighted score is
Σ weight × mean score over the members not recused (0–10, 3 decimals). Every decision
(approve, reject, defer) needs reasons in English and in Chinese; it calls the subject kind's
``validate`` first and ``decided`` inside its own transaction (:mod:`.subjects`).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from . import errors, minutes, subjects
from .constants import ConflictSource, ConflictStatus, MeetingState, Outcome, Role, Severity
from .models import AgendaItem, Committee, Conflict, Criterion, Declaration, Meeting, Member, Minutes, Score

#: Severities from the strongest down: the strongest of several reasons is the conflict's.
_RANK = {Severity.REAL: 3, Severity.APPARENT: 2, Severity.POTENTIAL: 1}
THOUSANDTH = Decimal("0.001")


# Members


def member_of(committee: Committee | int, user) -> Member | None:
    """``user``'s membership of ``committee``, or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    committee_id = committee.pk if isinstance(committee, Committee) else committee
    return Member.objects.filter(committee_id=committee_id, user=user).first()


def memberships(user) -> list[Member]:
    """Every committee membership of ``user``."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return list(Member.objects.filter(user=user).select_related("committee"))


def _require_member(committee_id: int, user) -> Member:
    member = member_of(committee_id, user)
    if member is None:
        raise errors.NotMember()
    if not member.term_from <= timezone.localdate() <= member.term_to:
        raise errors.OutOfTerm()
    return member


def _in_term(committee_id: int):
    today = timezone.localdate()
    return Member.objects.filter(committee_id=committee_id, term_from__lte=today, term_to__gte=today)


def _require_chair(committee_id: int, user) -> Member:
    member = _require_member(committee_id, user)
    if not member.can_decide:
        raise errors.NotChair()
    return member


# Meetings


def meeting_for_batch(label: str) -> Meeting | None:
    """The meeting that takes the batch ``label`` (the one not closed first, then the latest)."""
    meetings = Meeting.objects.filter(batch_label=label)
    return (
        meetings.exclude(state=MeetingState.CLOSED).order_by("held_on").first() or meetings.order_by("-held_on").first()
    )


def next_meeting(committee: Committee | int) -> Meeting | None:
    """The committee's next meeting not closed: the first held today or later, else the
    earliest one still open or planned (seed 000 §15: the committee meets regularly)."""
    committee_id = committee.pk if isinstance(committee, Committee) else committee
    pending = Meeting.objects.filter(committee_id=committee_id).exclude(state=MeetingState.CLOSED).order_by("held_on")
    return pending.filter(held_on__gte=timezone.localdate()).first() or pending.first()


def create_meeting(committee: Committee, batch_label: str, held_on, *, quorum: int = 3, actor=None) -> Meeting:
    """A planned meeting of ``committee`` for ``batch_label`` (one per batch: the existing one
    is returned). With ``actor``, only the chair or the secretary may plan it.

    :raises DomainError: ``not_member``, ``out_of_term``, ``not_chair`` (403, with ``actor``)."""
    if actor is not None:
        _require_chair(committee.pk, actor)
    meeting, _ = Meeting.objects.get_or_create(
        committee=committee, batch_label=batch_label, defaults={"held_on": held_on, "quorum": quorum}
    )
    return meeting


def open_meeting(meeting: Meeting, *, actor) -> Meeting:
    """planned → open, by the chair or the secretary.

    :raises DomainError: ``not_member``, ``not_chair`` (403), ``meeting_state`` (409)."""
    _require_chair(meeting.committee_id, actor)
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if meeting.state != MeetingState.PLANNED:
            raise errors.MeetingTransition(state=meeting.get_state_display(), to=MeetingState.OPEN.label)
        meeting.state = MeetingState.OPEN
        meeting.opened_at = timezone.now()
        meeting.save(update_fields=["state", "opened_at"])
    return meeting


def close_meeting(meeting: Meeting, *, actor) -> Minutes:
    """open → closed, by the chair or the secretary, freezing the minutes in the same
    transaction: the record (:func:`minutes_record`), the bilingual PDF and its SHA-256.

    :raises DomainError: ``not_member``, ``not_chair`` (403), ``meeting_state`` (409),
        ``stamp_font_missing`` (503, no CJK font for the PDF)."""
    _require_chair(meeting.committee_id, actor)
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if meeting.state != MeetingState.OPEN:
            raise errors.MeetingTransition(state=meeting.get_state_display(), to=MeetingState.CLOSED.label)
        meeting.state = MeetingState.CLOSED
        meeting.closed_at = timezone.now()
        meeting.save(update_fields=["state", "closed_at"])
        record = minutes_record(meeting)
        pdf = minutes.render_pdf(record)
        return Minutes.objects.create(
            meeting=meeting,
            content=record,
            pdf=pdf,
            digest=hashlib.sha256(pdf).hexdigest(),
            frozen_at=meeting.closed_at,
        )


def _writable(meeting: Meeting) -> None:
    if meeting.state == MeetingState.CLOSED:
        raise errors.MeetingClosed()
    if meeting.state != MeetingState.OPEN:
        raise errors.MeetingNotOpen()


# Agenda and conflicts


def add_item(meeting: Meeting, kind: str, subject_id: str, *, actor=None) -> AgendaItem:
    """Put the subject ``kind``:``subject_id`` on ``meeting``'s agenda and detect its conflicts
    at once (the members concerned are recused from it before anyone can score).

    :param actor: who puts it there (the secretariat; recorded nowhere else than the caller's log).
    :raises DomainError: ``unknown_subject_kind`` (404), ``meeting_closed`` (409),
        ``already_on_agenda`` (409), ``subject_description`` (500)."""
    entry = subjects.get(kind)
    subject_id = str(subject_id)
    en = entry.description(subject_id, "en")
    zh = entry.description(subject_id, "zh-hant")
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if meeting.state == MeetingState.CLOSED:
            raise errors.MeetingClosed()
        if meeting.items.filter(kind=kind, subject_id=subject_id).exists():
            raise errors.AlreadyOnAgenda()
        position = (meeting.items.aggregate(m=Max("position"))["m"] or 0) + 1
        item = AgendaItem.objects.create(
            meeting=meeting,
            position=position,
            kind=kind,
            subject_id=subject_id,
            title_en=str(en["title"])[:300],
            title_zh=str(zh["title"])[:300],
            organisation_brns=sorted(set(en["organisation_brns"])),
        )
        detect_conflicts(item)
    return item


def _reasons(item: AgendaItem, member: Member) -> list[tuple[str, str, Declaration | None, str]]:
    """Why ``member`` is conflicted on ``item``: ``[(source, severity, declaration, brn)]``."""
    brns = set(item.organisation_brns)
    found = []
    if member.organisation_brn and member.organisation_brn in brns:
        found.append((ConflictSource.ORGANISATION, Severity.REAL, None, member.organisation_brn))
    for d in member.declarations.all():
        if d.item_id == item.pk:
            found.append((ConflictSource.DECLARED_FOR_ITEM, d.severity, d, d.organisation_brn))
        elif d.item_id is None and d.organisation_brn in brns and d.meeting_id in (None, item.meeting_id):
            source = ConflictSource.DECLARED_FOR_ITEM if d.meeting_id else ConflictSource.DECLARED_INTEREST
            found.append((source, d.severity, d, d.organisation_brn))
    return found


def detect_conflicts(item: AgendaItem) -> list[Conflict]:
    """Detect (again) every member's conflict on ``item`` and recuse them. A conflict already
    recorded keeps its resolution unless a stronger reason appears (a dismissed apparent
    conflict becomes a recusal again when a real one is found). Returns the item's conflicts."""
    members = Member.objects.filter(committee_id=item.meeting.committee_id).prefetch_related("declarations")
    for member in members:
        _record_conflict(item, member, _reasons(item, member))
    return list(item.conflicts.select_related("member"))


def _record_conflict(item: AgendaItem, member: Member, reasons) -> None:
    if not reasons:
        return
    source, severity, declaration, brn = max(reasons, key=lambda r: _RANK[r[1]])
    existing = Conflict.objects.filter(item=item, member=member).first()
    if existing is None:
        Conflict.objects.create(
            item=item,
            member=member,
            source=source,
            severity=severity,
            declaration=declaration,
            organisation_brn=brn,
            status=ConflictStatus.RECUSED,
        )
    elif _RANK[severity] > _RANK[existing.severity]:
        existing.source, existing.severity, existing.declaration, existing.organisation_brn = (
            source,
            severity,
            declaration,
            brn,
        )
        existing.status = ConflictStatus.RECUSED
        existing.save()


def declare(
    member: Member,
    *,
    nature: str,
    severity: str = Severity.REAL,
    organisation_brn: str = "",
    organisation_name: str = "",
    details: str = "",
    meeting: Meeting | None = None,
    item: AgendaItem | None = None,
) -> Declaration:
    """Record ``member``'s declaration of interest — standing (no ``meeting``), for one
    ``meeting``, or about one agenda ``item`` — and detect conflicts at once on the items not
    yet decided of the meetings not closed that it concerns.

    :raises DomainError: ``declaration_target`` (neither a BRN nor an item),
        ``meeting_closed`` (409)."""
    organisation_brn = (organisation_brn or "").strip()
    if not organisation_brn and item is None:
        raise errors.DeclarationTarget()
    if item is not None:
        meeting = item.meeting
    if meeting is not None and meeting.state == MeetingState.CLOSED:
        raise errors.MeetingClosed()
    with transaction.atomic():
        declaration = Declaration(
            member=member,
            meeting=meeting,
            item=item,
            organisation_brn=organisation_brn,
            organisation_name=organisation_name,
            nature=nature,
            severity=severity,
            details=details,
        )
        declaration.full_clean()
        declaration.save()
        items = AgendaItem.objects.filter(meeting__committee_id=member.committee_id, outcome="").exclude(
            meeting__state=MeetingState.CLOSED
        )
        if meeting is not None:
            items = items.filter(meeting=meeting)
        if item is not None:
            items = items.filter(pk=item.pk)
        for candidate in items.select_related("meeting"):
            _record_conflict(candidate, member, _reasons(candidate, member))
    return declaration


def conflict_of(item: AgendaItem, member: Member) -> Conflict | None:
    return Conflict.objects.filter(item=item, member=member).first()


def is_recused(item: AgendaItem, member: Member) -> bool:
    return Conflict.objects.filter(item=item, member=member, status=ConflictStatus.RECUSED).exists()


def dismiss_conflict(conflict: Conflict, *, actor, reasons_en: str, reasons_zh: str) -> Conflict:
    """The chair (or the secretary) dismisses an apparent or potential conflict with reasons in
    both languages; the member may then score. Anchor study §3.2 (Waldur: a real conflict
    must recuse).

    Nobody dismisses their own conflict (``own_conflict``): a recused chair would otherwise
    lift the recusal and decide the item.

    :raises DomainError: ``not_member``, ``not_chair``, ``own_conflict`` (403), ``conflict_real``
        (409), ``conflict_resolved`` (409), ``reasons_required``, ``meeting_closed`` (409)."""
    chair = _require_chair(conflict.item.meeting.committee_id, actor)
    if conflict.member_id == chair.pk:
        raise errors.OwnConflict()
    reasons_en, reasons_zh = (reasons_en or "").strip(), (reasons_zh or "").strip()
    with transaction.atomic():
        conflict = Conflict.objects.select_for_update().select_related("item__meeting").get(pk=conflict.pk)
        if conflict.item.meeting.state == MeetingState.CLOSED:
            raise errors.MeetingClosed()
        if conflict.severity == Severity.REAL:
            raise errors.ConflictReal()
        if conflict.status != ConflictStatus.RECUSED:
            raise errors.ConflictResolved()
        if not reasons_en or not reasons_zh:
            raise errors.ReasonsRequired(errors.DISMISS_REASONS)
        conflict.status = ConflictStatus.DISMISSED
        conflict.resolution_en, conflict.resolution_zh = reasons_en, reasons_zh
        conflict.resolved_by = chair
        conflict.resolved_at = timezone.now()
        conflict.save()
    return conflict


# Scores


def criteria(committee_id: int) -> list[Criterion]:
    return list(Criterion.objects.filter(committee_id=committee_id))


def score(item: AgendaItem, member_user, criterion_code: str, value, comment: str = "") -> Score:
    """``member_user``'s score of ``item`` on the criterion ``criterion_code``: a whole number
    0–10 (seed 000 §13 (a)–(d)). Scoring again replaces the member's earlier score.

    :raises DomainError: ``not_member``, ``out_of_term`` (403), ``member_conflicted`` (403, recused),
        ``meeting_not_open`` / ``meeting_closed`` (409), ``already_decided`` (409),
        ``score_range``, ``unknown_criterion``."""
    member = _require_member(item.meeting.committee_id, member_user)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise errors.ScoreRange()
    criterion = Criterion.objects.filter(committee_id=item.meeting.committee_id, code=criterion_code).first()
    if criterion is None:
        raise errors.UnknownCriterion(code=criterion_code)
    with transaction.atomic():
        item = AgendaItem.objects.select_for_update().select_related("meeting").get(pk=item.pk)
        _writable(item.meeting)
        if item.withdrawn:
            raise errors.ItemWithdrawn()
        if item.decided:
            raise errors.AlreadyDecided()
        if is_recused(item, member):
            raise errors.MemberConflicted()
        result, _ = Score.objects.update_or_create(
            item=item, member=member, criterion=criterion, defaults={"value": value, "comment": comment or ""}
        )
    return result


def _counted_scores(item: AgendaItem):
    recused = Conflict.objects.filter(item=item, status=ConflictStatus.RECUSED).values("member_id")
    return Score.objects.filter(item=item).exclude(member_id__in=recused)


def criterion_means(item: AgendaItem) -> dict[str, Decimal | None]:
    """Mean score per criterion code over the members not recused (None: nobody scored it)."""
    values: dict[int, list[int]] = {}
    for s in _counted_scores(item):
        values.setdefault(s.criterion_id, []).append(s.value)
    out = {}
    for c in criteria(item.meeting.committee_id):
        v = values.get(c.pk)
        out[c.code] = (Decimal(sum(v)) / len(v)).quantize(THOUSANDTH) if v else None
    return out


def weighted_score(item: AgendaItem) -> Decimal | None:
    """Σ weight × mean score over the criteria (0–10, 3 decimals), from the members not
    recused; None until every criterion has at least one score (seed 000 §13: the four
    criteria, weights (a) 25%, (b) 20%, (c) 30%, (d) 25%)."""
    total = Decimal(0)
    weights = {c.code: c.weight for c in criteria(item.meeting.committee_id)}
    means = criterion_means(item)
    if not means or any(m is None for m in means.values()):
        return None
    for code, mean in means.items():
        total += weights[code] * mean
    return total.quantize(THOUSANDTH)


def sees_scores(item: AgendaItem, member: Member | None) -> bool:
    """Whether ``member`` may see the other members' scores of ``item`` (and the means and
    weighted score made of them): never while recused from it (the committee's arrangements for
    managing conflicts of interest, anchor study §2.14; seed 000 §12), and otherwise only once
    they have scored it themselves or the item is decided, so that each member scores the
    criteria of seed 000 §13 (a)–(d) on their own judgement first."""
    if member is None or is_recused(item, member):
        return False
    return item.decided or Score.objects.filter(item=item, member=member).exists()


def scores_for(item: AgendaItem, viewer_user) -> list[Score]:
    """Every member's scores of ``item``, for a member who may see them (:func:`sees_scores`).

    :raises DomainError: ``not_member``, ``member_conflicted`` (403, recused), ``scores_hidden``
        (403, not scored yet and not decided)."""
    member = _require_member(item.meeting.committee_id, viewer_user)
    if is_recused(item, member):
        raise errors.MemberConflicted()
    if not sees_scores(item, member):
        raise errors.ScoresHidden()
    return list(Score.objects.filter(item=item).select_related("member", "criterion"))


def withdraw_item(item: AgendaItem, *, reasons_en: str, reasons_zh: str, actor=None) -> AgendaItem:
    """Take ``item`` off the agenda because its subject was withdrawn (e.g. the applicant
    withdrew the application, seed 000 §15): the item stays on record (agenda and minutes show
    it withdrawn with the reasons), and nothing more can be scored or decided on it. An item
    already withdrawn is returned as it is; a decided item, or one of a closed meeting, is kept
    as decided (the record of a closed meeting is frozen).

    :param actor: who withdraws it (the subject's app; recorded in the caller's log).
    :raises DomainError: ``reasons_required`` (both languages), ``already_decided`` (409),
        ``meeting_closed`` (409)."""
    reasons_en, reasons_zh = (reasons_en or "").strip(), (reasons_zh or "").strip()
    if not reasons_en or not reasons_zh:
        raise errors.ReasonsRequired()
    with transaction.atomic():
        item = AgendaItem.objects.select_for_update().select_related("meeting").get(pk=item.pk)
        if item.withdrawn:
            return item
        if item.meeting.state == MeetingState.CLOSED:
            raise errors.MeetingClosed()
        if item.decided:
            raise errors.AlreadyDecided()
        item.withdrawn_at = timezone.now()
        item.withdrawal_reason_en, item.withdrawal_reason_zh = reasons_en, reasons_zh
        item.save(update_fields=["withdrawn_at", "withdrawal_reason_en", "withdrawal_reason_zh"])
    return item


def open_items(kind: str, subject_id: str) -> list[AgendaItem]:
    """The agenda items of ``kind``:``subject_id`` still pending: not decided, not withdrawn,
    on a meeting not closed."""
    return list(
        AgendaItem.objects.filter(kind=kind, subject_id=str(subject_id), outcome="", withdrawn_at__isnull=True)
        .exclude(meeting__state=MeetingState.CLOSED)
        .select_related("meeting")
    )


def reader_of(kind: str, subject_id: str, user) -> Member:
    """The membership through which ``user`` may read the record of the subject
    ``kind``:``subject_id`` (read-only, for the committee's deliberation, seed 000 §12–§13): a
    member in term of a committee that has the subject on an agenda (or of any committee while
    it is on none yet), who is not recused from any of its items, nor conflicted with its
    organisations as :func:`add_item` would find (own organisation, standing declarations; also
    for a member appointed after the item was added).

    :raises DomainError: ``not_member`` (403), ``member_conflicted`` (403, recused)."""
    today = timezone.localdate()
    mine = [m for m in memberships(user) if m.term_from <= today <= m.term_to]
    items = items_of(kind, subject_id)
    if items:
        committee_ids = {i.meeting.committee_id for i in items}
        mine = [m for m in mine if m.committee_id in committee_ids]
    if not mine:
        raise errors.NotMember()
    brns = set(subjects.get(kind).description(str(subject_id), "en")["organisation_brns"])
    for m in mine:
        if any(is_recused(i, m) for i in items if i.meeting.committee_id == m.committee_id):
            raise errors.MemberConflicted()
        standing = m.declarations.filter(item__isnull=True, meeting__isnull=True, organisation_brn__in=brns)
        if (m.organisation_brn and m.organisation_brn in brns) or standing.exists():
            raise errors.MemberConflicted()
    return mine[0]


def items_of(kind: str, subject_id: str) -> list[AgendaItem]:
    """Every agenda item of ``kind``:``subject_id``, oldest first."""
    return list(
        AgendaItem.objects.filter(kind=kind, subject_id=str(subject_id)).select_related("meeting").order_by("pk")
    )


# Decisions


def decide(
    item: AgendaItem, *, outcome: str, terms: dict | None, reasons_en: str, reasons_zh: str, actor
) -> AgendaItem:
    """The committee's decision on ``item``, recorded by the chair or the secretary (not
    recused from it) while the meeting is open, with reasons in English and in Chinese
    (issue 20: every decision). The subject kind's ``validate(subject_id, outcome, terms)``
    runs first; its ``decided(...)`` runs inside this transaction, so a failure there leaves
    nothing decided.

    The quorum is counted on the members in term who are not recused from the item (the
    committee's arrangements for managing conflicts, anchor study §2.14).

    :raises DomainError: ``not_member``, ``out_of_term``, ``not_chair``, ``member_conflicted``
        (403), ``unknown_outcome``, ``reasons_required``, ``meeting_not_open`` /
        ``meeting_closed``, ``already_decided``, ``no_quorum`` (409), and whatever the kind's
        hooks raise."""
    chair = _require_chair(item.meeting.committee_id, actor)
    if outcome not in Outcome.values:
        raise errors.UnknownOutcome()
    reasons_en, reasons_zh = (reasons_en or "").strip(), (reasons_zh or "").strip()
    if not reasons_en or not reasons_zh:
        raise errors.ReasonsRequired()
    terms = dict(terms or {}) if outcome == Outcome.APPROVE else {}
    entry = subjects.get(item.kind)
    with transaction.atomic():
        item = AgendaItem.objects.select_for_update().select_related("meeting").get(pk=item.pk)
        _writable(item.meeting)
        if item.withdrawn:
            raise errors.ItemWithdrawn()
        if item.decided:
            raise errors.AlreadyDecided()
        if is_recused(item, chair):
            raise errors.MemberConflicted()
        recused = Conflict.objects.filter(item=item, status=ConflictStatus.RECUSED).values("member_id")
        eligible = _in_term(item.meeting.committee_id).exclude(pk__in=recused).count()
        if eligible < item.meeting.quorum:
            raise errors.NoQuorum(quorum=item.meeting.quorum, eligible=eligible)
        entry.validate(item.subject_id, outcome, terms)
        now = timezone.now()
        item.outcome = outcome
        item.terms = terms
        item.reasons_en, item.reasons_zh = reasons_en, reasons_zh
        item.decided_at = now
        item.decided_by = chair
        item.weighted_score_at_decision = weighted_score(item)
        item.save()
        entry.decided(item.subject_id, outcome, terms, reasons_en, reasons_zh, now, actor)
    return item


# Minutes


def minutes_record(meeting: Meeting) -> dict:
    """The minutes' record of ``meeting`` as JSON-safe data (bilingual): members present on
    the roll, and per item its title, weighted score and means, decision and reasons, who was
    recused and which conflicts were dismissed, with the chair's reasons."""
    committee = meeting.committee
    members = list(Member.objects.filter(committee=committee))
    crit = criteria(committee.pk)
    record = {
        "committee": {"code": committee.code, "name_en": committee.name_en, "name_zh": committee.name_zh},
        "meeting": {
            "batch_label": meeting.batch_label,
            "held_on": meeting.held_on.isoformat(),
            "quorum": meeting.quorum,
            "opened_at": meeting.opened_at.isoformat() if meeting.opened_at else None,
            "closed_at": meeting.closed_at.isoformat() if meeting.closed_at else None,
        },
        "members": [
            {
                "name": m.display_name,
                "role": m.role,
                "sector": m.sector,
                "organisation": m.organisation_name,
            }
            for m in members
        ],
        "criteria": [
            {"code": c.code, "name_en": c.name_en, "name_zh": c.name_zh, "weight": str(c.weight)} for c in crit
        ],
        "items": [],
    }
    for item in meeting.items.select_related("decided_by").order_by("position"):
        conflicts = list(item.conflicts.select_related("member", "resolved_by"))
        ws = weighted_score(item)
        record["items"].append(
            {
                "position": item.position,
                "kind": item.kind,
                "subject_id": item.subject_id,
                "title_en": item.title_en,
                "title_zh": item.title_zh,
                "weighted_score": str(ws) if ws is not None else None,
                "means": {k: (str(v) if v is not None else None) for k, v in criterion_means(item).items()},
                "outcome": item.outcome,
                "reasons_en": item.reasons_en,
                "reasons_zh": item.reasons_zh,
                "decided_by": item.decided_by.display_name if item.decided_by else None,
                "decided_at": item.decided_at.isoformat() if item.decided_at else None,
                "withdrawn_at": item.withdrawn_at.isoformat() if item.withdrawn_at else None,
                "withdrawal_reason_en": item.withdrawal_reason_en,
                "withdrawal_reason_zh": item.withdrawal_reason_zh,
                "recused": [c.member.display_name for c in conflicts if c.status == ConflictStatus.RECUSED],
                "dismissed": [
                    {
                        "member": c.member.display_name,
                        "severity": c.severity,
                        "reasons_en": c.resolution_en,
                        "reasons_zh": c.resolution_zh,
                        "by": c.resolved_by.display_name if c.resolved_by else None,
                    }
                    for c in conflicts
                    if c.status == ConflictStatus.DISMISSED
                ],
            }
        )
    return record


def chair_or_secretary(member: Member | None) -> bool:
    return member is not None and member.role in (Role.CHAIR, Role.SECRETARY)


# The bundled committees


def load_committee(path) -> Committee:
    """Load (create or update, all or nothing) a committee, its criteria and its members from a
    TOML file such as ``committees/data/ai_subsidy_scheme.toml``. A member's user is found by
    ``username`` or created as staff without a usable password (an administrator gives it one
    and its second factor). Returns the committee.

    :raises ValueError: when the criteria's weights do not add up to 1."""
    import tomllib
    from pathlib import Path

    from django.contrib.auth import get_user_model

    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    weights = sum(Decimal(c["weight"]) for c in data["criteria"])
    if weights != 1:
        raise ValueError(f"the criteria's weights add up to {weights}, not 1")
    User = get_user_model()
    with transaction.atomic():
        c = data["committee"]
        committee, _ = Committee.objects.update_or_create(
            code=c["code"], defaults={"name_en": c["name_en"], "name_zh": c["name_zh"]}
        )
        for position, crit in enumerate(data["criteria"]):
            Criterion.objects.update_or_create(
                committee=committee,
                code=crit["code"],
                defaults={
                    "name_en": crit["name_en"],
                    "name_zh": crit["name_zh"],
                    "weight": Decimal(crit["weight"]),
                    "published": crit.get("published", True),
                    "position": position,
                },
            )
        for m in data["members"]:
            user = User.objects.filter(username=m["username"]).first()
            if user is None:
                user = User.objects.create_user(username=m["username"], password=None, is_staff=True)
            member = Member(
                committee=committee,
                user=user,
                display_name=m["name"],
                role=m["role"],
                sector=m["sector"],
                organisation_brn=m.get("organisation_brn", ""),
                organisation_name=m.get("organisation_name", ""),
                term_from=m["term_from"],
                term_to=m["term_to"],
            )
            member.full_clean(validate_unique=False, validate_constraints=False)
            Member.objects.update_or_create(
                committee=committee,
                user=user,
                defaults={
                    f: getattr(member, f)
                    for f in (
                        "display_name",
                        "role",
                        "sector",
                        "organisation_brn",
                        "organisation_name",
                        "term_from",
                        "term_to",
                    )
                },
            )
    return committee
