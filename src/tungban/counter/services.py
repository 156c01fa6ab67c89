"""Counter actions that span several apps (an officer's single step, one transaction)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from tungban.identity import services as identity
from tungban.identity.models import Resident, Tier
from tungban.oidc import services as oidc
from tungban.wallet import services as wallet

from . import errors, roles
from .models import RebindRequest, RebindStatus, rebind_ttl


@transaction.atomic
def suspend_account(resident: Resident, *, actor=None, reason: str) -> None:
    """Suspend the account, unbind its device and end its grants in one step: the phone's key
    stops working at once, reinstating needs a new binding, and the tokens, refresh tokens and
    authorization codes issued before stay revoked after reinstatement (issue 13 item 14).

    ``reason`` is required (issue 16, staff16 item 2): it is the account's status reason and
    is recorded with the ``status_suspended`` event in its history.

    :raises DomainError: 422 ``suspend_reason_required`` (blank reason); as
        :func:`tungban.identity.services.set_status` (nothing is written then).
    """
    if not (reason or "").strip():
        raise errors.SuspendReasonRequired()
    identity.set_status(resident, "suspended", reason=reason.strip(), actor=actor)
    if wallet.unbind_active(resident, actor=actor, reason="suspended"):
        # The phone is told why on its next call (with its device_unbound error) and the next
        # bound phone lists it in the history (issue 13 item 1, security review).
        wallet.record_notice(resident, "counter_suspend")
    oidc.revoke_user_grants(resident)


@transaction.atomic
def unbind_device(resident: Resident, *, actor, reason: str = "") -> bool:
    """An officer unbinds the resident's phone (one officer is enough: it removes access, it
    gives none). Recorded in the audit trail with ``reason`` and as an account notice the old
    phone is shown with its ``device_unbound`` error. A later activation code for the account
    is a re-binding (:func:`needs_second_officer`). Source: issue 13 item 1 (security review).

    :returns: whether a device was bound (nothing is recorded when none was).
    """
    unbound = wallet.unbind_active(resident, actor=actor, reason=reason.strip() or "officer")
    if unbound:
        wallet.record_notice(resident, "counter_unbind")
    return unbound


@transaction.atomic
def provision_staff_user(
    username: str, *, password: str, groups: list[str] = (), superuser: bool = False
) -> tuple[object, dict]:
    """Create or update a staff user with exactly ``groups`` (see :mod:`.roles`), a new
    ``password`` and a new confirmed TOTP device (their second factor, issue 13 item 3); any
    earlier TOTP device of theirs is deleted.

    :returns: ``(user, {"totp_secret": base32 secret, "totp_uri": otpauth:// provisioning URI})``
        — what an authenticator app needs (scan the URI as a QR code or type the secret).
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from .roles import ensure_groups

    ensure_groups()
    user, _created = get_user_model().objects.get_or_create(username=username)
    user.is_staff = True
    user.is_superuser = superuser
    user.set_password(password)
    user.save()
    user.groups.set(Group.objects.filter(name__in=groups))
    return user, new_totp_device(user)


@transaction.atomic
def new_totp_device(user) -> dict:
    """Give ``user`` a new confirmed TOTP device (RFC 6238: 30 s, 6 digits), replacing any
    earlier one (a lost phone). :returns: ``{"totp_secret": base32, "totp_uri": otpauth:// URI}``."""
    import base64

    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return {"totp_secret": secret, "totp_uri": device.config_url}


# --- Re-binding with a second officer (issue 13 item 1) -------------------------------------------


def needs_second_officer(resident: Resident) -> bool:
    """Whether a new activation code for ``resident`` is a re-binding that needs a second
    officer's approval: the account is tungban+ (it can sign legally), or has *ever* had a
    phone bound or a binding started (:func:`tungban.wallet.services.has_been_bound`), so that
    unbinding or suspending first does not make it a first code. Only a never-bound account's
    first code is one officer's. Source: issue 13 item 1 and its security review."""
    return resident.tier == Tier.PLUS or wallet.has_been_bound(resident)


@transaction.atomic
def request_rebind(
    resident: Resident, officer, *, reason: str, document_type: str, document_reference: str
) -> RebindRequest:
    """Record an officer's request to re-bind the account, with the reason and the identity
    document seen (type and last 4 characters of its number). Issues no code.

    :raises DomainError: ``account_suspended`` (403); ``rebind_pending`` (409) when one waits already.
    """
    identity.require_active(resident)
    expire_stale()
    if RebindRequest.objects.select_for_update().filter(resident=resident, status=RebindStatus.PENDING).exists():
        raise errors.RebindPending()
    request = RebindRequest.objects.create(
        resident=resident,
        requested_by=officer,
        reason=reason.strip(),
        document_type=document_type,
        document_reference=document_reference.strip().upper(),
    )
    identity.audit(resident, "rebind_requested", officer, request=request.pk, document=document_type)
    return request


@transaction.atomic
def expire_stale() -> int:
    """Mark pending requests older than :func:`~tungban.counter.models.rebind_ttl`, and
    approvals whose code was not issued within it, ``expired``. :returns: how many."""
    cutoff = timezone.now() - rebind_ttl()
    return (
        RebindRequest.objects.filter(status=RebindStatus.PENDING, requested_at__lte=cutoff)
        | RebindRequest.objects.filter(status=RebindStatus.APPROVED, decided_at__lte=cutoff)
    ).update(status=RebindStatus.EXPIRED)


def pending_rebinds():
    """Requests waiting for a supervisor and not expired, oldest first (a queryset)."""
    cutoff = timezone.now() - rebind_ttl()
    return (
        RebindRequest.objects.filter(status=RebindStatus.PENDING, requested_at__gt=cutoff)
        .select_related("resident", "requested_by")
        .order_by("requested_at")
    )


def approved_rebinds_of(officer):
    """``officer``'s approved requests whose code they may still issue (a queryset)."""
    cutoff = timezone.now() - rebind_ttl()
    return RebindRequest.objects.filter(
        status=RebindStatus.APPROVED, requested_by=officer, decided_at__gt=cutoff
    ).select_related("resident", "decided_by")


def _decidable(request_id: int, supervisor) -> RebindRequest:
    request = RebindRequest.objects.select_for_update().select_related("resident").get(pk=request_id)
    if not supervisor.has_perm(roles.APPROVE_REBIND):
        raise errors.NotSupervisor()
    if request.requested_by_id == supervisor.pk:
        raise errors.SameOfficer()
    if request.is_expired:
        raise errors.RebindExpired()
    if request.status != RebindStatus.PENDING:
        raise errors.RebindDecided()
    return request


@transaction.atomic
def approve_rebind(request_id: int, supervisor) -> RebindRequest:
    """A second officer approves a re-binding. No code is issued here, and the supervisor
    never sees one: only the requesting officer, who has the resident in front of them, can
    then issue it (:func:`issue_rebind_code`), within :func:`~tungban.counter.models.rebind_ttl`.
    Source: issue 13 item 1 and its security review (a supervisor at another counter must not
    be able to bind their own app).

    :raises RebindRequest.DoesNotExist: no such request.
    :raises DomainError: ``not_supervisor`` / ``same_officer`` (403), ``rebind_expired`` /
        ``rebind_decided`` (409), ``account_suspended`` (403). Nothing is written then.
    """
    request = _decidable(request_id, supervisor)
    identity.require_active(request.resident)
    request.status = RebindStatus.APPROVED
    request.decided_by = supervisor
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_by", "decided_at"])
    identity.audit(request.resident, "rebind_approved", supervisor, request=request.pk)
    return request


@transaction.atomic
def issue_rebind_code(request_id: int, officer) -> tuple[RebindRequest, str]:
    """The requesting officer issues the approved re-binding's activation code (returned once,
    stored only as a hash), and the resident's app gets a notice (shown by the bound phone on
    its next open, in the history, and to the old phone once the new one is bound).

    :raises RebindRequest.DoesNotExist: no such request.
    :raises DomainError: ``not_requester`` (403: another user, or one without the counter
        role); ``rebind_expired`` / ``rebind_not_approved`` (409: pending, rejected or already
        issued); ``account_suspended`` (403). Nothing is written then.
    """
    request = RebindRequest.objects.select_for_update().select_related("resident").get(pk=request_id)
    if request.requested_by_id != officer.pk or not officer.has_perm(roles.USE_COUNTER):
        raise errors.NotRequester()
    if request.is_expired:
        raise errors.RebindExpired()
    if request.status != RebindStatus.APPROVED:
        raise errors.RebindNotApproved()
    code = wallet.issue_activation_code(request.resident, officer)
    request.status = RebindStatus.ISSUED
    request.code_issued_at = timezone.now()
    request.save(update_fields=["status", "code_issued_at"])
    wallet.record_notice(request.resident, "counter_rebind", rebind_request=request.pk)
    identity.audit(request.resident, "rebind_code_issued", officer, request=request.pk)
    return request, code


@transaction.atomic
def reject_rebind(request_id: int, supervisor, note: str = "") -> RebindRequest:
    """A second officer rejects a re-binding (no code is issued). Raises as :func:`approve_rebind`."""
    request = _decidable(request_id, supervisor)
    request.status = RebindStatus.REJECTED
    request.decided_by = supervisor
    request.decided_at = timezone.now()
    request.decision_note = note[:200]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    identity.audit(request.resident, "rebind_rejected", supervisor, request=request.pk)
    return request
