"""Department systems and their signed webhooks (issue 17, "API for department systems").

A department's system is an OpenID Connect client registered for one department
(:func:`register_system`); it calls ``/api/v1/eservices/…`` with its own ``client_credentials``
token carrying the scope :data:`SCOPE`. It registers webhook endpoints (:func:`register_endpoint`);
every recorded event of its department's applications that it subscribed to
(:data:`EVENTS`) is written as a :class:`~tungban.eservices.models.WebhookDelivery` in the
transaction of the change (the outbox: a crash the moment it commits loses no webhook) and
delivered by a background task (:func:`deliver_task`, ``core.jobs``), never in the request.

The signature, the retries and the checks against server-side request forgery are the
platform's one webhook implementation, :mod:`tungban.notify.webhooks` (shared with the
payments' webhooks, issue 18); what is the e-services' own is the events and the body:

* **Body**: JSON ``{"id", "type", "created_at", "data": {"reference", "service", "department",
  "state", "action", "reason_en", "reason_zh", "at"}}`` — the same bytes on every attempt.
* **Signature**: ``Tungban-Signature: t=<Unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." +
  body)>`` (:func:`sign`, :func:`verify`), ``Tungban-Webhook-Id``, ``Tungban-Event``.
"""

from __future__ import annotations

import json
import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.tasks import task

from tungban.notify import webhooks as shared
from tungban.notify.webhooks import REPLAY_WINDOW, SIGNATURE_HEADER, sign, verify

from .. import errors
from ..models import (
    Application,
    ApplicationEvent,
    Department,
    DepartmentOfficer,
    DepartmentSystem,
    OfficerRole,
    WebhookDelivery,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)

__all__ = ["REPLAY_WINDOW", "SIGNATURE_HEADER", "sign", "verify"]

#: OAuth scope of a department system (``client_credentials``, ``private_key_jwt`` only).
SCOPE = "eservices"
#: Recorded action → webhook event type.
EVENTS = {
    "submitted": "application.submitted",
    "information_provided": "application.information_answered",
    "approved": "application.approved",
    "rejected": "application.rejected",
    "withdrawn": "application.withdrawn",
    "licence_issued": "application.licence_issued",
}
EVENT_TYPES = tuple(EVENTS.values())


# --- department systems ---
@transaction.atomic
def register_system(department: Department | str, client) -> DepartmentSystem:
    """Let ``client`` (an OpenID Connect client with a registered JWKS) act for ``department``
    through the API: it may ask for the ``eservices`` scope, and gets a service account with
    the approver role in the department (so it may approve, and give one of two approvals)."""
    code = department if isinstance(department, str) else department.code
    if SCOPE not in client.allowed_scopes:
        client.allowed_scopes = [*client.allowed_scopes, SCOPE]
        client.save(update_fields=["allowed_scopes"])
    found = DepartmentSystem.objects.filter(client=client).first()
    if found is not None:
        return found
    user = get_user_model().objects.create_user(username=f"system:{client.client_id}"[:150], is_staff=False)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    DepartmentOfficer.objects.create(user=user, department_id=code, role=OfficerRole.APPROVER)
    return DepartmentSystem.objects.create(client=client, department_id=code, user=user)


def system_for_token(token) -> DepartmentSystem:
    """The department system behind an ``eservices`` access token: the client's own
    ``client_credentials`` token, never a resident's login.

    :raises Forbidden: ``not_department_system``."""
    if token.resident_id is not None:
        raise errors.NotDepartmentSystem()
    try:
        return DepartmentSystem.objects.select_related("user", "department", "client").get(client=token.client)
    except DepartmentSystem.DoesNotExist:
        raise errors.NotDepartmentSystem() from None


# --- endpoints ---
def register_endpoint(
    department: Department | str, url: str, events: list[str] | None = None, *, created_by: str
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint for ``events`` (default: all of :data:`EVENT_TYPES`); returns it and its
    signing secret (shown this once; 32 random bytes, hex).

    :raises DomainError: ``webhook_url_refused`` (:func:`tungban.notify.webhooks.url_refusal`:
        not https, user info, a host that does not resolve or resolves to a loopback, private,
        link-local… address), ``webhook_events_invalid``."""
    code = department if isinstance(department, str) else department.code
    return shared.create_endpoint(
        WebhookEndpoint,
        url,
        events,
        EVENT_TYPES,
        url_refused=errors.WebhookURLRefused,
        events_invalid=errors.WebhookEventsInvalid,
        department_id=code,
        created_by=created_by,
    )


def endpoints_of(department: Department | str) -> list[WebhookEndpoint]:
    code = department if isinstance(department, str) else department.code
    return list(WebhookEndpoint.objects.filter(department_id=code, active=True))


def remove_endpoint(department: Department | str, endpoint_id) -> None:
    """Stop deliveries to an endpoint of ``department`` (its log is kept).

    :raises NotFound: ``webhook_unknown`` (also for another department's endpoint)."""
    code = department if isinstance(department, str) else department.code
    done = WebhookEndpoint.objects.filter(pk=endpoint_id, department_id=code, active=True).update(active=False)
    if not done:
        raise errors.WebhookUnknown()


def deliveries_of(department: Department | str, *, limit: int = 100, reference: str = "") -> list[WebhookDelivery]:
    """The delivery log of ``department``'s endpoints, newest first."""
    code = department if isinstance(department, str) else department.code
    qs = WebhookDelivery.objects.filter(endpoint__department_id=code).select_related("endpoint", "application")
    if reference:
        qs = qs.filter(application__reference=reference.strip().upper())
    return list(qs.order_by("-created_at")[:limit])


# --- queueing and delivering ---
def body_for(delivery_id, event: ApplicationEvent, application: Application, event_type: str) -> str:
    return json.dumps(
        {
            "id": str(delivery_id),
            "type": event_type,
            "created_at": event.at.isoformat(),
            "data": {
                "reference": application.reference,
                "service": application.service.slug,
                "department": application.service.department_id,
                "state": event.to_state,
                "action": event.action,
                "reason_en": event.reason_en,
                "reason_zh": event.reason_zh,
                "at": event.at.isoformat(),
            },
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def queue_deliveries(application: Application, event: ApplicationEvent) -> list[WebhookDelivery]:
    """Write a delivery for each active endpoint of the application's department subscribed
    to the event, each with its task, in the transaction that records the event (the outbox,
    :func:`tungban.notify.webhooks.write_deliveries`: a crash right after the change commits
    loses none). Called when the event is saved (:mod:`tungban.eservices.receivers`); an
    event is queued once per endpoint (a unique constraint), so a repeated call adds nothing."""
    event_type = EVENTS.get(event.action)
    if event_type is None:
        return []
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(department_id=application.service.department_id, active=True)
        if event_type in e.events
    ]

    def make(endpoint) -> WebhookDelivery:
        delivery = WebhookDelivery(endpoint=endpoint, application=application, event=event, event_type=event_type)
        delivery.body = body_for(delivery.id, event, application, event_type)
        return delivery

    return shared.write_deliveries(endpoints, make, task=deliver_task)


def deliver(delivery_id, attempt: int = 1) -> WebhookDelivery:
    """One attempt to deliver ``delivery_id`` (:func:`tungban.notify.webhooks.deliver`: check
    the URL again, POST the signed body, log the answer, queue the next attempt with back-off
    or end ``failed``)."""
    return shared.deliver(WebhookDelivery, delivery_id, attempt, retry_task=deliver_task)


@task()
def deliver_task(delivery_id: str, attempt: int = 1) -> str:
    """Background task: :func:`deliver` (its retries are queued by it)."""
    return deliver(delivery_id, attempt).state
