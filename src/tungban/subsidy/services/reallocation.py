"""Reallocation of unused subsidised compute (issue 20, part A): Cyberport proposes lending an
award's unused GPU-minutes to a market-price account; the committee decides; on approval the
minutes move on the scheduler through :func:`tungban.compute.services.lend` (seed 000 §17:
「數碼港可向獨立委員會建議調撥部分算力予其他擬定以市價（非資助）支付的項目」).
"""

from __future__ import annotations

import uuid

from django.db import transaction

from tungban.core.errors import DomainError

from .. import errors, rules
from ..constants import AwardState
from ..models import Award, ReallocationProposal, ReallocationState
from . import awards


def unused_gpu_minutes(award: Award) -> int:
    """The award's GPU-minutes not used yet: the scheduler's limit less its usage
    (:func:`tungban.compute.services.usage`), or the schedule's whole limit while there is no
    usage to read."""
    found = awards.usage(award)
    if found:
        return max(0, int(found.get("limit_gpu_minutes") or 0) - int(found.get("used_gpu_minutes") or 0))
    schedule = dict(award.months.values_list("month", "nodes"))
    return rules.gpu_minutes(schedule, award.application.service_class.gpus_per_node)


def propose(award: Award, *, to_account: str, gpu_minutes: int, reason_en: str, reason_zh: str, actor: str):
    """Cyberport's proposal (state ``proposed``), on the committee's next agenda as kind
    ``subsidy.reallocation``.

    :raises DomainError: ``award_state`` (not active), ``reallocation_invalid`` (not above zero,
        or above the unused balance), ``decision_reasons_required`` (reasons in both languages),
        ``reallocation_not_market`` (the borrower is not a market-price account, seed 000 §17),
        the committees' errors of ``add_item``.

    In the same transaction the proposal goes on the agenda of the committee's next meeting
    (:func:`put_on_agenda`) when one is planned.
    """
    if award.state != AwardState.ACTIVE or not award.account:
        raise errors.AwardStateRefused(action=errors.ACTIONS["reallocated"], state=AwardState(award.state).label)
    if not (reason_en.strip() and reason_zh.strip()):
        raise errors.ReasonsRequired()
    unused = unused_gpu_minutes(award)
    if not to_account.strip() or gpu_minutes <= 0 or gpu_minutes > unused:
        raise errors.ReallocationInvalid(unused=unused)
    require_market_account(to_account.strip())
    with transaction.atomic():
        proposal = ReallocationProposal.objects.create(
            public_id=uuid.uuid4(),
            award=award,
            to_account=to_account.strip(),
            gpu_minutes=gpu_minutes,
            reason_en=reason_en.strip(),
            reason_zh=reason_zh.strip(),
            proposed_by=actor,
        )
        put_on_agenda(proposal, actor=actor)
    return proposal


# tcommittee: only market-price borrowers; the proposal goes on the committee's next agenda
def require_market_account(name: str) -> None:
    """Refuse a borrower that is not a market-price account on the scheduler: seed 000 §17 lets
    Cyberport propose moving compute only 「予其他擬定以市價（非資助）支付的項目」 (to projects paying
    the market price, unsubsidised), never to another subsidised account.

    :raises DomainError: ``reallocation_not_market`` (no such account, or not of kind
        ``market`` in :func:`tungban.compute.services.usage`)."""
    compute = awards.compute_services()
    try:
        found = compute.usage(name) if compute is not None else None
    except DomainError:
        found = None
    if not found or found.get("kind") != "market":
        raise errors.ReallocationNotMarket(account=name)


def put_on_agenda(proposal: ReallocationProposal, *, actor=None):
    """Put ``proposal`` on the next meeting not closed of the committee that decided its award
    (:func:`tungban.committees.services.next_meeting`) as a ``subsidy.reallocation`` item (seed
    000 §17: the committee decides). Returns the agenda item, or ``None`` when no meeting is
    planned yet (the proposal stays ``proposed``, not on an agenda; :func:`agenda_item` says so
    and the fund's page offers to try again)."""
    from tungban.committees import services as committees

    if agenda_item(proposal) is not None:
        return agenda_item(proposal)
    decided = committees.items_of("subsidy.application", str(proposal.award.application.public_id))
    meeting = committees.next_meeting(decided[-1].meeting.committee_id) if decided else None
    if meeting is None:
        return None
    return committees.add_item(meeting, "subsidy.reallocation", str(proposal.public_id), actor=actor)


def agenda_item(proposal: ReallocationProposal):
    """The proposal's latest agenda item (``committees.AgendaItem``), or ``None``."""
    from tungban.committees import services as committees

    found = committees.items_of("subsidy.reallocation", str(proposal.public_id))
    return found[-1] if found else None


def decide(proposal: ReallocationProposal, outcome: str, *, reasons_en: str, reasons_zh: str, decided_at, actor: str):
    """The committee's decision (``approve``, ``reject`` or ``defer``); an approval lends the
    minutes on the scheduler in the same transaction (compute's ``lend`` records the move in the
    database and queues the scheduler's work), so a refusal there undoes the decision.

    :raises DomainError: ``decision_reasons_required``, ``award_state`` (decided already),
        ``reallocation_invalid`` (the balance shrank since), compute's errors;
        :raises RuntimeError: compute is not installed (the decision is not recorded).
    """
    if not (reasons_en.strip() and reasons_zh.strip()):
        raise errors.ReasonsRequired()
    states = {
        "approve": ReallocationState.APPROVED,
        "reject": ReallocationState.REJECTED,
        "defer": ReallocationState.DEFERRED,
    }
    with transaction.atomic():
        proposal = ReallocationProposal.objects.select_for_update().select_related("award").get(pk=proposal.pk)
        if proposal.state not in (ReallocationState.PROPOSED, ReallocationState.DEFERRED):
            raise errors.AwardStateRefused(
                action=errors.ACTIONS["decided"], state=ReallocationState(proposal.state).label
            )
        if outcome == "approve":
            require_market_account(proposal.to_account)
            if proposal.gpu_minutes > unused_gpu_minutes(proposal.award):
                raise errors.ReallocationInvalid(unused=unused_gpu_minutes(proposal.award))
            compute = awards.compute_services()
            if compute is None:
                raise RuntimeError("tungban.compute is not installed: the minutes cannot be lent")
            compute.lend(
                proposal.award.account,
                proposal.to_account,
                proposal.gpu_minutes,
                reason=f"subsidy reallocation {proposal.public_id}: {proposal.reason_en}"[:500],
            )
        proposal.state = states[outcome]
        proposal.decided_at = decided_at
        proposal.decision_reasons_en, proposal.decision_reasons_zh = reasons_en.strip(), reasons_zh.strip()
        proposal.save(update_fields=["state", "decided_at", "decision_reasons_en", "decision_reasons_zh"])
    return proposal
