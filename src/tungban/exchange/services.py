"""Consented Data Exchange Gateway: consents, exchanges, the log (the provider adapter is in
:mod:`.adapter`).

Sources: MISSION §3 and issue #4; PDPO (Cap. 486) DPP1 (purpose stated at collection) and
DPP3 (use only for the consented purpose); the consent artefact follows India's DEPA consent
artefact (consent id, data user, data provider, data subject, purpose, data life, frequency,
signature) and the Kantara Consent Receipt / ISO/IEC 29184 notice fields (controller,
purpose, collection method, consent time).

Flow::

    data user ──(private_key_jwt → token, scope cdeg)──► POST /api/v1/exchange/consents
    resident  ──(app approval, device-signed, kind "consent")──► consent active + artefact
    data user ──► POST /api/v1/exchange/requests {consent_id, product, request_id}
    gateway   ──(JWT typ cdeg-request+jwt)──► provider adapter ──► data
    gateway   ──► schema check, record + ledger entry, consent use counted ──► signed answer

Provider adapter API (what a provider implements; see docs/integrators.md)::

    POST {endpoint_url}/cdeg/v1/products/{product_id}
    Authorization: Bearer <JWS ES256, typ "cdeg-request+jwt", signed by the gateway key
        (JWKS at /oidc/jwks): {"iss", "aud": provider id, "iat", "exp", "jti": exchange id,
        "product", "consent_id", "purpose", "sub": pairwise id at the provider, "hkid"}>
    200 {"data": {...}} | 404 {"error": "no_record"} | 401 {"error": "invalid_token"}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import time
import uuid
from functools import cache
from pathlib import Path

import jsonschema
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tungban.core import idempotency
from tungban.core.errors import Conflict, DomainError, Forbidden
from tungban.identity import errors as identity_errors
from tungban.identity import services as identity
from tungban.identity.models import Resident
from tungban.keys import services as keys
from tungban.ledger import chain as ledger
from tungban.ledger.models import Entry
from tungban.oidc import errors as oidc_errors
from tungban.oidc import services as oidc
from tungban.oidc.models import Client
from tungban.wallet import services as wallet
from tungban.wallet.models import ApprovalRequest, RequestStatus

from . import adapter, errors
from .constants import CDEG_SCOPE, CONSENT_KIND
from .models import Consent, ConsentStatus, DataProduct, ExchangeRecord, Organisation, RequestNonce

log = logging.getLogger(__name__)

PRODUCTS_DIR = Path(__file__).parent / "products"
DELIVERED = "delivered"
LEDGER_KIND = "exchange"
REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")
ARTEFACT_VERSION = "1.0"


# --- Participants and products ----------------------------------------------------------------


@cache
def bundled_schema(product_id: str) -> dict:
    """The JSON Schema shipped in ``exchange/products/<id>.json``.

    :raises FileNotFoundError: no such bundled product.
    """
    return json.loads((PRODUCTS_DIR / f"{product_id}.json").read_text(encoding="utf-8"))


def check_schema(schema: dict) -> None:
    """:raises DomainError: ``invalid_schema`` unless ``schema`` is a valid draft 2020-12 schema."""
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise errors.InvalidSchema(reason=exc.message) from None


def _check_fields(instance, code: str) -> None:
    """Run the model's field validators (id patterns, URLs) before an update_or_create.

    :raises DomainError: ``code`` with every field's messages.
    """
    try:
        instance.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise DomainError(code, "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None


@transaction.atomic
def register_organisation(
    *,
    id: str,
    name_en: str,
    name_zh: str,
    kind: str = "department",
    client: Client | None = None,
    endpoint_url: str = "",
    timeout_seconds: float | None = None,
) -> Organisation:
    """Register or update a participant. A data user needs ``client`` (an OIDC client with
    registered JWKS, so it can use ``private_key_jwt``); a provider needs ``endpoint_url``.

    :raises DomainError: ``invalid_organisation`` (bad id), ``invalid_client_metadata``
        (the client has no public keys).
    """
    if client is not None and not client.jwks.get("keys"):
        raise oidc_errors.InvalidClientMetadata(
            _("A data user's client must register public keys (JWKS) for private_key_jwt."), field="client"
        )
    fields = {
        "name_en": name_en,
        "name_zh": name_zh,
        "kind": kind,
        "client": client,
        "endpoint_url": endpoint_url,
        "timeout_seconds": timeout_seconds,
    }
    _check_fields(Organisation(id=id, **fields), "invalid_organisation")
    org, _created = Organisation.objects.update_or_create(
        id=id,
        defaults=fields,
    )
    if client is not None and CDEG_SCOPE not in client.allowed_scopes:
        client.allowed_scopes = [*client.allowed_scopes, CDEG_SCOPE]
        client.save(update_fields=["allowed_scopes"])
    return org


@transaction.atomic
def register_product(
    *,
    id: str,
    provider: Organisation,
    name_en: str,
    name_zh: str,
    fields: list[dict],
    schema: dict | None = None,
    description_en: str = "",
    description_zh: str = "",
) -> DataProduct:
    """Publish (or update) a provider's data product; ``schema`` defaults to the bundled one.

    :raises DomainError: ``invalid_schema``, ``invalid_product`` (id not like
        ``dept.name.v1``).
    """
    schema = schema if schema is not None else bundled_schema(id)
    check_schema(schema)
    values = {
        "provider": provider,
        "name_en": name_en,
        "name_zh": name_zh,
        "fields": fields,
        "schema": schema,
        "description_en": description_en,
        "description_zh": description_zh,
    }
    _check_fields(DataProduct(id=id, **values), "invalid_product")
    product, _created = DataProduct.objects.update_or_create(id=id, defaults=values)
    return product


def catalogue() -> list[DataProduct]:
    """Active products of active providers, for data users to browse."""
    return list(
        DataProduct.objects.select_related("provider").filter(is_active=True, provider__is_active=True).order_by("id")
    )


def data_user_for(token) -> Organisation:
    """The participant behind a ``cdeg`` access token (a ``client_credentials`` token).

    :raises Forbidden: ``not_a_data_user`` when the client is not a registered, active data user.
    """
    org = Organisation.objects.filter(client_id=token.client_id, is_active=True).first()
    if org is None or token.resident_id:
        raise errors.NotADataUser()
    return org


# --- Consents ---------------------------------------------------------------------------------------


def _terms(consent: Consent) -> dict:
    product, user, provider = consent.product, consent.consumer, consent.product.provider
    return {
        "consent_id": str(consent.id),
        "data_user": {"id": user.id, "name_en": user.name_en, "name_zh": user.name_zh},
        "data_provider": {"id": provider.id, "name_en": provider.name_en, "name_zh": provider.name_zh},
        "product": {"id": product.id, "name_en": product.name_en, "name_zh": product.name_zh, "fields": product.fields},
        "purpose": consent.purpose,
        "duration_seconds": consent.duration_seconds,
        "max_uses": consent.max_uses,
    }


def terms_digest(terms: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of the consent terms the app shows; the device's
    approval JWS must carry it as ``terms``."""
    return hashlib.sha256(ledger.canonical(terms).encode()).hexdigest()


