"""The exchange gateway's JSON API (``/api/v1/exchange/``).

* Data users (departments, banks) call with ``Authorization: Bearer <token>``: a
  ``client_credentials`` token with scope ``cdeg``, obtained at ``/oidc/token`` with
  ``private_key_jwt`` client authentication (RFC 7523).
* The resident's app calls ``/app/...`` with ``Authorization: Device <JWS>``.
* ``/products`` and ``/log/head`` are public.

Errors have the platform's shape (:class:`tungban.core.api.ErrorOut`); the codes are declared
in :mod:`.errors`, listed in the OpenAPI document's ``exchange`` tag and docs/integrators.md §7.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Literal

from django.conf import settings
from ninja import Field, Router, Schema, Status

from tungban.core import idempotency
from tungban.core.api import error_responses
from tungban.core.idempotency import idempotent
from tungban.ledger import chain as ledger
from tungban.oidc.resource import ScopedBearer
from tungban.wallet.auth import device_auth

from . import errors, hotsql, services
from .constants import CDEG_SCOPE

router = Router(tags=["exchange"])


class DataUserBearer(ScopedBearer):
    """A data user's ``client_credentials`` token with scope ``cdeg``; ``request.auth`` is the
    data user's :class:`~tungban.exchange.models.Organisation`.

    :raises DomainError: as :class:`ScopedBearer`, and ``not_a_data_user`` (403).
    """

    def __call__(self, request):
        # Issue 15: a plainly valid bearer token of an active data user in one plain-SQL read;
        # anything else (no token, DPoP, expired, revoked, wrong scope, ...) takes the
        # reference path, which gives each its error answer.
        parts = request.headers.get(self.header, "").split(None, 1)
        if len(parts) == 2 and parts[0].lower() == "bearer":
            org = hotsql.data_user_for_bearer(parts[1], self.scope)
            if org is not None:
                return org
        return super().__call__(request)

    def authorize(self, request, token):
        return services.data_user_for(token)


bearer = DataUserBearer(CDEG_SCOPE)


def data_user(request) -> str:
    """The caller that owns an ``Idempotency-Key`` or a ``request_id``: the data user's OAuth client."""
    return f"client:{request.auth.client.client_id}"


#: Data users' calls (bearer token).
ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 502, 503, 504)
#: The resident's app (device proof).
APP_ERRORS = error_responses(401, 403, 404, 422)


class PartyOut(Schema):
    id: str
    name_en: str
    name_zh: str


class FieldOut(Schema):
    name: str
    label_en: str
    label_zh: str


class FormOut(Schema):
    fields: list[FieldOut]
    schema_: dict = Field(alias="schema", description="JSON Schema (draft 2020-12) of the data for this subject")


class ProductOut(Schema):
    id: str = Field(description="e.g. wsd.registered-address.v1 (provider.name.version)")
    provider: PartyOut
    name_en: str
    name_zh: str
    fields: list[FieldOut]
    schema_: dict = Field(alias="schema", description="JSON Schema (draft 2020-12) of the data")
    for_residents: bool = Field(True, description="Whether a resident can be the data subject (fields and schema)")
    forms: dict[str, FormOut] = Field(
        default_factory=dict,
        description='What it answers for other kinds of data subject, by kind (e.g. "organisation": a company by '
        "BR number, consented by a person holding a CorpID mandate)",
    )


@router.get(
    "/products", response=list[ProductOut], auth=None, by_alias=True, summary="The catalogue of data products (public)"
)
def products(request):
    return [
        {
            "id": p.id,
            "provider": {"id": p.provider_id, "name_en": p.provider.name_en, "name_zh": p.provider.name_zh},
            "name_en": p.name_en,
            "name_zh": p.name_zh,
            "fields": p.fields,
            "schema": p.schema,
            "for_residents": p.for_residents,
            "forms": p.forms or {},
        }
        for p in services.catalogue()
    ]


class SubjectIn(Schema):
    kind: str = Field(description='"organisation" (a company: id is its Business Registration number)')
    id: str = Field(description="The data subject's identifier, e.g. the 8-digit BR number")


class SubjectOut(Schema):
    kind: str
    id: str


