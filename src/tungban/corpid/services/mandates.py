"""Organisations and mandates (issue 19, first wave): a director sets CorpID up, administrators
grant mandates, holders accept or decline them in the app, mandates are delegated within what
they allow and revoked; every change is audited in its own transaction.

The rules and where they come from (anchor study ``corpid-federation-app.md`` §2.1):

* A director on the register sets the organisation up and becomes its administrator
  (Corppass: the registered officer authorises the administrator; Suomi.fi: register roles).
* At most two administrators (Corppass: "Admin (max 2 per entity)"), counting offers not yet
  answered; an administrator cannot remove the last administrator in force.
* An organisation without an administrator in force is suspended (Corppass suspends an entity
  without an administrator; here at once, without Corppass's 30 days' grace); a director can
  set it up again.
* Sub-administrators grant user mandates within their own scope (Corppass assignment
  profiles); a user mandate with ``may_delegate`` can be passed on, never wider in services,
  actions or dates, and the delegated mandate is in force only while its source is (Suomi.fi
  chained mandates).
* Validity: a start and an end date, at most 25 years (Suomi.fi).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tungban.core.errors import DomainError
from tungban.identity import services as identity
from tungban.identity.models import Resident
from tungban.signing import services as signing
from tungban.wallet import services as wallet
from tungban.wallet.models import RequestStatus

from .. import brn, errors, texts
from ..constants import (
    ALL_SERVICES,
    MANDATE_KIND,
    MAX_ADMINISTRATORS,
    MAX_YEARS,
    Action,
    Basis,
    MandateState,
    OrganisationStatus,
    Role,
)
from ..models import AuditEvent, Mandate, Organisation
from . import credential, register

#: A service identifier in a scope: an e-service's slug or an online service's client id.
SERVICE_ID = re.compile(r"^[a-z0-9][a-z0-9._:-]{0,63}$")
#: At most this many services in one mandate's scope.
MAX_SERVICES = 50
LIVE = (MandateState.OFFERED, MandateState.ACTIVE)
MANAGING = (Role.ADMINISTRATOR, Role.SUB_ADMINISTRATOR)


def today() -> dt.date:
    return timezone.localdate()


def years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def record_event(
    organisation: Organisation, action: str, actor: Resident | None, mandate: Mandate | None = None, **detail
):
    """Append one event to the organisation's audit trail (call inside the change's transaction)."""
    AuditEvent.objects.create(organisation=organisation, mandate=mandate, actor=actor, action=action, detail=detail)


# --- what a mandate is and whether it is in force ------------------------------------------------


def terms(mandate: Mandate) -> dict:
    """The mandate as the holder accepts it (JSON): its digest is bound to the app's approval."""
    return {
        "mandate": str(mandate.public_id),
        "organisation": {
            "br_number": mandate.organisation.br_number,
            "name_en": mandate.organisation.name_en,
            "name_zh": mandate.organisation.name_zh,
        },
        "role": mandate.role,
        "services": list(mandate.services),
        "actions": list(mandate.actions),
        "valid_from": mandate.valid_from.isoformat(),
        "valid_until": mandate.valid_until.isoformat(),
        "joint_approval": mandate.joint_approval,
        "may_delegate": mandate.may_delegate,
    }


