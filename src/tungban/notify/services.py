"""Notifications to residents (issue 16, "Notifications"; GOV.UK Notify's model: anchor study
§2.3 and §4(c) rows C1–C3, C5, C8).

* Senders call :func:`send` with an API key (:func:`authenticate`), a template and the
  resident's pairwise ``sub`` at their OpenID client (never a phone number or e-mail address);
  the platform's own apps call :func:`send_to_resident`.
* Every notification is signed by the platform (:func:`signed_claims`: a JWS, ES256, ``typ``
  ``notification+jwt``, key from :mod:`tungban.keys`), so the app can show "verified sender".
* Delivery is :func:`deliver_task` on the database task queue: the message is in the
  resident's inbox at once; each Web Push subscription of the resident's phone gets an
  encrypted push message (RFC 8030, RFC 8291 aes128gcm, RFC 8292 VAPID: pywebpush). A push
  service's 404/410 removes the subscription; 429 and 5xx are retried with backoff
  (:mod:`tungban.core.jobs`).
* Status: ``created`` → ``sending`` → ``delivered`` / ``temporary-failure`` (a push gave up
  after the retries; the message stays in the inbox) / ``permanent-failure`` (the account is
  no longer active). A test key's notification is ``delivered`` at once and reaches nobody.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import re
import secrets
import socket
import time
import urllib.parse

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import IntegrityError, transaction
from django.tasks import task
from django.utils import timezone
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from tungban.core import jobs, ratelimit
from tungban.core.fields import lookup_hash
from tungban.identity.models import Resident, ResidentStatus
from tungban.keys import services as keys
from tungban.keys.sealing import seal, unseal
from tungban.ledger.canonical import canonical
from tungban.oidc import services as oidc
from tungban.wallet.models import Device, DeviceStatus

from . import errors
from .models import (
    ApiKey,
    KeyKind,
    Notification,
    PushDelivery,
    PushSubscription,
    Sender,
    Status,
    Template,
    VapidKey,
)

log = logging.getLogger("tungban.notify")

#: ``typ`` of a notification's signature (RFC 8725 §3.11).
SIGNATURE_TYP = "notification+jwt"
#: ``((name))`` placeholders (GOV.UK Notify's syntax).
PLACEHOLDER = re.compile(r"\(\(([A-Za-z0-9_]{1,40})\)\)")
#: The longest message text after personalisation (characters).
MAX_BODY = 2000
KEY_PREFIX = "tbn"
KEY_FORMAT = re.compile(r"^tbn_(live|team|test)_([0-9a-f]{16})_([0-9a-f]{64})$")
KINDS = {k.value for k in KeyKind}


# --- Senders, keys, templates -------------------------------------------------------------


def create_sender(sender_id: str, name_en: str, name_zh: str, client_id: str, team_subs=()) -> Sender:
    """Register (or update) a sender tied to the OpenID client ``client_id``, whose pairwise
    ``sub`` it will address residents by.

    :raises oidc.models.Client.DoesNotExist: no such client.
    """
    from tungban.oidc.models import Client

    client = Client.objects.get(client_id=client_id)
    sender, _ = Sender.objects.update_or_create(
        id=sender_id,
        defaults={"name_en": name_en, "name_zh": name_zh, "client": client, "team_subs": list(team_subs)},
    )
    return sender


def get_sender(sender_id: str) -> Sender:
    """A sender by id. :raises Sender.DoesNotExist: no such sender."""
    return Sender.objects.select_related("client").get(id=sender_id)


def template_named(sender: Sender, name: str) -> Template:
    """``sender``'s template called ``name``. :raises Template.DoesNotExist: none."""
    return sender.templates.get(name=name)


def _secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(sender: Sender, name: str, kind: str) -> tuple[ApiKey, str]:
    """A new API key; returns ``(row, key)``: the key text ``tbn_<kind>_<16 hex>_<64 hex>`` is
    shown this once; only SHA-256 of its 256-bit secret is kept (GOV.UK Notify: keys per
    service and kind, "live", "team", "test").

    :raises DomainError: ``invalid_key_kind``.
    """
    if kind not in KINDS:
        raise errors.InvalidKind()
    key_id, secret = secrets.token_hex(8), secrets.token_hex(32)
    row = ApiKey.objects.create(
        sender=sender, name=name[:100], kind=kind, key_id=key_id, secret_sha256=_secret_digest(secret)
    )
    return row, f"{KEY_PREFIX}_{kind}_{key_id}_{secret}"


