"""Department systems and their signed webhooks (issue 17, "API for department systems").

A department's system is an OpenID Connect client registered for one department
(:func:`register_system`); it calls ``/api/v1/eservices/…`` with its own ``client_credentials``
token carrying the scope :data:`SCOPE`. It registers webhook endpoints (:func:`register_endpoint`);
every recorded event of its department's applications that it subscribed to
(:data:`EVENTS`) is written as a :class:`~tungban.eservices.models.WebhookDelivery` when the
change commits and delivered by a background task (:func:`deliver_task`, ``core.jobs``),
never in the request:

* **Body**: JSON ``{"id", "type", "created_at", "data": {"reference", "service", "department",
  "state", "action", "reason_en", "reason_zh", "at"}}`` — the same bytes on every attempt.
* **Signature** (the Stripe scheme; GOV.UK Pay signs the body the same way without the time):
  header ``Tungban-Signature: t=<Unix seconds>,v1=<lower-case hex HMAC-SHA256(secret,
  "<t>." + body)>`` (RFC 2104 with SHA-256; ``t`` is the attempt's send time). Also
  ``Tungban-Webhook-Id`` (the delivery id: the same on every retry, so a receiver can drop a
  repeat) and ``Tungban-Event``. Receivers recompute the HMAC over the raw body, compare in
  constant time and refuse a ``t`` more than :data:`REPLAY_WINDOW` seconds from their clock.
* **Retries**: an answer other than 2xx (or none within ``TUNGBAN_WEBHOOK_TIMEOUT`` seconds;
  redirects are not followed) is retried with ``core.jobs``' exponential back-off, up to
  ``TUNGBAN_TASK_MAX_ATTEMPTS`` attempts; every attempt is logged on the delivery.
* **SSRF**: endpoint URLs must be ``https`` to public internet addresses
  (:func:`tungban.notify.services.check_public_url`), checked at registration and before every
  attempt (a host that later resolves inside is not called).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import time

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.tasks import task
from django.utils import timezone

from tungban.core import jobs
from tungban.notify import services as notify

from .. import errors
from ..models import (
    Application,
    ApplicationEvent,
    DeliveryState,
    Department,
    DepartmentOfficer,
    DepartmentSystem,
    OfficerRole,
    WebhookDelivery,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)

#: OAuth scope of a department system (``client_credentials``, ``private_key_jwt`` only).
SCOPE = "eservices"
#: Seconds either side of the receiver's clock within which a signature's ``t`` is accepted.
REPLAY_WINDOW = 300
SIGNATURE_HEADER = "Tungban-Signature"
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
def check_url(url: str) -> None:
    """:raises DomainError: ``webhook_url_refused`` (not https, user info, a host that does not
    resolve or resolves to a loopback, private, link-local… address; :func:`notify.check_public_url`)."""
    if len(url or "") > 500:
        raise errors.WebhookURLRefused(reason="the URL is longer than 500 characters")
    try:
        notify.check_public_url(url or "", allow_loopback=settings.TUNGBAN_WEBHOOK_ALLOW_LOCAL)
    except notify.UnsafeURL as exc:
        raise errors.WebhookURLRefused(reason=str(exc)) from None


def register_endpoint(
    department: Department | str, url: str, events: list[str] | None = None, *, created_by: str
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint for ``events`` (default: all of :data:`EVENT_TYPES`); returns it and its
    signing secret (shown this once; 32 random bytes, hex).

    :raises DomainError: ``webhook_url_refused``, ``webhook_events_invalid``."""
    code = department if isinstance(department, str) else department.code
    wanted = list(dict.fromkeys(events or EVENT_TYPES))
    unknown = [e for e in wanted if e not in EVENT_TYPES]
    if unknown or not wanted:
        raise errors.WebhookEventsInvalid(events=", ".join(unknown) or "none")
    check_url(url)
    secret = secrets.token_hex(32)
    endpoint = WebhookEndpoint.objects.create(
        department_id=code, url=url, secret=secret, events=wanted, created_by=created_by
    )
    return endpoint, secret


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


