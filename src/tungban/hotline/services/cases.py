"""1823 cases (issue 22, part scases): what a person submits, what departments and the 1823
coordinator do with it, and the sweeps that escalate and remind.

Every write runs in one transaction with the case row locked (``select_for_update``) and the
state machine's transition (:class:`~tungban.hotline.models.Case`, django-fsm-2), and records a
:class:`~tungban.hotline.models.CaseEvent` — public (the person sees it) or internal (notes,
reasons for declining, reminders). Inputs are checked before anything is written; a refusal
is a :class:`~tungban.core.errors.DomainError` of :mod:`tungban.hotline.errors` and stores
nothing.

The rules and their sources:

- Departments, not 1823, close cases, with a reply and the actual closure date (seed 002
  ITIB211: "局／部門會於回覆市民後通知1823"; 1823 did not keep the actual closure date — here
  :func:`close` requires both).
- Routing: :mod:`.routing` (first matching rule, else the case type's department). The
  department has ``CaseType.accept_hours`` **clock hours** to accept (1823 works round the
  clock and the coordinator's queue is watched the same way; departments' office hours are not
  modelled) — :func:`escalate_due` escalates a case not accepted by ``accept_due_at``.
- Declining sends the case to the next candidate; none left → escalated. The coordinator's
  :func:`decide_lead` (the District Governance Steering Committee's mechanism, seed 002
  ITIB211: the Deputy Chief Secretary decides the hardest ones) gives it to the lead department
  *accepted* on its behalf, so that department must close it.
- Pledges: :mod:`.pledges` (working days from acceptance). :func:`remind_due` reminds the
  department of cases due tomorrow or overdue, once per case per day.
- Reopening: until ``closed_at`` + ``TUNGBAN_HOTLINE_REOPEN_DAYS`` days (default 30), back to
  the same department, accepted, with new pledge dates.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import re
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from tungban.eservices.models import Department

from .. import districts, errors
from .. import reference as refs
from ..constants import ActorKind, CaseKind, CaseState, Channel, EventKind, OfficerRole
from ..models import Case, CaseEvent, CaseOfficer, CaseType
from . import attachments as files
from . import notices, pledges, routing

log = logging.getLogger("tungban.hotline")

#: Longest description, reply, note or reason, in characters.
MAX_TEXT = 5000
#: Longest one-line answer (Open311 ``string``) and contact name.
MAX_STRING = 200
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{6,18}[0-9]$")


# --- roles ---------------------------------------------------------------------------------------


def role_of(user) -> tuple[str, tuple[str, ...]]:
    """The user's 1823 role: ``("coordinator", departments)`` if they coordinate,
    ``("department", departments)`` if they are a department's case officer, ``("", ())``
    otherwise; ``departments`` are the codes of their department roles, sorted."""
    if user is None or not getattr(user, "is_authenticated", False):
        return "", ()
    rows = list(CaseOfficer.objects.filter(user=user).values_list("role", "department_id"))
    codes = tuple(sorted({d for role, d in rows if role == OfficerRole.DEPARTMENT and d}))
    if any(role == OfficerRole.COORDINATOR for role, _d in rows):
        return OfficerRole.COORDINATOR.value, codes
    if codes:
        return OfficerRole.DEPARTMENT.value, codes
    return "", ()


def _actor(case: Case, user, *, coordinator_may: bool) -> str:
    """The actor kind of ``user`` acting on ``case``. Department officers act on their
    department's cases; the coordinator only where ``coordinator_may``.

    :raises DomainError: ``not_case_officer``, ``other_department``."""
    role, codes = role_of(user)
    if not role:
        raise errors.NotCaseOfficer()
    if case.department_id and case.department_id in codes:
        return ActorKind.OFFICER
    if role == OfficerRole.COORDINATOR and coordinator_may:
        return ActorKind.COORDINATOR
    raise errors.OtherDepartment()


# --- checking input ------------------------------------------------------------------------------


#: Control characters XML 1.0 cannot carry (Open311's XML answers): removed from every text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _text(value, *, required, too_long=errors.MessageTooLong, field=None) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    text = _CONTROL.sub("", text).strip()
    if not text:
        raise required()
    if len(text) > MAX_TEXT:
        raise too_long(max=MAX_TEXT) if field is None else too_long(max=MAX_TEXT, field=field)
    return text


def _attribute_name(spec: dict, language: str) -> str:
    zh = language.startswith("zh")
    return spec.get("description_zh" if zh else "description_en") or spec.get("description_en") or spec["code"]


def check_attributes(case_type: CaseType, values: dict | None, language: str = "en") -> dict:
    """The answers to ``case_type``'s Open311 attributes, checked and normalised: ``string``
    (≤ 200 characters), ``text`` (≤ 5,000), ``number`` (decimal, kept as text), ``datetime``
    (ISO 8601), ``singlevaluelist`` (one key), ``multivaluelist`` (a list of keys, or keys
    separated by commas). Attributes with ``"variable": false`` are information, not questions
    (Open311 GeoReport v2, "GET Service Definition").

    :raises DomainError: ``attribute_required`` (a required one missing), ``attribute_invalid``
        (an unknown code, or a value of the wrong type or not in the list); ``field`` is
        ``attribute[<code>]``."""
    values = dict(values or {})
    specs = {a["code"]: a for a in (case_type.attributes or []) if a.get("variable", True)}
    for code in values:
        if code not in specs:
            raise errors.AttributeInvalid(name=code, why=_("no such question"), field=f"attribute[{code}]")
    out = {}
    for code, spec in sorted(specs.items(), key=lambda kv: kv[1].get("order", 0)):
        field = f"attribute[{code}]"
        name = _attribute_name(spec, language)
        raw = values.get(code)
        empty = raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, list | tuple) and not raw)
        if empty:
            if spec.get("required"):
                raise errors.AttributeRequired(name=name, field=field)
            continue
        datatype = spec.get("datatype", "string")
        allowed = {v["key"] for v in spec.get("values", [])}
        if datatype in ("string", "text"):
            if not isinstance(raw, str | int | float) or isinstance(raw, bool):
                raise errors.AttributeInvalid(name=name, why=_("not text"), field=field)
            text = str(raw).strip()
            limit = MAX_STRING if datatype == "string" else MAX_TEXT
            if len(text) > limit:
                raise errors.AttributeInvalid(
                    name=name, why=_("at most %(max)s characters") % {"max": limit}, field=field
                )
            out[code] = text
        elif datatype == "number":
            try:
                number = Decimal(str(raw).strip())
            except InvalidOperation:
                raise errors.AttributeInvalid(name=name, why=_("not a number"), field=field) from None
            if isinstance(raw, bool) or not number.is_finite():
                raise errors.AttributeInvalid(name=name, why=_("not a number"), field=field)
            out[code] = str(number)
        elif datatype == "datetime":
            try:
                when = parse_datetime(str(raw).strip())
            except ValueError:
                when = None
            if when is None:
                raise errors.AttributeInvalid(name=name, why=_("not a date and time"), field=field)
            out[code] = when.isoformat()
        elif datatype == "singlevaluelist":
            if isinstance(raw, list | tuple) or str(raw) not in allowed:
                raise errors.AttributeInvalid(name=name, why=_("not one of the choices"), field=field)
            out[code] = str(raw)
        elif datatype == "multivaluelist":
            keys = [k.strip() for k in raw.split(",")] if isinstance(raw, str) else [str(k) for k in raw]
            if not keys or any(k not in allowed for k in keys):
                raise errors.AttributeInvalid(name=name, why=_("not one of the choices"), field=field)
            out[code] = sorted(set(keys))
        else:  # a definition mistake: refuse rather than store an unchecked answer
            raise errors.AttributeInvalid(name=name, why=_("unknown question type"), field=field)
    return out


def _coordinate(value, low: int, high: int, field: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise errors.InvalidLocation(why=_("not a number"), field=field) from None
    if isinstance(value, bool) or not number.is_finite() or not (low <= number <= high):
        raise errors.InvalidLocation(why=_("out of range"), field=field)
    return number.quantize(Decimal("0.000001"))


def check_location(case_type: CaseType, *, address="", district="", lat=None, long=None) -> dict:
    """The place, checked: ``lat`` −90..90 and ``long`` −180..180 (degrees, WGS 84, both or
    neither, kept to 6 decimals), ``district`` one of :data:`tungban.hotline.districts.CODES` or
    blank, ``address`` ≤ 500 characters. A case type whose ``location`` is ``required`` needs an
    address or a point (Open311 GeoReport v2, POST Service Request: lat/long or address).

    :raises DomainError: ``invalid_location``, ``location_required``."""
    address = (address or "").strip()
    if len(address) > 500:
        raise errors.InvalidLocation(why=_("the address is too long"), field="address")
    district = (district or "").strip()
    if district and district not in districts.CODES:
        raise errors.InvalidLocation(why=_("no such district"), field="district")
    lat_d = _coordinate(lat, -90, 90, "lat")
    long_d = _coordinate(long, -180, 180, "long")
    if (lat_d is None) != (long_d is None):
        raise errors.InvalidLocation(
            why=_("give both latitude and longitude"), field="lat" if lat_d is None else "long"
        )
    if case_type.location == "required" and not address and lat_d is None:
        raise errors.LocationRequired()
    return {"address": address, "district": district, "lat": lat_d, "long": long_d}


def check_contact(contact: dict | None) -> dict:
    """``{"name", "email", "phone"}`` checked: name ≤ 200 characters, e-mail as Django's
    ``validate_email``, phone 8–20 digits, spaces or hyphens with an optional leading ``+``.

    :raises DomainError: ``contact_invalid`` (``field`` ``contact.<name>``)."""
    contact = dict(contact or {})
    unknown = set(contact) - {"name", "email", "phone"}
    if unknown:
        raise errors.ContactInvalid(why=_("unknown detail"), field=f"contact.{sorted(unknown)[0]}")
    out = {k: str(contact.get(k) or "").strip() for k in ("name", "email", "phone")}
    if len(out["name"]) > MAX_STRING:
        raise errors.ContactInvalid(why=_("the name is too long"), field="contact.name")
    if out["email"]:
        try:
            validate_email(out["email"])
        except ValidationError:
            raise errors.ContactInvalid(why=_("not an e-mail address"), field="contact.email") from None
    if out["phone"] and not _PHONE.match(out["phone"]):
        raise errors.ContactInvalid(why=_("not a phone number"), field="contact.phone")
    return out


def _language(language: str) -> str:
    return "en" if (language or "").lower().startswith("en") else "zh-hant"


def _event(case, kind, *, actor_kind, actor=None, department=None, message="", public=True) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        actor_kind=actor_kind,
        actor=actor if getattr(actor, "pk", None) else None,
        department_id=department,
        message=message,
        public=public,
    )


def _assign(case: Case, code: str, now: dt.datetime) -> None:
    """Give ``case`` to department ``code`` (state ``assigned``) with its acceptance deadline."""
    case.to_assigned()
    case.department_id = code
    case.assigned_at = now
    case.accept_due_at = now + dt.timedelta(hours=case.case_type.accept_hours)
    case.accepted_at = None
    case.reply_due = case.close_due = None


def _route(case: Case, now: dt.datetime, *, actor_kind=ActorKind.SYSTEM, reason="") -> None:
    """Send ``case`` to its next candidate department, or escalate it (the caller saves)."""
    code = routing.next_department(case)
    if code is None:
        previous = case.department_id
        case.to_escalated()
        case.department = None
        case.accept_due_at = None
        case.save()
        _event(case, EventKind.ESCALATED, actor_kind=actor_kind, department=previous, message=reason, public=True)
        return
    _assign(case, code, now)
    case.save()
    _event(case, EventKind.ROUTED, actor_kind=ActorKind.SYSTEM, department=code)
    notices.tell(case, "routed")


def submit(
    *,
    case_type: str,
    kind: str,
    description: str,
    language: str,
    channel: str,
    resident=None,
    contact: dict | None = None,
    address: str = "",
    district: str = "",
    lat=None,
    long=None,
    attribute_values: dict | None = None,
    attachments=(),
    service_slug: str = "",
    transcript: str = "",
    client_id: str = "",
    idempotency_key: str = "",
    submitter_key: str = "",
) -> tuple[Case, str | None]:
    """Submit a case (Open311 POST Service Request). Checks everything first (case type active,
    kind, description 1–5,000 characters, attributes, location, contact, attachments ≤ 5 ×
    5 MiB JPEG/PNG/PDF, the e-service), then in one transaction stores it with reference
    ``1823-YY-XXXXXXXX``, routes it (:mod:`.routing`) and notifies a logged-in person.

    ``submitter_key`` defaults to ``resident:<id>`` or ``client:<client_id>``; with an
    ``idempotency_key`` the same submitter and key return the case first stored (and ``None``
    for the code: it is shown once only), storing nothing new.

    :returns: ``(case, tracking_code)`` — the code (``XXXXX-XXXXX``) only for a person not
        logged in; only its digest is stored.
    :raises DomainError: ``unknown_case_type``, ``unknown_kind``, ``unknown_service``,
        ``description_required``, ``description_too_long``, ``attribute_required``,
        ``attribute_invalid``, ``location_required``, ``invalid_location``,
        ``contact_invalid``, ``too_many_attachments``, ``attachment_empty``,
        ``attachment_too_large``, ``attachment_type``, ``message_too_long`` (transcript)."""
    language = _language(language)
    submitter_key = (
        submitter_key or (f"resident:{resident.pk}" if resident else "") or (f"client:{client_id}" if client_id else "")
    )[:100]
    # A key is only kept with its submitter (no submitter, nothing to replay to).
    idempotency_key = (idempotency_key or "").strip()[:200] if submitter_key else ""
    if idempotency_key and submitter_key:
        found = Case.objects.filter(submitter_key=submitter_key, idempotency_key=idempotency_key).first()
        if found is not None:
            return found, None
    ctype = CaseType.objects.filter(code=case_type or "", active=True).select_related("department").first()
    if ctype is None:
        raise errors.UnknownCaseType()
    if kind not in CaseKind.values:
        raise errors.UnknownKind()
    if channel not in Channel.values:
        channel = Channel.WEB
    text = _text(description, required=errors.DescriptionRequired, too_long=errors.DescriptionTooLong)
    answers = check_attributes(ctype, attribute_values, translation.get_language() or language)
    place = check_location(ctype, address=address, district=district, lat=lat, long=long)
    person = check_contact(contact)
    checked = files.check(attachments)
    service_slug = (service_slug or "").strip()
    if service_slug:  # the case type's own slug is trusted (seeded with the catalogue)
        from tungban.eservices.models import Service

        if not Service.objects.filter(slug=service_slug).exists():
            raise errors.UnknownService()
    service_slug = service_slug or ctype.service_slug
    transcript = _CONTROL.sub("", transcript or "").strip()
    if len(transcript) > 50 * MAX_TEXT:
        raise errors.MessageTooLong(max=50 * MAX_TEXT, field="transcript")
    now = timezone.now()
    tracking = None if resident is not None else refs.new_tracking_code()
    try:
        with transaction.atomic():
            case = Case(
                reference=_fresh_reference(now),
                kind=kind,
                case_type=ctype,
                service_slug=service_slug,
                channel=channel,
                language=language,
                description=text,
                resident=resident,
                contact_name=person["name"],
                contact_email=person["email"],
                contact_phone=person["phone"],
                transcript=transcript,
                client_id=(client_id or "")[:100],
                submitter_key=submitter_key,
                idempotency_key=idempotency_key,
                **place,
            )
            case.set_attribute_values(answers)
            if tracking:
                case.tracking_code = refs.tracking_digest(case.reference, tracking)
            case.save()
            actor = ActorKind.CLIENT if channel == Channel.OPEN311 else ActorKind.PERSON
            _event(case, EventKind.SUBMITTED, actor_kind=actor)
            for item in checked:
                files.store(case, item)
            _route(case, now)
    except IntegrityError:
        if idempotency_key and submitter_key:  # the same key raced us: theirs is the case
            found = Case.objects.filter(submitter_key=submitter_key, idempotency_key=idempotency_key).first()
            if found is not None:
                return found, None
        raise
    return case, tracking


def _fresh_reference(now: dt.datetime) -> str:
    year = timezone.localdate(now).year
    for _attempt in range(5):
        candidate = refs.new_reference(year)
        if not Case.objects.filter(reference=candidate).exists():
            return candidate
    raise RuntimeError("no free 1823 reference after 5 tries")  # pragma: no cover (2^35 per year)


# --- finding a case ------------------------------------------------------------------------------


def _locked(case: Case | str) -> Case:
    """The case row, locked for this transaction (call inside ``transaction.atomic``)."""
    pk = case.pk if isinstance(case, Case) else None
    query = Case.objects.select_for_update().select_related("case_type")
    found = query.filter(pk=pk).first() if pk else query.filter(reference=refs.normalise(str(case))).first()
    if found is None:
        raise errors.CaseUnknown()
    return found


def case_for(reference: str, *, resident=None, tracking_code: str | None = None) -> Case:
    """The case ``reference`` for the person asking: the resident it belongs to, or whoever
    holds its tracking code (compared by keyed digest, in constant time).

    :raises NotFound: ``case_unknown`` — for anyone else too (no hint that it exists)."""
    ref = refs.normalise(reference)
    if not refs.is_valid(ref):
        raise errors.CaseUnknown()
    case = Case.objects.select_related("case_type", "department").filter(reference=ref).first()
    if case is None:
        raise errors.CaseUnknown()
    if resident is not None and case.resident_id is not None and case.resident_id == resident.pk:
        return case
    if tracking_code and case.tracking_code:
        if hmac.compare_digest(case.tracking_code, refs.tracking_digest(ref, tracking_code)):
            return case
    raise errors.CaseUnknown()


def cases_of(resident) -> QuerySet[Case]:
    """The resident's cases, newest first."""
    return Case.objects.filter(resident=resident).select_related("case_type", "department").order_by("-submitted_at")