def revoke_api_key(key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])


def authenticate(token: str | None) -> ApiKey:
    """The live API key whose text is ``token`` (compared in constant time).

    :raises Forbidden: 401 ``api_key_required`` (none), ``api_key_invalid`` (unknown, altered,
        revoked).
    """
    if not token:
        raise errors.KeyRequired()
    match = KEY_FORMAT.match(token.strip())
    if not match:
        raise errors.KeyInvalid()
    kind, key_id, secret = match.groups()
    key = ApiKey.objects.select_related("sender", "sender__client").filter(key_id=key_id).first()
    if (
        key is None
        or key.kind != kind
        or key.revoked_at is not None
        or not hmac.compare_digest(key.secret_sha256, _secret_digest(secret))
    ):
        raise errors.KeyInvalid()
    return key


def count_request(key: ApiKey) -> None:
    """Count one request of ``key`` against ``TUNGBAN_RATELIMITS["notify_key"]`` (per key, as
    GOV.UK Notify limits per key).

    :raises RateLimited: 429 with ``details.retry_after``.
    """
    ratelimit.count("notify_key", key.key_id)


def placeholders(*texts: str) -> list[str]:
    """The distinct ``((name))`` placeholders of ``texts``, in order of first appearance."""
    seen: dict[str, None] = {}
    for text in texts:
        for name in PLACEHOLDER.findall(text):
            seen.setdefault(name, None)
    return list(seen)


def create_template(
    sender: Sender, name: str, *, subject_en: str, subject_zh: str, body_en: str, body_zh: str
) -> Template:
    """A template; both languages must use the same placeholders.

    :raises DomainError: ``invalid_template``.
    """
    template = Template(sender=sender, name=name)
    return _save_template(template, subject_en, subject_zh, body_en, body_zh)


def update_template(template: Template, *, subject_en: str, subject_zh: str, body_en: str, body_zh: str) -> Template:
    """New texts for ``template``: its ``version`` goes up by one (notifications keep the version
    they were made from). :raises DomainError: ``invalid_template``."""
    template.version += 1
    return _save_template(template, subject_en, subject_zh, body_en, body_zh)


def ensure_templates(sender: Sender, templates: dict[str, dict]) -> None:
    """Make or update ``sender``'s templates from ``{name: {"subject_en", "subject_zh",
    "body_en", "body_zh"}}`` (a platform app's own messages, at set-up or first use): a new name
    is created, changed texts are a new version (:func:`update_template`), the same texts change
    nothing. :raises DomainError: ``invalid_template``."""
    for name, texts in templates.items():
        template = sender.templates.filter(name=name).first()
        if template is None:
            create_template(sender, name, **texts)
        elif any(getattr(template, k) != v for k, v in texts.items()):
            update_template(template, **texts)


def _save_template(template: Template, subject_en, subject_zh, body_en, body_zh) -> Template:
    texts = {"subject_en": subject_en, "subject_zh": subject_zh, "body_en": body_en, "body_zh": body_zh}
    for field, text in texts.items():
        if not str(text or "").strip():
            raise errors.InvalidTemplate(reason=f"{field} is empty", field=field)
    if set(placeholders(subject_en, body_en)) != set(placeholders(subject_zh, body_zh)):
        raise errors.InvalidTemplate(reason="the English and Chinese texts use different placeholders")
    for field, text in texts.items():
        setattr(template, field, text)
    template.save()
    return template


def render(text: str, personalisation: dict) -> str:
    """``text`` with each ``((name))`` replaced by ``personalisation[name]`` (as text).

    :raises DomainError: ``missing_personalisation`` (names every missing value).
    """
    missing = [n for n in placeholders(text) if n not in personalisation]
    if missing:
        raise errors.MissingPersonalisation(names=", ".join(missing))
    return PLACEHOLDER.sub(lambda m: str(personalisation[m.group(1)]), text)


