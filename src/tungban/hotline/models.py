"""1823 cases (issue 22): what residents and businesses tell the government — enquiries,
complaints, suggestions, compliments — routed to the department that must answer and close
them, with pledge timers, a lead-department rule and escalation, in Open311 GeoReport v2's
terms where they exist (a :class:`CaseType` is an Open311 *service*, ``service_code``; a
:class:`Case` is a *service request*, ``service_request_id`` = its reference).

Rules from the seeds (002 ITIB211): departments, not 1823, close cases ("局／部門會於回覆市民
後通知1823"); 1823 did not keep the actual closure date ("1823沒有備存局／部門結案的實際日期") —
here :attr:`Case.closed_at` and the reply are mandatory to close; a case no department takes
goes to the lead-department decision (the District Governance Steering Committee's mechanism of
October 2024: the Deputy Chief Secretary decides the hardest ones).

Personal data (PDPO: the person is the data subject, the departments data users): the
description, address, coordinates, contact details, attribute answers, the assistant's transcript,
replies and notes, and attachments' names and bytes are encrypted at rest
(:mod:`tungban.core.fields`). District, dates, kinds and states are not.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from tungban.core.fields import EncryptedTextField
from tungban.eservices.models import Department
from tungban.identity.models import Resident

from .constants import ActorKind, CaseKind, CaseState, Channel, EventKind, OfficerRole

#: Coordinates are kept to six decimals (about 0.1 m).
SIX_PLACES = Decimal("0.000001")


class CaseType(models.Model):
    """An Open311 *service*: a kind of matter 1823 takes (``code`` = ``service_code``, e.g.
    ``street-light-fault``), with the department it goes to unless a :class:`RoutingRule`
    says otherwise.

    ``attributes``: Open311's service definition attributes, ``[{"code", "datatype" (string,
    number, datetime, text, singlevaluelist, multivaluelist), "required": bool, "description_en",
    "description_zh", "values": [{"key", "name_en", "name_zh"}], "order"}]``. ``service_slug``:
    the e-service this kind of case is about (an :mod:`~tungban.eservices` service slug) or
    ``""``. ``reply_days``/``close_days``: the pledge, in working days from acceptance, for the
    first reply and for closure. ``accept_hours``: hours the routed department has to accept
    before the case escalates. ``location``: whether a location is asked for (``required``,
    ``optional``, ``none``)."""

    code = models.SlugField(_("service code"), max_length=80, primary_key=True)
    name_en = models.CharField(_("name in English"), max_length=200)
    name_zh = models.CharField(_("name in Chinese"), max_length=100)
    description_en = models.TextField(_("description in English"), blank=True)
    description_zh = models.TextField(_("description in Chinese"), blank=True)
    group_en = models.CharField(_("group in English"), max_length=100, blank=True)
    group_zh = models.CharField(_("group in Chinese"), max_length=50, blank=True)
    keywords = models.CharField(_("keywords"), max_length=400, blank=True)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="case_types", verbose_name=_("department")
    )
    service_slug = models.SlugField(_("e-service"), max_length=80, blank=True)
    attributes = models.JSONField(_("attributes"), default=list, blank=True)
    location = models.CharField(_("location"), max_length=10, default="optional")
    reply_days = models.PositiveIntegerField(_("first reply pledge (working days)"), default=3)
    close_days = models.PositiveIntegerField(_("closure pledge (working days)"), default=10)
    accept_hours = models.PositiveIntegerField(_("hours to accept before escalation"), default=24)
    active = models.BooleanField(_("accepting cases"), default=True)

    class Meta:
        verbose_name = _("case type")
        verbose_name_plural = _("case types")
        ordering = ["group_en", "code"]

    def __str__(self) -> str:
        return self.code


class RoutingRule(models.Model):
    """Where a case goes: the first active rule, by ``priority`` (lowest first), whose case
    type (any if null) and district (any if blank) match; none matching → the case type's
    department."""

    case_type = models.ForeignKey(
        CaseType, on_delete=models.CASCADE, null=True, blank=True, related_name="rules", verbose_name=_("case type")
    )
    district = models.CharField(_("district"), max_length=20, blank=True)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="case_rules", verbose_name=_("department")
    )
    priority = models.PositiveIntegerField(_("priority"), default=100)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["priority", "id"]


class CaseOfficer(models.Model):
    """A staff user's 1823 role: a ``department`` case officer acts on their department's
    cases; a ``coordinator`` (``department`` null) routes cases and settles lead departments."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="case_roles", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=12, choices=OfficerRole.choices)
    department = models.ForeignKey(
        Department,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="case_officers",
        verbose_name=_("department"),
    )

    class Meta:
        verbose_name = _("case officer")
        verbose_name_plural = _("case officers")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "department"], name="hotline_one_role"),
            models.CheckConstraint(
                condition=models.Q(role=OfficerRole.COORDINATOR, department__isnull=True)
                | models.Q(role=OfficerRole.DEPARTMENT, department__isnull=False),
                name="hotline_role_department",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role} {self.department_id or ''})"


