"""core's one model: the records of idempotent API calls (:mod:`tungban.core.idempotency`,
issue 14 item 2). Django also sends ``post_migrate`` for this app, on which
:mod:`tungban.core.apps` creates the rate limiter's cache table."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .fields import EncryptedTextField


class IdempotencyState(models.TextChoices):
    IN_PROGRESS = "in_progress", _("in progress")
    COMPLETE = "complete", _("complete")


class IdempotencyRecord(models.Model):
    """One caller's ``Idempotency-Key`` (draft-ietf-httpapi-idempotency-key-header §2) with
    the digest of the request that first used it and, once complete, its answer.

    ``caller`` is the authenticated client (``client:<client_id>``, plus the resident for a
    login token): keys are never shared between callers. ``body`` is encrypted at rest
    (an exchange's answer carries the resident's data), and replaced by a refusal when its
    ``subject`` ends (an exchange's consent revoked or expired: issue 14 review M1). Deleted
    after ``expires_at`` by the scheduled purge (:mod:`tungban.core.retention`).
    """

    caller = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    operation = models.CharField(max_length=200, help_text="Method and path of the first request")
    digest = models.CharField(
        max_length=64,
        help_text="hex HMAC-SHA256 (TUNGBAN_LOOKUP_HASH_KEY) of method, path, query and canonical JSON body",
    )
    state = models.CharField(max_length=12, choices=IdempotencyState.choices, default=IdempotencyState.IN_PROGRESS)
    status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="HTTP status of the first answer")
    body = EncryptedTextField(blank=True, help_text="The first answer: the HTTP body, or the operation's result")
    body_is_result = models.BooleanField(
        default=False, help_text="body holds the operation's result (serialized again on replay), not the HTTP body"
    )
    subject = models.CharField(
        max_length=200,
        blank=True,
        db_index=True,
        help_text="What the answer's disclosure depends on (e.g. exchange.consent:<id>); forgotten when it ends",
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["caller", "key"], name="idempotency_key_once_per_caller")]

    def __str__(self) -> str:
        return f"{self.caller} {self.key} ({self.state})"
