"""Notifications (issue 16, "Notifications"; GOV.UK Notify's model, anchor study §2.3, §4(c)).

A :class:`Sender` (a department's notification service, tied to its OpenID client so that it
addresses residents by the pairwise ``sub`` it received) has :class:`Template` s with
``((placeholders))`` in English and Chinese and :class:`ApiKey` s of three kinds (live, team,
test). Each :class:`Notification` is one message to one resident: its texts are encrypted at
rest, it carries the platform's signature (JWS) and a delivery status; a
:class:`PushDelivery` per Web Push subscription of the resident's phone keeps each push
attempt's state. :class:`PushSubscription` is a phone's subscription (RFC 8030 §4, keys of
RFC 8291 §3); :class:`VapidKey` the platform's application server key (RFC 8292).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tungban.core.fields import EncryptedTextField
from tungban.identity.models import Resident
from tungban.oidc.models import Client
from tungban.wallet.models import Device


class KeyKind(models.TextChoices):
    """GOV.UK Notify's key types: live sends to anyone, team only to the service's team list,
    test to nobody (the notification is simulated: it is delivered without reaching anyone)."""

    LIVE = "live", _("Live")
    TEAM = "team", _("Team and guest list")
    TEST = "test", _("Test")


class Status(models.TextChoices):
    """A notification's delivery status (GOV.UK Notify's names)."""

    CREATED = "created", _("Created")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    PERMANENT_FAILURE = "permanent-failure", _("Permanent failure")
    TEMPORARY_FAILURE = "temporary-failure", _("Temporary failure")


class Sender(models.Model):
    """A department's (or a platform app's) notification service. ``client`` is the OpenID
    client whose pairwise ``sub`` the sender uses to address residents; ``team_subs`` lists the
    ``sub`` s a team key may send to."""

    id = models.SlugField(primary_key=True, max_length=64)
    name_en = models.CharField(_("Name (English)"), max_length=200)
    name_zh = models.CharField(_("Name (Chinese)"), max_length=200)
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, related_name="notification_senders", verbose_name=_("Online service (client)")
    )
    team_subs = models.JSONField(_("Team and guest list (sub)"), default=list, blank=True)
    created_at = models.DateTimeField(_("Created"), auto_now_add=True)

    class Meta:
        verbose_name = _("notification sender")
        verbose_name_plural = _("notification senders")

    def __str__(self) -> str:
        return f"{self.name_en} ({self.id})"


class ApiKey(models.Model):
    """An API key: ``tbn_<kind>_<key_id>_<secret>``; only SHA-256 of the secret is kept (the
    secret is 256 random bits, so a plain digest cannot be searched), shown once at creation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sender = models.ForeignKey(Sender, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("Sender"))
    name = models.CharField(_("Name"), max_length=100)
    kind = models.CharField(_("Kind"), max_length=10, choices=KeyKind.choices)
    key_id = models.CharField(_("Key id"), max_length=32, unique=True)
    secret_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("Created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("Last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("Revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification API key")
        verbose_name_plural = _("notification API keys")

    def __str__(self) -> str:
        return f"{self.sender_id} {self.kind} {self.name}"


class Template(models.Model):
    """A message with ``((placeholder))`` s in both languages; editing makes a new ``version``
    (a notification records the version it was made from)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sender = models.ForeignKey(Sender, on_delete=models.CASCADE, related_name="templates", verbose_name=_("Sender"))
    name = models.CharField(_("Name"), max_length=100)
    version = models.PositiveIntegerField(_("Version"), default=1)
    subject_en = models.CharField(_("Subject (English)"), max_length=200)
    subject_zh = models.CharField(_("Subject (Chinese)"), max_length=200)
    body_en = models.TextField(_("Message (English)"))
    body_zh = models.TextField(_("Message (Chinese)"))
    created_at = models.DateTimeField(_("Created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("Updated"), auto_now=True)

    class Meta:
        verbose_name = _("notification template")
        verbose_name_plural = _("notification templates")

    def __str__(self) -> str:
        return f"{self.sender_id}: {self.name} v{self.version}"


class Notification(models.Model):
    """One message to one resident. The texts are personal data: encrypted at rest
    (:class:`~tungban.core.fields.EncryptedTextField`) and deleted with the row after
    ``TUNGBAN_NOTIFY_RETENTION`` seconds (``core/retention``). ``signature`` is the platform's
    JWS over the message (:func:`tungban.notify.services.signed_claims`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sender = models.ForeignKey(Sender, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("Sender"))
    key_kind = models.CharField(_("Key kind"), max_length=10, choices=KeyKind.choices)
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    template = models.ForeignKey(
        Template, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("Template")
    )
    template_version = models.PositiveIntegerField(_("Template version"))
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="notifications")
    sub = models.CharField(max_length=64, help_text="The resident's pairwise sub at the sender, as addressed")
    reference = models.CharField(_("Reference"), max_length=100, blank=True)
    subject_en = EncryptedTextField()
    subject_zh = EncryptedTextField()
    body_en = EncryptedTextField()
    body_zh = EncryptedTextField()
    signature = models.TextField()
    status = models.CharField(_("Status"), max_length=20, choices=Status.choices, default=Status.CREATED)
    attempts = models.PositiveIntegerField(_("Attempts"), default=0)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("Created"), default=timezone.now)
    sent_at = models.DateTimeField(_("Sent"), null=True, blank=True)
    completed_at = models.DateTimeField(_("Completed"), null=True, blank=True)
    read_at = models.DateTimeField(_("Read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["resident", "-created_at"], name="notify_inbox"),
            models.Index(fields=["sender", "-created_at"], name="notify_sender_history"),
            models.Index(fields=["created_at"], name="notify_retention"),
        ]


class PushSubscription(models.Model):
    """A Web Push subscription of a bound phone (the app, per device): the push service's
    ``endpoint`` (RFC 8030 §4) and the keys of RFC 8291 §3 (``p256dh``: the phone's P-256 public
    key, ``auth``: the 16-byte secret; both base64url). ``lang`` is the app's language when it
    subscribed: the push message's text is in it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = EncryptedTextField()
    endpoint_hash = models.CharField(max_length=64, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    lang = models.CharField(max_length=10, default="zh-Hant")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("push subscription")
        verbose_name_plural = _("push subscriptions")


class PushDelivery(models.Model):
    """One notification's push to one subscription: its state (``pending``, ``sent``,
    ``retrying``, ``gone`` (404/410: the subscription was removed), ``failed``), the attempts
    and the push service's last HTTP status."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="pushes")
    subscription = models.ForeignKey(
        PushSubscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    state = models.CharField(max_length=10, default="pending")
    attempts = models.PositiveIntegerField(default=0)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("push delivery")
        verbose_name_plural = _("push deliveries")


class VapidKey(models.Model):
    """The platform's VAPID key pair (RFC 8292 §3.2: ECDSA P-256), made by ``tungban setup``
    or on first use; the private key is sealed (:mod:`tungban.keys.sealing`), never committed."""

    private_pem = models.BinaryField()
    public_key = models.CharField(max_length=100, help_text="Uncompressed point, base64url (applicationServerKey)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("push server key (VAPID)")
        verbose_name_plural = _("push server keys (VAPID)")