def _department_name(dept, language: str) -> str:
    if dept is None:
        return ""
    return dept.name_zh if language.startswith("zh") else dept.name_en


#: Events whose message the person sees (the department's words to them, and their own).
_PUBLIC_MESSAGES = {EventKind.REPLIED, EventKind.CLOSED, EventKind.REOPENED}


def public_history(case: Case, language: str) -> list[dict]:
    """The case's history as the person sees it, oldest first: ``[{"kind", "label", "at"
    (aware datetime), "department" (code or ""), "department_name", "message"}]`` — public
    events only; ``message`` only for replies, the closure and the person's own reopening
    (reasons, notes and decisions stay internal). Labels in ``language``."""
    language = _language(language)
    out = []
    with translation.override(language):
        for e in case.events.filter(public=True).select_related("department").order_by("at", "id"):
            out.append(
                {
                    "kind": e.kind,
                    "label": str(EventKind(e.kind).label),
                    "at": e.at,
                    "department": e.department_id or "",
                    "department_name": _department_name(e.department, language),
                    "message": e.message if e.kind in _PUBLIC_MESSAGES else "",
                }
            )
    return out


# --- the departments' and the coordinator's actions ----------------------------------------------


def _require(case: Case, transition) -> None:
    if can_proceed(transition):
        return
    if case.state == CaseState.CLOSED:
        raise errors.CaseClosed()
    raise errors.TransitionNotAllowed(state=str(CaseState(case.state).label))


