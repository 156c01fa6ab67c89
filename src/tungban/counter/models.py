"""The counter's records: re-binding requests with their second officer's approval (issue 13
item 1), and the counter's permissions (see :mod:`.roles`)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tungban.identity.models import Resident


class IdentityDocument(models.TextChoices):
    """The document an officer saw to check the person in front of them."""

    HKID_CARD = "hkid_card", _("Hong Kong identity card")
    PASSPORT = "passport", _("Passport")
    EEP = "exit_entry_permit", _("Exit-entry permit or travel document")
    BIRTH_CERTIFICATE = "birth_certificate", _("Birth certificate (with a parent or guardian present)")


class RebindStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a supervisor")
    APPROVED = "approved", _("Approved: the officer who asked issues the code")
    ISSUED = "issued", _("Approved: activation code issued")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")


def rebind_ttl() -> dt.timedelta:
    """How long a request waits for approval, and an approval for its code
    (``TUNGBAN_REBIND_REQUEST_TTL`` seconds, default 30 minutes)."""
    return dt.timedelta(seconds=settings.TUNGBAN_REBIND_REQUEST_TTL)


class RebindRequest(models.Model):
    """An officer's request to issue a new activation code for an account that has a bound
    phone or is tungban+ (a re-binding: the new phone takes the account over).

    It needs a recorded ``reason`` and identity check (``document_type`` seen, and the last
    characters of its number, ``document_reference``) and a second officer's approval: a
    different user with the ``counter.approve_rebind`` permission (``Counter supervisors``).
    After the approval only the requesting officer (the one with the resident) can issue the
    code, once (``code_issued_at``); the supervisor never sees it. A pending request, and an
    approval whose code was not issued, expire after :func:`rebind_ttl`. Source: issue 13
    item 1 and its security review.
    """

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="rebind_requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rebind_requests_made"
    )
    reason = models.CharField(_("reason"), max_length=200)
    document_type = models.CharField(_("identity document seen"), max_length=30, choices=IdentityDocument.choices)
    document_reference = models.CharField(_("last characters of its number"), max_length=8)
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=RebindStatus.choices, default=RebindStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rebind_requests_decided",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=200, blank=True)
    code_issued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("re-binding request")
        verbose_name_plural = _("re-binding requests")
        ordering = ["-requested_at"]
        permissions = [
            ("use_counter", "Can use the registration counter"),
            ("approve_rebind", "Can approve re-binding an account (second officer)"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["resident"], condition=models.Q(status="pending"), name="one_pending_rebind_per_resident"
            ),
        ]

    @property
    def is_expired(self) -> bool:
        """A pending request older than :func:`rebind_ttl`, or an approval whose code was not
        issued within it (also before :func:`tungban.counter.services.expire_stale` marks it)."""
        if self.status == RebindStatus.EXPIRED:
            return True
        started = {RebindStatus.PENDING: self.requested_at, RebindStatus.APPROVED: self.decided_at}.get(self.status)
        return started is not None and started + rebind_ttl() <= timezone.now()

    @property
    def current_status(self) -> str:
        """:attr:`status`, or ``expired`` when :attr:`is_expired`."""
        return RebindStatus.EXPIRED if self.is_expired else self.status

    def get_current_status_display(self) -> str:
        return RebindStatus(self.current_status).label

    def __str__(self) -> str:
        return f"re-binding of {self.resident_id} ({self.status})"