def request_consent(
    data_user: Organisation,
    *,
    product_id: str,
    purpose: str,
    duration_seconds: int,
    max_uses: int | None = None,
    sub: str | None = None,
) -> Consent:
    """Ask a data subject for consent; the resident answers in the app.

    :param sub: the resident's pairwise ``sub`` at the data user (from its login); without
        it the request is open and whoever approves it (QR code / app link) is the subject.
    :param duration_seconds: how long the consent lasts once given (1 s … the platform
        maximum, ``TUNGBAN_EXCHANGE_MAX_CONSENT_SECONDS``).
    :param max_uses: ``1`` for single use; ``None`` for any number while valid.
    :raises DomainError: ``unknown_product``, ``invalid_purpose``, ``invalid_duration``,
        ``invalid_max_uses``, ``unknown_subject`` (no such ``sub`` at this data user),
        ``account_suspended``.
    """
    product = (
        DataProduct.objects.select_related("provider")
        .filter(pk=product_id, is_active=True, provider__is_active=True)
        .first()
    )
    if product is None:
        raise errors.UnknownProduct()
    purpose = (purpose or "").strip()
    if not 5 <= len(purpose) <= 300:
        raise errors.InvalidPurpose()
    if (
        not isinstance(duration_seconds, int)
        or not 1 <= duration_seconds <= settings.TUNGBAN_EXCHANGE_MAX_CONSENT_SECONDS
    ):
        raise errors.InvalidDuration(max=settings.TUNGBAN_EXCHANGE_MAX_CONSENT_SECONDS)
    if max_uses is not None and (not isinstance(max_uses, int) or max_uses < 1):
        raise errors.InvalidMaxUses()
    resident = None
    if sub:
        resident = oidc.resident_for_sub(data_user.client, sub)
        if resident is None:
            raise errors.UnknownSubject()
        if not resident.is_active:
            raise identity_errors.AccountSuspended(_("This account is suspended."))
    client = data_user.client
    with transaction.atomic():
        consent = Consent.objects.create(
            consumer=data_user,
            product=product,
            resident=resident,
            purpose=purpose,
            duration_seconds=duration_seconds,
            max_uses=max_uses,
        )
        terms = _terms(consent)
        consent.approval = wallet.create_request(
            kind=CONSENT_KIND,
            requester_id=client.client_id,
            requester_name_en=data_user.name_en,
            requester_name_zh=data_user.name_zh,
            requester_logo_url=client.logo_url,
            requested_claims=[],
            resident=resident,
            context={"consent": terms, "terms_sha256": terms_digest(terms)},
            binds={"terms": terms_digest(terms)},
        )
        consent.save(update_fields=["approval"])
    return consent