def accept(case: Case | str, user) -> Case:
    """The department takes the case: it must now reply and close it (pledge dates from now).

    :raises DomainError: ``case_unknown``, ``not_case_officer``, ``other_department``,
        ``case_closed``, ``transition_not_allowed``."""
    with transaction.atomic():
        case = _locked(case)
        actor = _actor(case, user, coordinator_may=False)
        _require(case, case.to_accepted)
        now = timezone.now()
        case.to_accepted()
        pledges.set_due_dates(case, now)
        case.save()
        _event(case, EventKind.ACCEPTED, actor_kind=actor, actor=user, department=case.department_id)
    return case


def _require_state(case: Case, state: str) -> None:
    """Refuse unless ``case`` is in ``state``: ``case_closed`` for a closed case, else
    ``transition_not_allowed``."""
    if case.state == CaseState.CLOSED:
        raise errors.CaseClosed()
    if case.state != state:
        raise errors.TransitionNotAllowed(state=str(CaseState(case.state).label))


def decline(case: Case | str, user, reason: str) -> Case:
    """The department will not take the case (``reason``, 1–5,000 characters, internal): it
    goes to the next candidate department, or to the coordinator when none is left.

    :raises DomainError: ``reason_required``, ``message_too_long``, ``case_unknown``,
        ``not_case_officer``, ``other_department``, ``case_closed``,
        ``transition_not_allowed`` (only a case awaiting acceptance can be declined)."""
    reason = _text(reason, required=errors.ReasonRequired, field="reason")
    with transaction.atomic():
        case = _locked(case)
        actor = _actor(case, user, coordinator_may=False)
        _require_state(case, CaseState.ASSIGNED)
        _event(
            case,
            EventKind.DECLINED,
            actor_kind=actor,
            actor=user,
            department=case.department_id,
            message=reason,
            public=False,
        )
        _route(case, timezone.now(), reason=reason)
    return case


