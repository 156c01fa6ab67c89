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
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from tungban.core import idempotency, onestatement
from tungban.core.errors import Conflict, DomainError, Forbidden
from tungban.core.killpoints import killpoint
from tungban.identity import errors as identity_errors
from tungban.identity import services as identity
from tungban.identity.models import Resident
from tungban.keys import services as keys
from tungban.ledger import chain as ledger
from tungban.ledger import services as ledger_log
from tungban.ledger.models import Entry
from tungban.oidc import errors as oidc_errors
from tungban.oidc import services as oidc
from tungban.oidc.models import Client
from tungban.wallet import services as wallet
from tungban.wallet.models import ApprovalRequest, RequestStatus

from . import adapter, errors, hotsql, subjects
from .constants import CDEG_SCOPE, CONSENT_KIND
from .models import (
    AttemptState,
    Consent,
    ConsentStatus,
    DataProduct,
    ExchangeAttempt,
    ExchangeRecord,
    Organisation,
)

log = logging.getLogger(__name__)

PRODUCTS_DIR = Path(__file__).parent / "products"
DELIVERED = "delivered"
LEDGER_KIND = "exchange"
#: Log entries of attempts' starts (issue 14 item 4): one without a LEDGER_KIND entry of the
#: same reference is an attempt whose outcome the platform never recorded.
ATTEMPT_LEDGER_KIND = "exchange_attempt"
#: A request id's syntax; with ``.match``, nothing may follow it, not even a newline (``\Z``).
REQUEST_ID = re.compile(r"[A-Za-z0-9_.:-]{8,64}\Z")
ARTEFACT_VERSION = "1.0"


