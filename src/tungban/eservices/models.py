"""The e-services' records (issue 17): the catalogue (departments, services, forms and their
immutable versions, loaded from the files in ``catalogue/``), a resident's applications and
their history, attachments, officers' requests for information and page progress.

The catalogue rows are written only by :func:`tungban.eservices.services.load_catalogue`; an
application's ``state`` only by the transitions below (``FSMField(protected=True)``), each
called by a function of :mod:`tungban.eservices.services` that records an
:class:`ApplicationEvent` in the same transaction.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from tungban.core.fields import EncryptedTextField
from tungban.identity.models import Resident


class Requirement(models.TextChoices):
    """Whether a service asks for a tungban login / a CorpID (the seeds: all business e-services
    accept CorpID)."""

    REQUIRED = "required", _("Required")
    ALLOWED = "allowed", _("Allowed")
    NO = "no", _("Not used")


class OfficerRole(models.TextChoices):
    OFFICER = "officer", _("Officer")
    APPROVER = "approver", _("Approver")


class Department(models.Model):
    """A government department (``code`` e.g. ``SWD``). ``issuer_id`` and ``organisation_id``
    name its :mod:`~tungban.credentials` issuer and its :mod:`~tungban.exchange` organisation
    (plain ids, resolved through those apps' services)."""

    code = models.CharField(_("code"), max_length=10, primary_key=True)
    name_en = models.CharField(_("name in English"), max_length=200)
    name_zh = models.CharField(_("name in Chinese"), max_length=100)
    website = models.URLField(_("website"), blank=True)
    issuer_id = models.CharField(_("e-licence issuer"), max_length=40, blank=True)
    organisation_id = models.CharField(_("data exchange organisation"), max_length=64, blank=True)
    source_path = models.CharField(_("source file"), max_length=300)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name_en}"


