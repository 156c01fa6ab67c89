"""The e-Licences JSON API (``/api/v1/credentials/``).

* Public: the credential types and issuers, ``POST /verify`` (認證易) and the offline
  ``/trust-bundle``. Issuer keys, type metadata and status lists are also served outside the
  API at the URLs the credentials name (see docs/integrators.md §8).
* Department systems call with ``Authorization: Bearer <token>``: a ``client_credentials``
  token with scope ``credentials``, obtained with ``private_key_jwt`` (RFC 7523) by the
  client registered for their issuer.
* The resident's app calls ``/app/...`` with ``Authorization: Device <JWS>``.

Errors have the platform's shape (:class:`tungban.core.api.ErrorOut`); the codes are declared
in :mod:`.errors` and listed in the OpenAPI document's ``credentials`` tag.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpResponse
from django.utils.translation import get_language
from ninja import Field, Router, Schema, Status

from tungban.core import ratelimit
from tungban.core.api import error_responses
from tungban.core.idempotency import idempotent
from tungban.oidc.resource import ScopedBearer
from tungban.wallet.auth import device_auth

from . import errors, services, summaries
from .constants import CREDENTIALS_SCOPE
from .verify import DatabaseTrust, verify_presentation

router = Router(tags=["credentials"])


class IssuerBearer(ScopedBearer):
    """A department system's ``client_credentials`` token with scope ``credentials``;
    ``request.auth`` is the :class:`~tungban.credentials.models.Issuer`.

    :raises DomainError: as :class:`ScopedBearer`, and ``not_an_issuer`` (403).
    """

    def authorize(self, request, token):
        return services.issuer_for_token(token)


bearer = IssuerBearer(CREDENTIALS_SCOPE)


def department(request) -> str:
    """The caller that owns an ``Idempotency-Key``: the department system's OAuth client."""
    return f"client:{request.auth.client.client_id}"


#: Department systems' calls (bearer token).
ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422)
#: The resident's app (device proof).
APP_ERRORS = error_responses(401, 403, 404, 422)


class IssuerOut(Schema):
    id: str
    issuer: str = Field(description="The `iss` of its credentials")
    name_en: str
    name_zh: str
    jwks_uri: str
    did: str


@router.get("/issuers", response=list[IssuerOut], auth=None, summary="Departments that issue credentials (public)")
def issuers(request):
    from .models import Issuer

    return [
        {
            "id": i.id,
            "issuer": services.issuer_url(i),
            "name_en": i.name_en,
            "name_zh": i.name_zh,
            "jwks_uri": f"{services.issuer_url(i)}/jwks.json",
            "did": services.did_web(i),
        }
        for i in Issuer.objects.order_by("id")
    ]


class TypeOut(Schema):
    id: str
    vct: str = Field(description="The `vct` of its credentials; resolves to SD-JWT VC Type Metadata")
    issuer: str
    name_en: str
    name_zh: str
    validity_days: int | None
    input_claims: list[str] = Field(description="Claims the issuer supplies (CSV columns besides `hkid`)")
    holder_claims: list[str] = Field(description="Claims filled from the holder's identity")
    schema_: dict = Field(alias="schema", description="JSON Schema (draft 2020-12) of all claims")


def _type_out(t) -> dict:
    return {
        "id": t.id,
        "vct": services.vct_url(t),
        "issuer": t.issuer_id,
        "name_en": t.name_en,
        "name_zh": t.name_zh,
        "validity_days": t.validity_days,
        "input_claims": services.input_claims(t),
        "holder_claims": list(t.holder_claims or {}),
        "schema": t.schema,
    }


@router.get("/types", response=list[TypeOut], auth=None, by_alias=True, summary="Credential types (public)")
def types(request):
    from .models import CredentialType

    return [_type_out(t) for t in CredentialType.objects.filter(active=True).order_by("id")]


class VerifyIn(Schema):
    presentation: str = Field(description="The SD-JWT presentation (or a 認證易 `…/verify/#vc=` link)")
    aud: str | None = Field(
        None, description="The audience the holder's KB-JWT must name (default: this platform's /verify)"
    )
    nonce: str | None = Field(None, description="The nonce you gave the holder, if any")


