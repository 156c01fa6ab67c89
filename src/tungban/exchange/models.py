"""Consented Data Exchange Gateway (授權數據交換閘, CDEG; issue #4, MISSION §3).

PDPO terms: the *data subject* is the resident; a *data user* (the consumer: a department
or a bank) receives personal data for a stated *purpose*; a *data provider* holds it.

* :class:`Organisation` — a registered participant. A data user authenticates as its OpenID
  Connect client with ``private_key_jwt`` (RFC 7523); a provider implements the provider
  adapter API at ``endpoint_url``.
* :class:`DataProduct` — what a provider publishes, with a versioned JSON Schema
  (e.g. ``wsd.registered-address.v1``).
* :class:`Consent` — the data subject's consent for one data user, one product, one purpose,
  a validity period and a usage limit; the signed consent artefact (JWS) is kept with it.
* :class:`ExchangeRecord` — metadata of every attempt to obtain data (who, what, when, which
  consent, the outcome and the SHA-256 of the payload); never the personal data itself.
  Every record is also an entry in the tamper-evident log (:mod:`tungban.ledger`).
* :class:`ExchangeAttempt` — one call to a data provider, recorded (and logged) before the
  provider is asked and completed after (issue 14 item 4): an attempt left ``in_flight`` by a
  killed worker is one whose outcome is unknown — the provider may have released the data.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from tungban.core.fields import EncryptedTextField
from tungban.identity.models import Resident
from tungban.oidc.models import Client
from tungban.wallet.models import ApprovalRequest

ORG_ID = RegexValidator(r"^[a-z][a-z0-9-]{1,39}$", _("Lower-case letters, digits and hyphens, starting with a letter."))
#: Bounds of a provider's own timeout, seconds (review finding L6): a provider call holds a
#: bulkhead slot and a web thread for up to this long.
MIN_PROVIDER_TIMEOUT, MAX_PROVIDER_TIMEOUT = 0.1, 30.0
PRODUCT_ID = RegexValidator(r"^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+\.v[0-9]+$", _("Like wsd.registered-address.v1"))


class OrganisationKind(models.TextChoices):
    DEPARTMENT = "department", _("Government department")
    BANK = "bank", _("Bank (through the HKMA Commercial Data Interchange)")
    OTHER = "other", _("Other organisation")


class Organisation(models.Model):
    id = models.CharField(_("Organisation id"), max_length=40, primary_key=True, validators=[ORG_ID])
    name_en = models.CharField(_("Name (English)"), max_length=200)
    name_zh = models.CharField(_("Name (Chinese)"), max_length=200)
    kind = models.CharField(max_length=20, choices=OrganisationKind.choices, default=OrganisationKind.DEPARTMENT)
    client = models.OneToOneField(
        Client,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="organisation",
        help_text=_("As a data user: the OpenID Connect client it authenticates as (private_key_jwt, scope cdeg)."),
    )
    endpoint_url = models.URLField(
        _("Provider adapter URL"),
        blank=True,
        help_text=_("As a data provider: the base URL of its provider adapter API."),
    )
    timeout_seconds = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_PROVIDER_TIMEOUT), MaxValueValidator(MAX_PROVIDER_TIMEOUT)],
        help_text=_("Provider timeout in seconds (at most 30; empty: the platform default)."),
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("participant organisation")
        verbose_name_plural = _("participant organisations")

    def __str__(self) -> str:
        return f"{self.name_en} ({self.id})"

    def name(self, language: str | None = None) -> str:
        return self.name_en if (language or get_language() or "").startswith("en") else self.name_zh


class DataProduct(models.Model):
    id = models.CharField(_("Product id"), max_length=100, primary_key=True, validators=[PRODUCT_ID])
    provider = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="products")
    name_en = models.CharField(_("Name (English)"), max_length=200)
    name_zh = models.CharField(_("Name (Chinese)"), max_length=200)
    description_en = models.TextField(blank=True)
    description_zh = models.TextField(blank=True)
    schema = models.JSONField(help_text=_("JSON Schema (draft 2020-12) every answer must validate against"))
    fields = models.JSONField(
        default=list, help_text=_('What the resident is shown: [{"name", "label_en", "label_zh"}]')
    )
    for_residents = models.BooleanField(
        _("Answers for a resident"),
        default=True,
        help_text=_("Whether a resident can be the data subject (schema and fields are then the resident's form)."),
    )
    forms = models.JSONField(
        _("Forms for other data subjects"),
        default=dict,
        blank=True,
        help_text=_(
            'By kind of data subject (e.g. "organisation", registered in exchange.subjects): '
            '{"schema": JSON Schema, "fields": [...]} of what the product answers for one.'
        ),
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("data product")
        verbose_name_plural = _("data products")

    def __str__(self) -> str:
        return self.id

    @property
    def version(self) -> int:
        return int(self.id.rsplit(".v", 1)[1])

    def form(self, subject_kind: str = "") -> tuple[dict, list] | None:
        """``(schema, fields)`` of what the product answers for a data subject of
        ``subject_kind`` (``""``: a resident; else a kind of :mod:`tungban.exchange.subjects`,
        from :attr:`forms`), or None when it has no form for that kind (issue 19)."""
        if not subject_kind:
            return (self.schema, self.fields) if self.for_residents else None
        found = (self.forms or {}).get(subject_kind)
        if not isinstance(found, dict):
            return None
        return found.get("schema") or {}, found.get("fields") or []

    def field_names(self, subject_kind: str = "") -> list[str]:
        """The names of the fields the person consenting is shown (for a data subject of
        ``subject_kind``, default a resident)."""
        form = self.form(subject_kind)
        fields = form[1] if form else []
        return [f["name"] for f in fields if isinstance(f, dict) and isinstance(f.get("name"), str)]

    def clean(self):
        """The fields shown to residents are exactly what the schema can deliver (issue 13
        item 19): a top-level object schema with ``additionalProperties: false`` whose
        ``properties`` are the fields' names; the same for each of :attr:`forms` (issue 19).

        :raises ValidationError: on ``fields`` (or ``schema``, or ``forms``), naming the difference.
        """
        self._clean_form(self.schema, self.fields)
        if not isinstance(self.forms, dict):
            raise ValidationError({"forms": _("The forms must be an object by kind of data subject.")})
        for kind, form in self.forms.items():
            if not isinstance(form, dict):
                raise ValidationError({"forms": _("The forms must be an object by kind of data subject.")})
            try:
                self._clean_form(form.get("schema"), form.get("fields") or [])
            except ValidationError as exc:
                raise ValidationError({"forms": f"{kind}: " + "; ".join(sum(exc.message_dict.values(), []))}) from None

    @staticmethod
    def _clean_form(schema, fields) -> None:
        schema = schema if isinstance(schema, dict) else {}
        if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
            raise ValidationError({"schema": _("The schema must describe an object with properties.")})
        if schema.get("additionalProperties") is not False:
            raise ValidationError(
                {"schema": _("The schema must set additionalProperties to false: residents see every field.")}
            )
        names = [f["name"] for f in fields if isinstance(f, dict) and isinstance(f.get("name"), str)]
        shown, deliverable = set(names), set(schema["properties"])
        problems = []
        if deliverable - shown:
            problems.append(
                _("the schema can deliver fields not shown to residents: %(names)s")
                % {"names": ", ".join(sorted(deliverable - shown))}
            )
        if shown - deliverable:
            problems.append(
                _("fields are shown that are not in the schema: %(names)s")
                % {"names": ", ".join(sorted(shown - deliverable))}
            )
        if problems or len(names) != len(fields):
            problems = problems or [_("every field needs a name")]
            raise ValidationError({"fields": "; ".join(str(p) for p in problems)})


class ConsentStatus(models.TextChoices):
    REQUESTED = "requested", _("Waiting for the resident")
    ACTIVE = "active", _("Active")
    DECLINED = "declined", _("Declined")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")
    EXHAUSTED = "exhausted", _("Used up")


class Consent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    consumer = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="consents_received")
    product = models.ForeignKey(DataProduct, on_delete=models.PROTECT, related_name="consents")
    resident = models.ForeignKey(
        Resident, null=True, blank=True, on_delete=models.PROTECT, related_name="data_consents"
    )
    # Issue 19: a data subject that is not a resident (an organisation by BR number), whose
    # consent an authorised person gives (``given_by``) under an authority (``given_under``,
    # e.g. a CorpID mandate) that must cover ``service``; checked through exchange.subjects.
    subject_kind = models.CharField(
        _("Kind of data subject"), max_length=20, blank=True, help_text=_("Empty: the resident is the data subject")
    )
    subject_id = models.CharField(_("Data subject's identifier"), max_length=40, blank=True)
    given_by = models.ForeignKey(
        Resident,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="data_consents_given",
        verbose_name=_("given by"),
        help_text=_("The authorised person who gave the consent for the data subject"),
    )
    given_under = models.CharField(
        _("Given under"), max_length=64, blank=True, help_text=_("The authority (mandate) it was given under")
    )
    service = models.CharField(
        _("Service"), max_length=64, blank=True, help_text=_("The service the authority must cover")
    )
    purpose = models.CharField(max_length=300)
    duration_seconds = models.PositiveIntegerField()
    max_uses = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Empty: any number of uses while valid; 1: single use")
    )
    uses = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=12, choices=ConsentStatus.choices, default=ConsentStatus.REQUESTED)
    approval = models.OneToOneField(
        ApprovalRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="data_consent"
    )
    consumer_sub = models.CharField(
        max_length=64, blank=True, help_text="The data subject's pairwise id at the data user"
    )
    provider_sub = models.CharField(
        max_length=64, blank=True, help_text="The data subject's pairwise id at the provider"
    )
    artefact = models.TextField(blank=True, help_text="Signed consent artefact (JWS)")
    created_at = models.DateTimeField(auto_now_add=True)
    granted_at = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        indexes = [
            models.Index(fields=["resident", "-created_at"]),
            models.Index(
                fields=["subject_kind", "subject_id", "-created_at"],
                condition=~models.Q(subject_kind=""),
                name="exchange_consent_subject",
            ),
        ]

    def effective_status(self, now=None) -> str:
        """The stored status, reading an overdue or used-up active consent (or a request the
        resident never answered) as ``expired`` / ``exhausted``."""
        now = now or timezone.now()
        if self.status == ConsentStatus.ACTIVE:
            if self.valid_until and now >= self.valid_until:
                return ConsentStatus.EXPIRED
            if self.max_uses is not None and self.uses >= self.max_uses:
                return ConsentStatus.EXHAUSTED
        if (
            self.status == ConsentStatus.REQUESTED
            and self.approval_id
            and self.approval.effective_status() == "expired"
        ):
            return ConsentStatus.EXPIRED
        return self.status


#: Issue 15, fourth round: the exchange's append-only rows (request id, attempt, record) keep no
#: database constraint to the data user's organisation or the resident: ids the writing
#: transaction copies from rows it has just read. Each constraint's check at the commit locked
#: the row it points to (``FOR KEY SHARE``: a WAL record, a dirtied page; on the data user's one
#: organisation row a MultiXact whenever two exchanges held it). The ORM's ``PROTECT`` still
#: refuses deleting them while referenced. The links to the consent keep theirs: the same
#: transaction holds the consent's row locked already, so its check locks nothing more.
NO_DB_CONSTRAINT = {"db_constraint": False, "db_index": False}


class ExchangeRecord(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    at = models.DateTimeField(default=timezone.now)
    consumer = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="exchanges_received", **NO_DB_CONSTRAINT
    )
    product_id = models.CharField(max_length=100)
    provider_id = models.CharField(max_length=40, blank=True)
    consent = models.ForeignKey(Consent, null=True, blank=True, on_delete=models.PROTECT, related_name="exchanges")
    resident = models.ForeignKey(
        Resident, null=True, blank=True, on_delete=models.PROTECT, related_name="data_exchanges", **NO_DB_CONSTRAINT
    )
    request_id = models.CharField(max_length=64, help_text="The data user's id for this request (replay detection)")
    outcome = models.CharField(max_length=40, help_text="'delivered' or the error code")
    provider_status = models.PositiveSmallIntegerField(null=True, blank=True)
    payload_sha256 = models.CharField(max_length=64, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    ledger_seq = models.BigIntegerField(null=True, help_text="Its entry in the retired hash chain (before issue 14)")

    class Meta:
        verbose_name = _("exchange record")
        verbose_name_plural = _("exchange records")
        ordering = ["-at"]
        # (resident, -at): the resident's history; (consumer, request_id): a data user's records
        indexes = [models.Index(fields=["resident", "-at"]), models.Index(fields=["consumer", "request_id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["ledger_seq"], condition=models.Q(ledger_seq__isnull=False), name="exchange_record_ledger_seq"
            )
        ]

    @property
    def delivered(self) -> bool:
        return self.outcome == "delivered"


class AttemptState(models.TextChoices):
    IN_FLIGHT = "in_flight", _("Waiting for the data provider")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


IN_FLIGHT = models.Q(state="in_flight")


class ExchangeAttempt(models.Model):
    """One call to a data provider for an exchange (issue 14 item 4).

    Written with state ``in_flight`` in its own committed transaction (with its log entry and
    the consent's use) *before* the provider is asked; completed after in the transaction that
    writes the :class:`ExchangeRecord` of the same ``id``: ``delivered``, or ``failed`` with
    the refusal's code in ``reason`` (the use is then given back). A worker killed in between
    leaves it ``in_flight``: past ``unknown_after`` (the provider timeout plus
    ``TUNGBAN_EXCHANGE_ATTEMPT_MARGIN``) its outcome is *unknown* — the provider may have
    released the data, the platform did not record delivery. Part of the resident's history:
    never purged. Refusals decided before any provider call (replays, unknown or inactive
    consents) have a record but no attempt.
    """

    id = models.UUIDField(
        primary_key=True, editable=False, help_text="The provider request's jti and the exchange record's id"
    )
    started_at = models.DateTimeField()
    unknown_after = models.DateTimeField(help_text="Still in flight after this: the outcome is unknown")
    consumer = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", **NO_DB_CONSTRAINT)
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="attempts", db_index=False)
    resident = models.ForeignKey(  # None when the data subject is not a resident (issue 19)
        Resident, null=True, on_delete=models.PROTECT, related_name="data_exchange_attempts", **NO_DB_CONSTRAINT
    )
    product_id = models.CharField(max_length=100)
    provider_id = models.CharField(max_length=40)
    request_id = models.CharField(max_length=64)
    state = models.CharField(max_length=12, choices=AttemptState.choices, default=AttemptState.IN_FLIGHT)
    reason = models.CharField(max_length=40, blank=True, help_text="A failed attempt's error code")
    completed_at = models.DateTimeField(null=True, blank=True)
    ledger_seq = models.BigIntegerField(null=True, help_text="The retired hash chain's entry of the attempt's start")

    class Meta:
        verbose_name = _("exchange attempt")
        verbose_name_plural = _("exchange attempts")
        ordering = ["-started_at"]
        # Issue 15, fourth round: an attempt is inserted in flight and completed by an UPDATE of
        # its state (never a heap-only update), so every index takes a second entry unless it
        # is partial: the lookups by resident (history), deadline (unknown outcome) and consent
        # (a revocation) are all of attempts still in flight, which the completed row leaves.
        indexes = [
            models.Index(
                fields=["resident", "-started_at"], condition=IN_FLIGHT, name="exchange_attempt_resident_open"
            ),
            models.Index(fields=["unknown_after"], condition=IN_FLIGHT, name="exchange_attempt_unknown_open"),
            models.Index(fields=["consent"], condition=IN_FLIGHT, name="exchange_attempt_consent_open"),
            models.Index(fields=["consumer", "request_id"]),  # attempt_for, a resumed request
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["ledger_seq"], condition=models.Q(ledger_seq__isnull=False), name="exchange_attempt_ledger_seq"
            )
        ]

    def shown_state(self, now=None) -> str:
        """``completed``, ``in_progress`` (in flight, the provider's time may still run) or
        ``unknown`` (in flight past ``unknown_after``)."""
        if self.state != AttemptState.IN_FLIGHT:
            return "completed"
        return "unknown" if (now or timezone.now()) >= self.unknown_after else "in_progress"


class RequestNonce(models.Model):
    """A data user's ``request_id`` already seen: one request per id (replay detection);
    forgotten after ``TUNGBAN_IDEMPOTENCY_TTL`` (:mod:`tungban.exchange.nonces`)."""

    consumer = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+", **NO_DB_CONSTRAINT)
    request_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("request nonce")
        verbose_name_plural = _("request nonces")
        constraints = [models.UniqueConstraint(fields=["consumer", "request_id"], name="request_id_once_per_data_user")]
        indexes = [models.Index(fields=["created_at"], name="request_nonce_created")]  # the purge (nonces.py)


class ProviderCircuit(models.Model):
    """The circuit breaker of one data provider (issue 14 item 1; :mod:`.resilience`), kept
    in the database so every web process and host sees the same state: ``closed`` (calls
    go through; ``failures`` counts consecutive failures), ``open`` (refused at once until
    ``opened_at`` + ``TUNGBAN_PROVIDER_BREAKER_RESET``), ``half-open`` (one trial call)."""

    provider = models.OneToOneField(Organisation, primary_key=True, on_delete=models.CASCADE, related_name="circuit")
    state = models.CharField(max_length=10, default="closed")
    failures = models.PositiveIntegerField(default=0)
    successes = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("provider circuit breaker")
        verbose_name_plural = _("provider circuit breakers")


class DataUserCircuit(models.Model):
    """The circuit breaker of one data user's calls to one data provider (issue 14 item 1,
    review finding H2; :mod:`.resilience`): failures of one data user's calls open this
    circuit, not the provider's (:class:`ProviderCircuit`), so a data user that makes the
    provider fail (a record it breaks on) is refused without refusing everyone. Same states
    and fields as :class:`ProviderCircuit`."""

    provider = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="data_user_circuits")
    data_user = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, default="closed")
    failures = models.PositiveIntegerField(default=0)
    successes = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("data user's circuit breaker")
        verbose_name_plural = _("data users' circuit breakers")
        constraints = [models.UniqueConstraint(fields=["provider", "data_user"], name="one_circuit_per_data_user")]


class AssistantAnswer(models.Model):
    """The personal assistant's last answer of a data product for a resident's panel card
    (security review M5): shown again, with its fetch time, until it is older than
    ``TUNGBAN_ASSISTANT_REFRESH_SECONDS`` or the resident taps "Refresh", so loading the panel
    is not one more exchange each time. The data is personal: encrypted at rest; dropped when
    its consent is no longer active, and by the scheduled purge once stale."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="assistant_answers")
    product_id = models.CharField(max_length=100)
    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, related_name="+")
    data = EncryptedTextField(_("data (JSON)"))
    fetched_at = models.DateTimeField(help_text=_("When the gateway delivered it"))

    class Meta:
        verbose_name = _("personal assistant's kept answer")
        verbose_name_plural = _("personal assistant's kept answers")
        constraints = [
            models.UniqueConstraint(fields=["resident", "product_id"], name="one_assistant_answer_per_product")
        ]
