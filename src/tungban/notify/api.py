"""The notification service's JSON API (``/api/v1/notify/``; issue 16, GOV.UK Notify's model).

* Senders (departments, the platform's apps) call with ``Authorization: Bearer <API key>``
  (``tbn_<live|team|test>_…``, shown once when made: ``tungban notify key``). Each key is
  rate-limited (``TUNGBAN_RATELIMITS["notify_key"]``, 429 ``rate_limited``).
* The resident's app calls ``/app/...`` with ``Authorization: Device <JWS>``.

Errors have the platform's shape (:class:`tungban.core.api.ErrorOut`); the codes are declared
in :mod:`.errors` and listed in the OpenAPI document's ``notifications`` tag.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Router, Schema, Status
from ninja.security import HttpBearer

from tungban.core.api import error_responses
from tungban.core.idempotency import idempotent
from tungban.wallet.auth import device_auth

from . import errors, services
from .models import Notification

router = Router(tags=["notifications"])


class ApiKeyBearer(HttpBearer):
    """``Authorization: Bearer <API key>``; ``request.auth`` is the
    :class:`~tungban.notify.models.ApiKey`. Every call is counted against the key's rate limit.

    :raises DomainError: 401 ``api_key_required`` / ``api_key_invalid``; 429 ``rate_limited``.
    """

    def __call__(self, request):
        scheme, _sep, credentials = request.headers.get(self.header, "").partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise errors.KeyRequired()
        key = services.authenticate(credentials.strip())
        services.count_request(key)
        return key

    def authenticate(self, request, token):  # ninja's hook; __call__ does the work
        return services.authenticate(token)


api_key = ApiKeyBearer()


def key_owner(request) -> str:
    """The caller that owns an ``Idempotency-Key``: the sender and the key's kind (all its keys
    of that kind), so a test key's simulated result never answers a live request (security
    review M1)."""
    return f"notify:{request.auth.sender_id}:{request.auth.kind}"


ERRORS = error_responses(400, 401, 403, 404, 422, 429)
APP_ERRORS = error_responses(400, 401, 403, 404, 409, 422)

StatusName = Literal["created", "sending", "delivered", "permanent-failure", "temporary-failure"]


class NotificationIn(Schema):
    template_id: str = Field(description="The template's id (GET /templates)")
    sub: str = Field(
        description="The resident's pairwise `sub` at your service (the `sub` your OpenID client received "
        "at login); never a phone number or e-mail address"
    )
    personalisation: dict[str, str | int] = Field(
        default_factory=dict, description="A value for each ((placeholder)) of the template"
    )
    reference: str = Field("", max_length=100, description="Your own reference, to find the notification again")


class PushOut(Schema):
    state: str = Field(description="pending, sent, retrying, gone (404/410: subscription removed) or failed")
    attempts: int
    last_status: int | None = Field(description="The push service's last HTTP status")


class NotificationOut(Schema):
    id: str
    reference: str
    template: dict = Field(description="{id, version}")
    sub: str
    key_kind: Literal["live", "team", "test"]
    status: StatusName = Field(
        description="created → sending → delivered (in the inbox; every push accepted) / temporary-failure "
        "(a push gave up after retries; still in the inbox) / permanent-failure (the account is not active)"
    )
    created_at: dt.datetime
    sent_at: dt.datetime | None
    completed_at: dt.datetime | None
    pushes: list[PushOut]
    signature: str = Field(description="The platform's JWS over the message (typ notification+jwt; /oidc/jwks)")


def _out(n: Notification) -> dict:
    return {
        "id": str(n.id),
        "reference": n.reference,
        "template": {"id": str(n.template_id) if n.template_id else None, "version": n.template_version},
        "sub": n.sub,
        "key_kind": n.key_kind,
        "status": n.status,
        "created_at": n.created_at,
        "sent_at": n.sent_at,
        "completed_at": n.completed_at,
        "pushes": [
            {"state": p.state, "attempts": p.attempts, "last_status": p.last_status} for p in n.pushes.order_by("id")
        ],
        "signature": n.signature,
    }


@router.post(
    "/notifications",
    response={201: NotificationOut, **ERRORS},
    auth=api_key,
    summary="Send a notification to a resident (by pairwise sub)",
)
@idempotent(caller=key_owner, description="Recommended: a retry with the same key gets the same notification.")
def send(request, payload: NotificationIn):
    """The message is rendered from the template in both languages, signed by the platform and
    queued: poll ``GET /notifications/{id}`` for ``status``. A team key sends only to the
    ``sub`` s on the sender's team list; a test key's notification is ``delivered`` at once and
    reaches nobody. Errors: ``unknown_template`` (404), ``unknown_subject`` (404),
    ``missing_personalisation``, ``message_too_long``, ``recipient_not_in_team`` (403),
    ``api_key_required``/``api_key_invalid`` (401), ``rate_limited`` (429)."""
    n = services.send(
        request.auth,
        template_id=payload.template_id,
        sub=payload.sub,
        personalisation=payload.personalisation,
        reference=payload.reference,
    )
    return Status(201, _out(n))


@router.get(
    "/notifications/{notification_id}",
    response={200: NotificationOut, **ERRORS},
    auth=api_key,
    summary="A notification's delivery status",
)
def get_notification(request, notification_id: str):
    """Errors: ``unknown_notification`` (404; also another sender's)."""
    return _out(services.notification_for(request.auth, notification_id))


@router.get(
    "/notifications",
    response={200: list[NotificationOut], **ERRORS},
    auth=api_key,
    summary="Your notifications, newest first (at most 100)",
)
def list_notifications(request, status: StatusName | None = None, reference: str | None = None):
    return [_out(n) for n in services.notifications_of(request.auth, status=status, reference=reference)]


class TemplateOut(Schema):
    id: str
    name: str
    version: int
    subject_en: str
    subject_zh: str
    body_en: str
    body_zh: str
    placeholders: list[str] = Field(description="The ((names)) personalisation must give")


@router.get("/templates", response={200: list[TemplateOut], **ERRORS}, auth=api_key, summary="Your templates")
def templates(request):
    return [
        {
            "id": str(t.id),
            "name": t.name,
            "version": t.version,
            "subject_en": t.subject_en,
            "subject_zh": t.subject_zh,
            "body_en": t.body_en,
            "body_zh": t.body_zh,
            "placeholders": services.placeholders(t.subject_en, t.body_en),
        }
        for t in request.auth.sender.templates.order_by("name")
    ]


# --- The resident's app (device proof) ------------------------------------------------------


class PartyOut(Schema):
    id: str
    name_en: str
    name_zh: str


class MessageOut(Schema):
    id: str
    sender: PartyOut
    subject_en: str
    subject_zh: str
    body_en: str
    body_zh: str
    created_at: dt.datetime
    read: bool
    signature: str = Field(
        description="JWS (ES256, typ notification+jwt) by the platform: verify with /oidc/jwks; its `content` "
        "claim is SHA-256 (hex) of the canonical JSON of {id, sender (id), subject_en, subject_zh, body_en, body_zh}"
    )


def _message(n: Notification) -> dict:
    return {
        "id": str(n.id),
        "sender": {"id": n.sender.id, "name_en": n.sender.name_en, "name_zh": n.sender.name_zh},
        "subject_en": n.subject_en,
        "subject_zh": n.subject_zh,
        "body_en": n.body_en,
        "body_zh": n.body_zh,
        "created_at": n.created_at,
        "read": n.read_at is not None,
        "signature": n.signature,
    }


@router.get(
    "/app/inbox", response={200: list[MessageOut], **APP_ERRORS}, auth=device_auth, summary="(device) My messages"
)
def inbox(request):
    """Newest first, at most 100."""
    return [_message(n) for n in services.inbox_of(request.auth.resident)]


@router.get(
    "/app/inbox/{notification_id}",
    response={200: MessageOut, **APP_ERRORS},
    auth=device_auth,
    summary="(device) One message",
)
def message(request, notification_id: str):
    """Errors: ``unknown_notification`` (404)."""
    return _message(services.message_of(request.auth.resident, notification_id))


class ReadIn(Schema):
    read: bool = True


@router.post(
    "/app/inbox/{notification_id}/read",
    response={200: MessageOut, **APP_ERRORS},
    auth=device_auth,
    summary="(device) Mark a message read or unread",
)
def mark_read(request, notification_id: str, payload: ReadIn):
    """Errors: ``unknown_notification`` (404)."""
    return _message(services.mark_read(request.auth.resident, notification_id, payload.read))


class SubscriptionKeys(Schema):
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)