class ProblemOut(Schema):
    code: str
    message: str


class VerificationOut(Schema):
    valid: bool
    problems: list[ProblemOut] = Field(
        description="Codes: issuer_unknown, type_unknown, format_unsupported, issuer_key_unknown, signature_invalid, disclosure_invalid, holder_binding_invalid, holder_binding_missing, holder_device_unbound, presentation_stale, presentation_replayed, verifier_code_expired, credential_not_yet_valid, credential_expired, credential_revoked, credential_suspended, status_unknown, status_unavailable, log_head_invalid, not_logged"
    )
    issuer: str | None
    issuer_name_en: str | None
    issuer_name_zh: str | None
    vct: str | None
    type_id: str | None
    type_name_en: str | None
    type_name_zh: str | None
    claims: dict = Field(description="Disclosed claims only")
    undisclosed: int = Field(description="Number of claims the holder did not disclose")
    issued_at: dt.datetime | None
    valid_from: dt.datetime | None
    expires_at: dt.datetime | None
    status: Literal["valid", "revoked", "suspended", "unknown"]
    holder_binding: Literal["verified", "not_presented", "unbound"]
    presented_at: dt.datetime | None
    log: dict | None = Field(description="{leaf_index, tree_size, included}")
    nonce_check: Literal["verifier_code", "expected", "none"] | None = Field(
        None,
        description="What makes a verified holder proof one-time: `expected` (it names your `nonce`), "
        "`verifier_code` (a verifier code of 認證易, now spent: a second use is `presentation_replayed`) "
        "or `none` (no verifier nonce: it could be replayed while fresh); null without a verified holder proof",
    )


@router.post(
    "/verify",
    response={200: VerificationOut, **error_responses(400, 413, 422, 429)},
    auth=None,
    summary="認證易: verify a presented credential (public)",
)
@ratelimit.limit_operation("verify")
def verify(request, payload: VerifyIn):
    """Always 200 with ``valid`` and the ``problems`` found, except ``credential_malformed``
    (400) for text that is no SD-JWT at all."""
    return verify_presentation(
        payload.presentation, DatabaseTrust(), expected_aud=payload.aud, expected_nonce=payload.nonce
    )


@router.get("/trust-bundle", auth=None, summary="Everything a verifier needs offline (public)")
def trust_bundle(request):
    """``{"issuers": {iss: {name_en, name_zh, jwks}}, "types": {vct: {...}}, "status_lists":
    {uri: token}, "tree_head": signed tree head, "log_jwks", "generated_at"}``; use with
    ``tungban verify_credential --bundle``."""
    response = api_json(services.trust_bundle())
    response["Cache-Control"] = "public, max-age=60"
    return response


def api_json(data) -> HttpResponse:
    import json

    return HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/json")


# --- Department systems -----------------------------------------------------------------------


class IssueIn(Schema):
    type: str = Field(description="Credential type id, e.g. senior-citizen-card")
    hkid: str = Field(description="The holder's HKID number")
    claims: dict = Field(default_factory=dict, description="The type's input claims (see GET /types)")
    valid_from: dt.datetime | None = Field(
        None, description="With a time zone; from a day ago to a year ahead (default: now)"
    )


class StatusRefOut(Schema):
    uri: str
    idx: int


class CredentialOut(Schema):
    id: str
    type: str
    issuer: str
    status: Literal["valid", "suspended", "revoked"]
    issued_at: dt.datetime
    valid_from: dt.datetime
    expires_at: dt.datetime | None
    holder_bound: bool = Field(description="Bound to the holder's app key (cnf)")
    status_list: StatusRefOut
    log_index: int = Field(description="Leaf index of the issuance in the transparency log")
    digest: str = Field(description="hex SHA-256 of the issuer-signed JWT (the logged value)")


def _credential_out(c) -> dict:
    return {
        "id": str(c.id),
        "type": c.credential_type_id,
        "issuer": c.issuer_id,
        "status": c.status,
        "issued_at": c.issued_at,
        "valid_from": c.valid_from,
        "expires_at": c.expires_at,
        "holder_bound": c.holder_device_id is not None,
        "status_list": {"uri": services.status_list_url(c.status_list), "idx": c.status_index},
        "log_index": c.log_index,
        "digest": c.digest,
    }