def get_consent(data_user: Organisation, consent_id) -> Consent:
    """A consent of this data user.

    :raises NotFound: ``unknown_consent``; :class:`Forbidden` ``foreign_consent`` (another data user's).
    """
    consent = _find_consent(consent_id)
    if consent is None:
        raise errors.UnknownConsent()
    if consent.consumer_id != data_user.id:
        raise errors.ForeignConsent()
    return consent


def _find_consent(consent_id) -> Consent | None:
    try:
        return Consent.objects.select_related("product__provider", "consumer__client", "approval", "resident").get(
            pk=consent_id
        )
    except (Consent.DoesNotExist, ValueError, ValidationError):
        return None


def _artefact(consent: Consent) -> str:
    """The signed consent artefact: compact JWS (ES256, ``typ`` "consent+jwt"; RFC 7515,
    RFC 8725 §3.11), verifiable with the platform JWKS."""
    approval = consent.approval
    claims = {
        "iss": settings.TUNGBAN_ISSUER,
        "jti": str(consent.id),
        "ver": ARTEFACT_VERSION,
        "iat": int(consent.granted_at.timestamp()),
        "nbf": int(consent.granted_at.timestamp()),
        "exp": int(consent.valid_until.timestamp()),
        "data_subject": {"sub_at_data_user": consent.consumer_sub, "sub_at_provider": consent.provider_sub},
        "data_user": {
            "id": consent.consumer_id,
            "name_en": consent.consumer.name_en,
            "name_zh": consent.consumer.name_zh,
        },
        "data_provider": {
            "id": consent.product.provider_id,
            "name_en": consent.product.provider.name_en,
            "name_zh": consent.product.provider.name_zh,
        },
        "product": consent.product_id,
        "purpose": consent.purpose,
        "usage": {"max_uses": consent.max_uses},
        "collection_method": "tungban app: approval signed with the bound device key",
        "evidence": {
            "approval_id": str(approval.id),
            "device_signature_sha256": hashlib.sha256(approval.signature.encode()).hexdigest(),
            "user_verification": approval.user_verification,
        },
    }
    return keys.sign_jwt(claims, "consent+jwt")


