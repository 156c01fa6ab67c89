"""Signed webhooks to department systems: the one implementation behind the e-services' webhooks
(issue 17, :mod:`tungban.eservices.services.webhooks`) and the payments' (issue 18,
:mod:`tungban.payments.services.webhooks`). Each app keeps its own endpoint and delivery tables
(subclasses of :class:`WebhookEndpointBase` and :class:`WebhookDeliveryBase`, with a foreign key
to what they are about) and its own events; what a webhook *is* lives here:

* **Signature** (the Stripe scheme; GOV.UK Pay signs the body the same way without the time,
  ``Pay-Signature``): header ``Tungban-Signature: t=<Unix seconds>,v1=<lower-case hex
  HMAC-SHA256(secret, "<t>." + body)>`` (RFC 2104 with SHA-256; ``t`` is the attempt's send
  time) — :func:`sign`. Also ``Tungban-Webhook-Id`` (the delivery id: the same on every retry,
  so a receiver can drop a repeat) and ``Tungban-Event``. Receivers recompute the HMAC over the
  raw body, compare in constant time and refuse a ``t`` more than :data:`REPLAY_WINDOW` seconds
  from their clock — :func:`verify`, which is what docs/integrators.md shows.
* **Secrets**: 32 random bytes, hex (:func:`new_secret`), shown once, encrypted at rest.
* **Outbox** (:func:`write_deliveries`): the deliveries of an event are rows written, with
  their delivery tasks (``core.jobs`` on the database queue), *in the transaction of the change
  they report*: the change and its deliveries commit together or not at all, so a process that
  dies the moment the change commits has already stored them, and the worker delivers them.
  Nothing waits for ``on_commit``, which a crash between the commit and the hook would skip.
* **Delivery** (:func:`deliver`): one attempt is one ``POST`` of the stored body (the same
  bytes on every attempt) with a fresh signature; an answer other than 2xx (or none within
  ``TUNGBAN_WEBHOOK_TIMEOUT`` seconds; redirects are not followed) is retried with
  ``core.jobs``' exponential back-off, up to ``TUNGBAN_TASK_MAX_ATTEMPTS`` attempts; every
  attempt is logged on the delivery (``log``), which the department sees. An attempt whose
  worker died before it was logged (SIGKILL in the middle of the POST) is made again when the
  worker's task is reclaimed (``tungban worker``): at least once, with the same
  ``Tungban-Webhook-Id``.
* **SSRF**: endpoint URLs must be ``https`` to public internet addresses
  (:func:`tungban.notify.services.check_public_url`), checked at registration
  (:func:`url_refusal`) and again before every attempt (a host that later resolves inside is
  not called).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterable

import requests
from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tungban.core import jobs
from tungban.core.fields import EncryptedTextField

log = logging.getLogger(__name__)

#: Seconds either side of the receiver's clock within which a signature's ``t`` is accepted.
REPLAY_WINDOW = 300
SIGNATURE_HEADER = "Tungban-Signature"
ID_HEADER = "Tungban-Webhook-Id"
EVENT_HEADER = "Tungban-Event"
#: Longest endpoint URL accepted.
MAX_URL_LENGTH = 500


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Waiting to be delivered")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed after every attempt")


class WebhookEndpointBase(models.Model):
    """Where a department's system wants to hear about events: an ``https`` URL (checked against
    server-side request forgery when registered and before every delivery), the events it wants
    (``events``: the owning app's event type names) and the secret the platform signs each
    delivery with (HMAC-SHA256, shown once, encrypted at rest)."""

    id = models.UUIDField(_("id"), primary_key=True, default=uuid.uuid4, editable=False)
    url = models.URLField(_("URL"), max_length=MAX_URL_LENGTH)
    secret = EncryptedTextField(_("signing secret"))
    events = models.JSONField(_("events"), default=list)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.CharField(_("registered by"), max_length=150)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.url


class WebhookDeliveryBase(models.Model):
    """One event sent to one endpoint (the subclass has the ``endpoint`` foreign key): the
    signed ``body`` (JSON, the same bytes on every attempt; encrypted at rest), its ``state``,
    and ``log``: one entry per attempt ``{"at": ISO time, "attempt": n, "status": HTTP status
    or null, "error": text, "ms": milliseconds}``."""

    id = models.UUIDField(_("id"), primary_key=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(_("event type"), max_length=60)
    body = EncryptedTextField(_("body"))
    state = models.CharField(_("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_status = models.PositiveIntegerField(_("last HTTP status"), null=True, blank=True)
    log = models.JSONField(_("attempts log"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)

    class Meta:
        abstract = True


# --- secrets and signatures ---
def new_secret() -> str:
    """A signing secret: 32 random bytes as 64 lower-case hex characters."""
    return secrets.token_hex(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Tungban-Signature`` header value: ``t=<timestamp>,v1=<hex HMAC-SHA256(secret,
    "<timestamp>." + body)>`` (RFC 2104)."""
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


# --- endpoints ---
def url_refusal(url: str) -> str:
    """Why the platform must not POST to ``url`` ("" when it may): longer than
    :data:`MAX_URL_LENGTH`, not ``https``, user info, a host that does not resolve or resolves
    to a loopback, private, link-local… address (:func:`check_public_url`; loopback allowed with
    ``TUNGBAN_WEBHOOK_ALLOW_LOCAL``, tests and the demo)."""
    # Imported here: the apps' models import this module while Django loads models, before
    # the services (and what they import) may be.
    from .services import UnsafeURL, check_public_url

    if len(url or "") > MAX_URL_LENGTH:
        return f"the URL is longer than {MAX_URL_LENGTH} characters"
    try:
        check_public_url(url or "", allow_loopback=settings.TUNGBAN_WEBHOOK_ALLOW_LOCAL)
    except UnsafeURL as exc:
        return str(exc)
    return ""


def create_endpoint(
    model, url: str, events: list[str] | None, known: tuple[str, ...], *, url_refused, events_invalid, **fields
):
    """A new endpoint row of ``model`` (a :class:`WebhookEndpointBase`) for ``events`` (without
    repeats; all of ``known`` when none are given) and ``fields`` (its department); returns it and
    its signing secret (:func:`new_secret`, shown this once).

    :raises events_invalid: (``events=``) an event not in ``known``; :raises url_refused:
        (``reason=``) :func:`url_refusal` refuses the URL. Nothing is stored then."""
    wanted = list(dict.fromkeys(events or known))
    unknown = [e for e in wanted if e not in known]
    if unknown or not wanted:
        raise events_invalid(events=", ".join(unknown) or "none")
    reason = url_refusal(url)
    if reason:
        raise url_refused(reason=reason)
    secret = new_secret()
    return model.objects.create(url=url, secret=secret, events=wanted, **fields), secret


# --- the outbox ---
def write_deliveries(endpoints: Iterable, make: Callable, *, task) -> list[WebhookDeliveryBase]:
    """Store a delivery for each of ``endpoints`` and queue ``task(delivery_id)`` for it, in
    the caller's transaction — the one that records the change the deliveries report (the
    outbox: both commit or neither does). ``make(endpoint)`` returns the unsaved delivery, its
    ``body`` filled. A delivery the database already holds (the subclass's unique constraint,
    e.g. one per endpoint and event) is skipped, so a repeated call adds nothing.

    Called outside a transaction (autocommit) it still writes, each delivery with its task in
    a transaction of its own, and logs a warning: the change committed on its own first, and a
    crash in between would lose its deliveries. Returns the deliveries written."""
    endpoints = list(endpoints)
    if endpoints and not transaction.get_connection().in_atomic_block:
        log.warning("webhook deliveries written outside the transaction of their change")
    made = []
    for endpoint in endpoints:
        try:
            with transaction.atomic():
                delivery = make(endpoint)
                delivery.save(force_insert=True)
                jobs.enqueue(task, str(delivery.id))
        except IntegrityError:
            continue
        made.append(delivery)
    return made


# --- delivering ---
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


def deliver(model: type[WebhookDeliveryBase], delivery_id, attempt: int, *, retry_task) -> WebhookDeliveryBase:
    """One attempt to deliver the ``model`` row ``delivery_id``: check the endpoint's URL again,
    POST the signed body, log the answer; on failure queue ``retry_task(delivery_id, attempt +
    1)`` after ``jobs.retry_delay(attempt)`` while ``jobs.can_retry(attempt)``, else the delivery
    ends ``failed``. A delivery no longer pending, or an attempt already logged or overtaken by
    a later one, does nothing, so a task run twice after its attempt finished sends once. An
    attempt that was started but never logged (its worker died during the POST; ``tungban
    worker`` queues the task again) is made again: the receiver may get the body twice, with
    the same ``Tungban-Webhook-Id``, never zero times."""
    with transaction.atomic():
        delivery = model.objects.select_for_update().select_related("endpoint").get(pk=delivery_id)
        logged = any(entry.get("attempt") == attempt for entry in delivery.log)
        if delivery.state != DeliveryState.PENDING or delivery.attempts > attempt or logged:
            return delivery
        endpoint = delivery.endpoint
        delivery.attempts = attempt
        delivery.save(update_fields=["attempts"])
    started = time.monotonic()
    status, error = None, ""
    if not endpoint.active:
        error = "the endpoint was removed"
    else:
        error = url_refusal(endpoint.url)
        if not error:
            body = delivery.body.encode()
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "tungban-webhooks/1",
                SIGNATURE_HEADER: sign(endpoint.secret, int(time.time()), body),
                ID_HEADER: str(delivery.id),
                EVENT_HEADER: delivery.event_type,
            }
            status, error = _post(endpoint.url, body, headers)
    ok = status is not None and 200 <= status < 300
    now = timezone.now()
    entry = {"at": now.isoformat(), "attempt": attempt, "status": status, "error": error}
    entry["ms"] = round((time.monotonic() - started) * 1000)
    with transaction.atomic():
        delivery = model.objects.select_for_update().get(pk=delivery_id)
        delivery.log = [*delivery.log, entry]
        delivery.last_status = status
        if ok:
            delivery.state, delivery.delivered_at, delivery.next_attempt_at = DeliveryState.DELIVERED, now, None
        elif endpoint.active and jobs.can_retry(attempt):
            wait: dt.timedelta = jobs.retry_delay(attempt)
            delivery.next_attempt_at = now + wait
            jobs.enqueue(retry_task, str(delivery.id), attempt + 1, delay=wait)
        else:
            delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
        delivery.save(update_fields=["log", "last_status", "state", "delivered_at", "next_attempt_at"])
    return delivery
