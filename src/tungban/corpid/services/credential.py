"""The mandate as an SD-JWT VC in its holder's app (issue 19, acceptance 2; anchor study
``corpid-federation-app.md`` §0: "mandates issued as SD-JWT VCs, revocable through the existing
status lists and recorded in the transparency log", as GLEIF's vLEI role credentials carry an
official organisational role, but offline-verifiable with the platform's own formats).

The credential type is ``corpid-mandate`` (``credentials/types/corpid-mandate.json``; ``vct``
``{TUNGBAN_ISSUER}/credentials/types/corpid-mandate``), issued by the CorpID platform's own
issuer ``corpid`` (``credentials.constants.PLATFORM_ISSUERS``: no officer or department system
issues or revokes it). Claims (each selectively disclosable, as every credential's): the
holder's ``family_name``, ``given_name``, ``name_zh``; ``br_number``, ``organisation_name_en``,
``organisation_name_zh``, ``role``, ``services``, ``actions``, ``valid_from``, ``valid_until``
(ISO dates), ``joint_approval``, ``may_delegate``, ``mandate_id`` and, for a delegated mandate,
``delegated_from`` (the source mandate's id). Its ``exp`` is the end of ``valid_until``
(Hong Kong time), so an expired mandate's credential has expired too.

When: :func:`issue_for` runs in the transaction that records the holder's acceptance (the
app's decision), so an accepted mandate always has its credential, with its status-list
position and transparency-log leaf (``credentials.services.issue``). :func:`sync` runs in every
transaction that changes a mandate or the organisation's status and sets each credential's
status-list entry to what the mandate now is:

* revoked (final): the mandate was revoked or superseded, or a mandate it was delegated from
  ended (revoked, or declined), since a delegated mandate is in force only while its source is;
* suspended: the organisation is suspended (no administrator in force); reinstated (valid)
  when a director sets it up again and the mandate is still in force;
* valid otherwise (an expired mandate is left to its ``exp``).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from tungban.core.errors import DomainError
from tungban.credentials import catalogue as credential_catalogue
from tungban.credentials import services as credentials

from ..constants import Action, MandateState, OrganisationStatus, Role
from ..models import Mandate, Organisation

#: The credential type of a mandate (``credentials/types/corpid-mandate.json``).
TYPE_ID = "corpid-mandate"
#: ``issued_by`` / ``changed_by`` of the credentials and their status changes.
ISSUED_BY = "corpid"


#: The terms (:func:`.mandates.terms`, what the holder accepted) the credential carries as they are.
TERMS = ("role", "services", "actions", "valid_from", "valid_until", "joint_approval", "may_delegate")


def claims_of(mandate: Mandate, terms: dict) -> dict:
    """The mandate's claims besides the holder's name (which the type fills from the holder's
    identity), from ``terms``, the mandate as its holder accepted it (:func:`.mandates.terms`,
    whose digest the app's approval signed): the company, the role and scope, the dates, and the
    mandate's id and its source's."""
    organisation = terms["organisation"]
    claims = {
        "br_number": organisation["br_number"],
        "organisation_name_en": organisation["name_en"],
        **{name: terms[name] for name in TERMS},
        "mandate_id": terms["mandate"],
    }
    if organisation.get("name_zh"):
        claims["organisation_name_zh"] = organisation["name_zh"]
    if mandate.parent_id is not None:
        claims["delegated_from"] = str(mandate.parent.public_id)
    return claims


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def issue_for(mandate: Mandate, terms: dict):
    """Issue the mandate's credential into its holder's app (call inside the transaction that
    accepts the mandate), saying what ``terms`` say (:func:`claims_of`); records its id on the
    mandate. Not before ``valid_from`` (when that is
    within the year credentials may start in), until the end of ``valid_until``.

    :returns: the :class:`~tungban.credentials.models.Credential`.
    :raises DomainError: as ``credentials.services.issue`` (e.g. ``holder_not_active``): the
        acceptance is then not recorded either.
    """
    ctype = credential_catalogue.ensure_type(TYPE_ID)
    start = None
    if mandate.valid_from > timezone.localdate():
        begins = _start_of(mandate.valid_from)
        if begins <= timezone.now() + dt.timedelta(days=365):
            start = begins
    credential = credentials.issue(
        ctype,
        mandate.holder,
        claims_of(mandate, terms),
        issued_by=ISSUED_BY,
        valid_from=start,
        expires_at=_start_of(mandate.valid_until + dt.timedelta(days=1)),
    )
    mandate.credential_id = credential.id
    mandate.save(update_fields=["credential_id"])
    return credential


def _wanted(mandate: Mandate, organisation: Organisation) -> tuple[str, str]:
    """The status the mandate's credential should have now, and why (for the status history)."""
    current: Mandate | None = mandate
    while current is not None:
        if current.state in (MandateState.REVOKED, MandateState.DECLINED):
            why = "mandate revoked" if current.pk == mandate.pk else "the mandate it was delegated from ended"
            return "revoked", why
        current = current.parent
    if organisation.status == OrganisationStatus.SUSPENDED:
        return "suspended", "organisation suspended: no administrator in force"
    return "valid", "organisation active again"


def sync(organisation: Organisation) -> int:
    """Bring the status-list entry of every mandate credential of ``organisation`` in line with
    its mandate (module docstring); call inside the transaction of the change, after it.
    Revocation is final: a revoked credential stays revoked. Returns how many changed."""
    changed = 0
    found = Mandate.objects.select_related("parent__parent__parent").filter(
        organisation=organisation, credential_id__isnull=False
    )
    for mandate in found:
        try:
            credential = credentials.get_credential(mandate.credential_id)
        except DomainError:
            continue
        wanted, why = _wanted(mandate, organisation)
        if credential.status == wanted or credential.status == "revoked":
            continue
        credentials.change_status(credential, wanted, reason=why, changed_by=ISSUED_BY)
        changed += 1
    return changed


# --- what a mandate credential says (credentials.summaries, registered in CorpidConfig.ready) ----


def _person(claims: dict, zh: bool) -> str:
    if zh and claims.get("name_zh"):
        return claims["name_zh"]
    name = " ".join(str(claims[k]) for k in ("family_name", "given_name") if claims.get(k))
    return name or (claims.get("name_zh") or _("The holder"))


def _company(claims: dict, zh: bool) -> str:
    name = (claims.get("organisation_name_zh") if zh else None) or claims.get("organisation_name_en")
    brn = claims.get("br_number")
    if name and brn:
        return f"{name}（{brn}）" if zh else f"{name} ({brn})"
    return name or (_("the company with Business Registration number %(brn)s") % {"brn": brn} if brn else "")


def describe(claims: dict, language: str) -> str | None:
    """ "X may act for Y as Z (services, actions, until)" in ``language``, from the disclosed
    claims; None when neither the company's name nor its BR number was disclosed."""
    with override(language):
        zh = not language.startswith("en")
        company = _company(claims, zh)
        if not company:
            return None
        role = claims.get("role")
        role_text = str(Role(role).label) if role in Role.values else _("an authorised person")
        parts = []
        services = claims.get("services")
        if isinstance(services, list):
            parts.append(_("all services") if "*" in services else ", ".join(map(str, services)))
        actions = claims.get("actions")
        if isinstance(actions, list):
            parts.append(("、" if zh else ", ").join(str(Action(a).label) for a in actions if a in Action.values))
        until = claims.get("valid_until")
        if isinstance(until, str):
            parts.append(_("until %(date)s") % {"date": until})
        if claims.get("joint_approval") is True:
            parts.append(_("with a second person's approval"))
        said = _("%(person)s may act for %(company)s as %(role)s") % {
            "person": _person(claims, zh),
            "company": company,
            "role": role_text,
        }
        if not parts:
            return said
        return f"{said}（{'；'.join(parts)}）" if zh else f"{said} ({'; '.join(parts)})"


def title(claims: dict, language: str) -> str | None:
    """The app's title of a mandate credential: "Mandate for <company>"."""
    with override(language):
        zh = not language.startswith("en")
        name = (claims.get("organisation_name_zh") if zh else None) or claims.get("organisation_name_en")
        return _("Mandate for %(company)s") % {"company": name} if name else None