def iat_is_fresh(iat: int, now: float) -> bool:
    """Whether a request's ``iat`` (integer seconds since the epoch, the data user's clock) is
    within ``TUNGBAN_CLOCK_SKEW`` seconds of ``now`` (seconds, the gateway's clock); an
    integer beyond any float clock (|iat| ≥ 2**53) is not, and raises nothing."""
    return -(2**53) < iat < 2**53 and abs(now - iat) <= settings.TUNGBAN_CLOCK_SKEW


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
    for_residents: bool = True,
    forms: dict | None = None,
) -> DataProduct:
    """Publish (or update) a provider's data product; ``schema`` defaults to the bundled one.
    ``forms``: what it answers for other kinds of data subject (issue 19), ``{kind: {"fields":
    [...], "schema": ...}}``, each schema defaulting to the bundled ``<id>.<kind>.json`` (else
    the product's own); ``for_residents`` False: no resident can be its data subject.

    :raises DomainError: ``invalid_schema``, ``invalid_product`` (id not like
        ``dept.name.v1``, or fields that are not the schema's).
    """
    schema = schema if schema is not None else bundled_schema(id)
    check_schema(schema)
    forms = {
        kind: {"schema": _form_schema(id, kind, form.get("schema"), schema), "fields": form.get("fields") or []}
        for kind, form in (forms or {}).items()
    }
    for form in forms.values():
        check_schema(form["schema"])
    values = {
        "for_residents": for_residents,
        "forms": forms,
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


def _form_schema(product_id: str, kind: str, given: dict | None, own: dict) -> dict:
    if given is not None:
        return given
    try:
        return bundled_schema(f"{product_id}.{kind}")
    except FileNotFoundError:
        return own


def catalogue() -> list[DataProduct]:
    """Active products of active providers, for data users to browse."""
    return list(
        DataProduct.objects.select_related("provider").filter(is_active=True, provider__is_active=True).order_by("id")
    )


def get_organisation(org_id: str) -> Organisation:
    """An active participant by id. :raises Organisation.DoesNotExist: none."""
    return Organisation.objects.select_related("client").get(id=org_id, is_active=True)


def data_user_for(token) -> Organisation:
    """The participant behind a ``cdeg`` access token (a ``client_credentials`` token).

    :raises Forbidden: ``not_a_data_user`` when the client is not a registered, active data user.
    """
    org = Organisation.objects.select_related("client").filter(client_id=token.client_id, is_active=True).first()
    if org is None or token.resident_id:
        raise errors.NotADataUser()
    return org


# --- Consents ---------------------------------------------------------------------------------------


def _terms(consent: Consent, subject: subjects.Authority | None = None) -> dict:
    product, user, provider = consent.product, consent.consumer, consent.product.provider
    fields = (product.form(consent.subject_kind) or ({}, []))[1]
    terms = {
        "consent_id": str(consent.id),
        "data_user": {"id": user.id, "name_en": user.name_en, "name_zh": user.name_zh},
        "data_provider": {"id": provider.id, "name_en": provider.name_en, "name_zh": provider.name_zh},
        "product": {"id": product.id, "name_en": product.name_en, "name_zh": product.name_zh, "fields": fields},
        "purpose": consent.purpose,
        "duration_seconds": consent.duration_seconds,
        "max_uses": consent.max_uses,
    }
    if consent.subject_kind:  # issue 19: the person consents for the organisation, which the app names
        terms["data_subject"] = {
            "kind": consent.subject_kind,
            "id": consent.subject_id,
            "name_en": subject.name_en if subject else "",
            "name_zh": subject.name_zh if subject else "",
        }
        terms["service"] = consent.service
    return terms


def _subject_details(terms: dict) -> list[dict]:
    """The lines the app shows above a consent for a data subject that is not the resident
    (the wallet's ``details``): whom the consent is for, in both languages."""
    subject = terms.get("data_subject")
    if not subject:
        return []
    name_en = f"{subject['name_en']} ({subject['id']})"
    name_zh = f"{subject['name_zh'] or subject['name_en']}（{subject['id']}）"
    return [
        {"label": {"en": "On behalf of", "zh": "代表"}, "value": {"en": name_en, "zh": name_zh}},
        {
            "label": {"en": "Whose data", "zh": "誰的資料"},
            "value": {"en": "The company's, not yours", "zh": "公司的資料，並非你的個人資料"},
        },
    ]


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
    subject: tuple[str, str] | None = None,
    given_by: Resident | None = None,
    service: str | None = None,
) -> Consent:
    """Ask a data subject for consent; the resident answers in the app.

    :param sub: the resident's pairwise ``sub`` at the data user (from its login); without
        it the request is open and whoever approves it (QR code / app link) is the subject.
        With ``subject``: the authorised person asked to consent for it.
    :param subject: ``(kind, id)`` of a data subject that is not a resident (issue 19), e.g.
        ``("organisation", "21812345")``: an authorised person (``given_by``, or the one with
        ``sub``, or — for an open request — whoever approves it) consents for it, under an
        authority covering ``service`` (default the data user's ``client_id``), checked now
        (when the person is known), at the approval and before every exchange
        (:mod:`.subjects`).
    :param duration_seconds: how long the consent lasts once given (1 s … the platform
        maximum, ``TUNGBAN_EXCHANGE_MAX_CONSENT_SECONDS``).
    :param max_uses: ``1`` for single use; ``None`` for any number while valid.
    :raises DomainError: ``unknown_product``, ``invalid_purpose``, ``invalid_duration``,
        ``invalid_max_uses``, ``unknown_subject`` (no such ``sub`` at this data user),
        ``account_suspended``, ``unknown_subject_kind`` (400), ``no_subject_form`` (400: the
        product answers nothing for that kind of data subject), and the subject kind's
        refusals (for an organisation: corpid's ``no_mandate``, ``mandate_revoked``,
        ``mandate_out_of_scope``, ``organisation_suspended``, ``br_number_format``, …).
        Nothing is stored when refused.
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
    kind = subject_id = ""
    if subject is not None:
        kind, subject_id = str(subject[0] or ""), str(subject[1] or "")
        subjects.get(kind)  # unknown_subject_kind
    if product.form(kind) is None:
        raise errors.NoSubjectForm(kind=kind or "resident")
    resident = given_by
    if sub and resident is None:
        resident = oidc.resident_for_sub(data_user.client, sub)
        if resident is None:
            raise errors.UnknownSubject()
    if resident is not None and not resident.is_active:
        raise identity_errors.AccountSuspended(_("This account is suspended."))
    client = data_user.client
    service = (service or client.client_id)[:64]
    found = None
    if kind and resident is not None:  # the person asked is known: may they consent for it?
        found = subjects.authorise(kind, subject_id, resident, service)
        subject_id = found.subject_id
    elif kind:  # an open request: the subject must exist; whoever approves is checked then
        found = subjects.get(kind).describe(subject_id)
        subject_id = found.subject_id
    with transaction.atomic():
        consent = Consent.objects.create(
            consumer=data_user,
            product=product,
            resident=None if kind else resident,
            subject_kind=kind,
            subject_id=subject_id[:40],
            given_by=resident if kind else None,
            given_under=found.given_under if found and resident is not None else "",
            service=service if kind else "",
            purpose=purpose,
            duration_seconds=duration_seconds,
            max_uses=max_uses,
        )
        terms = _terms(consent, found)
        context = {"consent": terms, "terms_sha256": terms_digest(terms)}
        if kind:
            context["details"] = _subject_details(terms)
        consent.approval = wallet.create_request(
            kind=CONSENT_KIND,
            requester_id=client.client_id,
            requester_name_en=data_user.name_en,
            requester_name_zh=data_user.name_zh,
            requester_logo_url=client.logo_url,
            requested_claims=[],
            resident=resident,
            context=context,
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


def _find_consent(consent_id, *, lock: bool = False) -> Consent | None:
    """The consent with its product, provider, data user (and client), approval and data
    subject, in one query; with ``lock`` its row is locked (``FOR UPDATE OF`` the consent
    only, inside the caller's transaction)."""
    rows = Consent.objects.select_related("product__provider", "consumer__client", "approval", "resident")
    if lock:
        rows = rows.select_for_update(of=("self",))
    try:
        return rows.get(pk=consent_id)
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
        "data_subject": _artefact_subject(consent),
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
    if consent.subject_kind:  # issue 19: who gave it for the organisation, under which authority
        claims["given_by"] = {
            "sub_at_data_user": consent.consumer_sub,
            "authority": consent.given_under,
            "service": consent.service,
        }
    return keys.sign_jwt(claims, "consent+jwt")


def _artefact_subject(consent: Consent) -> dict:
    """The artefact's ``data_subject``: the resident's pairwise ids, or (issue 19) the
    organisation itself — ``{"kind", "id", "name_en", "name_zh"}`` (a BR number is public)."""
    if not consent.subject_kind:
        return {"sub_at_data_user": consent.consumer_sub, "sub_at_provider": consent.provider_sub}
    terms = (consent.approval.context or {}).get("consent", {}) if consent.approval_id else {}
    named = terms.get("data_subject") or {}
    return {
        "kind": consent.subject_kind,
        "id": consent.subject_id,
        "name_en": named.get("name_en", ""),
        "name_zh": named.get("name_zh", ""),
    }


def subject_refusal(consent: Consent) -> DomainError | None:
    """Why the authorised person who gave ``consent`` for its (non-resident) data subject may
    no longer use it — the subject kind's check (:mod:`.subjects`): their authority (the same
    one, :attr:`~.models.Consent.given_under`) still in force for the service, the subject
    not suspended — or None when they still may. Not for a resident's consent."""
    if consent.given_by_id is None:
        return errors.UnknownConsent()
    try:
        subjects.authorise(
            consent.subject_kind,
            consent.subject_id,
            consent.given_by,
            consent.service,
            given_under=consent.given_under,
        )
    except DomainError as exc:
        return exc
    return None


def on_approval_decided(approval: ApprovalRequest) -> None:
    """Receiver of the app's decision on a consent request (inside its transaction): an
    approval activates the consent and signs its artefact, a decline records it.

    A consent for an organisation (issue 19) is checked again first (:mod:`.subjects`): the
    approving person must still hold the authority for the service; if not, the kind's error
    is raised, which fails the approval (the app shows it) and stores nothing of it.
    """
    consent = (
        Consent.objects.select_for_update(of=("self",))
        .select_related("product__provider", "consumer__client", "approval")
        .filter(approval=approval)
        .first()
    )
    if consent is None or consent.status != ConsentStatus.REQUESTED:
        return
    resident = approval.resident
    if approval.status != RequestStatus.APPROVED:
        consent.status = ConsentStatus.DECLINED
        if consent.subject_kind:
            consent.given_by = resident
        else:
            consent.resident = resident
        consent.save(update_fields=["status", "resident", "given_by"])
        return
    now = timezone.now()
    if consent.subject_kind:
        found = subjects.authorise(
            consent.subject_kind,
            consent.subject_id,
            resident,
            consent.service,
            given_under=consent.given_under or None,
        )
        consent.given_by, consent.given_under = resident, found.given_under
        consent.provider_sub = ""  # the provider finds an organisation by its public number
    else:
        consent.resident = resident
        consent.provider_sub = oidc.sector_sub(resident, provider_sector(consent.product.provider))
    consent.status = ConsentStatus.ACTIVE
    consent.granted_at = now
    consent.valid_until = now + dt.timedelta(seconds=consent.duration_seconds)
    consent.consumer_sub = oidc.pairwise_sub(resident, consent.consumer.client)
    consent.artefact = _artefact(consent)
    consent.save()


def on_approval_failed(approval: ApprovalRequest) -> None:
    """Receiver of a consent's approval refused by a check (inside its transaction; issue 19:
    the approver held no authority for the organisation): the request is answered — declined —
    so the data user is not left waiting."""
    Consent.objects.filter(approval=approval, status=ConsentStatus.REQUESTED).update(status=ConsentStatus.DECLINED)


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
    already waiting for its provider, even when that one holds the consent's last use. The
    consent's kept answers (for retries) are deleted in the same transaction, replaced by the
    refusal a new request would get — also for a consent already used up or expired, whose
    status stays (issue 14 review M1; PDPO DPP2(2)).

    :raises NotFound: ``unknown_consent`` (none of this resident's).
    """
    return _revoke(Consent.objects.filter(resident=resident), consent_id, resident)


def revoke_about(kind: str, subject_id: str, consent_id, actor: Resident) -> Consent:
    """Revoke a consent whose data subject is ``(kind, subject_id)`` (issue 19: an
    organisation's administrator, ``actor``, checked by the caller), as :func:`revoke` does.

    :raises NotFound: ``unknown_consent`` (none about this subject: also another company's).
    """
    return _revoke(Consent.objects.filter(subject_kind=kind, subject_id=subject_id), consent_id, actor)


def _revoke(found, consent_id, actor: Resident) -> Consent:
    with transaction.atomic():
        consent = None
        try:
            consent = found.select_for_update().filter(pk=consent_id).first()
        except (ValueError, ValidationError):
            pass
        if consent is None:
            raise errors.UnknownConsent()
        status = consent.effective_status()
        if status == ConsentStatus.EXHAUSTED and consent.attempts.filter(state=AttemptState.IN_FLIGHT).exists():
            status = ConsentStatus.ACTIVE  # its last use is held by an attempt that must still be stoppable
        if status != ConsentStatus.ACTIVE:  # an expired or used-up one stays so, but its
            if status in _REFUSALS:  # kept answers go all the same: the resident withdrew (review M1)
                _forget_answers(consent, status)
        else:
            consent.status = ConsentStatus.REVOKED
            consent.revoked_at = timezone.now()
            consent.save(update_fields=["status", "revoked_at"])
            _forget_answers(consent, ConsentStatus.REVOKED)  # its kept answers go with it (review M1)
            identity.audit(
                actor,
                "consent_revoked",
                None,
                consent=str(consent.id),
                data_user=consent.consumer_id,
                product=consent.product_id,
                **({"subject": f"{consent.subject_kind}:{consent.subject_id}"} if consent.subject_kind else {}),
            )
    return consent


def consents_about(kind: str, subject_id: str, limit: int = 200) -> list[Consent]:
    """Every consent whose data subject is ``(kind, subject_id)`` (issue 19: an organisation),
    newest first, with who gave it (:attr:`~.models.Consent.given_by`)."""
    return list(
        Consent.objects.select_related("product__provider", "consumer", "approval", "given_by")
        .filter(subject_kind=kind, subject_id=subject_id)
        .order_by("-created_at")[:limit]
    )


def history_about(kind: str, subject_id: str, limit: int = 100) -> list[ExchangeRecord | ExchangeAttempt]:
    """Exchanges of the data of ``(kind, subject_id)`` (issue 19: an organisation), newest
    first, as :func:`history_of` gives a resident's: every record under its consents and every
    attempt still in flight."""
    about = {"consent__subject_kind": kind, "consent__subject_id": subject_id}
    related = ("consumer", "consent__product__provider")
    records = list(ExchangeRecord.objects.select_related(*related).filter(**about)[:limit])
    attempts = list(
        ExchangeAttempt.objects.select_related(*related).filter(state=AttemptState.IN_FLIGHT, **about)[:limit]
    )
    merged = records + attempts
    merged.sort(key=lambda x: x.started_at if isinstance(x, ExchangeAttempt) else x.at, reverse=True)
    return merged[:limit]


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


# --- Kept answers (issue 14 item 2; review M1) ---------------------------------------------------
#
# A delivered answer is kept (encrypted) for retries of the same request_id, for at most
# TUNGBAN_IDEMPOTENCY_TTL. It carries the resident's data, so it is given again only while the
# consent still allows it, and deleted (replaced by the refusal) as soon as it does not: PDPO
# DPP2(2), personal data not kept longer than its purpose needs, and s.2(3), consent withdrawn.

ANSWER_SUBJECT = "exchange.consent:"


def answer_subject(consent_id) -> str:
    """The subject of a consent's kept answers (:func:`tungban.core.idempotency.complete`)."""
    return f"{ANSWER_SUBJECT}{consent_id}"


def _refusal(status: str) -> DomainError:
    cls, code, message = _REFUSALS[status]
    return cls(code, message)


def _forget_answers(consent: Consent, status: str) -> int:
    """Replace the consent's kept answers with the refusal of ``status`` (the data user's
    language is not known here: the platform's default)."""
    with translation.override(settings.LANGUAGE_CODE):
        return idempotency.forget(answer_subject(consent.id), _refusal(status))


def recheck_answer(data_user: Organisation, answer: dict) -> None:
    """Before a kept answer (a delivery's :func:`exchange` result) is given again to a retry:
    the same checks a new request would meet, in the same order, for the consent it was
    delivered under — this data user's (``foreign_consent``), still active (``consent_revoked``,
    ``consent_expired``, ...; used up only by its own uses still counts as active, so the retry
    of a consent's last use gets its answer), the data subject's account active
    (``account_suspended``). Not recorded as a new exchange: it discloses nothing the log does
    not already show as delivered to this data user; it is logged (``tungban.exchange``, INFO).
    If the delivery's log leaf is still queued (its appender failed after the commit), it is
    integrated under a signed head first.

    :raises DomainError: the refusal, which the idempotency layer answers and keeps in place of
        the answer (issue 14 review M1).
    """
    consent = _find_consent((answer or {}).get("consent_id"))
    if consent is None:
        raise errors.UnknownConsent()
    if consent.consumer_id != data_user.id:
        raise errors.ForeignConsent()
    status = _status_holding_use(consent)
    if status != ConsentStatus.ACTIVE:
        raise _refusal(status)
    if consent.subject_kind:  # issue 19: the authorised person's authority, as a new request
        refused = subject_refusal(consent)
        if refused is not None:
            raise refused
    elif consent.resident is None or not consent.resident.is_active:
        raise identity_errors.AccountSuspended(_("The data subject's account is suspended."))
    # The delivery's leaf may still be queued if its appender failed after the commit: the
    # answer goes out again only once the log shows it (issue 15 review M1).
    ledger_log.integrate_reference(LEDGER_KIND, str(answer.get("exchange_id")))
    log.info(
        "Exchange answer replayed: exchange %s, data user %s, request_id %s",
        answer.get("exchange_id"),
        data_user.id,
        answer.get("request_id"),
    )


def forget_ended_answers(now: dt.datetime) -> dict[str, int]:
    """The scheduled purge's part (:mod:`tungban.core.retention`, ``exchange_answers``): the
    kept answers of consents no longer active at ``now`` (expired, revoked, declined; not
    those used up) or whose data subject's account is suspended are replaced by the refusal.
    Returns ``{"exchange.kept_answers": answers deleted}``."""
    ids = [subject[len(ANSWER_SUBJECT) :] for subject in idempotency.subjects(ANSWER_SUBJECT)]
    deleted = 0
    for consent in Consent.objects.select_related("approval", "resident").filter(pk__in=ids):
        status = _status_holding_use(consent)
        if status != ConsentStatus.ACTIVE:
            with transaction.atomic():
                deleted += _forget_answers(consent, status)
        elif consent.subject_kind:
            refused = subject_refusal(consent)
            if refused is not None:
                with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
                    deleted += idempotency.forget(answer_subject(consent.id), refused)
        elif consent.resident is None or not consent.resident.is_active:
            with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
                deleted += idempotency.forget(
                    answer_subject(consent.id),
                    identity_errors.AccountSuspended(_("The data subject's account is suspended.")),
                )
    return {"exchange.kept_answers": deleted}


def attempt_deadline(provider: Organisation) -> float:
    """Seconds after its start past which an attempt still ``in_flight`` has an unknown
    outcome: the provider's read timeout as the adapter applies it (:func:`.adapter.timeouts`,
    at most 30 s) plus ``TUNGBAN_EXCHANGE_ATTEMPT_MARGIN`` (issue 14
    item 4)."""
    return float(adapter.timeouts(provider)[1]) + float(settings.TUNGBAN_EXCHANGE_ATTEMPT_MARGIN)


def _status_holding_use(consent: Consent) -> str:
    """The consent's status for an attempt that already holds one of its uses: "used up"
    only because of that use still lets the attempt complete."""
    status = consent.effective_status()
    return ConsentStatus.ACTIVE if status == ConsentStatus.EXHAUSTED else status


class _NoLongerAllowed(Exception):
    """The consent re-locked after the provider answered no longer allows delivery: the
    delivery's writes are rolled back (:meth:`_Attempt.deliver`)."""

    def __init__(self, status: str):
        super().__init__(status)
        self.status = status


class _Attempt:
    """One exchange request as it goes (issue 14 item 4).

    Refusals decided before the provider is asked are recorded at once (:meth:`refuse`).
    Before the provider is asked, :meth:`begin` commits an :class:`ExchangeAttempt`
    (``in_flight``), its log entry and the consent's use; :meth:`deliver` or :meth:`refuse`
    completes it with the :class:`ExchangeRecord`. A worker killed in between (kill point
    ``exchange.provider_returned``) or an unexpected error leaves the attempt in flight: its
    outcome is unknown and the use stays counted (the provider may have released the data,
    and the data user gets no extra use for it)."""

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
        self.row: ExchangeAttempt | None = None  # once begun
        #: The call's circuit rows as read with the consent (``hotsql.open_exchange``), for the
        #: breakers' first look (:func:`.resilience.call_provider`); None: read them then.
        self.circuits: dict | None = None
        #: A retry of this ``request_id`` whose first attempt's worker died holds that
        #: attempt's use (issue 14 item 2): it takes no second one and gives none back.
        self.holds_use = False
        #: Log leaves queued by this attempt's committed (or rolled back) transactions, to be
        #: integrated into the log before the exchange goes on (:meth:`flush`, issue 15).
        self.tickets: list[int | None] = []

    def record(self, outcome: str, payload_sha256: str = "", *, log: bool = True) -> ExchangeRecord:
        """Write the record and its leaf in the transparency log (call inside a transaction).
        With ``log=False`` the caller puts the leaf on the log itself (:meth:`log`), later in
        the same transaction."""
        rec = ExchangeRecord(
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
        hotsql.insert(rec)  # plain SQL (issue 15)
        if log:
            self.log(rec)
        return rec

    def log(self, rec: ExchangeRecord, fields: dict | None = None) -> None:
        """Queue the record's leaf for the transparency log (inside the record's transaction;
        :meth:`flush` after the commit integrates it, or leaves it promised)."""
        fields = record_fields(rec) if fields is None else fields
        self.tickets.append(ledger_log.queue_record(LEDGER_KIND, str(rec.id), fields))

    def flush(self) -> None:
        """After the commits: integrate the leaves this attempt queued if the log is free,
        without waiting for another sequencer (:func:`tungban.ledger.services.integrate_soon`,
        issue 15 round 3); otherwise they are promised, and integrated within the merge delay."""
        tickets, self.tickets = self.tickets, []
        ledger_log.integrate_soon(tickets)

    def begin(self, consent: Consent) -> None:
        """Write the attempt ``in_flight`` with its log entry, and take one of the consent's
        uses (unless :attr:`holds_use`), before the provider is asked: inside the caller's
        transaction, with ``consent`` locked and found active by the caller (:func:`_open`),
        so it all commits at once — here, when that transaction is the outermost one
        (:func:`tungban.core.onestatement.joined` with ``commit``): nothing may follow it in
        the transaction."""
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("an attempt begins inside the transaction that locked its consent")
        # The use, the attempt and its leaf: one statement (issue 15), sent with the
        # transaction's COMMIT when this is the outermost transaction (seventh round: one round
        # trip, and the consent's row lock held one round trip less). The last thing the
        # transaction does (:func:`_open` returns): it is committed when this returns.
        with onestatement.joined(commit=True):
            self._begin(consent)

    def _begin(self, consent: Consent) -> None:
        if not self.holds_use:
            consent.uses += 1
            hotsql.update(Consent, consent.pk, uses=consent.uses)  # plain SQL (issue 15)
        now = timezone.now()
        row = ExchangeAttempt(
            id=self.id,
            started_at=now,
            unknown_after=now + dt.timedelta(seconds=attempt_deadline(consent.product.provider)),
            consumer=self.data_user,
            consent=consent,
            resident=consent.resident,
            product_id=consent.product_id,
            provider_id=consent.product.provider_id,
            request_id=self.request_id,
        )
        hotsql.insert(row)
        # kept: a write of the block too (its id not read back), so that the three go with the COMMIT
        self.tickets.append(ledger_log.queue_record(ATTEMPT_LEDGER_KIND, str(row.id), attempt_log_body(row), kept=True))
        self.row = row

    def _complete(self, locked: Consent | None, state: str, reason: str = "") -> None:
        """Complete the begun attempt (inside the completing transaction, ``locked`` held);
        a failed one gives the consent's use back (unless the use is held for an earlier
        attempt of the same request whose outcome is unknown)."""
        if state == AttemptState.FAILED and not self.holds_use:  # ``locked`` given for a failure
            locked.uses = max(locked.uses - 1, 0)
            hotsql.update(Consent, locked.pk, uses=locked.uses)
        hotsql.update(ExchangeAttempt, self.id, state=state, reason=reason, completed_at=timezone.now())

    def deliver(self, payload_sha256: str, answer) -> dict:
        """Complete the begun attempt after the provider answered: ``delivered`` unless the
        consent was revoked or expired meanwhile (then ``failed``, and that refusal raised).
        ``answer(record, promise)`` makes the data user's answer (``promise``: the log's promise
        of the record's leaf, :func:`tungban.ledger.services.promise`), which is kept for retries of the same
        request (:func:`tungban.core.idempotency.complete`, issue 14 item 2) in the same
        transaction; returns it.

        :raises DomainError: ``consent_revoked`` / ``consent_expired`` (403).
        """
        # The completion, the record, the kept answer, the leaf and the consent's re-lock: one
        # statement (issue 15 round 4; the lock was a round trip of its own before the writes).
        # The writes go first, uncommitted; if the consent no longer allows delivery, they are
        # rolled back and the refusal recorded in a transaction of its own.
        try:
            with transaction.atomic(), onestatement.joined():
                self._complete(None, AttemptState.DELIVERED)
                rec = self.record(DELIVERED, payload_sha256, log=False)
                fields = record_fields(rec)
                digest = ledger_log.record_digest(fields)  # once, for the promise and the leaf
                result = answer(rec, ledger_log.promise(LEDGER_KIND, str(rec.id), fields, digest=digest))
                # a retry gets this answer, nothing counted twice; forgotten with the consent
                idempotency.complete(result, subject=answer_subject(self.consent.pk))
                self.tickets.append(ledger_log.queue_record(LEDGER_KIND, str(rec.id), fields, kept=True, digest=digest))
                locked = hotsql.relock_consent(self.consent.pk)  # with the writes above
                status = _status_holding_use(locked)
                if status != ConsentStatus.ACTIVE:
                    raise _NoLongerAllowed(status)
                killpoint("exchange.provider_returned")
        except _NoLongerAllowed as stopped:
            with transaction.atomic(), onestatement.joined():
                locked = hotsql.relock_consent(self.consent.pk)
                status = _status_holding_use(locked)
                cls, code, message = _REFUSALS.get(status, _REFUSALS[stopped.status])
                self._complete(locked, AttemptState.FAILED, code)
                self.record(code)
                killpoint("exchange.provider_returned")
            raise cls(code, message) from None
        return result

    def refuse(self, error: DomainError) -> DomainError:
        """Record the refused attempt (its own transaction; a begun attempt is completed as
        ``failed``) and return the error to raise."""
        with transaction.atomic(), onestatement.joined():
            if self.row is not None:
                locked = hotsql.relock_consent(self.consent.pk)
                self._complete(locked, AttemptState.FAILED, error.code)
            self.record(error.code)
        return error


def attempt_fields(att: ExchangeAttempt) -> dict:
    """The metadata of an attempt that its log entry fixes (no personal data); the entry's
    body adds ``"state": "in_flight"``, the state it was logged in."""
    return {
        "id": str(att.id),
        "at_attempt": att.started_at.isoformat(timespec="microseconds"),
        "data_user": att.consumer_id,
        "product": att.product_id,
        "provider": att.provider_id,
        "consent": str(att.consent_id),
        "data_subject": str(att.resident.public_id) if att.resident_id else _subject_of(att.consent),
        "request_id": att.request_id,
    }


def attempt_log_body(att: ExchangeAttempt) -> dict:
    """The log entry of an attempt's start (kind :data:`ATTEMPT_LEDGER_KIND`)."""
    return {**attempt_fields(att), "state": AttemptState.IN_FLIGHT.value}


def _subject_of(consent: Consent) -> str | None:
    """A non-resident data subject as logged: ``"<kind>:<id>"`` (issue 19; a BR number is public)."""
    return f"{consent.subject_kind}:{consent.subject_id}" if consent.subject_kind else None


def record_fields(rec: ExchangeRecord) -> dict:
    """The metadata of a record that the ledger entry fixes (no personal data)."""
    return {
        "id": str(rec.id),
        "at_record": rec.at.isoformat(timespec="microseconds"),
        "data_user": rec.consumer_id,
        "product": rec.product_id,
        "provider": rec.provider_id,
        "consent": str(rec.consent_id) if rec.consent_id else None,
        "data_subject": str(rec.resident.public_id)
        if rec.resident_id
        else (_subject_of(rec.consent) if rec.consent_id else None),
        "request_id": rec.request_id,
        "outcome": rec.outcome,
        "provider_status": rec.provider_status,
        "payload_sha256": rec.payload_sha256,
    }


def exchange(
    data_user: Organisation | hotsql.Bearer, *, consent_id, product_id: str, request_id: str, resume: bool = False
) -> dict:
    """Obtain data for a data user under a consent.

    Checks, in order (each refusal is recorded in the log, then raised): a fresh
    ``request_id`` (``replayed_request``, 409); the consent exists (``unknown_consent``,
    404), is this data user's (``foreign_consent``, 403), covers ``product_id``
    (``product_not_covered``, 403), and is active (``consent_pending`` 409,
    ``consent_declined``/``consent_revoked``/``consent_expired``/``consent_exhausted`` 403).
    Then the provider is asked: ``provider_unavailable`` (502: down or refused),
    ``provider_timeout`` (504), ``no_record`` (404: the provider holds nothing on this
    person), ``provider_error`` (502), ``provider_bad_data`` (502: the answer fails the
    product's schema). A consent whose data subject is an organisation (issue 19) is checked
    before the provider is asked through :mod:`.subjects` instead of the resident's account:
    the person who gave it must still hold the same authority for the service (corpid:
    ``mandate_revoked``, ``mandate_expired``, ``mandate_out_of_scope``,
    ``organisation_suspended``, ``no_mandate``, … 403); the provider's token then carries the
    subject's number (``brn``) instead of an HKID.

    Before the provider is asked, the attempt (consent, data user, product, provider,
    ``request_id``, time; state ``in_flight``) is committed with its log entry, and the consent
    is locked, checked and its use counted, in one transaction (issue 14 item 4: so the last
    use cannot be taken twice at once). After the provider answered the consent is checked
    again, locked, so a revocation or expiry meanwhile still stops delivery; the attempt is
    then completed (``delivered``, or ``failed`` with the refusal's code, which gives the use
    back) in the transaction that writes the record. A worker killed in between (kill point
    ``exchange.provider_returned``) leaves the attempt in flight, shown as of unknown outcome
    in the resident's history and the log; its use stays counted, once.

    :returns: ``{"exchange_id", "consent_id", "product", "provider", "request_id",
        "delivered_at", "payload_sha256", "data", "log", "signed"}`` where ``signed`` is a JWS
        (ES256, ``typ`` "cdeg-response+jwt") over the same facts, the data and ``log``: the
        transparency log's promise of the record's leaf (``{"kind", "ref", "record_sha256",
        "merge_by"}``, :func:`tungban.ledger.services.promise`; issue 15 round 3). The
        exchange's leaves are committed with the attempt and the record and integrated
        without waiting for the log (:func:`tungban.ledger.services.integrate_soon`).
    :param resume: the API's idempotency layer found a first attempt with this ``request_id``
        and the same body that got no kept answer (:func:`tungban.core.idempotency.resuming`):
        its ``request_id`` is not a replay, and when that attempt is still in flight (its worker
        died) this one takes over the use it holds: the request is counted once. A delivery stores its answer for retries with
        :func:`tungban.core.idempotency.complete` in the transaction that counts the use
        (issue 14 item 2).
    :param data_user: the data user, or (PostgreSQL; issue 15, ninth round) a
        :class:`.hotsql.Bearer` — its bearer token, read in the exchange's opening statement
        (:func:`.hotsql.open_exchange`: one round trip less than reading it first).
    :raises DomainError: as above; ``invalid_request`` (400, not recorded) for a malformed
        ``request_id``.
    :raises hotsql.NotPlainBearer: ``data_user`` a bearer token that is not plainly valid
        (nothing written: the opening transaction rolled back).
    """
    if not isinstance(request_id, str) or not REQUEST_ID.match(request_id):
        raise errors.InvalidRequest()
    attempt = _Attempt(data_user, product_id, request_id)
    try:
        with keys.one_key():  # the signatures (provider JWT, the answer, the log's head), one key read
            result = _exchange(attempt, data_user, consent_id, product_id, request_id, resume)
            _flush_quietly(attempt)  # after the commits (the key read is committed too)
            return result
    finally:
        # A refusal or an error on the way: its leaves, too. Outside one_key(): a key first
        # made in a transaction that rolled back must not sign the log's head.
        if attempt.tickets:
            _flush_quietly(attempt)


def _exchange(
    attempt: _Attempt,
    data_user: Organisation | hotsql.Bearer,
    consent_id,
    product_id: str,
    request_id: str,
    resume: bool,
) -> dict:
    """The exchange's steps (:func:`exchange`): its transactions; the caller integrates the
    leaves ``attempt`` queued once they are committed."""
    with transaction.atomic():  # one transaction: the request id, the checks, the use, the attempt
        refusal = _open(attempt, data_user, consent_id, product_id, request_id, resume)
    # The attempt's leaf is committed with it (queued): the provider is asked without
    # waiting for the log (issue 15 round 3); it is integrated with the record's below.
    if refusal is not None:
        raise refusal
    consent = attempt.consent
    data = adapter.ask_provider(consent, attempt)
    payload_sha256 = hashlib.sha256(ledger.canonical(data).encode()).hexdigest()
    return attempt.deliver(
        payload_sha256, lambda rec, promise: adapter.signed_answer(rec, consent, data, log_promise=promise)
    )


def _flush_quietly(attempt: _Attempt) -> None:
    """:meth:`_Attempt.flush` after the exchange's commits, without turning an answer (or the
    error being raised) into another error: a leaf left queued is promised, and integrated by
    the next request, the next appender or the worker's schedule within the merge delay."""
    try:
        attempt.flush()
    except Exception:  # noqa: BLE001 - the leaves are committed and promised; they stay queued
        log.exception("Exchange %s: its log leaves stay queued for the next sequencer", attempt.id)


def _open(
    attempt: _Attempt,
    data_user: Organisation | hotsql.Bearer,
    consent_id,
    product_id: str,
    request_id: str,
    resume: bool,
) -> DomainError | None:
    """The checks of :func:`exchange` before the provider is asked, in their order, and the
    attempt's start, inside the caller's transaction (issue 15: one commit where there were
    three): the request id is taken, the consent read and locked (with what the exchange
    needs of it, in one query), and either the refusal is recorded and returned, or the use
    is taken and the attempt and its log entry written (:meth:`_Attempt.begin`)."""
    # One statement (issue 15): a lane's idempotency key claimed first, in this transaction
    # (fourth round: no commit of its own; sixth: no statement of its own; KeyTaken rolls it all
    # back; nothing outside a lane's call), the request id taken, the consent read and locked,
    # the active key's kid (for the block's signatures) and the call's circuit rows.
    # Ninth round: a lane's data user may still be its bearer token, read by the same statement
    # (first; its data user's key claimed and request id taken only for a plainly valid token).
    bearer = data_user if isinstance(data_user, hotsql.Bearer) else None
    # None outside a lane's call (and on SQLite: claimed already)
    claim = idempotency.claim_clauses(caller_sql=None if bearer is None else hotsql.BEARER_CALLER_SQL)
    taken, consent, kid, attempt.circuits = hotsql.open_exchange(consent_id, data_user, request_id, claim=claim)
    if bearer is not None:
        data_user = attempt.data_user = bearer.data_user
    keys.use_kid(kid)
    if not taken:
        if not resume:
            return attempt.refuse(errors.ReplayedRequest())
        attempt.holds_use = ExchangeAttempt.objects.filter(
            consumer=data_user, request_id=request_id, state=AttemptState.IN_FLIGHT
        ).exists()
    if consent is None:
        return attempt.refuse(errors.UnknownConsent())
    if consent.consumer_id != data_user.id:
        return attempt.refuse(errors.ForeignConsent())
    attempt.consent, attempt.resident = consent, consent.resident
    attempt.provider_id = consent.product.provider_id
    if consent.product_id != product_id:
        return attempt.refuse(errors.ProductNotCovered())
    status = _status_holding_use(consent) if attempt.holds_use else consent.effective_status()
    if status != ConsentStatus.ACTIVE:
        return attempt.refuse(_refusal(status))
    if consent.subject_kind:  # issue 19: not a resident's; the giver's authority, read now
        refused = subject_refusal(consent)
        if refused is not None:
            return attempt.refuse(refused)
    elif consent.resident is None or not consent.resident.is_active:
        return attempt.refuse(identity_errors.AccountSuspended(_("The data subject's account is suspended.")))
    attempt.begin(consent)
    return None


# --- The resident's view ------------------------------------------------------------------------


def history_of(
    resident: Resident, limit: int = 100, exclude_data_user: str | None = None
) -> list[ExchangeRecord | ExchangeAttempt]:
    """Exchanges of the resident's data, newest first: every record (delivered and refused)
    and every attempt still in flight — in progress, or of unknown outcome when its worker
    never completed it (issue 14 item 4). A completed attempt is its record (same ``id``).
    ``exclude_data_user``: leave that data user's out (the panel's "Recent uses" groups the
    personal assistant's own: :func:`uses_by`)."""
    records = ExchangeRecord.objects.select_related("consumer", "consent__product__provider").filter(resident=resident)
    open_attempts = ExchangeAttempt.objects.select_related("consumer", "consent__product__provider").filter(
        resident=resident, state=AttemptState.IN_FLIGHT
    )
    if exclude_data_user:
        records = records.exclude(consumer_id=exclude_data_user)
        open_attempts = open_attempts.exclude(consumer_id=exclude_data_user)
    records, open_attempts = list(records[:limit]), list(open_attempts[:limit])
    merged = records + open_attempts
    merged.sort(key=lambda x: x.started_at if isinstance(x, ExchangeAttempt) else x.at, reverse=True)
    return merged[:limit]


def uses_by(resident: Resident, data_user_id: str) -> list[tuple[DataProduct | None, int, dt.datetime]]:
    """The data user's exchanges of the resident's data, grouped by product: ``(product, how
    many records, the latest one's time)``, newest first."""
    rows = (
        ExchangeRecord.objects.filter(resident=resident, consumer_id=data_user_id)
        .values("product_id")
        .annotate(count=Count("id"), latest=Max("at"))
        .order_by("-latest")
    )
    products = DataProduct.objects.select_related("provider").in_bulk([r["product_id"] for r in rows])
    return [(products.get(r["product_id"]), r["count"], r["latest"]) for r in rows]


def attempt_for(data_user: Organisation, request_id: str) -> ExchangeAttempt | None:
    """The attempt a data user's ``request_id`` started, or None when that request never
    reached its provider (refused before, or never seen): what a retry of it can be told
    (issue 14 items 2 and 4). Its :meth:`~.models.ExchangeAttempt.shown_state` says whether
    the outcome is known; a completed one's record has the same ``id``."""
    return ExchangeAttempt.objects.filter(consumer=data_user, request_id=str(request_id)[:64]).first()


def unknown_attempts(now: dt.datetime | None = None, limit: int | None = None) -> list[ExchangeAttempt]:
    """Attempts still in flight past ``unknown_after``, oldest first: the provider may have
    released the data, the platform did not record delivery (issue 14 item 4)."""
    found = ExchangeAttempt.objects.select_related("consumer").filter(
        state=AttemptState.IN_FLIGHT, unknown_after__lte=now or timezone.now()
    )
    found = found.order_by("started_at")
    return list(found[:limit] if limit else found)


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
        "subject": {"kind": consent.subject_kind, "id": consent.subject_id} if consent.subject_kind else None,
    }


ATTEMPT_NOTES = {
    "in_progress": _("Waiting for the data provider's answer."),
    "unknown": _(
        "Outcome unknown: the data provider may have released your data to the platform; "
        "the platform did not record delivery."
    ),
}


def exchange_summary(rec: ExchangeRecord | ExchangeAttempt, now: dt.datetime | None = None) -> dict:
    """What the app shows of an exchange: who received (or asked for) what from whom, when,
    and the outcome. ``state`` is ``completed`` (``outcome``: "delivered" or the refusal's
    code), ``in_progress`` (an attempt waiting for its provider; ``outcome`` "in_progress") or
    ``unknown`` (an attempt never completed; ``outcome`` "outcome_unknown"); ``note`` says
    what an attempt's state means, in the request's language (empty when completed)."""
    product = rec.consent.product if rec.consent_id else None
    provider = product.provider if product else None
    if isinstance(rec, ExchangeAttempt):
        state = rec.shown_state(now)
        outcome = "outcome_unknown" if state == "unknown" else "in_progress"
        at = rec.started_at
    else:
        state, outcome, at = "completed", rec.outcome, rec.at
    return {
        "id": str(rec.id),
        "at": at.isoformat(),
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
        "outcome": outcome,
        "delivered": outcome == DELIVERED,
        "state": state,
        "note": str(ATTEMPT_NOTES.get(state, "")),
    }


def log_proofs(entries: list[ExchangeRecord | ExchangeAttempt]) -> dict[str, dict]:
    """For the resident's app: each history entry's leaf in the transparency log with an
    inclusion proof against the latest signed tree head, and the fields the leaf fixes
    (:func:`tungban.ledger.services.proofs_for` plus ``"record"``), by id — a record's leaf
    (kind ``exchange``, :func:`record_fields`) or, for an attempt still in flight, the leaf
    of its start (kind ``exchange_attempt``, :func:`attempt_log_body`). Entries logged before
    the move to the transparency log have none."""
    records = [e for e in entries if isinstance(e, ExchangeRecord)]
    attempts = [e for e in entries if isinstance(e, ExchangeAttempt)]
    out = {}
    for kind, rows, fields in (
        (LEDGER_KIND, records, record_fields),
        (ATTEMPT_LEDGER_KIND, attempts, attempt_log_body),
    ):
        proofs = ledger_log.proofs_for(kind, [str(r.id) for r in rows]) if rows else {}
        out.update({str(r.id): {**proofs[str(r.id)], "record": fields(r)} for r in rows if str(r.id) in proofs})
    return out


# --- Verification -------------------------------------------------------------------------------


def verify_log(*, expect: tuple[int, str] | None = None) -> ledger_log.RecordsReport:
    """Verify the exchange log: the transparency log and every exchange record against its
    leaf (:func:`tungban.ledger.services.verify_records`: a record altered after it was
    logged, deleted, or never logged), and the retired hash chain with the records logged
    there before the move (issue 14 item 10).

    :param expect: a head kept earlier: ``(tree_size, root)`` of a transparency-log head
        (root base64), or ``(size, head_hash)`` of a retired-chain head (64 hex digits).
    :returns: the report; ``legacy_entries`` is set on it (the chain's size).
    """
    legacy_expect = tree_expect = None
    if expect is not None:
        if re.fullmatch(r"[0-9a-f]{64}", str(expect[1]).lower()):
            legacy_expect = (expect[0], str(expect[1]).lower())
        else:
            tree_expect = expect
    new = ExchangeRecord.objects.select_related("resident").filter(ledger_seq__isnull=True).order_by("at")
    report = ledger_log.verify_records(
        LEDGER_KIND,
        ((str(rec.id), record_fields(rec)) for rec in new.iterator(chunk_size=2000)),
        expect=tree_expect,
    )
    legacy = ledger.verify(expect=legacy_expect)
    report.legacy_entries = legacy.size
    report.problems += legacy.problems
    seen = set()
    records = ExchangeRecord.objects.select_related("resident").filter(ledger_seq__isnull=False).order_by("ledger_seq")
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
    _verify_attempts(report)
    return report


def _verify_attempts(report: ledger_log.RecordsReport) -> None:
    """Every attempt against the log leaf (or, before issue 14 item 10, the chain entry) of
    its start (issue 14 item 4): one altered, one deleted (a leaf or entry without its
    attempt), one never logged, and a completed attempt whose record is missing or says
    otherwise."""
    new = ExchangeAttempt.objects.select_related("resident").filter(ledger_seq__isnull=True).order_by("started_at")
    counted = report.records
    ledger_log.check_records(
        ATTEMPT_LEDGER_KIND, ((str(a.id), attempt_log_body(a)) for a in new.iterator(chunk_size=2000)), report
    )
    report.records = counted  # records counts exchange records only
    seen = set()

    def check_outcomes(batch):
        outcomes = dict(ExchangeRecord.objects.filter(pk__in=[a.id for a in batch]).values_list("id", "outcome"))
        for att in batch:
            outcome = outcomes.get(att.id)
            if att.state == AttemptState.IN_FLIGHT:
                if outcome is not None:
                    report.problems.append(f"attempt {att.id}: recorded as {outcome} but still in flight")
            elif outcome is None or (outcome == DELIVERED) != (att.state == AttemptState.DELIVERED):
                report.problems.append(f"attempt {att.id}: {att.state} but its record says {outcome or 'nothing'}")

    def check(batch):
        legacy = [a for a in batch if a.ledger_seq is not None]
        found = ledger.entries(ATTEMPT_LEDGER_KIND, [str(a.id) for a in legacy])
        for att in legacy:
            entry = found.get(str(att.id))
            if entry is None or entry.seq != att.ledger_seq:
                report.problems.append(f"attempt {att.id}: not in the log")
                continue
            seen.add(entry.seq)
            logged = ledger.body_of(entry)
            for key, value in attempt_fields(att).items():
                if logged.get(key) != value:
                    report.problems.append(f"attempt {att.id} (entry {entry.seq}): '{key}' altered after logging")
        check_outcomes(batch)

    batch: list[ExchangeAttempt] = []
    for att in ExchangeAttempt.objects.select_related("resident").order_by("started_at").iterator(chunk_size=2000):
        batch.append(att)
        if len(batch) == 2000:
            check(batch)
            batch = []
    if batch:
        check(batch)
    entries = Entry.objects.filter(kind=ATTEMPT_LEDGER_KIND).values_list("seq", "reference")
    for seq, ref in entries.iterator(chunk_size=5000):
        if seq not in seen:
            report.problems.append(f"entry {seq}: attempt {ref} is missing (deleted attempt)")