def on_approval_decided(approval: ApprovalRequest) -> None:
    """Receiver of the app's decision on a consent request (inside its transaction): an
    approval activates the consent and signs its artefact, a decline records it."""
    consent = (
        Consent.objects.select_for_update(of=("self",))
        .select_related("product__provider", "consumer__client")
        .filter(approval=approval)
        .first()
    )
    if consent is None or consent.status != ConsentStatus.REQUESTED:
        return
    if approval.status != RequestStatus.APPROVED:
        consent.status = ConsentStatus.DECLINED
        consent.resident = approval.resident
        consent.save(update_fields=["status", "resident"])
        return
    resident = approval.resident
    now = timezone.now()
    consent.resident = resident
    consent.status = ConsentStatus.ACTIVE
    consent.granted_at = now
    consent.valid_until = now + dt.timedelta(seconds=consent.duration_seconds)
    consent.consumer_sub = oidc.pairwise_sub(resident, consent.consumer.client)
    consent.provider_sub = oidc.sector_sub(resident, provider_sector(consent.product.provider))
    consent.artefact = _artefact(consent)
    consent.save()


def provider_sector(provider: Organisation) -> str:
    """The pairwise sector of a data provider at the gateway."""
    return f"cdeg:{provider.id}"


def consents_of(resident: Resident) -> list[Consent]:
    """Every consent the resident answered, newest first (for the app)."""
    return list(
        Consent.objects.select_related("product__provider", "consumer", "approval")
        .filter(resident=resident)
        .exclude(status=ConsentStatus.REQUESTED)
        .order_by("-created_at")[:200]
    )


def revoke(resident: Resident, consent_id) -> Consent:
    """The data subject withdraws a consent (PDPO s.2(3): prescribed consent may be
    withdrawn by written notice). Takes effect on the data user's next request — also one
    already waiting for its provider.

    :raises NotFound: ``unknown_consent`` (none of this resident's).
    """
    with transaction.atomic():
        consent = None
        try:
            consent = Consent.objects.select_for_update().filter(pk=consent_id, resident=resident).first()
        except (ValueError, ValidationError):
            pass
        if consent is None:
            raise errors.UnknownConsent()
        if consent.effective_status() == ConsentStatus.ACTIVE:  # an expired or used-up one stays so
            consent.status = ConsentStatus.REVOKED
            consent.revoked_at = timezone.now()
            consent.save(update_fields=["status", "revoked_at"])
            identity.audit(
                resident,
                "consent_revoked",
                None,
                consent=str(consent.id),
                data_user=consent.consumer_id,
                product=consent.product_id,
            )
    return consent


# --- Exchanges ----------------------------------------------------------------------------------


_REFUSALS = {
    ConsentStatus.REQUESTED: (
        Conflict,
        "consent_pending",
        _("The resident has not answered this consent request yet."),
    ),
    ConsentStatus.DECLINED: (Forbidden, "consent_declined", _("The resident declined this consent.")),
    ConsentStatus.REVOKED: (Forbidden, "consent_revoked", _("The resident revoked this consent.")),
    ConsentStatus.EXPIRED: (Forbidden, "consent_expired", _("This consent has expired.")),
    ConsentStatus.EXHAUSTED: (
        Forbidden,
        "consent_exhausted",
        _("This consent has been used as many times as it allows."),
    ),
}


class _Attempt:
    """What one exchange attempt has learnt so far; recorded once, at the end."""

    def __init__(self, data_user: Organisation, product_id: str, request_id: str):
        self.id = uuid.uuid4()
        self.started = time.monotonic()
        self.at = timezone.now()
        self.data_user = data_user
        self.product_id = str(product_id or "")[:100]
        self.request_id = str(request_id or "")[:64]
        self.consent: Consent | None = None
        self.resident = None
        self.provider_id = ""
        self.provider_status = None

    def record(self, outcome: str, payload_sha256: str = "") -> ExchangeRecord:
        """Write the record and its ledger entry (call inside a transaction)."""
        rec = ExchangeRecord.objects.create(
            id=self.id,
            at=self.at,
            consumer=self.data_user,
            product_id=self.product_id,
            provider_id=self.provider_id,
            consent=self.consent,
            resident=self.resident,
            request_id=self.request_id,
            outcome=outcome,
            provider_status=self.provider_status,
            payload_sha256=payload_sha256,
            duration_ms=int((time.monotonic() - self.started) * 1000),
        )
        entry = ledger.append(LEDGER_KIND, str(rec.id), record_fields(rec))
        rec.ledger_seq = entry.seq
        rec.save(update_fields=["ledger_seq"])
        return rec

    def refuse(self, error: DomainError) -> DomainError:
        """Record the refused attempt (its own transaction) and return the error to raise."""
        with transaction.atomic():
            self.record(error.code)
        return error


