"""Refunds with approvals, exported to the bank as ISO 20022 credit-transfer instructions
(issue 18: "Refunds with an officer's approval (and a second officer above a threshold),
exported as refund instructions"; GOV.UK Pay's refund precondition, anchor study §3.3).

Rules (each refusal a documented error, :mod:`.errors`; nothing is written when one applies):

* **who**: officers of the order's department (:mod:`.officers`). One officer requests; a
  second (never the requester) approves; when the amount is above
  ``TUNGBAN_REFUND_SECOND_APPROVAL_CENTS`` (HK$10,000 by default) the refund needs two
  approvals from two people other than the requester, at least one of them an ``approver`` —
  three people in all. Nobody approves twice.
* **how much**: more than zero and at most the amount available — the money received for the
  order minus every refund requested, approved, sent or done (rejected ones give it back):
  ``refund_too_large``. Only an order that received money (``success``, ``overpaid``,
  ``partially_paid``, or ``expired`` holding money: part paid when it expired) can be
  refunded: ``order_not_paid``.
* **stale figures**: the request states the amount available it was based on
  (``refund_amount_available``); if another refund changed it meanwhile the request is
  refused with **412** ``refund_amount_available_mismatch`` (GOV.UK Pay: "refund_amount_available
  … does not match … 412 Precondition Failed"). The order row is locked while this is checked,
  so two officers cannot both take the same money.
* **export**: :func:`export_batch` puts every approved refund of a department into that
  department's batch of the day, once: one ``pain.001.001.03`` file (:mod:`.pain001`) per
  department per business day, made in one transaction with the refunds' move to
  ``exported`` (a refund is in exactly one batch; asking again returns the same file).
* **completion**: the bank's debit for the refund's end-to-end id (reconciliation) or an
  officer marks it ``completed``; the resident is told and a credit note is queued.

States (django-fsm-2): ``requested → approved → exported → completed``, ``requested →
rejected``; every step, and the first of two approvals, is a :class:`~.models.RefundEvent`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import TransitionNotAllowed

from tungban.core.errors import DomainError

from . import errors, officers, pain001, receipts
from .constants import OrderState
from .models import CreditTransfer, PaymentOrder
from .models_refunds import HOLDING_STATES, Refund, RefundBatch, RefundEvent, RefundState

log = logging.getLogger(__name__)

#: Orders in these states received money that can be given back (an expired order only what it
#: held when it expired part paid, or took after: :mod:`.services.surplus`).
REFUNDABLE_STATES = (OrderState.SUCCESS, OrderState.OVERPAID, OrderState.PARTIALLY_PAID, OrderState.EXPIRED)
MAX_REASON = 500


def threshold_cents() -> int:
    """Above this amount (HK cents) a refund needs an approver's approval too."""
    return settings.TUNGBAN_REFUND_SECOND_APPROVAL_CENTS


def _money(cents: int) -> str:
    return f"HK${cents // 100:,}.{cents % 100:02d}"


def _actor(user) -> str:
    return str(getattr(user, "username", "") or getattr(user, "pk", ""))


#: Who approves a refund of no department (a transfer applied to no order, naming none):
#: the Treasury's reconcilers.
RECONCILE_PERMISSION = "payments.reconcile"


def department_of(refund: Refund) -> str:
    """The department whose officers approve ``refund``: its order's; ``""`` for the refund of a
    transfer applied to no order (the Treasury's reconcilers, :data:`RECONCILE_PERMISSION`)."""
    return refund.order.department if refund.order_id else ""


def _require(user, department: str) -> str:
    """``user``'s role for ``department`` (:func:`officers.require`); for ``""``, a reconciler.

    :raises Forbidden: ``not_payments_officer``."""
    if department:
        return officers.require(user, department)
    if user is not None and user.is_active and user.is_staff and user.has_perm(RECONCILE_PERMISSION):
        return officers.OFFICER
    raise errors.NotPaymentsOfficer(department=department or "—")