# --- Sending --------------------------------------------------------------------------------


def content_of(n: Notification) -> dict:
    """What the app shows of a notification, and what its signature covers (canonical JSON)."""
    return {
        "id": str(n.id),
        "sender": n.sender_id,
        "subject_en": n.subject_en,
        "subject_zh": n.subject_zh,
        "body_en": n.body_en,
        "body_zh": n.body_zh,
    }


def signed_claims(n: Notification) -> dict:
    """The claims of a notification's signature: ``iss`` (the platform), ``jti`` (the
    notification's id), ``iat``, ``sender`` ``{id, name_en, name_zh}`` and ``content``: SHA-256
    (hex) of the canonical JSON of :func:`content_of` — the app recomputes it from what it shows
    (issue 16: "messages carry a signature the app verifies")."""
    return {
        "iss": settings.TUNGBAN_ISSUER,
        "jti": str(n.id),
        "iat": int(n.created_at.timestamp()),
        "sender": {"id": n.sender.id, "name_en": n.sender.name_en, "name_zh": n.sender.name_zh},
        "content": hashlib.sha256(canonical(content_of(n)).encode()).hexdigest(),
    }


def send(
    key: ApiKey, *, template_id, sub: str, personalisation: dict | None = None, reference: str = ""
) -> Notification:
    """A notification from ``key``'s sender to the resident whose pairwise ``sub`` at the
    sender's OpenID client is ``sub``; queued for delivery in the same transaction.

    :raises NotFound: ``unknown_template``, ``unknown_subject``.
    :raises Forbidden: ``recipient_not_in_team`` (a team key, a ``sub`` not on the list);
        ``sender_inactive`` (the sender's OpenID client is deactivated: security review L4).
    :raises DomainError: ``missing_personalisation``, ``message_too_long``.
    """
    sender = key.sender
    if not sender.client.is_active:
        raise errors.SenderInactive()
    template = Template.objects.filter(sender=sender, pk=_uuid_or_none(template_id)).first()
    if template is None:
        raise errors.UnknownTemplate()
    resident = oidc.resident_for_sub(sender.client, sub)
    if resident is None:
        raise errors.UnknownSubject()
    if key.kind == KeyKind.TEAM and sub not in (sender.team_subs or []):
        raise errors.NotInTeam()
    n = _create(sender, template, resident, sub, personalisation or {}, reference, key)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=n.created_at)
    return n


def send_to_resident(
    sender: Sender, template: Template, resident: Resident, personalisation: dict | None = None, reference: str = ""
) -> Notification:
    """For the platform's own apps: as :func:`send`, to a :class:`Resident` (addressed by the
    pairwise ``sub`` at the sender's client all the same)."""
    sub = oidc.pairwise_sub(resident, sender.client)
    return _create(sender, template, resident, sub, personalisation or {}, reference, None)


def _uuid_or_none(value):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _create(sender, template, resident, sub, personalisation, reference, key) -> Notification:
    texts = {
        f: render(getattr(template, f), personalisation) for f in ("subject_en", "subject_zh", "body_en", "body_zh")
    }
    if any(len(t) > MAX_BODY for t in texts.values()):
        raise errors.MessageTooLong(max=MAX_BODY)
    kind = key.kind if key else KeyKind.LIVE
    with transaction.atomic():
        n = Notification(
            sender=sender,
            key_kind=kind,
            api_key=key,
            template=template,
            template_version=template.version,
            resident=resident,
            sub=sub,
            reference=(reference or "")[:100],
            created_at=timezone.now(),
            **texts,
        )
        n.signature = keys.sign_jwt(signed_claims(n), SIGNATURE_TYP)
        if kind == KeyKind.TEST:  # simulated (GOV.UK Notify's test key): delivered, to nobody
            n.status = Status.DELIVERED
            n.completed_at = n.created_at
            n.save()
            return n
        n.save()
        n.task_id = jobs.enqueue(deliver_task, str(n.pk))
        Notification.objects.filter(pk=n.pk).update(task_id=n.task_id)
    return n


