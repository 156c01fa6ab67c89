"""Identity domain logic: registering, proofing, suspending residents.

Rules (issue #2, ../shared/MISSION.md §1): HKID check digit; age 11 or over; a recorded
parent/guardian consent for ages 11-17; one HKID → one account; the tier is stored with
how identity was proofed (counter → ``plus``, self-registration → ``basic``).
Every function that writes runs in one transaction and raises
:class:`~tungban.core.errors.DomainError` before anything is stored.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import errors
from . import hkid as hkid_mod
from .models import AuditEvent, GuardianConsent, ProofingMethod, Resident, ResidentStatus, Tier
from .proofing import get_proofer

MIN_AGE = 11
ADULT_AGE = 18


@dataclass
class Guardian:
    """A parent's or guardian's consent for a resident aged 11-17."""

    name: str
    hkid: str
    relationship: str


def age_on(date_of_birth: dt.date, today: dt.date) -> int:
    """Whole years between ``date_of_birth`` and ``today``."""
    return today.year - date_of_birth.year - ((today.month, today.day) < (date_of_birth.month, date_of_birth.day))


def today() -> dt.date:
    return timezone.localdate()


def check_age(date_of_birth: dt.date, guardian: Guardian | None) -> None:
    """Enforce the age rules.

    :raises DomainError: ``date_of_birth_future``, ``too_young`` (under 11) or
        ``guardian_required`` (11-17 without a guardian's consent).
    """
    now = today()
    if date_of_birth > now:
        raise errors.DateOfBirthFuture()
    age = age_on(date_of_birth, now)
    if age < MIN_AGE:
        raise errors.TooYoung()
    if age < ADULT_AGE and not (
        guardian and guardian.name.strip() and guardian.relationship.strip() and guardian.hkid.strip()
    ):
        raise errors.GuardianRequired()


#: Longest value of each profile field, in characters (issue 13 item 11). The database
#: columns of the names, phone and guardian have these lengths too; addresses are text
#: columns bounded here.
MAX_LENGTHS = {
    "family_name_en": 60,
    "given_name_en": 80,
    "name_zh": 20,
    "residential_address": 300,
    "billing_address": 300,
    "phone": 20,
    "email": 254,  # RFC 5321 §4.5.3.1.3 (a path of 256 octets, less the angle brackets)
    "guardian_name": 120,
    "guardian_relationship": 40,
    "status_reason": 200,
}
#: Fields that may hold line breaks (postal addresses).
MULTILINE = {"residential_address", "billing_address"}
# Bidirectional embedding, override and isolate controls: they make text read differently
# from what is stored (Unicode TR #9; "Trojan Source", CVE-2021-42574).
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _labels() -> dict:
    return {
        "family_name_en": _("Surname (English)"),
        "given_name_en": _("Given name (English)"),
        "name_zh": _("Name (Chinese)"),
        "residential_address": _("Residential address"),
        "billing_address": _("Billing address"),
        "phone": _("Phone"),
        "email": _("Email"),
        "guardian_name": _("Parent or guardian's name"),
        "guardian_relationship": _("Relationship"),
        "status_reason": _("Reason"),
    }


def clean_text(value, field: str) -> str:
    """A profile field's value, stripped (line breaks as ``\\n`` in addresses), checked.

    Refused (issue 13 item 11), before anything is stored: NUL and every other control
    character (Unicode category Cc; line feeds allowed in :data:`MULTILINE` fields), lone
    surrogates (Cs: not encodable as UTF-8, they used to give a 500), unassigned code
    points (Cn), and bidirectional controls.

    :param field: a key of :data:`MAX_LENGTHS`.
    :returns: the cleaned text (``""`` for ``None``).
    :raises DomainError: 422 ``invalid_characters``; 422 ``text_too_long`` past
        ``MAX_LENGTHS[field]`` characters. ``field`` names the input.
    """
    text = "" if value is None else str(value)
    if field in MULTILINE:
        text = text.replace("\r\n", "\n")
    label = _labels()[field]
    for ch in text:
        category = unicodedata.category(ch)
        if (category == "Cc" and not (ch == "\n" and field in MULTILINE)) or category in ("Cs", "Cn"):
            raise errors.InvalidCharacters(field=field, label=label)
        if ch in _BIDI_CONTROLS:
            raise errors.InvalidCharacters(field=field, label=label)
    text = text.strip()
    if len(text) > MAX_LENGTHS[field]:
        raise errors.TextTooLong(field=field, label=label, max=MAX_LENGTHS[field])
    return text


def _require(value: str, field: str, label) -> str:
    value = (value or "").strip()
    if not value:
        raise errors.Required(_("%(field)s is required.") % {"field": label}, field=field)
    return value


def _clean_guardian(guardian: Guardian | None) -> Guardian | None:
    if guardian is None:
        return None
    return Guardian(
        name=clean_text(guardian.name, "guardian_name"),
        hkid=guardian.hkid,
        relationship=clean_text(guardian.relationship, "guardian_relationship"),
    )


def _clean_contact(**fields) -> dict:
    """The e-ME contact fields cleaned (:func:`clean_text`) and checked (e-mail, phone)."""
    cleaned = {name: clean_text(value, name) for name, value in fields.items()}
    if cleaned.get("email"):
        try:
            validate_email(cleaned["email"])
        except ValidationError:
            raise errors.InvalidEmail() from None
    if cleaned.get("phone") and not all(ch.isdigit() or ch in "+- " for ch in cleaned["phone"]):
        raise errors.InvalidPhone()
    return cleaned


def register_resident(
    *,
    hkid: str,
    family_name_en: str,
    given_name_en: str,
    name_zh: str = "",
    date_of_birth: dt.date,
    gender: str,
    tier: str,
    proofing_method: str,
    officer=None,
    guardian: Guardian | None = None,
    residential_address: str = "",
    billing_address: str = "",
    phone: str = "",
    email: str = "",
) -> Resident:
    """Create a resident account after its identity was proofed.

    :returns: the new :class:`Resident`.
    :raises DomainError: ``hkid_format``/``hkid_check_digit``, ``required``, ``too_young``,
        ``guardian_required``, ``invalid_gender``, ``invalid_email``, ``invalid_phone``; 422
        ``text_too_long`` / ``invalid_characters`` for any text field (:func:`clean_text`);
        :class:`Conflict` ``hkid_taken`` when the HKID already has an account (one HKID →
        one account).
    """
    canonical = hkid_mod.normalize(hkid)
    family_name_en = _require(clean_text(family_name_en, "family_name_en"), "family_name_en", _("Surname (English)"))
    given_name_en = _require(clean_text(given_name_en, "given_name_en"), "given_name_en", _("Given name (English)"))
    name_zh = clean_text(name_zh, "name_zh")
    contact = _clean_contact(
        residential_address=residential_address, billing_address=billing_address, phone=phone, email=email
    )
    guardian = _clean_guardian(guardian)
    if gender not in {"male", "female"}:
        raise errors.InvalidGender()
    if tier not in Tier.values:
        raise errors.InvalidTier()
    check_age(date_of_birth, guardian)
    guardian_hkid = (
        hkid_mod.normalize(guardian.hkid) if guardian and age_on(date_of_birth, today()) < ADULT_AGE else None
    )
    try:
        with transaction.atomic():
            resident = Resident.objects.create(
                hkid=canonical,
                family_name_en=family_name_en,
                given_name_en=given_name_en,
                name_zh=name_zh,
                date_of_birth=date_of_birth,
                gender=gender,
                tier=tier,
                proofing_method=proofing_method,
                proofed_at=timezone.now(),
                proofed_by=officer,
                **contact,
            )
            if guardian_hkid:
                GuardianConsent.objects.create(
                    resident=resident,
                    guardian_name=guardian.name,
                    guardian_hkid=guardian_hkid,
                    relationship=guardian.relationship,
                    recorded_by=officer,
                )
            AuditEvent.objects.create(
                resident=resident,
                action="registered",
                actor=officer,
                detail={"tier": tier, "proofing": proofing_method},
            )
    except IntegrityError:
        raise errors.HkidTaken(field="hkid") from None
    return resident


def register_at_counter(officer, **data) -> Resident:
    """Path (a): an officer registers a resident after checking the HKID card in person.

    Counter registration proofs identity in person, so the account is tungban+ (``plus``).
    Same arguments and errors as :func:`register_resident` (without tier/proofing).
    """
    return register_resident(tier=Tier.PLUS, proofing_method=ProofingMethod.COUNTER_IN_PERSON, officer=officer, **data)


def self_register(**data) -> Resident:
    """Path (b): self-registration from the app, proofed by the configured proofer.

    For ages 11-17 the parent's or guardian's details go to the proofer too, which checks
    them against the register (issue 13 item 2; see
    :class:`~tungban.identity.proofing.PopulationRegisterProofer`).

    :raises DomainError: ``proofing_failed`` (the claimant's or the guardian's details are
        not confirmed), ``guardian_required``, ``too_young``, ``date_of_birth_future`` (age
        rules, checked before proofing), besides the errors of :func:`register_resident`.
    """
    canonical = hkid_mod.normalize(data.get("hkid", ""))
    for name in (
        "family_name_en",
        "given_name_en",
        "name_zh",
        "residential_address",
        "billing_address",
        "phone",
        "email",
    ):
        if name in data:
            clean_text(data[name], name)  # refuse bad text before the register is consulted
    guardian = _clean_guardian(data.get("guardian"))
    # The age rules first (cheap, and they say which guardian details are needed).
    check_age(data["date_of_birth"], guardian)
    minor = age_on(data["date_of_birth"], today()) < ADULT_AGE
    # Proof first: only someone who knows the holder's details learns that an account exists.
    get_proofer()(
        {
            "hkid": canonical,
            "family_name_en": data.get("family_name_en", ""),
            "given_name_en": data.get("given_name_en", ""),
            "date_of_birth": data["date_of_birth"],
            "gender": data.get("gender", ""),
            "guardian": (
                {
                    "name": guardian.name.strip(),
                    "hkid": hkid_mod.normalize(guardian.hkid),
                    "relationship": guardian.relationship.strip(),
                }
                if minor
                else None
            ),
        }
    )
    return register_resident(tier=Tier.BASIC, proofing_method=ProofingMethod.POPULATION_REGISTER, **data)


def get_by_hkid(raw: str) -> Resident:
    """Look a resident up by HKID number (any spelling).

    :raises DomainError: on a malformed number; :class:`NotFound` ``no_account``.
    """
    canonical = hkid_mod.normalize(raw)
    try:
        return Resident.objects.by_hkid(canonical).get()
    except Resident.DoesNotExist:
        raise errors.NoAccount() from None


def require_active(resident: Resident) -> None:
    """:raises Forbidden: ``account_suspended`` when the account is suspended."""
    if not resident.is_active:
        raise errors.AccountSuspended()


@transaction.atomic
def set_status(resident: Resident, status: str, *, reason: str = "", actor=None) -> Resident:
    """Suspend or reinstate an account. A suspended resident cannot approve, bind or
    receive releases (:func:`require_active`); officers also unbind the device."""
    if status not in ResidentStatus.values:
        raise errors.InvalidStatus()
    resident.status = status
    resident.status_reason = clean_text(reason, "status_reason")
    resident.save(update_fields=["status", "status_reason", "updated_at"])
    AuditEvent.objects.create(resident=resident, action=f"status_{status}", actor=actor, detail={"reason": reason})
    return resident


@transaction.atomic
def update_contact(resident: Resident, **fields) -> Resident:
    """Update the resident's own e-ME contact fields: ``residential_address``,
    ``billing_address``, ``phone``, ``email``.

    :raises DomainError: ``unknown_field``, ``invalid_email``, ``invalid_phone``; 422
        ``text_too_long`` / ``invalid_characters`` (:func:`clean_text`). Nothing is stored then.
    """
    allowed = {"residential_address", "billing_address", "phone", "email"}
    unknown = set(fields) - allowed
    if unknown:
        raise errors.UnknownField(field=sorted(unknown)[0])
    for name, value in _clean_contact(**fields).items():
        setattr(resident, name, value)
    resident.save()
    return resident


def audit(resident: Resident, action: str, actor=None, **detail) -> None:
    """Record an account event (binding, unbinding, …) in the resident's audit trail."""
    AuditEvent.objects.create(resident=resident, action=action, actor=actor, detail=detail)