def _decided_in_reconciliation(refund: Refund, user) -> bool:
    """Whether ``user`` proposed the reconciliation resolution that opened ``refund``
    (``requested_via``: ``reconciliation:<proposer>+<approver>``): the requester."""
    if not refund.requested_via.startswith("reconciliation:"):
        return False
    proposer = refund.requested_via.removeprefix("reconciliation:").split("+", 1)[0]
    return proposer == f"officer:{_actor(user)}"


# --- reading -------------------------------------------------------------------------------


def refunded_cents(order: PaymentOrder) -> dict[str, int]:
    """``{"submitted": requested + approved + exported, "refunded": completed}`` in HK cents."""
    rows = order.refunds.filter(state__in=HOLDING_STATES).values("state").annotate(total=Sum("amount_cents"))
    by_state = {r["state"]: r["total"] or 0 for r in rows}
    return {
        "submitted": sum(
            by_state.get(s, 0) for s in (RefundState.REQUESTED, RefundState.APPROVED, RefundState.EXPORTED)
        ),
        "refunded": by_state.get(RefundState.COMPLETED, 0),
    }


def amount_available(order: PaymentOrder) -> int:
    """HK cents that can still be refunded: received minus every refund not rejected (0 for an
    order that received nothing)."""
    if order.state not in REFUNDABLE_STATES:
        return 0
    held = refunded_cents(order)
    return max(order.amount_received_cents - held["submitted"] - held["refunded"], 0)


_available = amount_available  # (request_refund's parameter has the same name)


def refund_summary(order: PaymentOrder) -> dict:
    """GOV.UK Pay's ``refund_summary``: ``{"status": "available" | "full" | "unavailable",
    "amount_available", "amount_submitted", "amount_refunded"}`` (HK cents). ``full``: all the
    money received went back; ``available``: some can still be refunded; ``unavailable``:
    nothing was received, or the rest is held by refunds in progress. ``amount_submitted``:
    every refund not rejected — asked for, approved, sent or paid back (GOV.UK Pay's "how
    much you've already refunded", ``RefundSummary``); ``amount_refunded``: of those, paid back.
    The one computation of these figures: the department API's payment resource, the officers'
    pages and the refund requests all read it."""
    held = refunded_cents(order)
    available = amount_available(order)
    received = order.amount_received_cents if order.state in REFUNDABLE_STATES else 0
    if received and held["refunded"] >= received:
        status = "full"
    elif available > 0:
        status = "available"
    else:
        status = "unavailable"
    return {
        "status": status,
        "amount_available": available,
        "amount_submitted": held["submitted"] + held["refunded"],
        "amount_refunded": held["refunded"],
    }


def refunds_of(order: PaymentOrder) -> list[Refund]:
    return list(order.refunds.order_by("requested_at"))


def get_refund(refund_id) -> Refund:
    """:raises NotFound: ``refund_unknown`` (also for a malformed id)."""
    try:
        return Refund.objects.select_related("order").get(pk=refund_id)
    except (Refund.DoesNotExist, ValueError, TypeError, ValidationError):
        raise errors.RefundUnknown() from None


def refunds_for_officer(user, *, states=None, department: str | None = None):
    """Refunds of the departments ``user`` acts for (newest first), optionally filtered."""
    codes = [m.department for m in officers.memberships(user)]
    if department:
        codes = [c for c in codes if c == department]
    qs = Refund.objects.filter(order__department__in=codes).select_related("order", "requested_by", "batch")
    if states:
        qs = qs.filter(state__in=states)
    return qs.order_by("-requested_at")


def awaiting(user) -> list[Refund]:
    """Requested refunds ``user`` may approve now (not their own, not already approved by
    them; above the threshold the last approval only if they are an approver or the first
    approval was an approver's)."""
    return [r for r in refunds_for_officer(user, states=[RefundState.REQUESTED]) if can_approve(r, user)]


# --- recording -----------------------------------------------------------------------------