def transfer(case: Case | str, user, department_code: str, reason: str) -> Case:
    """Pass the case to another department (``reason`` 1–5,000 characters, internal), which
    must accept it in its turn; the coordinator may transfer any open case.

    :raises DomainError: ``reason_required``, ``message_too_long``, ``unknown_department``
        (none, or the case's own), ``case_unknown``, ``not_case_officer``,
        ``other_department``, ``case_closed``, ``transition_not_allowed``."""
    reason = _text(reason, required=errors.ReasonRequired, field="reason")
    with transaction.atomic():
        case = _locked(case)
        actor = _actor(case, user, coordinator_may=True)
        target = Department.objects.filter(code=(department_code or "").strip().upper()).first()
        if target is None or target.code == case.department_id:
            raise errors.UnknownDepartment()
        _require(case, case.to_assigned)
        if case.department_id:  # passing it on is declining it: routing never sends it back there
            _event(
                case,
                EventKind.DECLINED,
                actor_kind=actor,
                actor=user,
                department=case.department_id,
                message=reason,
                public=False,
            )
        _event(
            case,
            EventKind.TRANSFERRED,
            actor_kind=actor,
            actor=user,
            department=target.code,
            message=reason,
            public=True,
        )
        _assign(case, target.code, timezone.now())
        case.save()
        notices.tell(case, "routed")
    return case