class SubscriptionIn(Schema):
    """``PushSubscription.toJSON()`` (Push API), and the app's language."""

    endpoint: str = Field(max_length=1000)
    keys: SubscriptionKeys
    lang: str = Field("zh-Hant", max_length=20)


class SubscriptionOut(Schema):
    id: str
    endpoint: str
    created_at: dt.datetime


class PushConfigOut(Schema):
    application_server_key: str = Field(description="VAPID public key (RFC 8292 §3.2), base64url")
    subscriptions: list[SubscriptionOut] = Field(description="This phone's push subscriptions")


def _subscriptions(device) -> list[dict]:
    return [
        {"id": str(s.id), "endpoint": s.endpoint, "created_at": s.created_at} for s in services.subscriptions_of(device)
    ]


@router.get(
    "/app/push",
    response={200: PushConfigOut, **APP_ERRORS},
    auth=device_auth,
    summary="(device) The VAPID key and this phone's push subscriptions",
)
def push_config(request):
    return {"application_server_key": services.vapid_public_key(), "subscriptions": _subscriptions(request.auth)}


@router.post(
    "/app/push/subscriptions",
    response={201: PushConfigOut, **APP_ERRORS},
    auth=device_auth,
    summary="(device) Subscribe this phone to push messages",
)
def subscribe(request, payload: SubscriptionIn):
    """Errors: ``invalid_subscription``."""
    services.subscribe(
        request.auth, endpoint=payload.endpoint, p256dh=payload.keys.p256dh, auth=payload.keys.auth, lang=payload.lang
    )
    return Status(
        201, {"application_server_key": services.vapid_public_key(), "subscriptions": _subscriptions(request.auth)}
    )


class UnsubscribeIn(Schema):
    endpoint: str = Field(max_length=1000)


@router.post(
    "/app/push/unsubscribe",
    response={200: PushConfigOut, **APP_ERRORS},
    auth=device_auth,
    summary="(device) Stop push messages to a subscription of this phone",
)
def unsubscribe(request, payload: UnsubscribeIn):
    services.unsubscribe(request.auth, payload.endpoint)
    return {"application_server_key": services.vapid_public_key(), "subscriptions": _subscriptions(request.auth)}
