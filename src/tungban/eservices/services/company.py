"""Applying for a company (CorpID, issue 19): what the portal's corporate login says about the
company, and the check that the person may still act for it.

The portal logs in with scope ``openid corpid`` and an OIDC ``claims`` request naming the
e-service's slug (OIDC Core §5.5.1; ``docs/integrators.md`` §12, "Corporate login"); the
``authority`` claim of userinfo (the OpenID Foundation's "OpenID Connect Authority claims"
draft) names the organisation (``applies_to``) and the mandate (``mandate_id``). The portal's
session and the application keep the BR number, the names, the pairwise organisation
identifier and the mandate id (:class:`Company`).

Nothing is cached: each request about a company's application asks
:func:`tungban.corpid.services.authority` again, so a revoked or expired mandate counts from
the next request (issue 19).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from django.utils.translation import gettext as _

from tungban.core.errors import DomainError
from tungban.corpid import services as corpid
from tungban.corpid.services import corporate_signing

from .. import errors
from ..models import Application, Requirement, Service

#: The claim carrying the organisation and the mandate.
CLAIM = "authority"
_BRN = re.compile(r"^[0-9A-Z]{8}$")


@dataclass(frozen=True)
class Company:
    """The company a person logged in for: ``br_number`` (8 characters), ``name_en``,
    ``name_zh``, ``org_sub`` (the pairwise organisation identifier the portal received; never
    the BR number) and ``mandate_id`` (the mandate's public id)."""

    br_number: str
    name_en: str
    name_zh: str
    org_sub: str
    mandate_id: str

    def as_dict(self) -> dict:
        return asdict(self)

    def name(self, lang: str) -> str:
        return (self.name_zh or self.name_en) if lang == "zh" else self.name_en


def claims_request(slug: str) -> dict:
    """The OIDC ``claims`` request parameter (OIDC Core §5.5) asking for the ``authority``
    claim for the e-service ``slug`` in userinfo and the ID token (contract A of issue 19)."""
    wanted = {CLAIM: {"essential": True, "service": slug}}
    return {"userinfo": wanted, "id_token": wanted}


def from_claims(claims: dict) -> Company:
    """The company named by the ``authority`` claim of a userinfo answer.

    :raises DomainError: ``company_not_named`` (no claim, or no BR number or mandate in it).
    """
    authority = claims.get(CLAIM)
    if not isinstance(authority, dict):
        raise errors.CompanyNotNamed()
    applies = authority.get("applies_to") or {}
    brn = str(applies.get("registration_number", ""))
    mandate_id = str(authority.get("mandate_id", ""))
    if not _BRN.fullmatch(brn) or not mandate_id:
        raise errors.CompanyNotNamed()
    return Company(
        br_number=brn,
        name_en=str(applies.get("organization_name", "")),
        name_zh=str(applies.get("organization_name#zh-Hant", "")),
        org_sub=str(applies.get("organization_sub", "")),
        mandate_id=mandate_id,
    )


def offered_to_companies(service: Service) -> bool:
    """Whether the portal offers "Apply for a company" for ``service`` (its ``corpid`` is not ``no``)."""
    return service.corpid in (Requirement.ALLOWED, Requirement.REQUIRED)


def check_start(service: Service, company: Company | None) -> None:
    """Whether an application may start as asked: a service with ``corpid = "required"`` only
    for a company, one with ``"no"`` never.

    :raises DomainError: ``company_login_required``, ``company_not_allowed``.
    """
    if company is None and service.corpid == Requirement.REQUIRED:
        raise errors.CompanyLoginRequired()
    if company is not None and not offered_to_companies(service):
        raise errors.CompanyNotAllowed()


def fields_of(company: Company | None) -> dict:
    """The :class:`~tungban.eservices.models.Application` fields recording ``company``."""
    if company is None:
        return {}
    return {
        "org_br_number": company.br_number,
        "org_name_en": company.name_en[:200],
        "org_name_zh": company.name_zh[:100],
        "org_sub": company.org_sub[:100],
        "mandate_id": company.mandate_id[:64],
    }


def authorise(resident, br_number: str, slug: str, action: str):
    """CorpID's check (:func:`tungban.corpid.services.authority`): the mandate in force, or
    its refusal."""
    return corpid.authority(resident, br_number, slug, action)


def company_of(app: Application) -> Company | None:
    """The company ``app`` is for, or ``None`` (the resident's own)."""
    if not app.org_br_number:
        return None
    return Company(app.org_br_number, app.org_name_en, app.org_name_zh, app.org_sub, app.mandate_id)


def require(app: Application, resident, action: str):
    """The mandate under which ``resident`` may do ``action`` (``view``, ``apply``, ``pay``,
    ``sign``) in ``app``'s service for its company, checked now; ``None`` for a resident's
    own application.

    :raises DomainError: CorpID's refusals (``mandate_revoked``, ``mandate_expired``,
        ``mandate_out_of_scope``, ``organisation_suspended``, ``no_mandate``…,
        ``docs/integrators.md`` §12).
    """
    if not app.org_br_number:
        return None
    return authorise(resident, app.org_br_number, app.service.slug, action)


def visible(apps: list[Application], resident) -> list[Application]:
    """``apps`` without the companies' applications ``resident`` may not view today (one
    authority check per company and service)."""
    allowed: dict[tuple[str, str], bool] = {}
    out = []
    for app in apps:
        if app.org_br_number:
            key = (app.org_br_number, app.service.slug)
            if key not in allowed:
                try:
                    authorise(resident, *key, "view")
                    allowed[key] = True
                except DomainError:
                    allowed[key] = False
            if not allowed[key]:
                continue
        out.append(app)
    return out


def person_for_company(app: Application, lang: str) -> str:
    """ "<person> for <company>" (``lang`` ``en``/``zh``) for a company's application, the
    person's name for a resident's own."""
    resident = app.resident
    person = (resident.name_zh or resident.name_en) if lang == "zh" else resident.name_en
    company = company_of(app)
    if company is None:
        return person
    return _("%(person)s for %(company)s") % {"person": person, "company": company.name(lang)}


def ask_consent(app: Application, resident, data_user, *, product_id: str, purpose: str, duration_seconds: int):
    """Ask the company's consent (given in the app by ``resident`` for it) to fetch
    ``product_id`` about ``app``'s company for ``data_user`` once: CorpID's
    :func:`~tungban.corpid.services.company_consent` (the mandate must cover ``apply`` in the
    service). Returns the exchange ``Consent``.

    :raises DomainError: CorpID's and the gateway's refusals (``no_mandate``,
        ``mandate_out_of_scope``, ``mandate_revoked``, ``unknown_product``…).
    """
    return corpid.company_consent(
        resident,
        app.org_br_number,
        data_user,
        product_id=product_id,
        purpose=purpose,
        duration_seconds=duration_seconds,
        max_uses=1,
        service=app.service.slug,
    )


def consent_belongs(consent, app: Application, resident) -> bool:
    """Whether the exchange ``consent`` is this application's to use: the resident's own
    consent for their own application; for a company's, a consent about that company
    (``subject_id`` = its BR number) given by ``resident``."""
    if not app.org_br_number:
        return consent.resident_id == resident.pk
    return consent.given_by_id == resident.pk and consent.subject_id == app.org_br_number


def open_signing(app: Application, resident, documents: list[dict], *, reason: str, client_id: str):
    """Open the signing of ``documents`` for ``app``'s company: CorpID's corporate signing
    (:func:`tungban.corpid.services.corporate_signing.open_request`; the mandate must cover
    ``sign`` in the service, checked again at the app's approval and when the job signs).
    Returns the signing service's ``SigningRequest``.

    :raises DomainError: CorpID's refusals, the signing service's (``plus_required``…).
    """
    return corporate_signing.open_request(
        resident, app.org_br_number, app.service.slug, documents, reason=reason, client_id=client_id
    )


def second_approval(req) -> str:
    """The app approval a second authorised person of the company must give for the signing
    request ``req`` (the mandate's joint approval, open once the first signatory approved),
    or ``""`` when none is awaited."""
    if not corporate_signing.second_signatory_needed(req):
        return ""
    ids = corporate_signing.approval_ids(req)  # the signatory's, then the second one's
    return str(ids[1]) if len(ids) > 1 else ""