def _record(refund: Refund, action: str, before: str, actor_kind: str, actor_id: str, reason: str = "") -> RefundEvent:
    return RefundEvent.objects.create(
        refund=refund,
        from_state=before,
        to_state=refund.state,
        action=action,
        actor_kind=actor_kind,
        actor_id=actor_id,
        reason=reason[:MAX_REASON],
    )


def _move(refund: Refund, transition: str, action: str, actor_kind: str, actor_id: str, reason: str = ""):
    before = refund.state
    try:
        getattr(refund, transition)()
    except TransitionNotAllowed:
        raise errors.RefundNotPending(state=RefundState(before).label) from None
    return _record(refund, action, before, actor_kind, actor_id, reason)


def _locked(refund_id) -> Refund:
    try:
        return (
            Refund.objects.select_for_update(of=("self",))
            .select_related("order")
            .get(pk=getattr(refund_id, "pk", refund_id))
        )
    except (Refund.DoesNotExist, ValueError, TypeError, ValidationError):
        raise errors.RefundUnknown() from None


# --- request -------------------------------------------------------------------------------


def _new_reference(order: PaymentOrder | None, transfer: CreditTransfer | None = None) -> str:
    if order is None:  # a transfer applied to no order: its own refunds, numbered
        return f"TR{transfer.pk}-R{transfer.refunds.count() + 1}"
    n = order.refunds.count() + 1
    return f"{order.reference}-R{n}"


def _new_end_to_end_id() -> str:
    """The refund's own ISO 20022 EndToEndId (Max35Text): ``TBRF`` + 24 hex digits."""
    return "TBRF" + secrets.token_hex(12).upper()


def _check_reason(reason_en: str, reason_zh: str) -> tuple[str, str]:
    en, zh = (reason_en or "").strip(), (reason_zh or "").strip()
    if not en or not zh:
        raise errors.RefundReasonMissing(field="reason_en" if not en else "reason_zh")
    if len(en) > MAX_REASON or len(zh) > MAX_REASON:
        raise errors.RefundReasonMissing(
            _("Keep each reason to %(n)s characters.") % {"n": MAX_REASON}, field="reason_en"
        )
    return en, zh


def _check_amount(amount_cents: int, amount_available: int | None, available: int) -> None:
    """The refusals of a refund's amount against what is ``available`` now (the caller holds
    the row lock): ``refund_amount_available_mismatch`` (412, a stale stated figure),
    ``refund_too_large``."""
    if amount_available is not None and amount_available != available:
        raise errors.RefundAmountAvailableMismatch(
            available=_money(available),
            stated=_money(amount_available),
            details={"refund_amount_available": available},
        )
    if amount_cents > available:
        raise errors.RefundTooLarge(amount=_money(amount_cents), available=_money(available))


def _new_refund(
    order: PaymentOrder | None,
    transfer: CreditTransfer | None,
    credit: CreditTransfer | None,
    amount_cents: int,
    available: int,
    reason_en: str,
    reason_zh: str,
    *,
    user,
    system: str,
) -> Refund:
    """The ``requested`` refund row of :func:`request_refund`: of ``order`` or, with
    ``order=None``, of ``transfer`` itself; the money goes back to ``credit``'s debtor (the
    refund's creditor). Called inside the caller's transaction, the order or transfer row locked."""
    return Refund.objects.create(
        reference=_new_reference(order, transfer),
        order=order,
        transfer=transfer,
        amount_cents=amount_cents,
        reason_en=reason_en,
        reason_zh=reason_zh,
        needs_second_approval=amount_cents > threshold_cents(),
        requested_by=user,
        requested_via="" if user is not None else system[:150],
        end_to_end_id=_new_end_to_end_id(),
        creditor_name=credit.debtor_name if credit else "",
        creditor_account=credit.debtor_account if credit else "",
        original_end_to_end_id=credit.end_to_end_id if credit else "",
        amount_available_before=available,
    )


