"""The departments' side of the e-services (issue 17, "API for department systems"): the
systems that call the API for a department, the webhook endpoints they register and the log of
every webhook delivery (what was sent, each attempt's answer).

Imported by :mod:`tungban.eservices.models` (Django finds the models there).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tungban.notify.webhooks import DeliveryState, WebhookDeliveryBase, WebhookEndpointBase

__all__ = ["DeliveryState", "DepartmentSystem", "WebhookDelivery", "WebhookEndpoint"]

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


class WebhookEndpoint(WebhookEndpointBase):
    """Where a department's system wants to hear about its applications (the shared fields and
    rules: :class:`tungban.notify.webhooks.WebhookEndpointBase`); ``events`` are names of
    :data:`tungban.eservices.services.webhooks.EVENTS`."""

    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="webhook_endpoints", verbose_name=_("department")
    )

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["created_at"]


class WebhookDelivery(WebhookDeliveryBase):
    """One application event sent to one endpoint (the signed body, its state and the log of
    every attempt: :class:`tungban.notify.webhooks.WebhookDeliveryBase`)."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="+", verbose_name=_("application")
    )
    event = models.ForeignKey(ApplicationEvent, on_delete=models.CASCADE, related_name="+", verbose_name=_("event"))

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="eservices_one_delivery_per_event")]