def notification_for(key: ApiKey, notification_id) -> Notification:
    """One of ``key``'s sender's notifications. :raises NotFound: ``unknown_notification``."""
    n = Notification.objects.filter(sender=key.sender, pk=_uuid_or_none(notification_id)).first()
    if n is None:
        raise errors.UnknownNotification()
    return n


def notifications_of(key: ApiKey, *, status: str | None = None, reference: str | None = None, limit: int = 100):
    """The sender's notifications, newest first (at most ``limit``)."""
    found = Notification.objects.filter(sender=key.sender).select_related("sender")
    if status:
        found = found.filter(status=status)
    if reference:
        found = found.filter(reference=reference)
    return list(found.order_by("-created_at")[:limit])


# --- Delivery (background task) ------------------------------------------------------------------


@task(takes_context=True)
def deliver_task(context, notification_id: str) -> str:
    """One delivery attempt of a notification (:func:`deliver`)."""
    return deliver(notification_id, str(context.task_result.id))


def _active_device(resident: Resident) -> Device | None:
    return Device.objects.filter(resident=resident, status=DeviceStatus.ACTIVE).first()


def deliver(notification_id: str, task_id: str) -> str:
    """Deliver a notification: it is in the inbox from now on; push it to each subscription of
    the resident's bound phone that has not had it yet (:func:`push`). Returns the new status
    (``skipped`` when ``task_id`` is not the notification's current task).

    Per subscription: 2xx → ``sent``; 404/410 → ``gone`` and the subscription is deleted
    (RFC 8030 §7.3: it expired); 429, 5xx or no answer → ``retrying`` with backoff
    (:func:`tungban.core.jobs.retry_delay`, at least the push service's ``Retry-After``) up to
    ``TUNGBAN_TASK_MAX_ATTEMPTS`` attempts, then ``failed``; any other 4xx → ``failed``.
    """
    with transaction.atomic():
        n = Notification.objects.select_for_update().select_related("sender", "resident").get(pk=notification_id)
        if n.task_id != task_id:
            return "skipped"
        n.attempts += 1
        if n.resident.status != ResidentStatus.ACTIVE:
            n.status, n.completed_at = Status.PERMANENT_FAILURE, timezone.now()
            n.save(update_fields=["status", "completed_at", "attempts"])
            return n.status
        n.status, n.sent_at = Status.SENDING, n.sent_at or timezone.now()
        n.save(update_fields=["status", "sent_at", "attempts"])
        if n.attempts == 1:
            device = _active_device(n.resident)
            subscriptions = list(device.push_subscriptions.all()) if device else []
            PushDelivery.objects.bulk_create(PushDelivery(notification=n, subscription=s) for s in subscriptions)
        due = list(
            n.pushes.filter(state__in=("pending", "retrying"), subscription__isnull=False).select_related(
                "subscription"
            )
        )
    wait = 0
    for delivery in due:
        delivery.attempts += 1
        try:  # again at send time: a name's addresses may have changed since it was subscribed
            check_endpoint(delivery.subscription.endpoint)
        except errors.InvalidSubscription as exc:
            log.warning("push %s: endpoint refused (%s)", delivery.pk, exc)
            delivery.state, delivery.last_status = "failed", None  # kept: no 404/410-style answer
            delivery.save(update_fields=["state", "attempts", "last_status", "updated_at"])
            continue
        status, retry_after = push(n, delivery.subscription)
        delivery.last_status = status or None
        if status and 200 <= status < 300:
            delivery.state = "sent"
        elif status in (404, 410):
            delivery.state = "gone"
            PushSubscription.objects.filter(pk=delivery.subscription_id).delete()
        elif (status == 0 or status == 429 or status >= 500) and jobs.can_retry(delivery.attempts):
            delivery.state = "retrying"
            wait = max(wait, jobs.retry_delay(delivery.attempts).total_seconds(), retry_after)
        else:
            delivery.state = "failed"
        delivery.save(update_fields=["state", "attempts", "last_status", "updated_at"])
    with transaction.atomic():
        n = Notification.objects.select_for_update().get(pk=notification_id)
        states = set(n.pushes.values_list("state", flat=True))
        if "retrying" in states:
            n.status = Status.SENDING
            n.task_id = jobs.enqueue(deliver_task, str(n.pk), delay=dt.timedelta(seconds=min(wait, 3600)))
        else:
            n.status = Status.TEMPORARY_FAILURE if "failed" in states else Status.DELIVERED
            n.completed_at = timezone.now()
        n.save(update_fields=["status", "task_id", "completed_at"])
    return n.status


