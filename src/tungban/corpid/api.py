"""CorpID's API (issue 19, first wave), under ``/api/v1/corpid/``: every call comes from the
resident's app, device-authenticated (:mod:`tungban.wallet.auth`), and acts as that resident.

* ``GET /app/mandates``: the companies I act for (my mandates, live ones first);
  ``POST /app/mandates/{id}/answer``: open the app's approval to accept or decline an offer;
  ``GET /app/authority``: may I do this action in this service for this company now?
* ``POST /organisations``: a director sets CorpID up for a company (``Idempotency-Key``
  required); ``GET /organisations/{br_number}``: the administrators' view (people, mandates,
  audit trail); ``POST /organisations/{br_number}/mandates``: offer a mandate
  (``Idempotency-Key`` required); ``POST /organisations/{br_number}/mandates/{id}/revoke``.
* ``GET /organisations/{br_number}/consents``: every consent to share the company's data (who
  gave it, to whom, what, when, status); ``POST /organisations/{br_number}/consents/{id}/revoke``;
  ``GET /organisations/{br_number}/exchanges``: every exchange of the company's data (issue 19,
  second wave: HKMA CDI and pre-fill with the company's authorisation).
* ``POST /signing/requests``: an online service asks an authorised person to sign PDFs for
  the company (``Authorization: Bearer`` with the ``signing`` scope, the person's login token):
  the person's signature, a second signatory's under joint approval, then the company's seal.

Errors are the ``corpid`` tag's codes; nothing is stored when a call is refused.
"""

from __future__ import annotations

import datetime as dt
import uuid

from ninja import Field, Router, Schema, Status

from tungban.core.api import error_responses
from tungban.core.idempotency import idempotent
from tungban.exchange import services as exchange
from tungban.oidc.resource import ScopedBearer
from tungban.signing import services as signing
from tungban.signing.api import DocumentIn, SigningRequestOut
from tungban.signing.constants import SIGNING_SCOPE
from tungban.wallet.auth import device_auth

from . import cards, errors, services
from .constants import Action, MandateState, OrganisationStatus, Role

router = Router(tags=["corpid"])
ERRORS = error_responses(400, 401, 403, 404, 409, 422)


def _device(request) -> str:
    return f"device:{request.auth.id}"


class MandateOut(Schema):
    mandate_id: uuid.UUID
    br_number: str = Field(description="The company's Business Registration number (8 characters)")
    organisation: str = Field(description="The company's name, in the request's language")
    role: Role
    role_label: str
    services: list[str] = Field(description='Service identifiers, or ["*"] for every service')
    actions: list[Action]
    valid_from: dt.date
    valid_until: dt.date
    joint_approval: bool = Field(description="A second person must approve each action under it")
    may_delegate: bool
    state: MandateState = Field(description="offered (waiting for the holder), active (accepted), declined, revoked")
    in_force: bool = Field(description="Accepted, within its dates, and so is every mandate it was delegated from")
    state_text: str


class HeldMandateOut(MandateOut):
    holder: str = Field(description="The holder's name")
    delegated_from: uuid.UUID | None


class EventOut(Schema):
    at: dt.datetime
    actor: str
    action: str = Field(
        description="set_up, administrator_from_register, granted, delegated, accepted, declined, lapsed, "
        "revoked, superseded, suspended, reactivated, signing_requested (signing for the company), seal_revoked"
    )
    mandate_id: uuid.UUID | None
    detail: dict


class OrganisationOut(Schema):
    br_number: str
    name_en: str
    name_zh: str
    status: OrganisationStatus = Field(description="suspended while no administrator's mandate is in force")
    my_mandate: MandateOut
    mandates: list[HeldMandateOut]
    events: list[EventOut] = Field(description="The audit trail, newest first (at most 200)")


class SetUpIn(Schema):
    br_number: str = Field(description="8 digits (or a dummy BRN such as C0012345); spaces ignored")