class ConsentIn(Schema):
    product: str = Field(description="Data product id, e.g. wsd.registered-address.v1")
    purpose: str = Field(description="Why you need the data, shown to the resident (PDPO DPP1), 5-300 characters")
    duration_seconds: int = Field(description="How long the consent lasts once given, in seconds")
    max_uses: int | None = Field(None, description="1 for a single use; omit for any number while valid")
    sub: str | None = Field(
        None,
        description="The resident's pairwise `sub` at your service (from their login); omit for an open request approved by scanning `approval_uri`",
    )
    subject: SubjectIn | None = Field(
        None,
        description="A data subject that is not the resident (HKMA CDI: a company). The person with `sub` (or whoever "
        "approves an open request) consents for it and must hold a CorpID mandate with `apply` covering your "
        "client_id; checked now, at the approval and before every exchange",
    )


class ConsentOut(Schema):
    id: str
    status: Literal["requested", "active", "declined", "revoked", "expired", "exhausted"]
    product: str
    purpose: str
    duration_seconds: int
    max_uses: int | None
    uses: int
    sub: str | None = Field(description="The data subject's pairwise `sub` at your service, once known")
    approval_uri: str | None = Field(description="App link (show as a link or QR code) while the request waits")
    approval_expires_at: dt.datetime | None
    granted_at: dt.datetime | None
    valid_until: dt.datetime | None
    revoked_at: dt.datetime | None
    artefact: str | None = Field(
        description="The signed consent artefact: JWS (ES256, typ consent+jwt), verify with /oidc/jwks"
    )
    subject: SubjectOut | None = Field(None, description="The data subject when it is not a resident (a company)")


def _consent_out(consent) -> dict:
    approval = consent.approval
    waiting = consent.effective_status() == "requested"
    return {
        "id": str(consent.id),
        "status": consent.effective_status(),
        "product": consent.product_id,
        "purpose": consent.purpose,
        "duration_seconds": consent.duration_seconds,
        "max_uses": consent.max_uses,
        "uses": consent.uses,
        "sub": consent.consumer_sub or None,
        "approval_uri": f"{settings.TUNGBAN_ISSUER}/app/approve/{approval.id}" if waiting and approval else None,
        "approval_expires_at": approval.expires_at if approval else None,
        "granted_at": consent.granted_at,
        "valid_until": consent.valid_until,
        "revoked_at": consent.revoked_at,
        "artefact": consent.artefact or None,
        "subject": {"kind": consent.subject_kind, "id": consent.subject_id} if consent.subject_kind else None,
    }


@router.post(
    "/consents",
    response={201: ConsentOut, **ERRORS},
    auth=bearer,
    summary="Ask a resident for consent to obtain a data product",
)
@idempotent(caller=data_user, description="Optional here (recommended): a retry gets the same consent request.")
def request_consent(request, payload: ConsentIn):
    """The resident answers in the app (device-signed approval). Poll ``GET /consents/{id}``
    until ``status`` is ``active`` (or ``declined``/``expired``). Errors: ``unknown_product``
    (404), ``invalid_purpose``, ``invalid_duration``, ``invalid_max_uses``, ``unknown_subject``
    (404), ``account_suspended`` (403), ``not_a_data_user`` (403), ``invalid_token`` (401),
    ``insufficient_scope`` (403); with ``subject``: ``unknown_subject_kind``, ``no_subject_form``
    (400) and CorpID's ``br_number_format`` (400), ``br_number_not_registered``,
    ``no_organisation`` (404), ``company_not_live`` (409), ``no_mandate``, ``mandate_revoked``,
    ``mandate_expired``, ``mandate_not_accepted``, ``mandate_out_of_scope``,
    ``organisation_suspended`` (403)."""
    consent = services.request_consent(
        request.auth,
        product_id=payload.product,
        purpose=payload.purpose,
        duration_seconds=payload.duration_seconds,
        max_uses=payload.max_uses,
        sub=payload.sub,
        subject=(payload.subject.kind, payload.subject.id) if payload.subject else None,
    )
    return Status(201, _consent_out(consent))


@router.get(
    "/consents/{consent_id}",
    response={200: ConsentOut, **ERRORS},
    auth=bearer,
    summary="A consent's status and signed artefact",
)
def get_consent(request, consent_id: str):
    """Errors: ``unknown_consent`` (404), ``foreign_consent`` (403)."""
    return _consent_out(services.get_consent(request.auth, consent_id))