def request_refund(
    order: PaymentOrder | str | None,
    user,
    *,
    amount_cents: int,
    amount_available: int | None,
    reason_en: str,
    reason_zh: str,
    system: str = "",
    transfer: CreditTransfer | None = None,
) -> Refund:
    """An officer of the order's department (``user``) asks for a refund of ``amount_cents``;
    or, with ``user=None``, a department system (``system``: ``client:<id>``) whose API
    authentication already established that the order is its department's, or reconciliation
    (``system``: ``reconciliation:<proposer>+<approver>``). Officers approve either way.

    ``transfer``: the credit transfer whose money goes back (reconciliation): its debtor is
    the creditor. With ``order=None`` (``user=None`` only) the refund is of ``transfer``, a
    transfer applied to no order: at most its amount less its other refunds; the Treasury's
    reconcilers approve it (the money is in no department's payment).

    ``amount_available`` is the figure the request was based on (the page or the API client
    read it from :func:`refund_summary`); ``None`` skips the check (internal callers only —
    the API and the pages always send it). ``transfer``: the credit transfer whose money goes
    back (default the order's first; :mod:`.services.surplus` names the one that overpaid).

    :raises Forbidden: ``not_payments_officer``.
    :raises NotFound: ``order_unknown``.
    :raises DomainError: ``order_not_paid`` (409), ``refund_amount_invalid`` (422),
        ``refund_too_large`` (422), ``refund_reason_missing`` (422),
        ``refund_amount_available_mismatch`` (412).
    """
    order_id = getattr(order, "pk", order)
    reason_en, reason_zh = _check_reason(reason_en, reason_zh)
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise errors.RefundAmountInvalid()
    if order_id is None:
        if transfer is None or user is not None or not system:
            raise errors.OrderUnknown()
        return _request_for_transfer(transfer, amount_cents, amount_available, reason_en, reason_zh, system=system)
    with transaction.atomic():
        try:
            order = PaymentOrder.objects.select_for_update().get(pk=order_id)
        except (PaymentOrder.DoesNotExist, ValueError, TypeError, ValidationError):
            raise errors.OrderUnknown() from None
        if user is not None or not system:
            officers.require(user, order.department)
        if order.state not in REFUNDABLE_STATES:
            raise errors.OrderNotPaid(state=OrderState(order.state).label)
        available = _available(order)  # the order row is locked: no refund can change it now
        _check_amount(amount_cents, amount_available, available)
        credit = transfer or order.credits.order_by("received_at").first()
        refund = _new_refund(
            order, transfer, credit, amount_cents, available, reason_en, reason_zh, user=user, system=system
        )
        if user is not None:
            _record(refund, "requested", "", "officer", _actor(user), reason_en)
        else:
            _record(refund, "requested", "", "api", system, reason_en)
        _notify_on_commit(refund, "refund_requested")
    return refund


def _request_for_transfer(
    transfer: CreditTransfer,
    amount_cents: int,
    amount_available: int | None,
    reason_en: str,
    reason_zh: str,
    *,
    system: str,
) -> Refund:
    """:func:`request_refund` of a transfer applied to no order (the same refusals)."""
    with transaction.atomic():
        transfer = CreditTransfer.objects.select_for_update().get(pk=transfer.pk)
        held = transfer.refunds.filter(state__in=HOLDING_STATES).aggregate(total=Sum("amount_cents"))["total"] or 0
        available = max(transfer.amount_cents - held, 0)  # the transfer row is locked
        _check_amount(amount_cents, amount_available, available)
        refund = _new_refund(
            None, transfer, transfer, amount_cents, available, reason_en, reason_zh, user=None, system=system
        )
        _record(refund, "requested", "", "api", system, reason_en)
    return refund


# --- approval ------------------------------------------------------------------------------