def decide_lead(case: Case | str, user, department_code: str, decided_by: str) -> Case:
    """The coordinator records the lead department's decision (``decided_by``: who decided,
    e.g. "Deputy Chief Secretary for Administration, meeting of 3 March 2026", 1–200
    characters) and gives the case to that department *accepted* on its behalf: it must reply
    and close it (seed 002 ITIB211, the lead-department mechanism).

    :raises DomainError: ``reason_required`` (no ``decided_by``), ``unknown_department``,
        ``case_unknown``, ``not_case_officer``, ``other_department`` (not the coordinator),
        ``case_closed``, ``transition_not_allowed`` (already accepted)."""
    decided_by = (decided_by or "").strip()
    if not decided_by:
        raise errors.ReasonRequired(field="decided_by")
    if len(decided_by) > 200:
        raise errors.MessageTooLong(max=200, field="decided_by")
    with transaction.atomic():
        case = _locked(case)
        role, _codes = role_of(user)
        if not role:
            raise errors.NotCaseOfficer()
        if role != OfficerRole.COORDINATOR:
            raise errors.OtherDepartment()
        target = Department.objects.filter(code=(department_code or "").strip().upper()).first()
        if target is None:
            raise errors.UnknownDepartment()
        if case.state == CaseState.CLOSED:
            raise errors.CaseClosed()
        if case.state == CaseState.ACCEPTED:
            raise errors.TransitionNotAllowed(state=str(CaseState(case.state).label))
        now = timezone.now()
        if case.state == CaseState.SUBMITTED:
            case.to_assigned()
        case.to_accepted()
        case.department = target
        case.assigned_at = now
        case.accept_due_at = None
        case.lead_decided_by = decided_by
        pledges.set_due_dates(case, now)
        case.save()
        _event(
            case,
            EventKind.LEAD_DECIDED,
            actor_kind=ActorKind.COORDINATOR,
            actor=user,
            department=target.code,
            message=decided_by,
            public=True,
        )
        notices.tell(case, "routed")
    return case


