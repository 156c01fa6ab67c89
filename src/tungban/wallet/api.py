"""The app's API (``/api/v1/wallet/``): binding, self-registration, approvals, history.

Calls marked *device* need ``Authorization: Device <JWS>`` (see :mod:`.services`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Literal

from django.db import transaction
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from tungban.core import ratelimit
from tungban.core.api import error_responses
from tungban.core.idempotency import idempotent
from tungban.identity import limits
from tungban.identity import services as identity
from tungban.identity.services import Guardian

from . import errors, panel, services
from .auth import DeviceAuth, device_auth

__all__ = ["DeviceAuth", "device_auth", "router"]  # DeviceAuth is re-exported for older imports

router = Router(tags=["wallet"])


class ResidentOut(Schema):
    name_en: str
    name_zh: str
    hkid_masked: str
    tier: Literal["basic", "plus"]
    status: str


class BindingOut(Schema):
    binding_id: str
    nonce: str
    expires_at: str
    resident: ResidentOut
    webauthn: dict


class BindingIn(Schema):
    hkid: str
    activation_code: str


class GuardianIn(Schema):
    name: str
    hkid: str
    relationship: str


class RegistrationIn(Schema):
    hkid: str
    family_name_en: str
    given_name_en: str
    name_zh: str = ""
    date_of_birth: dt.date
    gender: Literal["female", "male"]
    email: str = ""
    phone: str = ""
    residential_address: str = ""
    guardian: GuardianIn | None = None


class BindingCompleteIn(Schema):
    public_jwk: dict
    proof: str
    platform: Literal["web", "cli"]
    name: str = ""
    webauthn: dict | None = None


class DeviceOut(Schema):
    device_id: str
    resident: ResidentOut


class ClaimOut(Schema):
    name: str
    essential: bool
    label: str
    value: str


class RequesterOut(Schema):
    id: str
    name_en: str
    name_zh: str
    logo_url: str


class DocumentOut(Schema):
    name: str
    sha256: str


class DetailOut(Schema):
    label: str
    value: str


class OriginOut(Schema):
    started_at: str = Field(description="When the page was opened (ISO 8601)")
    browser: str = Field(description="Browser family from the page's User-Agent, e.g. 'Chrome'; '' if unknown")
    os: str = Field(description="Operating system family from the page's User-Agent, e.g. 'Windows'; '' if unknown")
    ip: str = Field(description="Network address the platform saw the page opened from")


class RequestOut(Schema):
    id: str
    kind: str
    status: str
    requester: RequesterOut
    claims: list[ClaimOut]
    documents: list[DocumentOut] = []
    document_pages: bool = Field(
        False, description="Signing: the documents are PDFs whose pages the app can show (signing API, issue 16)"
    )
    reason: str = ""
    details: list[DetailOut] = Field(
        [],
        description="Lines the requester asks the app to show under the kind's question, in the request's "
        "language (e.g. a CorpID mandate's company, role, services, actions and dates)",
    )
    offline_access_days: int | None = Field(
        None, description="For a login with offline_access: days the service may stay signed in with a refresh token"
    )
    consent: dict | None = Field(
        None,
        description="For a data-sharing consent (kind 'consent'): data_user, data_provider, product (with fields), purpose, duration_seconds, max_uses",
    )
    terms_sha256: str | None = Field(
        None,
        description="For a consent: SHA-256 of the canonical JSON of `consent`; the decision must carry it as `terms`",
    )
    choice: dict | None = Field(
        None,
        description="A question asked in the approval (tungban.wallet.choices), e.g. which company to act for: "
        "{name, legend, options: [{id, label, detail}], none}; the signed decision carries the chosen option's id "
        "as `choice` (null when there is no option)",
    )
    binds: dict = Field(
        {},
        description="Values the signed decision must repeat unchanged, as payload members of the same names (e.g. `documents`: the digests in order; `terms`: the consent terms' digest)",
    )
    code_required: bool = Field(
        False,
        description="The request is shown on a page (a login or form filling): approving needs `code`, the 2-digit number that page shows, typed by the resident",
    )
    origin: OriginOut | None = Field(
        None, description="For a request shown on a page: where and when that page was opened"
    )
    nonce: str
    expires_at: str
    webauthn: dict | None = None


class DecisionIn(Schema):
    signature: str = Field(
        description="Compact JWS (ES256, kid = device id) over request_id, requester, nonce, decision, claims and, for signing requests, documents (their SHA-256 digests in order), for consents, terms (terms_sha256); approving a request with code_required also carries code (the number typed, two ASCII digits)"
    )
    webauthn: dict | None = None


class DecisionOut(Schema):
    id: str
    status: str
    approved_claims: list[str]


class ReleaseOut(Schema):
    requester_id: str
    requester_name_en: str
    requester_name_zh: str
    kind: str
    claims: list[str]
    released_at: dt.datetime


class ProfileOut(Schema):
    resident: ResidentOut
    hkid: str
    date_of_birth: dt.date
    gender: str
    residential_address: str
    billing_address: str
    phone: str
    email: str
    device_id: str
    passkey: bool


class ProfileIn(Schema):
    residential_address: str | None = None
    billing_address: str | None = None
    phone: str | None = None
    email: str | None = None


#: Binding and self-registration (no auth): HKID and code errors, taken devices, expired bindings.
BINDING_ERRORS = error_responses(400, 403, 404, 409, 410, 413, 422, 429)
#: Device calls: as above plus 401 for the device proof.
DEVICE_ERRORS = error_responses(400, 401, 403, 404, 409, 410, 413, 422)


def _per_code(key):
    """A binding limit's key (per HKID, or per HKID and client) with the account's current
    activation code added: the count starts again with a new code from the counter (issue 16
    item 2). Raises as ``key`` when the request names no readable HKID: the limit refuses the
    request (fails closed, issue 16 security review H1)."""

    def keyed(request) -> str | None:
        base = key(request)
        if not base:
            return None
        try:
            raw = json.loads(request.body or b"{}").get("hkid")
        except (ValueError, UnicodeDecodeError, AttributeError):
            raw = None
        return f"{base}|{services.activation_code_key(raw)}" if isinstance(raw, str) else base

    return keyed


_Locked = errors.ActivationCodeLocked


@router.post(
    "/bindings", response={201: BindingOut, **BINDING_ERRORS}, summary="Start binding the app with an activation code"
)
@ratelimit.limit_operation("binding")
@ratelimit.limit_operation("binding_hkid_client", key=_per_code(limits.claimed_hkid_and_client), error=_Locked)
@ratelimit.limit_operation("binding_hkid", key=_per_code(limits.claimed_hkid), error=_Locked)
def start_binding(request, payload: BindingIn):
    binding = services.start_binding(payload.hkid, payload.activation_code)
    return Status(201, services.binding_details(binding))


@router.post(
    "/registrations",
    response={201: BindingOut, **BINDING_ERRORS},
    summary="Self-register (proofed against the population register) and start binding",
)
@ratelimit.limit_operation("proofing")
@ratelimit.limit_operation("proofing_hkid", key=limits.claimed_hkid)
def self_register(request, payload: RegistrationIn):
    data = payload.dict()
    guardian = data.pop("guardian")
    with transaction.atomic():
        resident = identity.self_register(guardian=Guardian(**guardian) if guardian else None, **data)
        binding = services.start_binding_after_registration(resident)
    return Status(201, services.binding_details(binding))


@router.post(
    "/bindings/{binding_id}/complete",
    response={201: DeviceOut, **BINDING_ERRORS},
    summary="Finish binding: register the device key (and passkey)",
)
@ratelimit.limit_operation("binding")
def complete_binding(request, binding_id: str, payload: BindingCompleteIn):
    device = services.complete_binding(
        binding_id,
        public_jwk=payload.public_jwk,
        proof=payload.proof,
        platform=payload.platform,
        name=payload.name,
        webauthn_registration=payload.webauthn,
    )
    return Status(201, {"device_id": str(device.id), "resident": services.resident_summary(device.resident)})


@router.get(
    "/requests/{request_id}",
    response={200: RequestOut, **DEVICE_ERRORS},
    auth=device_auth,
    summary="(device) What a request asks for",
)
def get_request(request, request_id: str):
    req = services.get_request(request_id, with_resident=False)  # request_details uses the device's
    return services.request_details(req, request.auth)


@router.post(
    "/requests/{request_id}/decision",
    response={200: DecisionOut, **DEVICE_ERRORS},
    auth=device_auth,
    summary="(device) Approve or decline, signed by the device key",
)
def decide(request, request_id: str, payload: DecisionIn):
    req = services.decide(
        request_id, request.auth, payload.signature, payload.webauthn, received_at=getattr(request, "received_at", None)
    )
    return {"id": str(req.id), "status": req.status, "approved_claims": req.approved_claims}


@router.get(
    "/pending",
    response={200: list[RequestOut], **DEVICE_ERRORS},
    auth=device_auth,
    summary="(device) Pending requests addressed to this account",
)
def pending(request):
    return [services.request_details(r, request.auth) for r in services.pending_for(request.auth.resident)]


@router.get(
    "/history",
    response={200: list[ReleaseOut], **DEVICE_ERRORS},
    auth=device_auth,
    summary="(device) Which service received which fields, when",
)
def history(request):
    return services.history(request.auth.resident)


class NoticeOut(Schema):
    id: int
    kind: str = Field(description="e.g. counter_rebind: a counter issued a new activation code")
    title: str = Field(description="A short heading, in the request's language")
    text: str = Field(description="What happened and what to do, in the request's language")
    created_at: dt.datetime


@router.get(
    "/notices",
    response={200: list[NoticeOut], **DEVICE_ERRORS},
    auth=device_auth,
    summary="(device) Notices about the account, e.g. a counter re-binding it (issue 13 item 1)",
)
def notices(request):
    return [
        {
            "id": n.pk,
            "kind": n.kind,
            "title": _("Account notice"),
            "text": services.notice_text(n),
            "created_at": n.created_at,
        }
        for n in services.notices(request.auth.resident)
    ]


def _profile(device) -> dict:
    r = device.resident
    return {
        "resident": services.resident_summary(r),
        "hkid": r.hkid_display,
        "date_of_birth": r.date_of_birth,
        "gender": r.gender,
        "residential_address": r.residential_address,
        "billing_address": r.billing_address,
        "phone": r.phone,
        "email": r.email,
        "device_id": str(device.id),
        "passkey": device.has_passkey,
    }


@router.get(
    "/me",
    response={200: ProfileOut, **DEVICE_ERRORS},
    auth=device_auth,
    summary="(device) The account and e-ME profile",
)
def me(request):
    return _profile(request.auth)


@router.patch(
    "/me", response={200: ProfileOut, **DEVICE_ERRORS}, auth=device_auth, summary="(device) Update e-ME contact fields"
)
def update_me(request, payload: ProfileIn):
    identity.update_contact(request.auth.resident, **payload.dict(exclude_none=True))
    request.auth.resident.refresh_from_db()
    return _profile(request.auth)


@router.post("/unbind", response={204: None, **DEVICE_ERRORS}, auth=device_auth, summary="(device) Unbind this device")
def unbind(request):
    services.unbind(request.auth, reason="resident")
    return Status(204, None)


# --- Personal assistant panel (issue 16) ---------------------------------------------------------


class CardItemOut(Schema):
    label: str
    value: str
    href: str = Field("", description="A page on the platform (a path) that continues the item, or empty")


class CardSourceOut(Schema):
    department: str = Field(description="The department the data came from, in the request's language")
    product: str = Field(description="The data product or record, e.g. the gateway's product name")
    fetched_at: str = Field(description="When it was fetched (ISO 8601)")


class CardOut(Schema):
    kind: str
    label: str
    state: Literal["ok", "empty", "consent_needed", "unavailable"]
    items: list[CardItemOut]
    sources: list[CardSourceOut] = Field(description="Where the card's data came from")
    message: str = Field(description="For a card that is not ok: why, and what to do")
    action: str = Field(description="Label of the card's action (POST …/action), empty if none")


class CardKindOut(Schema):
    kind: str
    label: str
    description: str


class PanelOut(Schema):
    cards: list[CardOut]
    offered: list[CardKindOut] = Field(description="Every card kind the resident may add")


class PanelIn(Schema):
    cards: list[str] = Field(description="Card kinds, in the order to show them (adds, removes, reorders)")


class CardActionOut(Schema):
    approval_id: str | None = Field(None, description="An approval request to open in the app (e.g. a consent)")


@router.get(
    "/panel",
    response={200: PanelOut, **DEVICE_ERRORS},
    auth=device_auth,
    summary="(device) The personal assistant panel: the chosen cards, loaded, and the kinds on offer",
)
def get_panel(request):
    return panel.panel(request.auth.resident)


@router.put(
    "/panel",
    response={200: PanelOut, **DEVICE_ERRORS},
    auth=device_auth,
    summary="(device) Choose the panel's cards and their order",
)
def put_panel(request, payload: PanelIn):
    panel.choose(request.auth.resident, payload.cards)
    return panel.panel(request.auth.resident)


@router.post(
    "/panel/cards/{kind}/action",
    response={200: CardActionOut, **DEVICE_ERRORS},
    auth=device_auth,
    summary="(device) Run a card's action, e.g. ask for the consent a card needs",
)
@idempotent(
    caller=lambda request: f"device:{request.auth.pk}",
    description="Optional here (recommended): a retry gets the same approval request.",
)
def card_action(request, kind: str):
    return panel.act(request.auth.resident, kind)