def _check_approver(refund: Refund, user) -> str:
    """The role ``user`` approves ``refund`` with, or the refusal (nothing written)."""
    role = _require(user, department_of(refund))
    if refund.state != RefundState.REQUESTED:
        raise errors.RefundNotPending(state=RefundState(refund.state).label)
    if refund.requested_by_id == user.pk or _decided_in_reconciliation(refund, user):
        raise errors.RefundSelfApproval()
    if refund.first_approved_by_id == user.pk:
        raise errors.RefundAlreadyApprovedByYou()
    if refund.needs_second_approval and refund.first_approved_by_id is not None:
        first_role = officers.role_in(refund.first_approved_by, department_of(refund))
        if role != officers.APPROVER and first_role != officers.APPROVER:
            raise errors.RefundNeedsApprover(threshold=_money(threshold_cents()))
    return role


def can_approve(refund: Refund, user) -> bool:
    """Whether ``user`` may approve ``refund`` now (:func:`approve` would not refuse)."""
    try:
        _check_approver(refund, user)
    except DomainError:
        return False
    return True


def approve(refund: Refund | str, user) -> Refund:
    """``user`` approves the refund: the final approval moves it to ``approved`` (the first of
    two is recorded and keeps it ``requested``).

    :raises Forbidden: ``not_payments_officer``, ``refund_self_approval``,
        ``refund_already_approved_by_you``, ``refund_needs_approver``.
    :raises DomainError: ``refund_unknown`` (404), ``refund_not_pending`` (409).
    """
    with transaction.atomic():
        refund = _locked(refund)
        _check_approver(refund, user)
        now = timezone.now()
        if refund.needs_second_approval and refund.first_approved_by_id is None:
            refund.first_approved_by = user
            refund.first_approved_at = now
            refund.save(update_fields=["first_approved_by", "first_approved_at"])
            _record(refund, "first_approval", refund.state, "officer", _actor(user))
            return refund
        _move(refund, "approve", "approved", "officer", _actor(user))
        refund.approved_by = user
        refund.approved_at = now
        refund.save(update_fields=["state", "approved_by", "approved_at"])
        _notify_on_commit(refund, "refund_approved")
    return refund


def reject(refund: Refund | str, user, *, reason: str) -> Refund:
    """An officer of the department (the requester too: a withdrawal) ends a request that
    was not approved yet.

    :raises Forbidden: ``not_payments_officer``.
    :raises DomainError: ``refund_unknown``, ``refund_not_pending``, ``refund_reason_missing``.
    """
    reason = (reason or "").strip()
    if not reason:
        raise errors.RefundReasonMissing(_("Say why the refund is not approved."), field="reason")
    with transaction.atomic():
        refund = _locked(refund)
        _require(user, department_of(refund))
        _move(refund, "reject", "rejected", "officer", _actor(user), reason)
        refund.decided_reason = reason[:MAX_REASON]
        refund.save(update_fields=["state", "decided_reason"])
        _notify_on_commit(refund, "refund_rejected")
    return refund


# --- export --------------------------------------------------------------------------------


def business_date(now: dt.datetime | None = None) -> dt.date:
    """Today in Hong Kong (``TIME_ZONE``)."""
    return timezone.localdate(now or timezone.now())