class GrantIn(Schema):
    holder_hkid: str = Field(description="The HKID number of the person offered the mandate")
    role: Role
    services: list[str] = Field(
        description="Service identifiers (an e-service's slug, an online service's client id), or [\"*\"]"
    )
    actions: list[str] = Field(description="Some of view, apply, pay, sign")
    valid_from: dt.date = Field(description="Today or later")
    valid_until: dt.date = Field(description="On or after valid_from, less than 25 years later")
    joint_approval: bool = False
    may_delegate: bool = False


class AnswerOut(Schema):
    approval_id: uuid.UUID = Field(description="The app's approval request: approve accepts, decline declines")
    mandate: uuid.UUID


class PartyOut(Schema):
    id: str
    name_en: str
    name_zh: str


class CompanyConsentOut(Schema):
    id: uuid.UUID
    status: str = Field(description="requested, active, declined, revoked, expired, exhausted")
    data_user: PartyOut = Field(description="To whom: the data user (a bank through the HKMA CDI, a department)")
    data_provider: PartyOut
    product: PartyOut = Field(description="What: the data product, e.g. cr.company-particulars.v1")
    purpose: str
    given_by: str = Field(
        description="Who gave it for the company (the authorised person's name); empty until answered"
    )
    mandate_id: str = Field(description="The mandate it was given under (empty until given)")
    service: str = Field(description="The service the mandate covers (the data user's client id or an e-service)")
    asked_at: dt.datetime
    granted_at: dt.datetime | None
    valid_until: dt.datetime | None
    revoked_at: dt.datetime | None
    max_uses: int | None
    uses: int


class CompanyExchangeOut(Schema):
    id: uuid.UUID
    at: dt.datetime
    data_user: PartyOut
    data_provider: PartyOut | None
    product: PartyOut
    consent_id: str | None
    outcome: str = Field(description="'delivered', the refusal's code, or 'in_progress' / 'outcome_unknown'")
    delivered: bool


def _party(p) -> dict:
    return {"id": p.id, "name_en": p.name_en, "name_zh": p.name_zh}


def _consent(c) -> dict:
    holder = c.given_by
    return {
        "id": c.id,
        "status": c.effective_status(),
        "data_user": _party(c.consumer),
        "data_provider": _party(c.product.provider),
        "product": _party(c.product),
        "purpose": c.purpose,
        "given_by": f"{holder.given_name_en} {holder.family_name_en}" if holder else "",
        "mandate_id": c.given_under,
        "service": c.service,
        "asked_at": c.created_at,
        "granted_at": c.granted_at,
        "valid_until": c.valid_until,
        "revoked_at": c.revoked_at,
        "max_uses": c.max_uses,
        "uses": c.uses,
    }


class AuthorityOut(Schema):
    allowed: bool = Field(description="Always true: a refusal is an error (no_mandate, mandate_revoked, …)")
    mandate: MandateOut


def _organisation(resident, br_number: str) -> dict:
    org, own = services.managed(resident, br_number)
    return {
        "br_number": org.br_number,
        "name_en": org.name_en,
        "name_zh": org.name_zh,
        "status": services.current_status(org),
        "my_mandate": cards.summary(own),
        "mandates": [
            {
                **cards.summary(m),
                "holder": f"{m.holder.given_name_en} {m.holder.family_name_en}",
                "delegated_from": m.parent.public_id if m.parent_id else None,
            }
            for m in services.mandates_of(org)
        ],
        "events": [
            {
                "at": e.at,
                "actor": f"{e.actor.given_name_en} {e.actor.family_name_en}" if e.actor else "",
                "action": e.action,
                "mandate_id": e.mandate.public_id if e.mandate else None,
                "detail": e.detail,
            }
            for e in services.events_of(org)
        ],
    }