class DepartmentOfficer(models.Model):
    """A staff user's membership of a department: ``officer`` processes its applications,
    ``approver`` may also approve them (and give the second approval a service asks for). A
    user may belong to several departments."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="eservice_roles", verbose_name=_("user")
    )
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="officers", verbose_name=_("department")
    )
    role = models.CharField(_("role"), max_length=10, choices=OfficerRole.choices, default=OfficerRole.OFFICER)

    class Meta:
        verbose_name = _("department officer")
        verbose_name_plural = _("department officers")
        constraints = [models.UniqueConstraint(fields=["user", "department"], name="eservices_one_role_per_department")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.department_id} ({self.role})"


class Form(models.Model):
    """A form (``slug`` e.g. ``swd-senior-citizen-card``); its content lives in its versions."""

    slug = models.SlugField(_("form id"), max_length=80, unique=True)
    title_en = models.CharField(_("title in English"), max_length=200)
    title_zh = models.CharField(_("title in Chinese"), max_length=100)

    class Meta:
        verbose_name = _("form")
        verbose_name_plural = _("forms")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def current_version(self) -> FormVersion | None:
        """The newest published version (applications start on it), or ``None``."""
        return self.versions.order_by("-number").first()


class FormVersion(models.Model):
    """One published version of a form, immutable: ``schema`` (JSON Schema draft 2020-12),
    ``layout`` (pages, conditions, bilingual labels and help, field kinds; see
    ``catalogue/README.md``) and ``digest`` = SHA-256 of their canonical JSON. The loader
    refuses a changed file for an existing version (``form_version_changed``)."""

    form = models.ForeignKey(Form, on_delete=models.PROTECT, related_name="versions", verbose_name=_("form"))
    number = models.PositiveIntegerField(_("version"))
    schema = models.JSONField(_("JSON Schema"))
    layout = models.JSONField(_("layout"))
    digest = models.CharField(_("SHA-256 of schema and layout"), max_length=64)
    source_path = models.CharField(_("source file"), max_length=300)
    published_at = models.DateTimeField(_("published at"), auto_now_add=True)

    class Meta:
        verbose_name = _("form version")
        verbose_name_plural = _("form versions")
        constraints = [models.UniqueConstraint(fields=["form", "number"], name="eservices_one_number_per_form")]

    def __str__(self) -> str:
        return f"{self.form.slug} v{self.number}"


class Service(models.Model):
    """A service in the catalogue, from ``catalogue/services/<dept>/<slug>.toml``.

    ``fee_items``: ``[{"code", "label_en", "label_zh"}]``, the fees the service charges; their
    amounts are the payments app's fee schedule (:mod:`.services.fees`, issue 18). ``channels``: e.g. ``["online",
    "counter", "post", "kiosk"]``. ``credential_type``: the e-licence issued on approval
    (a :mod:`~tungban.credentials` type id) or ``""``; ``licence_inputs`` maps that type's
    input claims to sources (``catalogue/README.md``). ``online``: fully electronic here
    (apply, pay, receive: 申請、付款、領證); others link to ``external_url``. ``documents``:
    ``[{"label_en", "label_zh"}]``, what the applicant has ready. Cross-boundary
    (跨境通辦) facet: ``gba_cities`` (GBA cities where it can be used) and ``kiosk``.
    """

    slug = models.SlugField(_("service id"), max_length=80, unique=True)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="services", verbose_name=_("department")
    )
    name_en = models.CharField(_("name in English"), max_length=200)
    name_zh = models.CharField(_("name in Chinese"), max_length=100)
    summary_en = models.CharField(_("summary in English"), max_length=400)
    summary_zh = models.CharField(_("summary in Chinese"), max_length=200)
    description_en = models.TextField(_("description in English"), blank=True)
    description_zh = models.TextField(_("description in Chinese"), blank=True)
    eligibility_en = models.TextField(_("who can apply, in English"), blank=True)
    eligibility_zh = models.TextField(_("who can apply, in Chinese"), blank=True)
    documents = models.JSONField(_("documents needed"), default=list, blank=True)
    category = models.CharField(_("category"), max_length=40)
    channels = models.JSONField(_("channels"), default=list)
    fee_items = models.JSONField(_("fee items"), default=list)
    pledge_working_days = models.PositiveIntegerField(_("service pledge (working days)"), null=True, blank=True)
    credential_type = models.CharField(_("e-licence type"), max_length=80, blank=True)
    licence_inputs = models.JSONField(_("e-licence inputs"), default=dict, blank=True)
    identity_login = models.CharField(
        _("tungban login"), max_length=10, choices=Requirement.choices, default=Requirement.ALLOWED
    )
    corpid = models.CharField(_("CorpID"), max_length=10, choices=Requirement.choices, default=Requirement.NO)
    gba_cities = models.JSONField(_("Greater Bay Area cities"), default=list, blank=True)
    kiosk = models.BooleanField(_("at cross-boundary kiosks"), default=False)
    second_approval = models.BooleanField(_("needs a second officer's approval"), default=False)
    online = models.BooleanField(_("fully electronic"), default=False)
    signature = models.CharField(
        _("tungban+ signature at the declaration"), max_length=10, choices=Requirement.choices, default=Requirement.NO
    )
    external_url = models.URLField(_("department's page"), blank=True)
    form = models.ForeignKey(
        Form, on_delete=models.PROTECT, null=True, blank=True, related_name="services", verbose_name=_("form")
    )
    draft_ttl_days = models.PositiveIntegerField(_("days a draft is kept"), default=30)
    listed = models.BooleanField(_("listed in the catalogue"), default=True)
    source_path = models.CharField(_("source file"), max_length=300)
    source_digest = models.CharField(_("SHA-256 of the source file"), max_length=64)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["department_id", "slug"]
        indexes = [models.Index(fields=["category"], name="eservices_service_category")]

    def __str__(self) -> str:
        return self.slug

    @property
    def cross_boundary(self) -> bool:
        return bool(self.gba_cities) or self.kiosk


class State(models.TextChoices):
    """An application's states (issue 17, "Lifecycle")."""

    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    PAID = "paid", _("Paid")
    IN_REVIEW = "in_review", _("In review")
    INFORMATION_REQUESTED = "information_requested", _("Information requested")
    APPROVED = "approved", _("Approved")
    LICENCE_ISSUED = "licence_issued", _("Licence issued")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")


#: States in which the resident may still withdraw.
OPEN_STATES = (
    State.DRAFT,
    State.SUBMITTED,
    State.AWAITING_PAYMENT,
    State.PAID,
    State.IN_REVIEW,
    State.INFORMATION_REQUESTED,
)
#: States an officer can decide from (reject) and the queue's states.
QUEUE_STATES = (State.SUBMITTED, State.PAID)
DECIDABLE_STATES = (State.SUBMITTED, State.PAID, State.IN_REVIEW, State.INFORMATION_REQUESTED)
FINAL_STATES = (State.LICENCE_ISSUED, State.REJECTED, State.WITHDRAWN, State.EXPIRED)
#: Paid and not decided yet: a payment the bank reverses sends these back to awaiting payment.
UNDECIDED_PAID_STATES = (State.PAID, State.IN_REVIEW, State.INFORMATION_REQUESTED)