def export_batch(department: str, user=None, *, on: dt.date | None = None) -> RefundBatch:
    """The department's refund instructions of business day ``on`` (today): made on the first
    call from every ``approved`` refund of the department, which become ``exported`` in the
    same transaction; later calls that day return the same batch unchanged (refunds approved
    after it wait for the next day's). ``user`` must be an officer of the department (``None``:
    the scheduled job).

    :raises Forbidden: ``not_payments_officer``.
    :raises DomainError: ``no_refunds_to_export`` (409: no batch that day and nothing approved),
        ``refund_file_invalid`` (500: the file failed the schema; nothing stored).
    """
    if user is not None:
        _require(user, department)
    on = on or business_date()
    existing = RefundBatch.objects.filter(department=department, business_date=on).first()
    if existing is not None:
        return existing
    actor = _actor(user) if user is not None else "system"
    try:
        with transaction.atomic():
            refunds = list(
                Refund.objects.select_for_update(of=("self",))
                .filter(_of_department(department), state=RefundState.APPROVED, batch__isnull=True)
                .select_related("order")
                .order_by("approved_at", "reference")
            )
            if not refunds:
                raise errors.NoRefundsToExport(department=department)
            now = timezone.now()
            message_id = f"TBRF-{department or 'TSY'}-{on:%Y%m%d}"[:35]
            en, _zh = officers.department_names(department) if department else (_TREASURY, "")
            file = pain001.Batch(
                message_id=message_id,
                created_at=now,
                execution_date=on,
                initiating_party="tungban",
                debtor_name=en,
                debtor_account=settings.TUNGBAN_PAYMENTS_COLLECTION_ACCOUNT,
                debtor_bank_code=settings.TUNGBAN_PAYMENTS_COLLECTION_BANK_CODE,
                transfers=[
                    pain001.Transfer(
                        instruction_id=r.reference,
                        end_to_end_id=r.end_to_end_id,
                        amount_cents=r.amount_cents,
                        creditor_name=r.creditor_name,
                        creditor_account=r.creditor_account or "",
                        original_end_to_end_id=r.original_end_to_end_id,
                        remittance=f"REFUND {r.order.reference if r.order_id else r.original_end_to_end_id} {r.reference}",
                    )
                    for r in refunds
                ],
            )
            try:
                xml = pain001.build(file)
            except pain001.SchemaError as exc:
                log.error("Refund batch %s failed its schema: %s", message_id, exc.errors)
                raise errors.RefundFileInvalid(details={"errors": exc.errors[:20]}) from None
            batch = RefundBatch.objects.create(
                department=department,
                business_date=on,
                message_id=message_id,
                xml=xml,
                sha256=hashlib.sha256(xml).hexdigest(),
                count=len(refunds),
                total_cents=sum(r.amount_cents for r in refunds),
                created_by=actor,
            )
            for refund in refunds:
                _move(refund, "export", "exported", "officer" if user is not None else "system", actor, message_id)
                refund.batch = batch
                refund.save(update_fields=["state", "batch"])
    except IntegrityError:  # another officer's export of the same day committed first
        return RefundBatch.objects.get(department=department, business_date=on)
    return batch


#: The debtor's name in the refund file of refunds of no department (the collection account's).
_TREASURY = "HKSAR Government Treasury"


def _of_department(department: str) -> Q:
    """Refunds of ``department``'s orders (``""``: refunds of transfers applied to no order)."""
    return Q(order__department=department) if department else Q(order__isnull=True)


def batches_for_officer(user):
    codes = [m.department for m in officers.memberships(user)]
    return RefundBatch.objects.filter(department__in=codes).order_by("-business_date", "department")


def treasury_batch(batch_id) -> RefundBatch | None:
    """The refund file of refunds of transfers applied to no order (department ``""``) with
    ``batch_id``, or ``None`` (for the reconcilers' pages, which check the permission)."""
    return RefundBatch.objects.filter(pk=batch_id, department="").first() if str(batch_id).isdigit() else None


def get_batch(user, batch_id) -> RefundBatch:
    """:raises NotFound: ``refund_batch_unknown`` (also another department's)."""
    batch = RefundBatch.objects.filter(pk=batch_id).first() if str(batch_id).isdigit() else None
    if batch is None or officers.role_in(user, batch.department) is None:
        raise errors.RefundBatchUnknown()
    return batch


# --- completion ----------------------------------------------------------------------------