def reply(case: Case | str, user, message: str) -> CaseEvent:
    """A reply to the person (1–5,000 characters, public) from the department that accepted
    the case; the first one stops the reply pledge's timer.

    :raises DomainError: ``reply_required``, ``message_too_long``, ``case_unknown``,
        ``not_case_officer``, ``other_department``, ``case_closed``,
        ``transition_not_allowed`` (not accepted yet)."""
    message = _text(message, required=errors.ReplyRequired, field="reply")
    with transaction.atomic():
        case = _locked(case)
        actor = _actor(case, user, coordinator_may=False)
        _require_state(case, CaseState.ACCEPTED)
        now = timezone.now()
        if case.first_reply_at is None:
            case.first_reply_at = now
            case.save(update_fields=["first_reply_at", "updated_at"])
        event = _event(
            case, EventKind.REPLIED, actor_kind=actor, actor=user, department=case.department_id, message=message
        )
        notices.tell(case, "replied")
    return event


def note(case: Case | str, user, message: str) -> CaseEvent:
    """An internal note (1–5,000 characters; the person never sees it), by the case's
    department or the coordinator, in any state.

    :raises DomainError: ``reason_required``, ``message_too_long``, ``case_unknown``,
        ``not_case_officer``, ``other_department``."""
    message = _text(message, required=errors.ReasonRequired, field="message")
    with transaction.atomic():
        case = _locked(case)
        actor = _actor(case, user, coordinator_may=True)
        return _event(
            case,
            EventKind.NOTE,
            actor_kind=actor,
            actor=user,
            department=case.department_id,
            message=message,
            public=False,
        )


