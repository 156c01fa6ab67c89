"""The departments' side of the e-services (issue 17, "API for department systems"): the
systems that call the API for a department, the webhook endpoints they register and the log of
every webhook delivery (what was sent, each attempt's answer).

Imported by :mod:`tungban.eservices.models` (Django finds the models there).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tungban.core.fields import EncryptedTextField

# Models of tungban.eservices.models by name: that module imports this one.
Department = "eservices.Department"
Application = "eservices.Application"
ApplicationEvent = "eservices.ApplicationEvent"


class DepartmentSystem(models.Model):
    """A department's own system: an OpenID Connect client (``client_credentials`` with
    ``private_key_jwt``, scope ``eservices``) acting for one department. ``user`` is its
    service account (not staff, no password: it never logs in), recorded as the officer of
    what the system does (``assigned_to``, ``requested_by``, ``first_approved_by``); events
    name the client (``actor_kind`` ``api``, ``actor_id`` ``client:<client_id>``)."""

    client = models.OneToOneField(
        "oidc.Client",
        on_delete=models.CASCADE,
        related_name="eservices_system",
        verbose_name=_("OpenID Connect client"),
    )
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="systems", verbose_name=_("department")
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="eservices_system",
        verbose_name=_("service account"),
    )
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("department system")
        verbose_name_plural = _("department systems")

    def __str__(self) -> str:
        return f"{self.client_id} @ {self.department_id}"


class WebhookEndpoint(models.Model):
    """Where a department's system wants to hear about its applications: an ``https`` URL
    (checked against server-side request forgery when registered and before every delivery),
    the events it wants (``events``: names of :data:`tungban.eservices.services.webhooks.EVENTS`)
    and the secret the platform signs each delivery with (HMAC-SHA256, shown once, encrypted
    at rest)."""

    id = models.UUIDField(_("id"), primary_key=True, default=uuid.uuid4, editable=False)
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="webhook_endpoints", verbose_name=_("department")
    )
    url = models.URLField(_("URL"), max_length=500)
    secret = EncryptedTextField(_("signing secret"))
    events = models.JSONField(_("events"), default=list)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.CharField(_("registered by"), max_length=150)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Waiting to be delivered")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed after every attempt")


class WebhookDelivery(models.Model):
    """One event sent to one endpoint: the signed ``body`` (JSON, the same bytes on every
    attempt; encrypted at rest), its ``state``, and ``log``: one entry per attempt
    ``{"at": ISO time, "status": HTTP status or null, "error": text, "ms": milliseconds}``."""

    id = models.UUIDField(_("id"), primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="+", verbose_name=_("application")
    )
    event = models.ForeignKey(ApplicationEvent, on_delete=models.CASCADE, related_name="+", verbose_name=_("event"))
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
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="eservices_one_delivery_per_event")]