def _own_type(issuer, type_id: str):
    ctype = services.get_type(type_id)
    if ctype.issuer_id != issuer.id:
        raise errors.CredentialTypeForeign(issuer=issuer.name_en, type=ctype.name_en)
    return ctype


@router.post("/issue", response={201: CredentialOut, **ERRORS}, auth=bearer, summary="Issue one credential")
@idempotent(caller=department, description="Optional here (recommended).")
def issue(request, payload: IssueIn):
    """The credential goes to the holder's app. Errors: ``credential_type_unknown`` (404),
    ``credential_type_foreign`` (403), ``hkid_format``, ``hkid_check_digit``,
    ``no_account`` (404), ``holder_not_active``, ``holder_too_young``, ``claims_invalid``."""
    from tungban.identity import services as identity

    ctype = _own_type(request.auth, payload.type)
    holder = identity.get_by_hkid(payload.hkid)
    credential = services.issue(
        ctype,
        holder,
        payload.claims,
        issued_by=f"client:{request.auth.client.client_id}",
        valid_from=payload.valid_from,
    )
    return Status(201, _credential_out(credential))


class BulkIn(Schema):
    type: str
    csv: str = Field(
        description="UTF-8 CSV text: header `hkid,<input claims>` then one row per holder (at most 50,000)"
    )
    issue_valid_rows: bool = Field(False, description="Issue the valid rows even if some are invalid")


class BatchOut(Schema):
    id: str
    type: str
    state: Literal["queued", "running", "done", "rejected", "failed"] = Field(
        description="The job: `queued` → `running` → `done`; `rejected`: invalid rows and "
        "`issue_valid_rows` false, nothing issued; `failed`: gave up after retries"
    )
    rows_total: int
    rows_issued: int = Field(description="Issued so far (progress while `running`)")
    rows_rejected: int
    errors: list[dict] = Field(description="[{row, error, message, field}] for rejected rows")
    failure: str | None = Field(
        None, description="Why a `failed` job failed: `worker_lost` (its workers kept dying) or `internal_error`"
    )


def batch_out(b) -> dict:
    return {
        "id": str(b.id),
        "type": b.credential_type_id,
        "state": b.state,
        "rows_total": b.rows_total,
        "rows_issued": b.rows_issued,
        "rows_rejected": b.rows_rejected,
        "errors": b.errors,
        "failure": b.failure or None,
    }


@router.post(
    "/issue-bulk",
    response={202: BatchOut, **ERRORS},
    auth=bearer,
    summary="Issue credentials from a CSV file (a background job)",
)
@idempotent(
    caller=department,
    required=True,
    description="Required here: a retry of a bulk request that timed out gets the same job, never a second one.",
)
def issue_bulk(request, payload: BulkIn):
    """Returns at once (202) with the job: poll ``GET /batches/{id}`` until ``state`` is
    ``done``, ``rejected`` or ``failed``. The rows are checked in the background; if any row
    is invalid and ``issue_valid_rows`` is false, nothing is issued and the job ends
    ``rejected`` with ``errors``. Requires ``Idempotency-Key`` (issue 14 item 2): a retry with
    the same key and body answers the same job (``Idempotent-Replayed: true``), never a second
    job. Errors now: ``csv_invalid``, ``bulk_empty``, ``credential_type_unknown`` (404),
    ``credential_type_foreign`` (403), ``idempotency_key_missing``, ``idempotency_key_invalid``,
    ``idempotency_key_reused`` (422), ``idempotency_in_progress`` (409)."""
    ctype = _own_type(request.auth, payload.type)
    batch = services.submit_bulk(
        ctype,
        payload.csv,
        issued_by=f"client:{request.auth.client.client_id}",
        issue_valid_rows=payload.issue_valid_rows,
    )
    return Status(202, batch_out(batch))


@router.get(
    "/batches/{batch_id}", response={200: BatchOut, **ERRORS}, auth=bearer, summary="A bulk issuance job's state"
)
def get_batch(request, batch_id: str):
    """Errors: ``batch_unknown`` (404, also for another issuer's batch)."""
    return batch_out(services.get_batch(batch_id, issuer=request.auth))