def record_fields(rec: ExchangeRecord) -> dict:
    """The metadata of a record that the ledger entry fixes (no personal data)."""
    return {
        "id": str(rec.id),
        "at_record": rec.at.isoformat(timespec="microseconds"),
        "data_user": rec.consumer_id,
        "product": rec.product_id,
        "provider": rec.provider_id,
        "consent": str(rec.consent_id) if rec.consent_id else None,
        "data_subject": str(rec.resident.public_id) if rec.resident_id else None,
        "request_id": rec.request_id,
        "outcome": rec.outcome,
        "provider_status": rec.provider_status,
        "payload_sha256": rec.payload_sha256,
    }


def exchange(data_user: Organisation, *, consent_id, product_id: str, request_id: str, resume: bool = False) -> dict:
    """Obtain data for a data user under a consent.

    Checks, in order (each refusal is recorded in the log, then raised): a fresh
    ``request_id`` (``replayed_request``, 409); the consent exists (``unknown_consent``,
    404), is this data user's (``foreign_consent``, 403), covers ``product_id``
    (``product_not_covered``, 403), and is active (``consent_pending`` 409,
    ``consent_declined``/``consent_revoked``/``consent_expired``/``consent_exhausted`` 403).
    Then the provider is asked: ``provider_unavailable`` (502: down or refused),
    ``provider_timeout`` (504), ``no_record`` (404: the provider holds nothing on this
    person), ``provider_error`` (502), ``provider_bad_data`` (502: the answer fails the
    product's schema). The consent is checked again, locked, after the provider answered,
    so a revocation or the last use taken meanwhile still stops delivery.

    :returns: ``{"exchange_id", "consent_id", "product", "provider", "request_id",
        "delivered_at", "payload_sha256", "data", "signed"}`` where ``signed`` is a JWS
        (ES256, ``typ`` "cdeg-response+jwt") over the same facts and the data.
    :param resume: the API's idempotency layer found a first attempt with this ``request_id``
        and the same body that got no kept answer (:func:`tungban.core.idempotency.resuming`):
        its ``request_id`` is not a replay. A delivery stores its answer for retries with
        :func:`tungban.core.idempotency.complete` in the transaction that counts the use
        (issue 14 item 2).
    :raises DomainError: as above; ``invalid_request`` (400, not recorded) for a malformed
        ``request_id``.
    """
    if not isinstance(request_id, str) or not REQUEST_ID.match(request_id):
        raise errors.InvalidRequest()
    attempt = _Attempt(data_user, product_id, request_id)
    try:
        with transaction.atomic():
            RequestNonce.objects.create(consumer=data_user, request_id=request_id)
    except IntegrityError:
        if not resume:
            raise attempt.refuse(errors.ReplayedRequest()) from None
    consent = _find_consent(consent_id)
    if consent is None:
        raise attempt.refuse(errors.UnknownConsent())
    if consent.consumer_id != data_user.id:
        raise attempt.refuse(errors.ForeignConsent())
    attempt.consent, attempt.resident = consent, consent.resident
    attempt.provider_id = consent.product.provider_id
    if consent.product_id != product_id:
        raise attempt.refuse(errors.ProductNotCovered())
    _check_active(consent, attempt)
    data = adapter.ask_provider(consent, attempt)
    payload_sha256 = hashlib.sha256(ledger.canonical(data).encode()).hexdigest()
    with transaction.atomic():
        locked = Consent.objects.select_for_update().get(pk=consent.pk)
        status = locked.effective_status()
        if status != ConsentStatus.ACTIVE:
            cls, code, message = _REFUSALS[status]
            attempt.record(code)
            refusal = cls(code, message)
        else:
            refusal = None
            locked.uses += 1
            locked.save(update_fields=["uses"])
            rec = attempt.record(DELIVERED, payload_sha256)
            answer = adapter.signed_answer(rec, consent, data)
            idempotency.complete(answer)  # a retry gets this answer, nothing counted twice (issue 14 item 2)
    if refusal is not None:
        raise refusal
    return answer