class ExchangeIn(Schema):
    consent_id: str
    product: str = Field(description="The data product wanted; must be the one the consent covers")
    request_id: str = Field(
        description="Your unique id for this request (8-64 of A-Z a-z 0-9 - _ . :), also its idempotency key: "
        "the same id with the same body answers the first result again (nothing delivered or counted twice); "
        "the same id with another body is refused as a replay (replayed_request, 409). Remembered "
        "TUNGBAN_IDEMPOTENCY_TTL seconds (default 24 h)"
    )
    iat: int | None = Field(
        None,
        description="When you made this request: seconds since the epoch on your clock. Optional; when given it "
        "must be within TUNGBAN_CLOCK_SKEW seconds (default 300) of the gateway's time (request_stale, 400), so a "
        "request captured and sent again after its request_id was forgotten is refused",
    )


class LogPromiseOut(Schema):
    kind: str = Field(description='The leaf\'s kind: "exchange"')
    ref: str = Field(description="The leaf's reference: the exchange id")
    record_sha256: str = Field(
        description="SHA-256 (hex) of the record's logged metadata: the leaf's body holds the same value"
    )
    merge_by: int = Field(
        description="Milliseconds since the epoch: the leaf is in the transparency log under a signed tree head "
        "by then (maximum merge delay, TUNGBAN_LOG_MERGE_DELAY), as a Certificate Transparency SCT promises"
    )


class ExchangeOut(Schema):
    exchange_id: str
    consent_id: str
    product: str
    provider: str
    request_id: str
    delivered_at: dt.datetime
    payload_sha256: str = Field(description="SHA-256 of the canonical JSON of `data` (sorted keys, no spaces, UTF-8)")
    data: dict = Field(description="The data, valid against the product's JSON Schema")
    log: LogPromiseOut | None = Field(
        None,
        description="The gateway's promise that the exchange's record is a leaf of the transparency log by "
        "`merge_by` (signed in `signed` too)",
    )
    signed: str = Field(
        description="JWS (ES256, typ cdeg-response+jwt) by the gateway over these fields and the data; verify with /oidc/jwks"
    )


def _received(request) -> float:
    """When the request arrived (``core.middleware.ReceivedAtMiddleware``), seconds since the epoch."""
    received = getattr(request, "received_at", None)
    return received.timestamp() if received else time.time()


@router.post("/requests", response={200: ExchangeOut, **ERRORS}, auth=bearer, summary="Obtain data under a consent")
@idempotent(
    caller=data_user,
    key_field="request_id",
    staged=True,
    on_reuse="run",
    recheck=lambda request, answer: services.recheck_answer(request.auth, answer),
    description="Optional here: `request_id` is this call's key; a header, if sent, must carry the same value. "
    "The first answer is given again only while the consent is active and the resident's account too: "
    "after a revocation, expiry or suspension a retry gets that refusal, and the kept answer is deleted.",
)
def exchange(request, payload: ExchangeIn):
    """Every attempt is recorded (metadata only) in the tamper-evident log and shown in the
    resident's history. ``request_id`` is the idempotency key (issue 14 item 2): a retry with
    the same ``request_id`` and body gets the first answer (``Idempotent-Replayed: true``),
    with nothing delivered or counted again — only while the consent is still active and the
    resident's account too; otherwise the retry gets the refusal a new request would get and
    the kept answer is deleted (review M1); a first attempt that got no kept answer (a 5xx,
    ``consent_pending``, or a worker killed before the commit) runs again.
    Errors: ``invalid_request`` (400), ``request_stale`` (400), ``replayed_request`` (409),
    ``unknown_consent`` (404), ``foreign_consent`` (403), ``product_not_covered`` (403),
    ``consent_pending`` (409), ``consent_declined``, ``consent_revoked``, ``consent_expired``,
    ``consent_exhausted``, ``account_suspended`` (403), ``no_record`` (404),
    ``provider_unavailable`` (502; while the provider's circuit breaker is open it comes at
    once with ``Retry-After``), ``provider_busy`` (503 with ``Retry-After``: too many calls to
    this provider in flight), ``provider_error`` (502), ``provider_bad_data`` (502),
    ``provider_timeout`` (504)."""
    if payload.iat is not None and not services.iat_is_fresh(payload.iat, _received(request)):
        raise errors.RequestStale(skew=settings.TUNGBAN_CLOCK_SKEW)
    return services.exchange(
        request.auth,
        consent_id=payload.consent_id,
        product_id=payload.product,
        request_id=payload.request_id,
        resume=idempotency.resuming(),
    )


