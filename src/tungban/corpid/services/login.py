"""Corporate login (issue 19, acceptance 3): a service asks for the OpenID Connect scope
``corpid``; the app asks the resident which company to act for; the ID token and userinfo
carry the claim ``authority``.

The OpenID Provider (floor 4) never imports this module: CorpID registers the scope with
:mod:`tungban.oidc.scopes` (``prepare``: the request's checks and the app's question;
``resolve``: the claim's value; ``describe``: the release record's words) and the question
with :mod:`tungban.wallet.choices` in :class:`tungban.corpid.apps.CorpidConfig.ready`.

The claim's shape follows the OIDF "OpenID Connect Authority claims" draft (eKYC-IDA WG:
``applies_to``, ``permission[]`` with ``role``, ``function``, ``audience``, ``validity``,
``granted_by`` with ``method`` and ``granting_body``), as a top-level claim so that stock
clients read it; the seam is in ``briefs/corpid-contracts.md`` (A).

Nothing is cached: the mandate is judged when the app offers the companies, when the resident
approves, when the code is exchanged (ID token), at every refresh and at every userinfo call.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tungban.core.errors import DomainError
from tungban.identity.models import Resident
from tungban.oidc import errors as oidc_errors

from .. import errors
from ..constants import Basis, MandateState, Role
from ..models import Mandate, Organisation, OrganisationSubject
from .authority import authority
from .mandates import covers

#: The OpenID Connect scope of corporate login.
SCOPE = "corpid"
#: The claim it releases (ID token and userinfo).
CLAIM = "authority"
#: The app's question (:mod:`tungban.wallet.choices`).
CHOICE = "corpid.organisation"
#: ``registered_jurisdiction`` of every organisation on the register (ISO 3166-1 alpha-2).
JURISDICTION = "HK"
#: The action a login needs, when the mandate has it for the service; else any action it has there.
LOGIN_ACTION = "view"

_client_services: dict[str, Callable[[str], bool]] = {}


def register_client_services(client_id: str, allows: Callable[[str], bool]) -> None:
    """Let the OpenID client ``client_id`` name services other than its own client id in the
    ``claims`` request (e.g. the e-services portal: every e-service that takes CorpID);
    ``allows(service) -> bool``. Call from an ``AppConfig.ready()``; the same again replaces it."""
    _client_services[client_id] = allows


def login_service(client, claims_request: dict) -> str:
    """The service a corporate login is for: ``claims`` (OIDC Core §5.5) may name one in the
    ``authority`` member of ``userinfo`` and/or ``id_token`` (``{"essential": true, "service":
    "<slug>"}``, an extra member §5.5.1 allows); else the client's own ``client_id``.

    :raises DomainError: ``invalid_authorization_request`` (sent as ``invalid_request``): two
        different services named, a service that is not a string, or one the client may not
        name (only its own client id, or what :func:`register_client_services` allows it).
    """
    named = set()
    for member in ("userinfo", "id_token"):
        spec = (claims_request.get(member) or {}).get(CLAIM)
        if isinstance(spec, dict) and "service" in spec:
            named.add(spec["service"] if isinstance(spec["service"], str) else None)
    if not named:
        return client.client_id
    if len(named) > 1 or None in named:
        raise oidc_errors.InvalidAuthorizationRequest(
            reason="The 'authority' claims request must name one service, as a string, in userinfo and id_token."
        )
    service = named.pop()
    if service == client.client_id:
        return service
    allows = _client_services.get(client.client_id)
    if allows is None or not service or len(service) > 100 or not allows(service):
        raise oidc_errors.InvalidAuthorizationRequest(
            reason="This client may not name that service in the 'authority' claims request: "
            "name one of its own services that takes CorpID."
        )
    return service


def prepare(client, scopes: set[str], claims_request: dict) -> dict:
    """The OpenID Provider's ``prepare`` hook for ``corpid`` (:mod:`tungban.oidc.scopes`):
    ``{"choice": CHOICE, "corpid": {"service": ...}}`` for the approval's context.

    :raises DomainError: ``invalid_scope_request`` (sent as ``invalid_scope``): ``corpid``
        without ``openid`` (a corporate login is a login); see :func:`login_service`.
    """
    if "openid" not in scopes:
        raise oidc_errors.InvalidScopeRequest(reason="The 'corpid' scope needs 'openid': corporate login is a login.")
    return {"choice": CHOICE, "corpid": {"service": login_service(client, claims_request)}}


def _login_action(mandate: Mandate, service: str) -> str:
    return next((a for a in (LOGIN_ACTION, *mandate.actions) if covers(mandate, service, a)), LOGIN_ACTION)


def login_mandate(resident: Resident, mandate_id, service: str) -> Mandate:
    """The resident's mandate ``mandate_id`` (its public id) if it lets them log in to
    ``service`` for its company now: in force and covering the service with ``view``, or with
    any action (:func:`tungban.corpid.services.authority`).

    :raises DomainError: ``no_mandate`` (not the resident's mandate, or not a mandate id),
        and every refusal of :func:`~tungban.corpid.services.authority` (``mandate_revoked``,
        ``mandate_expired``, ``mandate_out_of_scope``, ``organisation_suspended``, …).
    """
    try:
        mandate = (
            Mandate.objects.select_related("organisation", "parent")
            .filter(public_id=mandate_id, holder=resident)
            .first()
        )
    except (ValueError, TypeError, ValidationError):  # not a UUID (a tampered approval)
        mandate = None
    if mandate is None:
        raise errors.NoMandate()
    held = authority(resident, mandate.organisation.br_number, service, _login_action(mandate, service))
    if held.pk != mandate.pk:
        raise errors.NoMandate()
    return held


def login_authority(resident: Resident, client_id: str, service: str) -> list[Mandate]:
    """The companies ``resident`` may log in to ``service`` (of the OpenID client
    ``client_id``) for: their accepted mandates in force that cover the service (with ``view``
    or any action), one per organisation, by company name. The seam of contract A."""
    offered = []
    seen = set()
    for mandate in Mandate.objects.select_related("organisation").filter(holder=resident, state=MandateState.ACTIVE):
        if mandate.organisation_id in seen:
            continue
        try:
            offered.append(login_mandate(resident, mandate.public_id, service))
        except DomainError:
            continue
        seen.add(mandate.organisation_id)
    return sorted(offered, key=lambda m: m.organisation.name_en)


def organisation_sub(organisation: Organisation, sector: str) -> str:
    """The organisation's pairwise identifier at ``sector`` (an OpenID client's
    :attr:`~tungban.oidc.models.Client.sector`, as for the person's ``sub``): 32 random bytes,
    base64url, made at the first corporate login there and kept (:class:`OrganisationSubject`);
    never derived from the BRN, so services cannot link a company across sectors by it."""
    found = OrganisationSubject.objects.filter(organisation=organisation, sector=sector).values_list("sub", flat=True)
    if found:
        return found[0]
    try:
        with transaction.atomic():
            return OrganisationSubject.objects.create(
                organisation=organisation, sector=sector, sub=secrets.token_urlsafe(32)
            ).sub
    except IntegrityError:  # another worker made it at the same moment
        return OrganisationSubject.objects.get(organisation=organisation, sector=sector).sub


def authority_claim(mandate: Mandate, service: str, sector: str) -> dict:
    """The ``authority`` claim for ``mandate`` used at ``service`` (contract A; the OIDF
    Authority claims draft's members)::

        {"applies_to": {"registration_number", "organization_name", "organization_name#zh-Hant",
                        "registered_jurisdiction": "HK", "organization_sub"},
         "permission": [{"role", "function": [actions], "audience": [service],
                         "validity": {"start", "end"} (YYYY-MM-DD), "joint_approval"}],
         "granted_by": {"method": "appointed" | "delegated", "granting_body": BRN},
         "mandate_id": public id}
    """
    org = mandate.organisation
    applies_to = {
        "registration_number": org.br_number,
        "organization_name": org.name_en,
        "registered_jurisdiction": JURISDICTION,
        "organization_sub": organisation_sub(org, sector),
    }
    if org.name_zh:
        applies_to["organization_name#zh-Hant"] = org.name_zh
    return {
        "applies_to": applies_to,
        "permission": [
            {
                "role": mandate.role,
                "function": list(mandate.actions),
                "audience": [service],
                "validity": {"start": mandate.valid_from.isoformat(), "end": mandate.valid_until.isoformat()},
                "joint_approval": mandate.joint_approval,
            }
        ],
        "granted_by": {
            "method": "delegated" if mandate.basis == Basis.DELEGATED else "appointed",
            "granting_body": org.br_number,
        },
        "mandate_id": str(mandate.public_id),
    }


def _service_of(context: dict) -> str:
    return str((context.get("corpid") or {}).get("service") or "")


def resolve(claim: str, resident: Resident, client, context: dict) -> dict:
    """The OpenID Provider's ``resolve`` hook: the ``authority`` claim of the company chosen in
    the app (``context["chosen"]``), judged now (:func:`login_mandate`).

    :raises DomainError: the mandate's refusal (``mandate_revoked``, ``mandate_expired``, …;
        ``no_mandate`` for a login without a choice)."""
    return authority_claim(
        login_mandate(resident, context.get("chosen"), _service_of(context)), _service_of(context), client.sector
    )


def describe(claim: str, value: dict) -> dict:
    """The release record's words for an ``authority`` value: ``{"en": "for <name>,
    <BRN>", "zh": "代表 <中文名>，<BRN>"}``."""
    applies = value.get("applies_to") or {}
    brn = applies.get("registration_number", "")
    name_en = applies.get("organization_name", "")
    name_zh = applies.get("organization_name#zh-Hant") or name_en
    with translation.override("en"):
        en = _("for %(company)s, %(brn)s") % {"company": name_en, "brn": brn}
    with translation.override("zh-hant"):
        zh = _("for %(company)s, %(brn)s") % {"company": name_zh, "brn": brn}
    return {"en": en, "zh": zh}


def _bilingual(text) -> dict:
    out = {}
    for lang, code in (("en", "en"), ("zh", "zh-hant")):
        with translation.override(code):
            out[lang] = str(text)
    return out


def choice_options(request, resident: Resident) -> list[dict]:
    """The wallet's ``options`` hook: one option per company :func:`login_authority` offers,
    ``{"id": mandate public id, "label": {"en", "zh"}, "detail": {"en", "zh"}}``."""
    service = _service_of(request.context)
    options = []
    for mandate in login_authority(resident, request.requester_id, service):
        org = mandate.organisation
        role = _bilingual(Role(mandate.role).label)
        options.append(
            {
                "id": str(mandate.public_id),
                "label": {"en": org.name_en, "zh": org.name_zh or org.name_en},
                "detail": {
                    lang: f"{_bilingual(gettext_lazy('BR number'))[lang]} {org.br_number} · {role[lang]}"
                    for lang in ("en", "zh")
                },
            }
        )
    return options


def choice_check(request, resident: Resident, value) -> None:
    """The wallet's ``check`` hook: the company chosen in the app (signed) must be one the
    resident may log in to the service for now.

    :raises DomainError: ``no_mandate_for_service`` (no company chosen: the resident had none
        to choose), ``no_mandate`` (a mandate that is not theirs: a tampered approval), or the
        mandate's refusal (``mandate_revoked``, ``mandate_expired``, ``mandate_out_of_scope``…)."""
    if not value:
        raise errors.NoLoginMandate()
    login_mandate(resident, value, _service_of(request.context))


def explain(code: str) -> str:
    """A refusal code of :func:`choice_check` in words (the active language)."""
    for error in (
        errors.NoLoginMandate,
        errors.NoMandate,
        errors.MandateRevoked,
        errors.MandateExpired,
        errors.MandateDeclined,
        errors.MandateNotAccepted,
        errors.OrganisationSuspended,
        errors.CompanyNotLive,
    ):
        if error.code == code:
            return str(error().message)
    if code == errors.MandateOutOfScope.code:
        return _("Your mandate for this company does not cover this service.")
    if code == errors.MandateNotYetValid.code:
        return _("Your mandate for this company has not started yet.")
    return str(errors.NoLoginMandate().message)