def push_payload(n: Notification, lang: str) -> dict:
    """The push message's JSON (encrypted for the phone, RFC 8291): the title (sender and
    subject) and body in the subscription's language, and the inbox link. The service worker
    shows it; the app verifies the message's signature when it is opened."""
    zh = not lang.lower().startswith("en")
    sender = n.sender.name_zh if zh else n.sender.name_en
    return {
        "id": str(n.id),
        "title": f"{sender}: {n.subject_zh if zh else n.subject_en}",
        "body": (n.body_zh if zh else n.body_en)[:300],
        "url": f"/app/#inbox/{n.id}",
    }


def push(n: Notification, subscription: PushSubscription) -> tuple[int, float]:
    """POST one encrypted push message (pywebpush: RFC 8291 aes128gcm, RFC 8292 VAPID, RFC 8030
    ``TTL`` and ``Urgency``; ``Topic`` is the notification id, so a retry replaces a message the
    push service still holds) through a :class:`PushSession` (no redirects, a total deadline, the
    answer's body capped). Call :func:`check_endpoint` first. Returns ``(HTTP status or 0 for no
    answer, Retry-After seconds)``."""
    info = {"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}
    try:
        with PushSession() as session:
            response = webpush(
                info,
                data=json.dumps(push_payload(n, subscription.lang), ensure_ascii=False),
                vapid_private_key=vapid(),
                vapid_claims={"sub": settings.TUNGBAN_VAPID_SUBJECT},
                ttl=settings.TUNGBAN_PUSH_TTL,
                headers={"Urgency": "normal", "Topic": n.id.hex[:32]},
                timeout=settings.TUNGBAN_PUSH_TIMEOUT,
                requests_session=session,
            )
    except WebPushException as exc:
        response = exc.response
        if response is None:
            return 0, 0
    except requests.RequestException:
        return 0, 0
    retry_after = response.headers.get("Retry-After", "") if response is not None else ""
    return response.status_code, float(retry_after) if retry_after.isdigit() else 0


#: Bytes of a push service's answer read at most (RFC 8030 §5: a push service answers 201 with
#: headers only; an error body is kept for the log). Security review H2.
PUSH_BODY_CAP = 4096


class PushSession(requests.Session):
    """The :class:`requests.Session` pywebpush posts with (its ``requests_session`` parameter;
    pywebpush 2.x calls only ``post``). Security review H2:

    * **no redirects**: a push service answers the POST itself (RFC 8030 §5); a 3xx is the
      answer (a failed push), so an endpoint cannot send the platform's POST elsewhere;
    * **a total deadline** of ``TUNGBAN_PUSH_TIMEOUT`` seconds: connecting and the first answer
      each within it (requests' ``timeout``), and the body read only until it has passed since
      the POST (so a dripping answer holds a delivery for about the timeout, twice at most);
    * **a body cap**: at most :data:`PUSH_BODY_CAP` bytes are read (``stream=True``), the rest
      is dropped with the connection.
    """

    def post(self, url, data=None, json=None, **kwargs):  # noqa: A002 (requests' name)
        limit = float(settings.TUNGBAN_PUSH_TIMEOUT)
        deadline = time.monotonic() + limit
        kwargs.update(allow_redirects=False, stream=True, timeout=(limit, limit))
        response = super().post(url, data=data, json=json, **kwargs)
        body = bytearray()
        try:
            while len(body) < PUSH_BODY_CAP and time.monotonic() < deadline:
                chunk = response.raw.read1(PUSH_BODY_CAP - len(body))
                if not chunk:
                    break
                body += chunk
        except Exception:  # noqa: BLE001 (a broken or slow body: keep what was read, the status stands)
            pass
        finally:
            response.close()
        response._content = bytes(body[:PUSH_BODY_CAP])
        response._content_consumed = True
        return response


def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address ``host`` resolves to (an IP literal: itself). :raises OSError:"""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def _public(address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


class UnsafeURL(ValueError):
    """A URL the platform must not send requests to; ``str()`` says why (English)."""


def check_public_url(address: str, *, allow_loopback: bool = False) -> None:
    """Refuse a URL the platform must not POST to (security review H2, server-side request
    forgery): it must be an ``https`` URL without user info whose host resolves only to public
    internet addresses — every address it resolves to must be global, not loopback, private
    (RFC 1918, RFC 4193), shared (RFC 6598, e.g. 100.100.100.200), link-local (169.254.169.254,
    the cloud metadata address), multicast, reserved or unspecified (Python's
    :mod:`ipaddress`; IPv4-mapped IPv6 checked as IPv4). With ``allow_loopback`` (tests and
    the demo), a host that resolves only to loopback addresses is allowed over ``http`` or
    ``https``; ``http`` to any other host never is. Used for push endpoints
    (:func:`check_endpoint`) and the e-services' webhook endpoints.

    :raises UnsafeURL: with the reason.
    """
    try:
        url = urllib.parse.urlsplit(address)
        port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError:
        raise UnsafeURL("the endpoint is not a URL") from None
    if url.scheme not in ("https", "http") or not url.hostname or url.username or url.password:
        raise UnsafeURL("the endpoint must be an https URL")
    try:
        addresses = _resolve(url.hostname, port)
    except (OSError, ValueError, UnicodeError):
        addresses = []
    if not addresses:
        raise UnsafeURL("the endpoint's host name does not resolve")
    loopback = allow_loopback and all(
        (a.ipv4_mapped or a if isinstance(a, ipaddress.IPv6Address) else a).is_loopback for a in addresses
    )
    if url.scheme == "http" and not loopback:
        raise UnsafeURL("the endpoint must be an https URL")
    if not loopback and not all(_public(a) for a in addresses):
        raise UnsafeURL("the endpoint's host is not a public internet address")


def check_endpoint(endpoint: str) -> None:
    """Refuse a push endpoint the platform must not POST to (:func:`check_public_url`; only
    with ``TUNGBAN_PUSH_ALLOW_HTTP``, off by default — the tests' and demo's local push
    service — are loopback hosts allowed). Checked at subscribe time and again before every
    push, so a resident cannot use delivery (nor the removal of a subscription on a 404/410
    answer) to reach or probe internal hosts.

    :raises DomainError: ``invalid_subscription``.
    """
    try:
        check_public_url(endpoint, allow_loopback=settings.TUNGBAN_PUSH_ALLOW_HTTP)
    except UnsafeURL as exc:
        raise errors.InvalidSubscription(reason=str(exc)) from None


# --- VAPID (RFC 8292) ---------------------------------------------------------------------------


def ensure_vapid_key() -> VapidKey:
    """The platform's VAPID key, made on first use (``tungban setup`` calls it): ECDSA P-256,
    the private key sealed at rest."""
    found = VapidKey.objects.order_by("created_at").first()
    if found:
        return found
    private = ec.generate_private_key(ec.SECP256R1())
    raw = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    public = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    try:
        with transaction.atomic():
            VapidKey.objects.create(private_pem=seal(private), public_key=public)
    except IntegrityError:  # pragma: no cover
        pass
    return VapidKey.objects.order_by("created_at").first()


def vapid_public_key() -> str:
    """The application server key for ``PushManager.subscribe`` (base64url uncompressed P-256
    point, RFC 8292 §3.2)."""
    return ensure_vapid_key().public_key


def vapid() -> Vapid:
    return Vapid(unseal(ensure_vapid_key().private_pem))


# --- The resident's app ----------------------------------------------------------------------


def inbox_of(resident: Resident, limit: int = 100) -> list[Notification]:
    """The resident's messages, newest first (test keys' simulated ones are never shown)."""
    return list(
        Notification.objects.filter(resident=resident)
        .exclude(key_kind=KeyKind.TEST)
        .exclude(status=Status.PERMANENT_FAILURE)
        .select_related("sender")
        .order_by("-created_at")[:limit]
    )


def message_of(resident: Resident, notification_id) -> Notification:
    """One of the resident's messages. :raises NotFound: ``unknown_notification``."""
    n = next((m for m in _own(resident, notification_id)), None)
    if n is None:
        raise errors.UnknownNotification()
    return n