class HeadOut(Schema):
    size: int = Field(description="Number of entries in the log")
    head_hash: str = Field(description="Hash of the last entry (hex SHA-256; see docs/operations.md)")
    timestamp: int
    signature: str = Field(
        description="JWS (ES256, typ log-head+jwt) over iss, iat, size, head_hash; verify with /oidc/jwks"
    )


@router.get(
    "/log/head",
    response=HeadOut,
    auth=None,
    deprecated=True,
    summary="The retired hash chain's signed head (public; exchanges are now in the transparency log)",
)
def log_head(request):
    """The head of the hash chain that logged exchanges before issue 14: it no longer grows.
    Exchanges are now leaves (kind ``exchange``) of the RFC 9162 transparency log: keep its
    heads (``/api/v1/log/heads``) and run ``tungban witness``. ``tungban verify_exchange_log
    --expect SIZE:HASH`` still checks the chain against a head of it you kept."""
    return ledger.signed_head()


# --- The resident's app ---------------------------------------------------------------------


class AppConsentOut(Schema):
    id: str
    status: str
    data_user: PartyOut
    data_provider: PartyOut
    product: PartyOut
    purpose: str
    granted_at: dt.datetime | None
    valid_until: dt.datetime | None
    max_uses: int | None
    uses: int
    revoked_at: dt.datetime | None
    subject: SubjectOut | None = None


class LogTreeHeadOut(Schema):
    seq: int | None = Field(
        None,
        description="Where this head is listed in /api/v1/log/heads (start=seq): the app checks it is published there",
    )
    tree_size: int
    root_hash: str = Field(description="base64 of MTH(D[tree_size]) (RFC 9162 §2.1.1)")
    timestamp: int = Field(description="Milliseconds since the Unix epoch")
    signature: str = Field(description="Compact JWS (ES256, typ tree-head+jwt); verify with /oidc/jwks")


class AppLogOut(Schema):
    leaf_index: int = Field(description="0-based position of the exchange's leaf in the transparency log")
    leaf_body: str = Field(
        description="The leaf's canonical JSON: kind 'exchange', ref = the exchange id, at, record_sha256 = "
        "hex SHA-256 of the canonical JSON of `record`"
    )
    record: dict = Field(description="The exchange's logged metadata (its digest is in the leaf)")
    inclusion_path: list[str] = Field(description="base64 hashes (RFC 9162 §2.1.3.1) up to tree_head's root")
    tree_head: LogTreeHeadOut = Field(description="The signed tree head the proof is for")


class AppExchangeOut(Schema):
    id: str
    at: dt.datetime
    data_user: PartyOut
    data_provider: PartyOut | None
    product: PartyOut
    purpose: str
    consent_id: str | None
    outcome: str = Field(
        description="'delivered' or the refusal's error code; 'in_progress' or 'outcome_unknown' for an attempt"
    )
    delivered: bool
    state: Literal["completed", "in_progress", "unknown"] = Field(
        description="'unknown': the provider was asked and may have released the data, but the platform "
        "did not record delivery (its worker stopped first; issue 14 item 4)"
    )
    note: str = Field(description="What an attempt's state means, in the request's language; empty when completed")
    log: AppLogOut | None = Field(
        None,
        description="The exchange's leaf in the public transparency log and its inclusion proof, for the app to "
        "check (issue 14 item 10); null for exchanges logged before the log held them",
    )


@router.get(
    "/app/consents",
    response={200: list[AppConsentOut], **APP_ERRORS},
    auth=device_auth,
    summary="(device) The resident's data-sharing consents",
)
def app_consents(request):
    return [services.consent_summary(c) for c in services.consents_of(request.auth.resident)]


@router.post(
    "/app/consents/{consent_id}/revoke",
    response={200: AppConsentOut, **APP_ERRORS},
    auth=device_auth,
    summary="(device) Revoke a consent; effective on the next request",
)
def app_revoke(request, consent_id: str):
    """Errors: ``unknown_consent`` (404)."""
    return services.consent_summary(services.revoke(request.auth.resident, consent_id))


@router.get(
    "/app/history",
    response={200: list[AppExchangeOut], **APP_ERRORS},
    auth=device_auth,
    summary="(device) Who used my data: exchanges between organisations",
)
def app_history(request):
    """Each exchange comes with ``log``: its leaf in the transparency log and an inclusion
    proof against a signed tree head; the app verifies both and shows the result."""
    records = services.history_of(request.auth.resident)
    proofs = services.log_proofs(records)
    return [{**services.exchange_summary(r), "log": proofs.get(str(r.id))} for r in records]