def _check_active(consent: Consent, attempt: _Attempt) -> None:
    status = consent.effective_status()
    if status != ConsentStatus.ACTIVE:
        cls, code, message = _REFUSALS[status]
        raise attempt.refuse(cls(code, message))
    if consent.resident is None or not consent.resident.is_active:
        raise attempt.refuse(identity_errors.AccountSuspended(_("The data subject's account is suspended.")))


# --- The resident's view ------------------------------------------------------------------------


def history_of(resident: Resident, limit: int = 100) -> list[ExchangeRecord]:
    """Exchanges of the resident's data (delivered and refused), newest first."""
    return list(
        ExchangeRecord.objects.select_related("consumer", "consent__product__provider").filter(resident=resident)[
            :limit
        ]
    )


def consent_summary(consent: Consent) -> dict:
    """What the app shows of a consent."""
    return {
        "id": str(consent.id),
        "status": consent.effective_status(),
        "data_user": {
            "id": consent.consumer_id,
            "name_en": consent.consumer.name_en,
            "name_zh": consent.consumer.name_zh,
        },
        "data_provider": {
            "id": consent.product.provider_id,
            "name_en": consent.product.provider.name_en,
            "name_zh": consent.product.provider.name_zh,
        },
        "product": {"id": consent.product_id, "name_en": consent.product.name_en, "name_zh": consent.product.name_zh},
        "purpose": consent.purpose,
        "granted_at": consent.granted_at.isoformat() if consent.granted_at else None,
        "valid_until": consent.valid_until.isoformat() if consent.valid_until else None,
        "max_uses": consent.max_uses,
        "uses": consent.uses,
        "revoked_at": consent.revoked_at.isoformat() if consent.revoked_at else None,
    }


def exchange_summary(rec: ExchangeRecord) -> dict:
    """What the app shows of an exchange: who received what from whom, when, and the outcome."""
    product = rec.consent.product if rec.consent_id else None
    provider = product.provider if product else None
    return {
        "id": str(rec.id),
        "at": rec.at.isoformat(),
        "data_user": {"id": rec.consumer_id, "name_en": rec.consumer.name_en, "name_zh": rec.consumer.name_zh},
        "data_provider": {"id": provider.id, "name_en": provider.name_en, "name_zh": provider.name_zh}
        if provider
        else None,
        "product": {
            "id": rec.product_id,
            "name_en": product.name_en if product else rec.product_id,
            "name_zh": product.name_zh if product else rec.product_id,
        },
        "purpose": rec.consent.purpose if rec.consent_id else "",
        "consent_id": str(rec.consent_id) if rec.consent_id else None,
        "outcome": rec.outcome,
        "delivered": rec.delivered,
    }


# --- Verification -------------------------------------------------------------------------------


def verify_log(*, expect: tuple[int, str] | None = None) -> ledger.Report:
    """Verify the ledger's chain and that every exchange record matches its log entry.

    Finds: a record altered after it was logged (its fields differ from the entry), a
    record deleted (a log entry without its record), a record never logged, and whatever
    :func:`tungban.ledger.chain.verify` finds in the chain itself.
    """
    report = ledger.verify(expect=expect)
    seen = set()
    records = ExchangeRecord.objects.select_related("resident").order_by("ledger_seq")
    batch: list[ExchangeRecord] = []

    def check(batch):
        found = ledger.entries(LEDGER_KIND, [str(r.id) for r in batch])
        for rec in batch:
            entry = found.get(str(rec.id))
            if entry is None or entry.seq != rec.ledger_seq:
                report.problems.append(f"exchange {rec.id}: not in the log")
                continue
            seen.add(entry.seq)
            logged = ledger.body_of(entry)
            for key, value in record_fields(rec).items():
                if logged.get(key) != value:
                    report.problems.append(f"exchange {rec.id} (entry {entry.seq}): '{key}' altered after logging")

    for rec in records.iterator(chunk_size=2000):
        batch.append(rec)
        if len(batch) == 2000:
            check(batch)
            batch = []
    if batch:
        check(batch)
    for seq, ref in Entry.objects.filter(kind=LEDGER_KIND).values_list("seq", "reference").iterator(chunk_size=5000):
        if seq not in seen:
            report.problems.append(f"entry {seq}: exchange {ref} is missing (deleted record)")
    return report