# --- signing ---
def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Tungban-Signature`` header value: ``t=<timestamp>,v1=<hex HMAC-SHA256(secret,
    "<timestamp>." + body)>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None, window: int = REPLAY_WINDOW) -> bool:
    """What a receiver does (docs/integrators.md): parse ``t`` and every ``v1``, refuse a
    ``t`` outside ``window`` seconds of ``now``, compare the HMAC in constant time."""
    parts = [p.split("=", 1) for p in (header or "").split(",") if "=" in p]
    stamps = [v for k, v in parts if k.strip() == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    t = int(stamps[0])
    if abs((now if now is not None else time.time()) - t) > window:
        return False
    expected = sign(secret, t, body).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, v.strip()) for k, v in parts if k.strip() == "v1")


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
    to the event, and queue its task in the same transaction (both or neither). Called on
    commit of the event (:mod:`tungban.eservices.receivers`); an event is queued once per
    endpoint (a unique constraint), so a repeated call adds nothing."""
    event_type = EVENTS.get(event.action)
    if event_type is None:
        return []
    made = []
    for endpoint in WebhookEndpoint.objects.filter(department_id=application.service.department_id, active=True):
        if event_type not in endpoint.events:
            continue
        try:
            with transaction.atomic():
                delivery = WebhookDelivery(
                    endpoint=endpoint, application=application, event=event, event_type=event_type
                )
                delivery.body = body_for(delivery.id, event, application, event_type)
                delivery.save()
                jobs.enqueue(deliver_task, str(delivery.id))
        except IntegrityError:
            continue
        made.append(delivery)
    return made


def _post(url: str, body: bytes, headers: dict) -> tuple[int | None, str]:
    try:
        response = requests.post(
            url,
            data=body,
            headers=headers,
            timeout=settings.TUNGBAN_WEBHOOK_TIMEOUT,
            allow_redirects=False,
            stream=True,
        )
        response.close()
        return response.status_code, "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    except requests.RequestException as exc:
        return None, type(exc).__name__


def deliver(delivery_id, attempt: int = 1) -> WebhookDelivery:
    """One attempt to deliver ``delivery_id``: check the URL again, POST the signed body, log
    the answer; on failure queue attempt ``attempt + 1`` after ``jobs.retry_delay(attempt)``
    while ``jobs.can_retry(attempt)``, else the delivery ends ``failed``. A delivery already
    delivered (or a stale attempt) does nothing."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery_id)
        if delivery.state != DeliveryState.PENDING or delivery.attempts >= attempt:
            return delivery
        endpoint = delivery.endpoint
        delivery.attempts = attempt
        delivery.save(update_fields=["attempts"])
    started = time.monotonic()
    status, error = None, ""
    if not endpoint.active:
        error = "the endpoint was removed"
    else:
        try:
            check_url(endpoint.url)
        except errors.WebhookURLRefused as exc:
            error = exc.message
        else:
            body = delivery.body.encode()
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "tungban-webhooks/1",
                SIGNATURE_HEADER: sign(endpoint.secret, int(time.time()), body),
                "Tungban-Webhook-Id": str(delivery.id),
                "Tungban-Event": delivery.event_type,
            }
            status, error = _post(endpoint.url, body, headers)
    ok = status is not None and 200 <= status < 300
    now = timezone.now()
    entry = {"at": now.isoformat(), "attempt": attempt, "status": status, "error": error}
    entry["ms"] = round((time.monotonic() - started) * 1000)
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        delivery.log = [*delivery.log, entry]
        delivery.last_status = status
        if ok:
            delivery.state, delivery.delivered_at, delivery.next_attempt_at = DeliveryState.DELIVERED, now, None
        elif endpoint.active and jobs.can_retry(attempt):
            wait: dt.timedelta = jobs.retry_delay(attempt)
            delivery.next_attempt_at = now + wait
            jobs.enqueue(deliver_task, str(delivery.id), attempt + 1, delay=wait)
        else:
            delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
        delivery.save(update_fields=["log", "last_status", "state", "delivered_at", "next_attempt_at"])
    return delivery


@task()
def deliver_task(delivery_id: str, attempt: int = 1) -> str:
    """Background task: :func:`deliver` (its retries are queued by it)."""
    return deliver(delivery_id, attempt).state