@router.get(
    "/issued/{credential_id}", response={200: CredentialOut, **ERRORS}, auth=bearer, summary="A credential you issued"
)
def get_issued(request, credential_id: str):
    """Errors: ``credential_unknown`` (404)."""
    return _credential_out(services.get_credential(credential_id, issuer=request.auth))


class StatusIn(Schema):
    status: Literal["valid", "suspended", "revoked"] = Field(
        description="`revoked` is final; `valid` reinstates a suspended credential"
    )
    reason: str = Field(
        "", max_length=200, description="Why: required to suspend or revoke; recorded in the status history"
    )
    confirm_final: bool = Field(
        False, description="Must be true to revoke: revocation is final (a revoked credential is never valid again)"
    )


@router.post(
    "/issued/{credential_id}/status",
    response={200: CredentialOut, **ERRORS},
    auth=bearer,
    summary="Revoke, suspend or reinstate a credential",
)
def set_status(request, credential_id: str, payload: StatusIn):
    """Takes effect in the status list at once. Suspending and revoking need a ``reason``;
    revoking also ``confirm_final: true`` (issue 16). Errors: ``credential_unknown`` (404),
    ``status_transition`` (409), ``status_reason_required`` and ``revocation_not_confirmed`` (422)."""
    credential = services.get_credential(credential_id, issuer=request.auth)
    services.officer_change_status(
        credential,
        payload.status,
        reason=payload.reason,
        confirm_final=payload.confirm_final,
        changed_by=f"client:{request.auth.client.client_id}",
    )
    return _credential_out(services.get_credential(credential_id))


# --- The resident's app -----------------------------------------------------------------------


class ClaimOut(Schema):
    name: str
    label: str
    value: object


class AppCredentialOut(Schema):
    id: str
    type: str
    type_name: str
    issuer_name: str
    status: Literal["valid", "suspended", "revoked"]
    expired: bool
    issued_at: dt.datetime
    expires_at: dt.datetime | None
    background: str | None
    text_color: str | None
    claims: list[ClaimOut] = Field(description="Every claim with its label in the request's language")
    sd_jwt: str = Field(
        description="The SD-JWT as issued; present it with a KB-JWT by your device key (aud: the platform's /verify)"
    )
    holder_bound: bool
    verify_uri: str = Field(description="Base of 認證易 links: append `#vc=<presentation>`")
    aud: str = Field(description="The `aud` of the KB-JWT for an in-person presentation")
    presentation_max_age: int = Field(description="Seconds 認證易 accepts a presentation after its KB-JWT's `iat`")


def app_credential_out(c) -> dict:
    from django.conf import settings
    from django.utils import timezone

    language = get_language()
    display = c.credential_type.display or {}
    return {
        "id": str(c.id),
        "type": c.credential_type_id,
        "type_name": summaries.title(c.credential_type_id, services.issued_claims(c), language)
        or c.credential_type.name(language),
        "issuer_name": c.issuer.name(language),
        "status": c.status,
        "expired": bool(c.expires_at and c.expires_at < timezone.now()),
        "issued_at": c.issued_at,
        "expires_at": c.expires_at,
        "background": display.get("background"),
        "text_color": display.get("text"),
        "claims": services.displayed_claims(c.credential_type, services.issued_claims(c), language),
        "sd_jwt": c.sd_jwt,
        "holder_bound": c.holder_device_id is not None,
        "verify_uri": f"{settings.TUNGBAN_ISSUER}/verify/",
        "aud": services.verifier_audience(),
        "presentation_max_age": settings.TUNGBAN_PRESENTATION_MAX_AGE,
    }


@router.get(
    "/app/credentials",
    response={200: list[AppCredentialOut], **APP_ERRORS},
    auth=device_auth,
    summary="(device) My e-licences and e-certificates",
)
def app_credentials(request):
    return [app_credential_out(c) for c in services.credentials_of(request.auth.resident)]