def _own(resident, notification_id):
    return (
        Notification.objects.filter(resident=resident, pk=_uuid_or_none(notification_id))
        .exclude(key_kind=KeyKind.TEST)
        .select_related("sender")
    )


def mark_read(resident: Resident, notification_id, read: bool = True) -> Notification:
    """Mark a message read (or unread again). :raises NotFound: ``unknown_notification``."""
    n = message_of(resident, notification_id)
    n.read_at = (n.read_at or timezone.now()) if read else None
    Notification.objects.filter(pk=n.pk).update(read_at=n.read_at)
    return n


_B64U = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def _b64u_bytes(value: str) -> bytes:
    if not _B64U.match(value or ""):
        raise ValueError
    return base64.urlsafe_b64decode(value + "=" * (-len(value.rstrip("=")) % 4))


def subscribe(device: Device, *, endpoint: str, p256dh: str, auth: str, lang: str = "zh-Hant") -> PushSubscription:
    """Register (or refresh) the phone's push subscription (``PushSubscription.toJSON()``):
    an ``https`` endpoint on a public internet host (:func:`check_endpoint`: loopback, and
    ``http`` to loopback, only with ``TUNGBAN_PUSH_ALLOW_HTTP``), a P-256 public key (65-byte
    uncompressed point) and a 16-byte auth secret (RFC 8291 §3).

    :raises DomainError: ``invalid_subscription``.
    """
    if len(endpoint) > 1000:
        raise errors.InvalidSubscription(reason="the endpoint is too long")
    check_endpoint(endpoint)
    try:
        key, secret = _b64u_bytes(p256dh), _b64u_bytes(auth)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
    except ValueError:
        raise errors.InvalidSubscription(reason="keys.p256dh is not a P-256 public key", field="keys.p256dh") from None
    if len(secret) != 16:
        raise errors.InvalidSubscription(reason="keys.auth must be 16 bytes", field="keys.auth")
    digest = lookup_hash(endpoint)
    with transaction.atomic():
        PushSubscription.objects.filter(endpoint_hash=digest).exclude(device=device).delete()
        sub, _ = PushSubscription.objects.update_or_create(
            endpoint_hash=digest,
            defaults={
                "device": device,
                "endpoint": endpoint,
                "p256dh": p256dh,
                "auth": auth,
                "lang": "en" if lang.lower().startswith("en") else "zh-Hant",
            },
        )
    return sub