def close(case: Case | str, user, reply: str, closed_at: dt.datetime | None = None) -> Case:
    """The department closes the case with its reply to the person (1–5,000 characters) and
    the actual closure time (default now; never in the future, never before submission — seed
    002 ITIB211); the person may reopen it for ``TUNGBAN_HOTLINE_REOPEN_DAYS`` from when the
    closure is recorded (a backdated closure does not shorten it).

    :raises DomainError: ``reply_required``, ``message_too_long``, ``closed_at_invalid``,
        ``case_unknown``, ``not_case_officer``, ``other_department``, ``case_closed``,
        ``transition_not_allowed`` (not accepted)."""
    text = _text(reply, required=errors.ReplyRequired, field="reply")
    now = timezone.now()
    if closed_at is not None and (timezone.is_naive(closed_at) or closed_at > now):
        raise errors.ClosedAtInvalid()
    with transaction.atomic():
        case = _locked(case)
        actor = _actor(case, user, coordinator_may=False)
        _require(case, case.to_closed)
        when = closed_at or now
        if when < case.submitted_at:
            raise errors.ClosedAtInvalid()
        case.to_closed()
        case.closed_at = when
        case.closed_by = user
        case.closure_reply = text
        # The person is told now: the reopening period and the first reply count from the
        # recording, whatever date the department gives its closure.
        case.reopen_until = now + dt.timedelta(days=settings.TUNGBAN_HOTLINE_REOPEN_DAYS)
        if case.first_reply_at is None:
            case.first_reply_at = now
        case.save()
        _event(case, EventKind.CLOSED, actor_kind=actor, actor=user, department=case.department_id, message=text)
        notices.tell(case, "closed")
    return case