@router.get(
    "/app/mandates",
    response={200: list[MandateOut], **ERRORS},
    auth=device_auth,
    summary="(device) The companies I act for: my mandates",
)
def my_mandates(request):
    """Live mandates (offered, accepted) first, newest first."""
    return cards.summaries(request.auth.resident)


@router.post(
    "/app/mandates/{mandate_id}/answer",
    response={200: AnswerOut, **ERRORS},
    auth=device_auth,
    summary="(device) Answer a mandate offered to me: opens the app's approval",
)
def answer(request, mandate_id: uuid.UUID):
    """Errors: ``no_such_mandate`` (404), ``mandate_not_offered`` (409)."""
    return services.ask_holder(request.auth.resident, mandate_id)


@router.get(
    "/app/authority",
    response={200: AuthorityOut, **ERRORS},
    auth=device_auth,
    summary="(device) May I do this action in this service for this company now?",
)
def my_authority(request, br_number: str, service: str, action: str):
    """The check the next waves (corporate login, signing) make: :func:`tungban.corpid.services.authority`.
    Errors: ``br_number_format``, ``br_number_not_registered``, ``no_mandate``,
    ``organisation_suspended``, ``mandate_not_accepted``, ``mandate_declined``, ``mandate_revoked``,
    ``mandate_expired``, ``mandate_not_yet_valid``, ``mandate_out_of_scope``."""
    mandate = services.authority(request.auth.resident, br_number, service, action)
    return {"allowed": True, "mandate": cards.summary(mandate)}


@router.post(
    "/organisations",
    response={201: OrganisationOut, **ERRORS},
    auth=device_auth,
    summary="(device) Set up CorpID for a company I am a director of",
)
@idempotent(caller=_device, required=True)
def set_up(request, payload: SetUpIn):
    """The director becomes the company's administrator. Errors: ``br_number_format`` (400),
    ``br_number_not_registered`` (404), ``company_not_live`` (409), ``not_a_director`` (403),
    ``organisation_already_set_up`` (409)."""
    resident = request.auth.resident
    mandate = services.bootstrap(resident, payload.br_number)
    return Status(201, _organisation(resident, mandate.organisation.br_number))


@router.get(
    "/organisations/{br_number}",
    response={200: OrganisationOut, **ERRORS},
    auth=device_auth,
    summary="(device) A company's people, mandates and audit trail (administrators)",
)
def organisation(request, br_number: str):
    """Errors: ``no_organisation`` (404), ``not_an_administrator`` (403)."""
    return _organisation(request.auth.resident, br_number)


@router.post(
    "/organisations/{br_number}/mandates",
    response={201: HeldMandateOut, **ERRORS},
    auth=device_auth,
    summary="(device) Offer a mandate for the company to a resident",
)
@idempotent(caller=_device, required=True)
def grant(request, br_number: str, payload: GrantIn):
    """The holder accepts or declines in their app. Errors: ``not_an_administrator``,
    ``delegation_exceeds_mandate`` (403), ``too_many_administrators``, ``mandate_exists`` (409),
    ``invalid_scope``, ``invalid_dates``, ``hkid_format``, ``hkid_check_digit`` (400),
    ``unknown_holder``, ``no_organisation`` (404), ``organisation_suspended`` (403)."""
    mandate = services.grant(request.auth.resident, br_number, **payload.dict())
    return Status(
        201,
        {
            **cards.summary(mandate),
            "holder": f"{mandate.holder.given_name_en} {mandate.holder.family_name_en}",
            "delegated_from": mandate.parent.public_id if mandate.parent_id else None,
        },
    )


@router.post(
    "/organisations/{br_number}/mandates/{mandate_id}/revoke",
    response={200: MandateOut, **ERRORS},
    auth=device_auth,
    summary="(device) Revoke a mandate: it stops at the holder's next request",
)
def revoke(request, br_number: str, mandate_id: uuid.UUID):
    """Errors: ``no_such_mandate`` (404), ``not_an_administrator`` (403), ``mandate_not_live``,
    ``last_administrator`` (409)."""
    return cards.summary(services.revoke(request.auth.resident, br_number, mandate_id))