def complete(
    refund: Refund | str, *, actor_kind: str, actor_id: str, user=None, at: dt.datetime | None = None
) -> Refund:
    """The bank paid the refund: ``exported → completed``; the resident is told, the credit
    note is queued (:mod:`.receipts`) and the department's systems get ``payment.refunded``
    (:func:`tungban.payments.services.webhooks.record_refund`), in the same transaction. ``user`` (an officer
    marking it by hand) must be an officer of the department.

    :raises DomainError: ``refund_unknown``, ``refund_not_exported`` (409).
    :raises Forbidden: ``not_payments_officer``.
    """
    with transaction.atomic():
        refund = _locked(refund)
        if user is not None:
            _require(user, department_of(refund))
        if refund.state != RefundState.EXPORTED:
            raise errors.RefundNotExported(state=RefundState(refund.state).label)
        _move(refund, "complete", "completed", actor_kind, actor_id)
        refund.completed_at = at or timezone.now()
        refund.save(update_fields=["state", "completed_at"])
        if (
            refund.order_id
        ):  # a credit note and the department's event are of a payment; a transfer of no order has neither
            receipts.queue_credit_note(refund)
            _announce(refund, actor_kind, actor_id)
        _notify_on_commit(refund, "refund_completed")
    return refund


def _announce(refund: Refund, actor_kind: str, actor_id: str) -> None:
    """``payment.refunded`` for the department's webhooks: an event on the order's history."""
    from .services import webhooks  # not at the top: services.departments imports this module

    webhooks.record_refund(
        refund.order, refund_id=refund.pk, amount_cents=refund.amount_cents, actor_kind=actor_kind, actor_id=actor_id
    )


def withdraw_for_reversal(transfer: CreditTransfer, *, by: str) -> list[Refund]:
    """The bank reversed ``transfer`` (``by``: its reference of the reversal): its money is
    back with the payer, so the refunds of it not yet sent to the bank (``requested`` or
    ``approved``) end ``rejected`` — paid, they would return the money a second time. In the
    caller's transaction; returns the refunds withdrawn. A refund already ``exported`` or
    ``completed`` is left for an officer (the reversal's exception says so)."""
    withdrawn = []
    unsent = Refund.objects.select_for_update(of=("self",)).filter(
        transfer=transfer, state__in=(RefundState.REQUESTED, RefundState.APPROVED)
    )
    for refund in unsent:
        _move(refund, "withdraw", "withdrawn", "bank", by[:150], f"reversal:{transfer.end_to_end_id}")
        refund.decided_reason = f"The bank reversed the transfer {transfer.end_to_end_id} ({by})."[:MAX_REASON]
        refund.save(update_fields=["state", "decided_reason"])
        withdrawn.append(refund)
    return withdrawn


def complete_by_end_to_end_id(end_to_end_id: str, *, message_id: str, at: dt.datetime | None = None) -> Refund | None:
    """For reconciliation: the bank's debit entry carrying a refund's end-to-end id completes
    it (``None`` if no refund has that id; an already completed refund is returned as is)."""
    refund = Refund.objects.filter(end_to_end_id=end_to_end_id).first()
    if refund is None:
        return None
    if refund.state == RefundState.COMPLETED:
        return refund
    return complete(refund, actor_kind="bank", actor_id=message_id, at=at)


def refunded_on(day: dt.date) -> dict[tuple[str, str], int]:
    """HK cents refunded (``completed``) on ``day`` (Hong Kong time) per ``(department, fee item
    code)``: the daily close report's refunds column (``pay-recon``'s ``register_refunds`` takes
    this function). A refund of an order with one fee item is that item's; of an order with
    several, ``""`` (the refund is of the payment, not of an item)."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    out: dict[tuple[str, str], int] = {}
    done = Refund.objects.filter(
        state=RefundState.COMPLETED, completed_at__gte=start, completed_at__lt=start + dt.timedelta(days=1)
    ).select_related("order")
    for refund in done:
        lines = (refund.order.lines if refund.order_id else None) or []
        key = (department_of(refund), lines[0].get("code", "") if len(lines) == 1 else "")
        out[key] = out.get(key, 0) + refund.amount_cents
    return out


# --- the resident is told ------------------------------------------------------------------


def _notify_on_commit(refund: Refund, event: str) -> None:
    """Tell the resident (``notify``) after the commit; a failure there never undoes a step."""
    from . import notices

    transaction.on_commit(lambda: notices.refund_changed(refund.pk, event), robust=True)