def reopen(case: Case | str, *, reason: str, resident=None, tracking_code: str | None = None) -> Case:
    """The person reopens their closed case (``reason`` 1–5,000 characters) before
    ``reopen_until``: it goes back to the same department, accepted, with new pledge dates.

    :raises DomainError: ``reason_required``, ``message_too_long``, ``case_unknown`` (not
        theirs), ``case_not_closed``, ``reopen_expired``."""
    reason = _text(reason, required=errors.ReasonRequired, field="reason")
    reference = case.reference if isinstance(case, Case) else str(case)
    found = case_for(reference, resident=resident, tracking_code=tracking_code)
    with transaction.atomic():
        case = _locked(found)
        if case.state != CaseState.CLOSED:
            raise errors.CaseNotClosed()
        now = timezone.now()
        if case.reopen_until is None or now > case.reopen_until:
            raise errors.ReopenExpired()
        case.to_reopened()
        pledges.set_due_dates(case, now)
        case.reopened_count += 1
        case.first_reply_at = None
        case.closed_at = None
        case.closed_by = None
        case.closure_reply = ""
        case.reopen_until = None
        case.save()
        _event(case, EventKind.REOPENED, actor_kind=ActorKind.PERSON, department=case.department_id, message=reason)
    return case


# --- sweeps (registered with tungban.core.retention, run by the worker) ----------------------------


def escalate_due(now: dt.datetime | None = None) -> dict[str, int]:
    """Escalate every case still awaiting acceptance after its ``accept_due_at``: the
    department loses it and the coordinator settles the lead department. Each case in its own
    transaction, rows locked (``skip_locked``: a case being acted on is left for the next run).
    Returns ``{"hotline.Case": cases escalated}``."""
    now = now or timezone.now()
    done = 0
    due = Case.objects.filter(state=CaseState.ASSIGNED, accept_due_at__lte=now).values_list("pk", flat=True)
    for pk in list(due[:1000]):
        with transaction.atomic():
            case = (
                Case.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state=CaseState.ASSIGNED, accept_due_at__lte=now)
                .first()
            )
            if case is None:
                continue
            previous = case.department_id
            case.to_escalated()
            case.department = None
            case.accept_due_at = None
            case.save()
            _event(
                case,
                EventKind.ESCALATED,
                actor_kind=ActorKind.SYSTEM,
                department=previous,
                message=f"not accepted by {previous}",
                public=True,
            )
            done += 1
    return {"hotline.Case": done}


def remind_due(now: dt.datetime | None = None) -> dict[str, int]:
    """Remind the department of each accepted case whose pledge (the first reply until it is
    given, and closure) is due tomorrow or overdue: an internal ``reminded`` event the desk's
    queue shows, and a log line — once per case per (Hong Kong) day. Returns
    ``{"hotline.CaseEvent": reminders made}``."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    tomorrow = today + dt.timedelta(days=1)
    start_of_day = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    made = 0
    reminded_today = CaseEvent.objects.filter(case=OuterRef("pk"), kind=EventKind.REMINDED, at__gte=start_of_day)
    candidates = (
        Case.objects.filter(state=CaseState.ACCEPTED)
        .filter(Q(first_reply_at__isnull=True, reply_due__lte=tomorrow) | Q(close_due__lte=tomorrow))
        .exclude(Exists(reminded_today))
    )
    for pk in list(candidates.values_list("pk", flat=True)[:5000]):
        with transaction.atomic():
            case = Case.objects.select_for_update(skip_locked=True).filter(pk=pk, state=CaseState.ACCEPTED).first()
            if case is None or case.events.filter(kind=EventKind.REMINDED, at__gte=start_of_day).exists():
                continue
            lines = []
            if case.first_reply_at is None and case.reply_due and case.reply_due <= tomorrow:
                lines.append({"pledge": "reply", "due": case.reply_due.isoformat(), "overdue": case.reply_due < today})
            if case.close_due and case.close_due <= tomorrow:
                lines.append({"pledge": "close", "due": case.close_due.isoformat(), "overdue": case.close_due < today})
            if not lines:
                continue
            _event(
                case,
                EventKind.REMINDED,
                actor_kind=ActorKind.SYSTEM,
                department=case.department_id,
                message=json.dumps(lines),
                public=False,
            )
            log.info("1823 pledge reminder: %s (%s) %s", case.reference, case.department_id, lines)
            made += 1
    return {"hotline.CaseEvent": made}