@router.get(
    "/app/credentials/{credential_id}/inclusion",
    response={200: dict, **APP_ERRORS},
    auth=device_auth,
    summary="(device) The log inclusion proof of my credential, for offline checks",
)
def app_inclusion(request, credential_id: str):
    """``{"leaf_index", "body", "inclusion_path", "tree_head"}``: the proof against the latest
    signed tree head, which it carries; ``tungban verify_credential --bundle … --proof`` checks
    it offline. Errors: ``credential_unknown`` (404)."""
    return services.holder_inclusion_proof(request.auth.resident, credential_id)


# --- App: PDF ---------------------------------------------------------------------------------
# (The app draws the QR code of a presentation itself: the platform never learns what is shown.)


@router.get(
    "/app/credentials/{credential_id}/pdf",
    response={200: None, **APP_ERRORS},
    auth=device_auth,
    summary="(device) My e-licence or e-certificate as a PDF",
)
def app_credential_pdf(request, credential_id: str):
    """``application/pdf`` in the request's language. Errors: ``credential_unknown`` (404,
    also for another resident's credential)."""
    from django.utils.http import content_disposition_header

    from .pdf import credential_pdf

    credential = services.holder_credential(request.auth.resident, credential_id)
    response = HttpResponse(credential_pdf(credential, get_language()), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        True, f"{credential.credential_type_id}-{str(credential.id)[:8]}.pdf"
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- App: personal code (個人碼, issue 16) -------------------------------------------------------


class VerifierOut(Schema):
    id: str
    name: str = Field(description="In the request's language")


class PersonalCodeIn(Schema):
    verifier: str = Field(description="The verifier's id (from GET /app/personal-code/verifiers)", max_length=64)
    holder_jwk: dict = Field(
        description="The public P-256 JWK {kty, crv, x, y} of a key the app made on this device for this verifier"
    )
    holder_proof: str = Field(
        description="Proof of possession of holder_jwk: a compact JWS by it, header {alg: ES256, "
        "typ: personal-code-pop+jwt}, payload {aud: the verifier, device: this device's id, iat} "
        "(iat within 300 s)",
        max_length=2048,
    )


class PersonalClaimOut(Schema):
    name: Literal["name", "name_zh", "tier"]
    label: str
    value: str


class PersonalCodeOut(Schema):
    sd_jwt: str = Field(
        description="SD-JWT signed with the platform's key (GET /oidc/jwks), `cnf` = holder_jwk, `aud` = the verifier, "
        "`sub` = your pairwise identifier for it; present it with a KB-JWT (aud: the verifier, iat, nonce)"
    )
    verifier: VerifierOut
    aud: str = Field(description="The `aud` of the KB-JWT: the verifier's id")
    expires_at: dt.datetime = Field(description="Until then the app can make codes from it offline")
    max_age: int = Field(description="Seconds a verifier accepts a code after its KB-JWT's `iat` (at most 60)")
    claims: list[PersonalClaimOut] = Field(description="What the resident can choose to show")


@router.get(
    "/app/personal-code/verifiers",
    response={200: list[VerifierOut], **APP_ERRORS},
    auth=device_auth,
    summary="(device) Verifiers I can show my personal code to",
)
def personal_code_verifiers(request):
    from .services import personal_code

    return [{"id": v, "name": personal_code.verifier_name(v)} for v in services.verifiers()]


@router.post(
    "/app/personal-code",
    response={200: PersonalCodeOut, **error_responses(400, 401, 403, 404, 422)},
    auth=device_auth,
    summary="(device) A personal-code credential for one verifier",
)
def personal_code(request, payload: PersonalCodeIn):
    """Issue 16 (個人碼): a short-lived credential bound to a key of this device for this
    verifier; nothing is stored but the pairwise identifier (made once, the same later), so a
    repeated call is harmless and takes no ``Idempotency-Key``. Errors: ``verifier_unknown``
    (404), ``holder_key_invalid`` (400), ``holder_proof_invalid`` (400: no proof of possession
    of ``holder_jwk`` for this verifier and device, issue 16 security review L1)."""
    from .services import personal_code as pc

    pc.verifier_name(payload.verifier)  # verifier_unknown (404) first
    pc.check_holder_proof(payload.holder_jwk, payload.holder_proof, payload.verifier, str(request.auth.id))
    return services.issue_personal_code(request.auth.resident, payload.verifier, payload.holder_jwk)