class Case(ConcurrentTransitionMixin, models.Model):
    """A case (Open311 *service request*). ``reference``: public, e.g. ``1823-26-7KQ2M9XC``
    (``service_request_id``). ``resident``: set when the person was logged in; otherwise the
    contact details (optional: an anonymous case can still be tracked by reference and its
    ``tracking_code``). ``department``: the department that must act now (null while
    ``submitted`` or ``escalated``). Dates: ``accept_due_at`` (escalation), ``reply_due`` and
    ``close_due`` (pledges, dates), ``first_reply_at``, ``closed_at`` (the department's actual
    closure, mandatory), ``reopen_until`` (the person may reopen until then).
    ``idempotency_key``: the creating request's key, unique per submitter
    (``submitter_key``: ``resident:<id>``, ``client:<id>`` or ``anon:<hash>``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(_("reference"), max_length=24, unique=True)
    tracking_code = models.CharField(_("tracking code digest"), max_length=64, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=CaseKind.choices, default=CaseKind.ENQUIRY)
    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT, related_name="cases", verbose_name=_("case type"))
    service_slug = models.SlugField(_("about the e-service"), max_length=80, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.WEB)
    language = models.CharField(_("language"), max_length=10, default="zh-hant")
    description = EncryptedTextField(_("description"))
    attribute_values = EncryptedTextField(_("attribute answers"), default="{}")
    address = EncryptedTextField(_("address"), blank=True)
    district = models.CharField(_("district"), max_length=20, blank=True)
    # "lat,long" in degrees, six decimals: encrypted like the address (it can be a home's
    # position); read and set through the ``lat`` and ``long`` properties.
    coordinates = EncryptedTextField(_("coordinates"), blank=True)
    resident = models.ForeignKey(
        Resident, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases", verbose_name=_("resident")
    )
    contact_name = EncryptedTextField(_("contact name"), blank=True)
    contact_email = EncryptedTextField(_("contact e-mail"), blank=True)
    contact_phone = EncryptedTextField(_("contact phone"), blank=True)
    transcript = EncryptedTextField(_("assistant transcript"), blank=True)
    client_id = models.CharField(_("Open311 client"), max_length=100, blank=True)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("department")
    )
    lead_decided_by = models.CharField(_("lead department decided by"), max_length=200, blank=True)
    state = FSMField(_("state"), default=CaseState.SUBMITTED, choices=CaseState.choices, protected=True, max_length=12)
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    assigned_at = models.DateTimeField(_("routed at"), null=True, blank=True)
    accept_due_at = models.DateTimeField(_("accept by"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    reply_due = models.DateField(_("first reply due"), null=True, blank=True)
    close_due = models.DateField(_("closure due"), null=True, blank=True)
    first_reply_at = models.DateTimeField(_("first replied at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )
    closure_reply = EncryptedTextField(_("closure reply"), blank=True)
    reopen_until = models.DateTimeField(_("may be reopened until"), null=True, blank=True)
    reopened_count = models.PositiveIntegerField(_("times reopened"), default=0)
    submitter_key = models.CharField(_("submitter"), max_length=100, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["submitter_key", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="hotline_one_case_per_key",
            )
        ]
        indexes = [
            models.Index(fields=["department", "state"], name="hotline_case_dept_state"),
            models.Index(fields=["state", "accept_due_at"], name="hotline_case_escalation"),
            models.Index(fields=["case_type", "submitted_at"], name="hotline_case_type_time"),
        ]

    def __str__(self) -> str:
        return self.reference

    def _coordinate_parts(self) -> list[str]:
        parts = (self.coordinates or "").split(",")
        return parts if len(parts) == 2 else ["", ""]

    def _set_coordinate(self, index: int, value) -> None:
        parts = self._coordinate_parts()
        parts[index] = "" if value is None else str(Decimal(str(value)).quantize(SIX_PLACES))
        self.coordinates = ",".join(parts) if any(parts) else ""

    @property
    def lat(self) -> Decimal | None:
        """Latitude in degrees (six decimals), or ``None``."""
        value = self._coordinate_parts()[0]
        return Decimal(value) if value else None

    @lat.setter
    def lat(self, value) -> None:
        self._set_coordinate(0, value)

    @property
    def long(self) -> Decimal | None:
        """Longitude in degrees (six decimals), or ``None``."""
        value = self._coordinate_parts()[1]
        return Decimal(value) if value else None

    @long.setter
    def long(self, value) -> None:
        self._set_coordinate(1, value)

    def get_attribute_values(self) -> dict:
        return json.loads(self.attribute_values or "{}")

    def set_attribute_values(self, values: dict) -> None:
        self.attribute_values = json.dumps(values, ensure_ascii=False, sort_keys=True)

    @property
    def open311_status(self) -> str:
        """Open311 GeoReport v2 ``status``: ``closed`` or ``open``."""
        return "closed" if self.state == CaseState.CLOSED else "open"

    # --- the state machine (django-fsm-2); callers: tungban.hotline.services only ---
    @transition(
        field=state,
        source=[CaseState.SUBMITTED, CaseState.ASSIGNED, CaseState.ESCALATED, CaseState.ACCEPTED],
        target=CaseState.ASSIGNED,
    )
    def to_assigned(self):
        """Routed, transferred, or given to the lead department."""

    @transition(field=state, source=[CaseState.SUBMITTED, CaseState.ASSIGNED], target=CaseState.ESCALATED)
    def to_escalated(self):
        """No department accepted it in time, or no rule could route it."""

    @transition(field=state, source=[CaseState.ASSIGNED, CaseState.ESCALATED], target=CaseState.ACCEPTED)
    def to_accepted(self):
        pass

    @transition(field=state, source=CaseState.ACCEPTED, target=CaseState.CLOSED)
    def to_closed(self):
        pass

    @transition(field=state, source=CaseState.CLOSED, target=CaseState.ACCEPTED)
    def to_reopened(self):
        pass


class CaseEvent(models.Model):
    """One line of a case's history. ``public``: shown to the person (replies, closure,
    status changes); internal notes and reasons for declining are not. ``message``: encrypted
    (it may quote the person)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", verbose_name=_("case"))
    kind = models.CharField(_("kind"), max_length=14, choices=EventKind.choices)
    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor_kind = models.CharField(_("by"), max_length=12, choices=ActorKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("officer"),
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("department")
    )
    message = EncryptedTextField(_("message"), blank=True)
    public = models.BooleanField(_("shown to the person"), default=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["kind", "at"], name="hotline_event_kind_at")]