@router.get(
    "/organisations/{br_number}/consents",
    response={200: list[CompanyConsentOut], **ERRORS},
    auth=device_auth,
    summary="(device) Every consent to share the company's data (administrators)",
)
def company_consents(request, br_number: str):
    """Newest first. Errors: ``no_organisation`` (404), ``not_an_administrator`` (403)."""
    return [_consent(c) for c in services.company_consents(request.auth.resident, br_number)]


@router.post(
    "/organisations/{br_number}/consents/{consent_id}/revoke",
    response={200: CompanyConsentOut, **ERRORS},
    auth=device_auth,
    summary="(device) Revoke a consent to share the company's data: the data user's next request is refused",
)
def revoke_company_consent(request, br_number: str, consent_id: str):
    """Errors: ``unknown_consent`` (404: none about this company, another company's included),
    ``no_organisation`` (404), ``not_an_administrator`` (403)."""
    return _consent(services.revoke_company_consent(request.auth.resident, br_number, consent_id))


@router.get(
    "/organisations/{br_number}/exchanges",
    response={200: list[CompanyExchangeOut], **ERRORS},
    auth=device_auth,
    summary="(device) Every exchange of the company's data (administrators)",
)
def company_exchanges(request, br_number: str):
    """Newest first: delivered and refused requests, and requests still waiting for their
    provider. Errors: ``no_organisation`` (404), ``not_an_administrator`` (403)."""
    return [exchange.exchange_summary(x) for x in services.company_exchanges(request.auth.resident, br_number)]


# --- Signing for a company (online services; integrators' guide §12) ----------------------------

signing_bearer = ScopedBearer(SIGNING_SCOPE)


def _service(request) -> str:
    token = request.auth
    return f"client:{token.client.client_id}/resident:{token.resident_id}"


class CompanySigningIn(Schema):
    br_number: str = Field(description="The company's Business Registration number (8 characters)")
    documents: list[DocumentIn] = Field(description="1 to 50 PDFs (`pdf`, base64): a company's seal is a PDF signature")
    reason: str = Field(
        "", description="Why the company signs (in each signature's /Reason after the mandate), optional"
    )


@router.post(
    "/signing/requests",
    response={201: SigningRequestOut, **error_responses(400, 401, 403, 404, 409, 413, 422, 503)},
    auth=signing_bearer,
    summary="Ask an authorised person to sign PDFs for a company (the company's seal)",
)
@idempotent(caller=_service, description="Optional here (recommended): a retry gets the same signing request.")
def sign_for_company(request, payload: CompanySigningIn):
    """With the person's login token (scope ``signing``) the request goes to their app, checked
    against their CorpID mandate for this service (your ``client_id``) with the action ``sign``,
    now, at the approval and when the documents are signed. The result (``GET
    /api/v1/signing/requests/{id}``) carries the person's signature, a second authorised
    person's when the mandate needs joint approval (show them ``organisation.second_approval_uri``),
    then the company's seal. Errors: ``login_required`` (a ``client_credentials`` token),
    ``br_number_format``, ``br_number_not_registered``, ``no_mandate``, ``mandate_out_of_scope``,
    ``mandate_expired``, ``mandate_revoked``, ``mandate_not_accepted``, ``organisation_suspended``,
    ``pdf_required``, ``plus_required``, ``signing_not_allowed`` and the signing API's document
    errors; ``insufficient_user_authentication`` (401, a login too old: RFC 9470)."""
    token = request.auth
    signing.check_token(token)
    if not token.resident_id:
        raise errors.LoginRequired()
    client_id = token.client.client_id
    req = services.corporate_signing.open_request(
        token.resident,
        payload.br_number,
        client_id,
        [d.dict() for d in payload.documents],
        reason=payload.reason,
        client_id=client_id,
    )
    return Status(201, signing.request_result(req))