def terms_digest(mandate: Mandate) -> str:
    """SHA-256 (hex) of the canonical JSON of :func:`terms`."""
    body = json.dumps(terms(mandate), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def refusal(mandate: Mandate, on: dt.date | None = None) -> DomainError | None:
    """Why ``mandate`` is not in force on ``on`` (default today), or ``None`` when it is: its
    own state and dates, then every mandate it was delegated from."""
    on = on or today()
    current: Mandate | None = mandate
    while current is not None:
        if current.state == MandateState.REVOKED:
            return errors.MandateRevoked()
        if current.state == MandateState.DECLINED:
            return errors.MandateDeclined()
        if current.state == MandateState.OFFERED:
            return errors.MandateNotAccepted()
        if on > current.valid_until:
            return errors.MandateExpired()
        if on < current.valid_from:
            return errors.MandateNotYetValid(start=current.valid_from.isoformat())
        current = current.parent
    return None


def in_force(mandate: Mandate, on: dt.date | None = None) -> bool:
    return refusal(mandate, on) is None


def covers(mandate: Mandate, service: str, action: str) -> bool:
    """Whether the mandate's scope includes ``action`` in ``service``."""
    return action in mandate.actions and (ALL_SERVICES in mandate.services or service in mandate.services)


def administrators_in_force(organisation: Organisation, on: dt.date | None = None) -> list[Mandate]:
    found = Mandate.objects.filter(
        organisation=organisation, role=Role.ADMINISTRATOR, state=MandateState.ACTIVE
    ).select_related("parent")
    return [m for m in found if in_force(m, on)]


def current_status(organisation: Organisation, on: dt.date | None = None) -> str:
    """The organisation's status on ``on`` (default today), worked out from its administrators'
    mandates (an administrator's mandate may have ended since the stored status was set)."""
    return OrganisationStatus.ACTIVE if administrators_in_force(organisation, on) else OrganisationStatus.SUSPENDED


def refresh_status(organisation: Organisation, actor: Resident | None = None, *, on: dt.date | None = None) -> str:
    """Set the organisation ``suspended`` when no administrator's mandate is in force, ``active``
    otherwise; an audited change. Then every mandate credential's status-list entry follows
    (:func:`.credential.sync`: revoked with its mandate or its source, suspended with the
    organisation), in the same transaction. Returns the status.

    Suspension is immediate: the first moment no administrator's mandate is in force, not after
    Corppass's 30 days' grace (docs/integrators.md §12)."""
    status = OrganisationStatus.ACTIVE if administrators_in_force(organisation, on) else OrganisationStatus.SUSPENDED
    if organisation.status != status:
        organisation.status = status
        organisation.save(update_fields=["status"])
        record_event(organisation, "suspended" if status == OrganisationStatus.SUSPENDED else "reactivated", actor)
        if status == OrganisationStatus.SUSPENDED:  # its seal too (corporate_signing's decision)
            if signing.revoke_organisation_seal(
                brn.organisation_identifier(organisation.br_number), reason="privilege_withdrawn"
            ):
                record_event(organisation, "seal_revoked", actor)
    credential.sync(organisation)
    return status


def sweep_suspensions(now: dt.datetime | None = None) -> dict[str, int]:
    """Suspend every organisation whose last administrator's mandate has ended by the passing
    of its end date (no change was made that would have noticed), each in its own
    transaction with its audit event and its credentials' status (:func:`refresh_status`).
    Registered with :mod:`tungban.core.retention`, so the worker runs it on its schedule.

    :returns: ``{"corpid_organisation": how many were suspended}``.
    """
    on = timezone.localdate(now) if now is not None else today()
    suspended = 0
    for pk in Organisation.objects.filter(status=OrganisationStatus.ACTIVE).values_list("pk", flat=True):
        with transaction.atomic():
            org = Organisation.objects.select_for_update().get(pk=pk)
            if org.status == OrganisationStatus.ACTIVE and not administrators_in_force(org, on):
                refresh_status(org, on=on)
                suspended += 1
    return {"corpid_organisation": suspended}


def _locked_organisation(br_number: str) -> Organisation:
    company = register.company(br_number)
    found = Organisation.objects.select_for_update().filter(company=company).first()
    if found is None:
        raise errors.NoOrganisation()
    return found


def organisation(br_number: str) -> Organisation:
    """The organisation with this BRN.

    :raises DomainError: ``br_number_format``, ``br_number_not_registered``, ``no_organisation``.
    """
    company = register.company(br_number)
    found = Organisation.objects.filter(company=company).first()
    if found is None:
        raise errors.NoOrganisation()
    return found


def _live_mandate(resident: Resident, organisation: Organisation) -> Mandate | None:
    return (
        Mandate.objects.select_related("parent", "organisation")
        .filter(organisation=organisation, holder=resident, state__in=LIVE)
        .first()
    )


# --- setting up -------------------------------------------------------------------------------


@transaction.atomic
def bootstrap(director: Resident, br_number: str) -> Mandate:
    """Set up CorpID for a registered company: ``director`` (a director on the register) becomes
    its administrator at once, for every service and action, for 25 years, and may delegate.
    Also recovers a suspended organisation.

    :raises DomainError: ``br_number_format`` (400), ``br_number_not_registered`` (404),
        ``company_not_live`` (409), ``not_a_director`` (403), ``organisation_already_set_up``
        (409: an administrator is in force). Nothing is stored.
    """
    identity.require_active(director)
    company = register.company(br_number)
    if company.status != "live":
        raise errors.CompanyNotLive()
    if not register.is_director(company, director.hkid):
        raise errors.NotADirector()
    org, created = Organisation.objects.select_for_update().get_or_create(
        company=company,
        defaults={"br_number": company.br_number, "name_en": company.name_en, "name_zh": company.name_zh},
    )
    if not created and administrators_in_force(org):
        raise errors.OrganisationAlreadySetUp()
    if created:
        record_event(org, "set_up", director, br_number=company.br_number)
    previous = _live_mandate(director, org)
    if previous is not None:  # e.g. an expired administrator's, or a user mandate: superseded
        _end(previous, director, "superseded")
    start = today()
    mandate = Mandate.objects.create(
        organisation=org,
        holder=director,
        role=Role.ADMINISTRATOR,
        services=[ALL_SERVICES],
        actions=list(Action.values),
        valid_from=start,
        valid_until=years_later(start, MAX_YEARS) - dt.timedelta(days=1),
        may_delegate=True,
        basis=Basis.REGISTER,
        granted_by=director,
        state=MandateState.ACTIVE,
        answered_at=timezone.now(),
    )
    issued = credential.issue_for(mandate, terms(mandate))
    record_event(org, "administrator_from_register", director, mandate, role=mandate.role, credential=str(issued.id))
    refresh_status(org, director)
    return mandate


# --- granting ---------------------------------------------------------------------------------


def _clean_scope(services, actions) -> tuple[list[str], list[str]]:
    services = [str(s).strip() for s in (services or [])]
    actions = [str(a).strip() for a in (actions or [])]
    if not services:
        raise errors.InvalidScope(reason=_("name at least one service, or * for all"))
    if len(services) > MAX_SERVICES:
        raise errors.InvalidScope(reason=_("at most %(n)s services") % {"n": MAX_SERVICES})
    bad = [s for s in services if s != ALL_SERVICES and not SERVICE_ID.match(s)]
    if bad:
        raise errors.InvalidScope(reason=_("%(service)s is not a service identifier") % {"service": bad[0]})
    if ALL_SERVICES in services:
        services = [ALL_SERVICES]
    if not actions or any(a not in Action.values for a in actions):
        raise errors.InvalidScope(reason=_("actions are view, apply, pay and sign"), field="actions")
    return list(dict.fromkeys(services)), [a for a in Action.values if a in actions]


def _clean_dates(valid_from: dt.date, valid_until: dt.date) -> None:
    if valid_until < valid_from:
        raise errors.InvalidDates(reason=_("the end is before the start"))
    if valid_from < today():
        raise errors.InvalidDates(reason=_("the start is in the past"), field="valid_from")
    if valid_until >= years_later(valid_from, MAX_YEARS):
        raise errors.InvalidDates(reason=_("at most %(n)s years") % {"n": MAX_YEARS})


def _within(source: Mandate, role, services, actions, valid_from, valid_until, joint_approval, may_delegate) -> None:
    """Refuse a grant from ``source`` (a sub-administrator's or a delegating user's mandate)
    wider than ``source``: ``delegation_exceeds_mandate`` naming what is wider."""
    wider = []
    if role != Role.USER:
        wider.append(_("only user mandates"))
    if ALL_SERVICES not in source.services and (ALL_SERVICES in services or set(services) - set(source.services)):
        wider.append(_("services"))
    if set(actions) - set(source.actions):
        wider.append(_("actions"))
    if valid_from < source.valid_from or valid_until > source.valid_until:
        wider.append(_("dates"))
    if source.joint_approval and not joint_approval:
        wider.append(_("joint approval"))
    if may_delegate and not source.may_delegate:
        wider.append(_("further delegation"))
    if wider:
        raise errors.DelegationExceedsMandate(what=_(", ").join(wider))


@transaction.atomic
def grant(
    actor: Resident,
    br_number: str,
    *,
    holder_hkid: str,
    role: str,
    services: list[str],
    actions: list[str],
    valid_from: dt.date,
    valid_until: dt.date,
    joint_approval: bool = False,
    may_delegate: bool = False,
) -> Mandate:
    """Offer a mandate for the organisation to the resident with ``holder_hkid``; it takes
    effect when they accept it in the app (:func:`ask_holder`, :func:`on_approval_decided`).

    Who may grant what: an administrator any role (at most two administrators); a
    sub-administrator user mandates within their own scope; a user whose mandate may be
    delegated, user mandates within it (``basis`` delegated, in force only while theirs is).

    :param services: service identifiers (an e-service's slug, an online service's client id)
        or ``["*"]``; ``actions``: some of view, apply, pay, sign.
    :raises DomainError: ``br_number_format``, ``br_number_not_registered``, ``no_organisation``,
        ``organisation_suspended``, ``not_an_administrator`` (403: no mandate in force that may
        grant), ``delegation_exceeds_mandate`` (403), ``too_many_administrators`` (409),
        ``invalid_scope``, ``invalid_dates``, ``hkid_format``/``hkid_check_digit``,
        ``unknown_holder`` (404), ``mandate_exists`` (409). Nothing is stored.
    """
    org = _locked_organisation(br_number)
    if org.status == OrganisationStatus.SUSPENDED or not administrators_in_force(org):
        raise errors.OrganisationSuspended()
    source = _live_mandate(actor, org)
    if source is None or not in_force(source):
        raise errors.NotAnAdministrator()
    if role not in Role.values:
        raise errors.InvalidScope(reason=_("the role is administrator, sub-administrator or user"), field="role")
    services, actions = _clean_scope(services, actions)
    _clean_dates(valid_from, valid_until)
    basis, parent = Basis.GRANTED, None
    if source.role == Role.SUB_ADMINISTRATOR:
        _within(source, role, services, actions, valid_from, valid_until, joint_approval, may_delegate)
    elif source.role == Role.USER:
        if not source.may_delegate:
            raise errors.DelegationExceedsMandate(what=_("passing it on"))
        _within(source, role, services, actions, valid_from, valid_until, joint_approval, may_delegate)
        basis, parent = Basis.DELEGATED, source
    try:
        holder = identity.get_by_hkid(holder_hkid)
    except DomainError as exc:
        if exc.code == "no_account":
            raise errors.UnknownHolder() from None
        exc.field = "holder_hkid"
        raise
    if _live_mandate(holder, org) is not None:
        raise errors.MandateExists()
    if role == Role.ADMINISTRATOR:
        counted = Mandate.objects.filter(organisation=org, role=Role.ADMINISTRATOR, state__in=LIVE)
        if sum(1 for m in counted if m.state == MandateState.OFFERED or in_force(m)) >= MAX_ADMINISTRATORS:
            raise errors.TooManyAdministrators()
    mandate = Mandate.objects.create(
        organisation=org,
        holder=holder,
        role=role,
        services=services,
        actions=actions,
        valid_from=valid_from,
        valid_until=valid_until,
        joint_approval=bool(joint_approval),
        may_delegate=bool(may_delegate),
        basis=basis,
        parent=parent,
        granted_by=actor,
        state=MandateState.OFFERED,
    )
    record_event(org, "granted" if basis == Basis.GRANTED else "delegated", actor, mandate, **_summary(mandate))
    return mandate


def _summary(mandate: Mandate) -> dict:
    return {
        "role": mandate.role,
        "services": mandate.services,
        "actions": mandate.actions,
        "valid_from": mandate.valid_from.isoformat(),
        "valid_until": mandate.valid_until.isoformat(),
        "joint_approval": mandate.joint_approval,
        "may_delegate": mandate.may_delegate,
    }


# --- the holder's answer ----------------------------------------------------------------------


def offers_for(resident: Resident) -> list[Mandate]:
    """The mandates waiting for the resident's answer, oldest first."""
    return list(
        Mandate.objects.select_related("organisation")
        .filter(holder=resident, state=MandateState.OFFERED)
        .order_by("created_at")
    )


@transaction.atomic
def ask_holder(resident: Resident, mandate_id=None) -> dict:
    """Open the app's approval for a mandate offered to ``resident`` (``mandate_id``, default
    the oldest offer): approving accepts it, declining declines it. The device's signature
    covers the mandate's id and the digest of its terms (:func:`terms_digest`).

    :returns: ``{"approval_id": str, "mandate": str}``.
    :raises DomainError: ``no_such_mandate`` (404; also another resident's),
        ``mandate_not_offered`` (409).
    """
    query = Mandate.objects.select_for_update(of=("self",)).select_related("organisation").filter(holder=resident)
    if mandate_id is None:
        mandate = query.filter(state=MandateState.OFFERED).order_by("created_at").first()
    else:
        try:
            mandate = query.filter(public_id=mandate_id).first()
        except (ValueError, DomainError):
            mandate = None
    if mandate is None:
        raise errors.NoSuchMandate()
    if mandate.state != MandateState.OFFERED:
        raise errors.MandateNotOffered()
    org = mandate.organisation
    request = wallet.create_request(
        kind=MANDATE_KIND,
        requester_id=f"corpid:{org.br_number}",
        requester_name_en=org.name_en,
        requester_name_zh=org.name_zh or org.name_en,
        requested_claims=[],
        resident=resident,
        context={"mandate": terms(mandate), "details": _details(mandate)},
        binds={"mandate": str(mandate.public_id), "mandate_sha256": terms_digest(mandate)},
    )
    mandate.approval_id = str(request.id)
    mandate.save(update_fields=["approval_id"])
    return {"approval_id": str(request.id), "mandate": str(mandate.public_id)}


def _details(mandate: Mandate) -> list[dict]:
    """The mandate's terms as lines the app shows at the approval, in both languages."""
    lines: dict[str, dict] = {}
    for lang, key in (("en", "en"), ("zh-hant", "zh")):
        with translation.override(lang):
            rows = [
                (_("Company"), f"{texts.name_of(mandate.organisation)} ({mandate.organisation.br_number})"),
                (_("Role"), Role(mandate.role).label),
                (_("Actions"), texts.actions_text(mandate.actions)),
                (_("Services"), texts.services_text(mandate)),
                (_("Valid"), texts.dates_text(mandate)),
                (
                    _("Joint approval"),
                    _("A second person must approve each action") if mandate.joint_approval else _("No"),
                ),
                (_("May delegate"), _("Yes") if mandate.may_delegate else _("No")),
            ]
            for i, (label, value) in enumerate(rows):
                line = lines.setdefault(str(i), {"label": {}, "value": {}})
                line["label"][key], line["value"][key] = str(label), str(value)
    return list(lines.values())


def _check_offer_stands(mandate: Mandate) -> None:
    """An offer is accepted only while whoever made it could still make it: their own mandate
    (the source of a delegation) in force, and for a sub-administrator or a delegating user, the
    offer still within it. Otherwise an offer made by an administrator revoked since, or
    accepted after the company was suspended, would give authority no one holds any more
    (review crev finding 6; Corppass: only a current administrator assigns).

    :raises DomainError: ``offer_lapsed`` (409), which fails the app's approval."""
    if mandate.basis == Basis.REGISTER:
        return
    source = mandate.parent if mandate.basis == Basis.DELEGATED else None
    if source is None and mandate.granted_by_id is not None:
        source = _live_mandate(mandate.granted_by, mandate.organisation)
    if source is None or source.state != MandateState.ACTIVE or not in_force(source):
        raise errors.OfferLapsed()
    if source.role == Role.ADMINISTRATOR:
        return
    if source.role == Role.USER and not source.may_delegate:
        raise errors.OfferLapsed()
    try:
        _within(
            source,
            mandate.role,
            mandate.services,
            mandate.actions,
            mandate.valid_from,
            mandate.valid_until,
            mandate.joint_approval,
            mandate.may_delegate,
        )
    except DomainError:
        raise errors.OfferLapsed() from None


def on_approval_decided(request) -> None:
    """The app's decision on a mandate (inside the decision's transaction): approved accepts
    the offer and issues its credential into the holder's app (:func:`.credential.issue_for`,
    in this transaction), declined declines it; audited with the holder as actor. A decision on an
    approval that is no longer the mandate's current one, or on a mandate no longer offered
    (revoked meanwhile), changes nothing."""
    binds = (request.context or {}).get("binds", {})
    mandate = (
        Mandate.objects.select_for_update(of=("self",))
        .select_related("organisation")
        .filter(public_id=binds.get("mandate"), approval_id=str(request.id), holder_id=request.resident_id)
        .first()
    )
    if mandate is None or mandate.state != MandateState.OFFERED or binds.get("mandate_sha256") != terms_digest(mandate):
        return
    approved = request.status == RequestStatus.APPROVED
    if approved:
        _check_offer_stands(mandate)
    mandate.state = MandateState.ACTIVE if approved else MandateState.DECLINED
    mandate.answered_at = timezone.now()
    mandate.save(update_fields=["state", "answered_at"])
    if approved:
        issued = credential.issue_for(mandate, terms(mandate))
        record_event(mandate.organisation, "accepted", mandate.holder, mandate, credential=str(issued.id))
    else:
        record_event(mandate.organisation, "declined", mandate.holder, mandate)
    refresh_status(mandate.organisation, mandate.holder)


def on_approval_failed(request) -> None:
    """The app's approval of an offer failed (inside the failure's transaction). An offer that
    had lapsed (:func:`_check_offer_stands`: ``offer_lapsed``) is withdrawn, so it stops waiting
    in the holder's app and the company may offer again; audited as ``lapsed``. Any other
    failure leaves the offer waiting."""
    if request.failure_code != errors.OfferLapsed.code:
        return
    binds = (request.context or {}).get("binds", {})
    mandate = (
        Mandate.objects.select_for_update(of=("self",))
        .select_related("organisation")
        .filter(public_id=binds.get("mandate"), approval_id=str(request.id), holder_id=request.resident_id)
        .first()
    )
    if mandate is None or mandate.state != MandateState.OFFERED:
        return
    mandate.state = MandateState.REVOKED
    mandate.revoked_at = timezone.now()
    mandate.save(update_fields=["state", "revoked_at"])
    record_event(mandate.organisation, "lapsed", None, mandate)


# --- revoking ---------------------------------------------------------------------------------


def _end(mandate: Mandate, actor: Resident, action: str) -> None:
    mandate.state = MandateState.REVOKED
    mandate.revoked_at = timezone.now()
    mandate.revoked_by = actor
    mandate.save(update_fields=["state", "revoked_at", "revoked_by"])
    record_event(mandate.organisation, action, actor, mandate, role=mandate.role)


def inside(source: Mandate, target: Mandate) -> bool:
    """Whether ``target``'s services and actions are all within ``source``'s (what a
    sub-administrator with ``source`` may grant, so what it may revoke)."""
    services_ok = ALL_SERVICES in source.services or (
        ALL_SERVICES not in target.services and set(target.services) <= set(source.services)
    )
    return services_ok and set(target.actions) <= set(source.actions)


@transaction.atomic
def revoke(actor: Resident, br_number: str, mandate_id) -> Mandate:
    """Revoke a mandate (offered or accepted). It stops at once: :func:`authority` reads the
    mandate (and those it was delegated from) on every check, nothing is cached.

    Administrators revoke any mandate; sub-administrators user mandates inside their own scope
    (:func:`inside`: the services and actions they may grant, as Corppass's assignment profile
    limits a sub-administrator to its e-services); anyone the mandates they delegated, and their
    own.

    :raises DomainError: ``no_organisation``, ``no_such_mandate`` (404), ``not_an_administrator``
        (403), ``mandate_not_live`` (409: already revoked, declined), ``last_administrator``
        (409: the last administrator in force). Nothing is stored.
    """
    org = _locked_organisation(br_number)
    try:
        target = (
            Mandate.objects.select_for_update(of=("self",))
            .select_related("organisation", "parent")
            .filter(organisation=org, public_id=mandate_id)
            .first()
        )
    except (ValueError, DomainError):
        target = None
    if target is None:
        raise errors.NoSuchMandate()
    own = _live_mandate(actor, org)
    own = own if own is not None and in_force(own) else None
    allowed = target.holder_id == actor.pk or (
        own is not None
        and (
            own.role == Role.ADMINISTRATOR
            or (own.role == Role.SUB_ADMINISTRATOR and target.role == Role.USER and inside(own, target))
            or target.parent_id == own.pk
        )
    )
    if not allowed:
        raise errors.NotAnAdministrator()
    if target.state not in LIVE:
        raise errors.MandateNotLive()
    if target.role == Role.ADMINISTRATOR and in_force(target):
        if [m.pk for m in administrators_in_force(org)] == [target.pk]:
            raise errors.LastAdministrator()
    _end(target, actor, "revoked")
    refresh_status(org, actor)
    return target


# --- reading ----------------------------------------------------------------------------------


def managed(actor: Resident, br_number: str) -> tuple[Organisation, Mandate]:
    """The organisation and the actor's mandate, for its administrators' page and API.

    :raises DomainError: ``no_organisation``, ``not_an_administrator`` (403: no administrator's
        or sub-administrator's mandate in force).
    """
    org = organisation(br_number)
    own = _live_mandate(actor, org)
    if own is None or own.role not in MANAGING or not in_force(own):
        raise errors.NotAnAdministrator()
    return org, own


def mandates_of(org: Organisation) -> list[Mandate]:
    return list(Mandate.objects.select_related("holder", "granted_by", "parent").filter(organisation=org))


def events_of(org: Organisation, limit: int = 200) -> list[AuditEvent]:
    return list(AuditEvent.objects.select_related("actor", "mandate").filter(organisation=org)[:limit])


def mandates_held(resident: Resident) -> list[Mandate]:
    """The resident's mandates, newest first: live ones (offered, accepted) before the others."""
    found = list(Mandate.objects.select_related("organisation", "parent").filter(holder=resident))
    found.sort(key=lambda m: (m.state not in LIVE, -m.created_at.timestamp()))
    return found