def attachment_storage() -> FileSystemStorage:
    """Where case attachments live: ``TUNGBAN_HOTLINE_FILES`` (default ``<var>/hotline``),
    outside the database row; each file's bytes are encrypted."""
    return FileSystemStorage(location=settings.TUNGBAN_HOTLINE_FILES)


class CaseAttachment(models.Model):
    """A photo or document sent with a case. ``content_type`` is what the bytes are (checked
    with puremagic), ``sha256`` of the plain bytes, ``stored_name`` the encrypted file in
    :func:`attachment_storage`."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("case"))
    filename = EncryptedTextField(_("file name"))
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    stored_name = models.CharField(_("stored file"), max_length=200)
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("case attachment")
        verbose_name_plural = _("case attachments")


class Faq(models.Model):
    """An entry of the 1823 FAQ (常見問答) that search indexes and the assistant quotes:
    ``slug``, the question and answer in both languages, optionally the department, the
    e-service (slug) and the form (slug) and form field it is about, and ``source_url`` — the
    page the answer comes from (the assistant links to it); ``keywords``: more words it is
    found by (searched, never shown). Loaded from ``hotline/data/faqs/*.toml``
    (:mod:`tungban.hotline.services.faqs`)."""

    slug = models.SlugField(_("id"), max_length=100, unique=True)
    question_en = models.CharField(_("question in English"), max_length=300)
    question_zh = models.CharField(_("question in Chinese"), max_length=200)
    answer_en = models.TextField(_("answer in English"))
    answer_zh = models.TextField(_("answer in Chinese"))
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="faqs", verbose_name=_("department")
    )
    service_slug = models.SlugField(_("e-service"), max_length=80, blank=True)
    form_slug = models.SlugField(_("form"), max_length=80, blank=True)
    form_field = models.CharField(_("form field"), max_length=80, blank=True)
    source_url = models.CharField(_("source page"), max_length=300, blank=True)
    keywords = models.CharField(_("keywords"), max_length=400, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    active = models.BooleanField(_("published"), default=True)

    class Meta:
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Open311Client(models.Model):
    """An Open311 GeoReport v2 client allowed to submit service requests (``POST
    requests``): its ``name`` (shown to staff as the case's ``client_id``), the SHA-256 of its
    ``api_key`` (the key itself is shown once, by ``tungban open311_key``, and never stored: a
    256-bit random token, so a plain digest is enough to find it and useless to guess from),
    the key's first characters (``key_prefix``, to tell keys apart), and ``active`` (a
    withdrawn key is refused with 403)."""

    name = models.CharField(_("client name"), max_length=100, unique=True)
    key_digest = models.CharField(_("API key digest"), max_length=64, unique=True)
    key_prefix = models.CharField(_("API key prefix"), max_length=8)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("issued at"), auto_now_add=True)

    class Meta:
        verbose_name = _("Open311 client")
        verbose_name_plural = _("Open311 clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
