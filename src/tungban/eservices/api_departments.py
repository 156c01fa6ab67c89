"""The e-services API for department systems (issue 17): ``/api/v1/eservices/applications…``
and ``/api/v1/eservices/webhooks…``.

A department's system calls with ``Authorization: Bearer <token>``: a ``client_credentials``
token with scope ``eservices``, obtained with ``private_key_jwt`` (RFC 7523) by the client
registered for its department (:func:`tungban.eservices.services.webhooks.register_system`). It
sees and acts on its own department's applications only: another department's reference is
``application_unknown`` (404), as one that does not exist. Acting calls take an
``Idempotency-Key`` (required): a retry with the same key and body gets the first answer.

Errors have the platform's shape (``ErrorOut``); the codes are listed in the OpenAPI
document's ``eservices`` tag. Webhooks: docs/integrators.md, "e-Services for department
systems".
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status

from tungban.core.api import error_responses
from tungban.core.idempotency import idempotent
from tungban.notify.webhooks_api import EndpointCreatedOut, EndpointIn, EndpointOut, endpoint_out
from tungban.oidc.resource import ScopedBearer

from . import errors, services
from .models import State
from .services import webhooks, workbench

router = Router(tags=["eservices"])


class SystemBearer(ScopedBearer):
    """``request.auth``: the :class:`~tungban.eservices.models.DepartmentSystem`.

    :raises DomainError: as :class:`ScopedBearer`, and ``not_department_system`` (403)."""

    def authorize(self, request, token):
        return webhooks.system_for_token(token)


bearer = SystemBearer(webhooks.SCOPE)
ERRORS = error_responses(400, 401, 403, 404, 409, 422)


def caller(request) -> str:
    return f"client:{request.auth.client.client_id}"


class EventOut(Schema):
    action: str
    from_state: str
    to_state: str
    actor_kind: str
    actor_id: str
    reason_en: str
    reason_zh: str
    at: dt.datetime


class AttachmentOut(Schema):
    id: int
    field: str = Field(description="The form field, or `information` for a document answering a request")
    content_type: str = Field(description="What the bytes are (checked from them)")
    size: int = Field(description="Bytes")
    sha256: str
    uploaded_at: dt.datetime
    href: str = Field(description="GET it for the bytes")


class InformationRequestOut(Schema):
    message_en: str
    message_zh: str
    requested_at: dt.datetime
    answer: str
    answered_at: dt.datetime | None


class OrganisationOut(Schema):
    br_number: str = Field(description="The company's Business Registration number (8 characters)")
    name_en: str
    name_zh: str
    mandate_id: str = Field(description="The CorpID mandate the person applied under")


class ApplicationOut(Schema):
    reference: str
    service: str
    department: str
    state: str = Field(
        description="draft submitted awaiting_payment paid in_review information_requested approved licence_issued rejected withdrawn expired"
    )
    form: str
    form_version: int
    submitted_at: dt.datetime | None
    decided_at: dt.datetime | None
    pledge_due: dt.date | None
    pledge_working_days_left: int | None = Field(
        description="Working days to the pledge's due date (negative: overdue); null once decided"
    )
    assigned_to: str | None
    awaiting_second_approval: bool
    organisation: OrganisationOut | None = Field(
        None, description="The company the application is for (CorpID: a person applied for it), else null"
    )


class ApplicationDetailOut(ApplicationOut):
    answers: dict
    prefill: dict = Field(description="Per field: source, ref, digest, status (verified | resident_edited)")
    attachments: list[AttachmentOut]
    information_requests: list[InformationRequestOut]
    history: list[EventOut]


def _out(app) -> dict:
    timer = workbench.pledge_timer(app)
    return {
        "reference": app.reference,
        "service": app.service.slug,
        "department": app.service.department_id,
        "state": app.state,
        "form": app.form_version.form.slug,
        "form_version": app.form_version.number,
        "submitted_at": app.submitted_at,
        "decided_at": app.decided_at,
        "pledge_due": app.pledge_due,
        "pledge_working_days_left": timer.days_left,
        "assigned_to": app.assigned_to.username if app.assigned_to_id else None,
        "awaiting_second_approval": app.state == State.IN_REVIEW and app.first_approved_by_id is not None,
        "organisation": {
            "br_number": app.org_br_number,
            "name_en": app.org_name_en,
            "name_zh": app.org_name_zh,
            "mandate_id": app.mandate_id,
        }
        if app.org_br_number
        else None,
    }


def _detail(app) -> dict:
    base = f"/api/v1/eservices/applications/{app.reference}/attachments/"
    return {
        **_out(app),
        "answers": app.get_answers(),
        "prefill": app.prefill or {},
        "attachments": [
            {
                "id": a.pk,
                "field": a.field,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                "uploaded_at": a.uploaded_at,
                "href": f"{base}{a.pk}",
            }
            for a in app.attachments.all()
        ],
        "information_requests": [
            {
                "message_en": r.message_en,
                "message_zh": r.message_zh,
                "requested_at": r.requested_at,
                "answer": r.answer or "",
                "answered_at": r.answered_at,
            }
            for r in app.information_requests.all()
        ],
        "history": [
            {
                "action": e.action,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "actor_kind": e.actor_kind,
                "actor_id": e.actor_id,
                "reason_en": e.reason_en,
                "reason_zh": e.reason_zh,
                "at": e.at,
            }
            for e in services.history(app)
        ],
    }


def _case(request, reference: str):
    return workbench.case_for_officer(reference, request.auth.user, system=True)


class ListFilter(Schema):
    state: str = ""
    service: str = ""
    reference: str = Field("", description="Exact, or a prefix of at least 4 characters")
    submitted_from: dt.date | None = None
    submitted_to: dt.date | None = None
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)


@router.get(
    "/applications",
    response={200: list[ApplicationOut], **ERRORS},
    auth=bearer,
    summary="The department's applications",
)
def list_applications(request, filters: Query[ListFilter]):
    """Submitted applications of the caller's department, newest first, filtered by every
    criterion given (submission dates inclusive, Hong Kong time)."""
    rows = workbench.search(request.auth.department_id, **filters.dict())
    return [_out(a) for a in rows]


@router.get(
    "/applications/{reference}", response={200: ApplicationDetailOut, **ERRORS}, auth=bearer, summary="One application"
)
def read_application(request, reference: str):
    """Answers, prefill provenance, documents' metadata, requests for information and history.
    Errors: ``application_unknown`` (404; also another department's)."""
    return _detail(_case(request, reference))


@router.get(
    "/applications/{reference}/attachments/{attachment_id}",
    response={200: None, **ERRORS},
    auth=bearer,
    summary="A document's bytes",
)
def read_attachment(request, reference: str, attachment_id: int):
    """The document as uploaded (``Content-Type`` from its bytes). Errors: ``application_unknown``,
    ``attachment_unknown`` (404)."""
    app = _case(request, reference)
    doc = app.attachments.filter(pk=attachment_id).first()
    if doc is None:
        raise errors.AttachmentUnknown()
    response = HttpResponse(services.read_attachment(doc), content_type=doc.content_type)
    response["Content-Disposition"] = f'attachment; filename="{app.reference}-{doc.pk}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


class BilingualIn(Schema):
    en: str = Field("", description="In English", max_length=4000)
    zh: str = Field("", description="In Chinese", max_length=4000)


ACT_KEY = "Required: a retry with the same key and body answers what the first call did, never acting twice."


@router.post(
    "/applications/{reference}/assign",
    response={200: ApplicationOut, **ERRORS},
    auth=bearer,
    summary="Take an application into review (assigned to the system)",
)
@idempotent(caller=caller, required=True, description=ACT_KEY)
def assign(request, reference: str):
    """A queued application (``submitted``, ``paid``) → ``in_review``, assigned to the
    system's service account; one already in review or waiting for information is reassigned
    to it. Errors: ``transition_not_allowed`` (409: decided), ``application_unknown`` (404),
    idempotency errors."""
    system = request.auth
    app = _case(request, reference)
    services.assign(app, system.user, via=system.client.client_id)
    return _out(services.get_application(app.reference))


@router.post(
    "/applications/{reference}/request-information",
    response={200: ApplicationOut, **ERRORS},
    auth=bearer,
    summary="Ask the resident for more information",
)
@idempotent(caller=caller, required=True, description=ACT_KEY)
def request_information(request, reference: str, payload: BilingualIn):
    """``in_review`` (or a queued application) → ``information_requested``; the resident is
    told in the app. Errors: ``message_required`` (422), ``transition_not_allowed`` (409),
    ``application_unknown`` (404), idempotency errors."""
    system = request.auth
    app = _case(request, reference)
    services.request_information(app, system.user, payload.en, payload.zh, via=system.client.client_id)
    return _out(services.get_application(app.reference))


@router.post(
    "/applications/{reference}/approve", response={200: ApplicationOut, **ERRORS}, auth=bearer, summary="Approve"
)
@idempotent(caller=caller, required=True, description=ACT_KEY)
def approve(request, reference: str, payload: BilingualIn):
    """``in_review`` → ``approved`` (then ``licence_issued`` when the service issues an
    e-licence). A service that needs a second approval: the first approval keeps the state
    (``awaiting_second_approval`` true) and an officer, not the same system, gives the second.
    Errors: ``transition_not_allowed`` (409: e.g. already approved — of two concurrent
    approvals one succeeds), ``same_approver`` (403), ``application_unknown`` (404)."""
    system = request.auth
    app = _case(request, reference)
    app = services.approve(app, system.user, reason_en=payload.en, reason_zh=payload.zh, via=system.client.client_id)
    return _out(services.get_application(app.reference))


@router.post(
    "/applications/{reference}/reject", response={200: ApplicationOut, **ERRORS}, auth=bearer, summary="Reject"
)
@idempotent(caller=caller, required=True, description=ACT_KEY)
def reject(request, reference: str, payload: BilingualIn):
    """→ ``rejected`` with the reasons in both languages (the resident sees them). Errors:
    ``reason_required`` (422), ``transition_not_allowed`` (409), ``application_unknown`` (404)."""
    system = request.auth
    app = _case(request, reference)
    services.reject(app, system.user, payload.en, payload.zh, via=system.client.client_id)
    return _out(services.get_application(app.reference))


# --- webhooks ---
class DeliveryOut(Schema):
    id: uuid.UUID = Field(description="Also the Tungban-Webhook-Id header and the body's id")
    endpoint: uuid.UUID
    reference: str
    event_type: str
    state: str = Field(description="pending delivered failed")
    attempts: int
    last_status: int | None
    log: list[dict] = Field(description="Per attempt: at, attempt, status (HTTP or null), error, ms")
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    next_attempt_at: dt.datetime | None


@router.post(
    "/webhooks", response={201: EndpointCreatedOut, **ERRORS}, auth=bearer, summary="Register a webhook endpoint"
)
@idempotent(caller=caller, description="Optional here (recommended).")
def add_webhook(request, payload: EndpointIn):
    """Events: ``application.submitted``, ``application.information_answered``,
    ``application.approved``, ``application.rejected``, ``application.withdrawn``,
    ``application.licence_issued``. Errors: ``webhook_url_refused`` (422: not https, user info, a
    host that does not resolve or resolves to a private, loopback, link-local… address),
    ``webhook_events_invalid`` (422)."""
    endpoint, secret = webhooks.register_endpoint(
        request.auth.department_id, payload.url, payload.events, created_by=caller(request)
    )
    return Status(201, {**endpoint_out(endpoint), "secret": secret})


@router.get("/webhooks", response={200: list[EndpointOut], **ERRORS}, auth=bearer, summary="The department's endpoints")
def list_webhooks(request):
    return [endpoint_out(e) for e in webhooks.endpoints_of(request.auth.department_id)]


@router.get(
    "/webhooks/deliveries", response={200: list[DeliveryOut], **ERRORS}, auth=bearer, summary="The delivery log"
)
def list_deliveries(request, reference: str = "", limit: int = Query(100, ge=1, le=500)):
    """The department's deliveries, newest first (optionally of one application)."""
    return [
        {
            "id": d.id,
            "endpoint": d.endpoint_id,
            "reference": d.application.reference,
            "event_type": d.event_type,
            "state": d.state,
            "attempts": d.attempts,
            "last_status": d.last_status,
            "log": d.log,
            "created_at": d.created_at,
            "delivered_at": d.delivered_at,
            "next_attempt_at": d.next_attempt_at,
        }
        for d in webhooks.deliveries_of(request.auth.department_id, reference=reference, limit=limit)
    ]


@router.delete("/webhooks/{endpoint_id}", response={204: None, **ERRORS}, auth=bearer, summary="Remove an endpoint")
def remove_webhook(request, endpoint_id: uuid.UUID):
    """Errors: ``webhook_unknown`` (404; also another department's)."""
    webhooks.remove_endpoint(request.auth.department_id, endpoint_id)
    return Status(204, None)