class Application(ConcurrentTransitionMixin, models.Model):
    """A resident's application for a service, bound to the :class:`FormVersion` it was
    started on.

    ``reference``: public, ``<DEPT>-XXXX-XXXXC`` (Crockford base-32, ``C`` a check character,
    :mod:`tungban.eservices.reference`). ``answers``: JSON, encrypted at rest. ``prefill``:
    ``{field: {"source": "claim"|"exchange", "ref": release record / consent artefact id,
    "digest": keyed HMAC of the value's canonical JSON (``services.prefill_digest``), "status":
    "verified"|"resident_edited"}}`` (digests and ids only, never values). ``portal_sub``: the pairwise ``sub`` the e-services
    portal received at login. ``first_approved_by``: the first of two approvers when the
    service needs a second approval. ``idempotency_key``: the client's key of the start
    request (one draft per key and resident).

    ``org_br_number``, ``org_name_en``, ``org_name_zh``, ``org_sub``, ``mandate_id``: set when the
    resident applies for a company (CorpID): the company's BR number and names, its pairwise
    organisation identifier at the portal and the mandate's public id, all from the ``authority``
    claim of the portal's corporate login (``docs/integrators.md`` §12). ``resident`` is then the
    person acting for the company; the application is theirs only while a mandate of theirs
    covers the service (checked on each request, :mod:`tungban.eservices.services.company`).

    ``payment_reversed_at``: the bank reversed the fee's payment after the application was
    decided (approved, or its e-licence issued): a case for the department's officers, shown on
    the application's workbench page until the fee is paid again
    (:func:`tungban.eservices.services.payment.payment_reversed`).

    ``ConcurrentTransitionMixin`` (django-fsm-2): a save after a transition updates the row only
    if it is still in the state the transition started from, so two workers that both read
    ``in_review`` cannot both approve (on top of the services' row lock).
    """

    reference = models.CharField(_("reference"), max_length=24, unique=True)
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="applications", verbose_name=_("service")
    )
    form_version = models.ForeignKey(
        FormVersion, on_delete=models.PROTECT, related_name="applications", verbose_name=_("form version")
    )
    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="eservice_applications", verbose_name=_("resident")
    )
    portal_sub = models.CharField(_("pairwise subject of the portal"), max_length=64, blank=True)
    state = FSMField(_("state"), default=State.DRAFT, choices=State.choices, protected=True, max_length=24)
    answers = EncryptedTextField(_("answers"), default="{}")
    prefill = models.JSONField(_("prefill sources"), default=dict, blank=True)
    page_reached = models.CharField(_("last form page reached"), max_length=60, blank=True)
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last saved at"), auto_now=True)
    draft_expires_at = models.DateTimeField(_("draft expires at"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    pledge_due = models.DateField(_("pledge due date"), null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="eservice_assignments",
        verbose_name=_("assigned officer"),
    )
    first_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("first approver"),
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, blank=True)
    signing_request_id = models.CharField(_("signing request"), max_length=64, blank=True)
    credential_id = models.CharField(_("e-licence issued"), max_length=64, blank=True)
    licence_pdf = models.CharField(_("e-licence PDF copy"), max_length=300, blank=True)
    payment_reversed_at = models.DateTimeField(_("payment reversed after the decision at"), null=True, blank=True)
    # For a company (CorpID, issue 19): the organisation as the portal's corporate login named
    # it (the ``authority`` claim), and the mandate the person applied under.
    org_br_number = models.CharField(_("company's Business Registration number"), max_length=8, blank=True)
    org_name_en = models.CharField(_("company's name in English"), max_length=200, blank=True)
    org_name_zh = models.CharField(_("company's name in Chinese"), max_length=100, blank=True)
    org_sub = models.CharField(_("company's pairwise identifier at the portal"), max_length=100, blank=True)
    mandate_id = models.CharField(_("mandate applied under"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="eservices_one_application_per_key",
            )
        ]
        indexes = [
            models.Index(fields=["service", "state"], name="eservices_app_service_state"),
            models.Index(fields=["state", "draft_expires_at"], name="eservices_app_state_expiry"),
            models.Index(fields=["resident", "org_br_number"], name="eservices_app_company"),
        ]

    def __str__(self) -> str:
        return self.reference

    # --- answers (JSON in an encrypted text column) ---
    def get_answers(self) -> dict:
        return json.loads(self.answers or "{}")

    def set_answers(self, answers: dict) -> None:
        self.answers = json.dumps(answers, ensure_ascii=False, sort_keys=True)

    # --- the state machine (django-fsm-2); callers: tungban.eservices.services only ---
    @transition(field=state, source=State.DRAFT, target=State.SUBMITTED)
    def to_submitted(self):
        pass

    @transition(field=state, source=State.SUBMITTED, target=State.AWAITING_PAYMENT)
    def to_awaiting_payment(self):
        pass

    @transition(field=state, source=State.AWAITING_PAYMENT, target=State.PAID)
    def to_paid(self):
        pass

    @transition(field=state, source=[State.SUBMITTED, State.PAID], target=State.IN_REVIEW)
    def to_in_review(self):
        pass

    @transition(field=state, source=list(UNDECIDED_PAID_STATES), target=State.AWAITING_PAYMENT)
    def to_payment_reversed(self):
        """The bank reversed the payment before a decision: the fee is due again."""

    @transition(field=state, source=State.IN_REVIEW, target=State.INFORMATION_REQUESTED)
    def to_information_requested(self):
        pass

    @transition(field=state, source=State.INFORMATION_REQUESTED, target=State.IN_REVIEW)
    def to_information_answered(self):
        pass

    @transition(field=state, source=State.IN_REVIEW, target=State.APPROVED)
    def to_approved(self):
        pass

    @transition(field=state, source=State.APPROVED, target=State.LICENCE_ISSUED)
    def to_licence_issued(self):
        pass

    @transition(field=state, source=list(DECIDABLE_STATES), target=State.REJECTED)
    def to_rejected(self):
        pass

    @transition(field=state, source=list(OPEN_STATES), target=State.WITHDRAWN)
    def to_withdrawn(self):
        pass

    @transition(field=state, source=State.DRAFT, target=State.EXPIRED)
    def to_expired(self):
        pass


class ActorKind(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    OFFICER = "officer", _("Officer")
    SYSTEM = "system", _("System")
    API = "api", _("Department system")


class ApplicationEvent(models.Model):
    """One transition (or a recorded step that keeps the state, such as a first approval):
    who (``actor_kind`` and ``actor_id``: a user id, ``resident``, a client id), when, why
    (bilingual). The resident sees them as the application's history."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="events", verbose_name=_("application")
    )
    from_state = models.CharField(_("from"), max_length=24, choices=State.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=24, choices=State.choices)
    action = models.CharField(_("action"), max_length=40)
    actor_kind = models.CharField(_("actor"), max_length=10, choices=ActorKind.choices)
    actor_id = models.CharField(_("actor id"), max_length=150, blank=True)
    reason_en = models.TextField(_("reason in English"), blank=True)
    reason_zh = models.TextField(_("reason in Chinese"), blank=True)
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("application event")
        verbose_name_plural = _("application events")
        ordering = ["at", "id"]


def attachment_storage() -> FileSystemStorage:
    """Where uploaded documents live: ``TUNGBAN_ESERVICES_FILES`` (default
    ``<var>/eservices``), outside the database row; each file's bytes are encrypted."""
    return FileSystemStorage(location=settings.TUNGBAN_ESERVICES_FILES)


class Attachment(models.Model):
    """A document uploaded for a form field (or an answer to an information request).
    ``content_type`` is what the bytes are (checked with puremagic), not what the browser
    said; ``sha256`` is of the plain bytes; ``stored_name`` is the file in
    :func:`attachment_storage` (encrypted as :mod:`tungban.core.fields` does)."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("application")
    )
    field = models.CharField(_("form field"), max_length=80)
    information_request = models.ForeignKey(
        "InformationRequest",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
        verbose_name=_("information request"),
    )
    filename = EncryptedTextField(_("file name"))
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    stored_name = models.CharField(_("stored file"), max_length=200)
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")


class InformationRequest(models.Model):
    """An officer's request for more information, and the resident's answer."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="information_requests", verbose_name=_("application")
    )
    message_en = models.TextField(_("message in English"))
    message_zh = models.TextField(_("message in Chinese"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    answer = EncryptedTextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("information request")
        verbose_name_plural = _("information requests")
        ordering = ["requested_at", "id"]


class PageProgress(models.Model):
    """The first time a draft reached a form page (the drop-off report counts them per
    service, form version and page)."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="pages", verbose_name=_("application")
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+", verbose_name=_("service"))
    form_version = models.ForeignKey(
        FormVersion, on_delete=models.CASCADE, related_name="+", verbose_name=_("form version")
    )
    page = models.CharField(_("page"), max_length=60)
    reached_at = models.DateTimeField(_("reached at"), auto_now_add=True)

    class Meta:
        verbose_name = _("form page reached")
        verbose_name_plural = _("form pages reached")
        constraints = [models.UniqueConstraint(fields=["application", "page"], name="eservices_page_once")]
        indexes = [models.Index(fields=["service", "form_version", "page"], name="eservices_page_report")]


class CatalogueRevision(models.Model):
    """The catalogue's revision: one row (``id`` 1), written by
    :func:`tungban.eservices.services.load_catalogue` after every load. ``digest`` is the
    SHA-256 of every department, service file and form version loaded; the catalogue API's
    strong ETags are derived from it (the catalogue changes only when files are loaded)."""

    digest = models.CharField(_("SHA-256 of the loaded catalogue"), max_length=64)
    loaded_at = models.DateTimeField(_("loaded at"), auto_now=True)

    class Meta:
        verbose_name = _("catalogue revision")
        verbose_name_plural = _("catalogue revisions")

    def __str__(self) -> str:
        return self.digest[:12]


# The departments' systems and webhooks (es-staff), in their own module.
from .models_departments import DeliveryState, DepartmentSystem, WebhookDelivery, WebhookEndpoint  # noqa: E402, F401