def unsubscribe(device: Device, endpoint: str) -> int:
    """Remove this phone's subscription for ``endpoint``; returns how many were removed."""
    return PushSubscription.objects.filter(device=device, endpoint_hash=lookup_hash(endpoint)).delete()[0]


def subscriptions_of(device: Device) -> list[PushSubscription]:
    return list(device.push_subscriptions.order_by("created_at"))


# --- Retention ------------------------------------------------------------------------------------


def purge_expired(now: dt.datetime) -> dict[str, int]:
    """Delete notifications (with their encrypted texts and push states) older than
    ``TUNGBAN_NOTIFY_RETENTION`` seconds, and the push subscriptions of unbound phones;
    registered with :mod:`tungban.core.retention`."""
    cutoff = now - dt.timedelta(seconds=settings.TUNGBAN_NOTIFY_RETENTION)
    old = Notification.objects.filter(created_at__lt=cutoff)
    PushDelivery.objects.filter(notification__in=old).delete()
    deleted = old.delete()[1].get(Notification._meta.label, 0)
    # An unbound phone gets no more pushes: its subscriptions (push endpoints) go too.
    PushDelivery.objects.filter(subscription__device__status=DeviceStatus.UNBOUND).update(subscription=None)
    gone = PushSubscription.objects.filter(device__status=DeviceStatus.UNBOUND).delete()[0]
    return {Notification._meta.label: deleted, PushSubscription._meta.label: gone}
