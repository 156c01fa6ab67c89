"""Wallet (app) protocol: binding devices, approval requests, device-signed decisions.

Wire formats (issue #2; documented in docs/integrators.md and the OpenAPI document):

* **Device key**: ECDSA P-256, public part sent as a JWK (RFC 7517). The web app keeps the
  private key non-extractable in WebCrypto; the CLI keeps it in a file sealed under its PIN
  with Argon2id (:func:`tungban.wallet.client.seal_key`).
* **Binding proof**: JWS compact (RFC 7515), ``alg`` ES256, signed by the new key over
  ``{"binding_id", "nonce"}`` (proof of possession).
* **Decision**: JWS compact, ``alg`` ES256, header ``kid`` = device id, payload
  ``{"request_id", "requester", "nonce", "decision": "approve"|"decline", "claims": [..]}``
  where ``claims`` are the approved claim names, sorted; plus every value the request binds
  (its ``binds``, e.g. ``documents``: the digests, for signing; ``terms``: the consent terms'
  digest, for data-sharing consents; see :mod:`.kinds`). An approval of a request shown on a
  page (``code_required``: logins and form filling) also carries ``"code"``: the 2-digit number
  that page shows, typed by the resident (never sent to the app; issue 13 item 6). A web device
  also sends a WebAuthn assertion (user verification by passkey) whose challenge is the
  request's nonce.
* **Device request proof** (for the app's own API calls): header
  ``Authorization: Device <JWS>`` with payload ``{"htm", "htu", "iat", "jti"}``, valid 60 s
  after ``iat`` with ``TUNGBAN_CLOCK_SKEW`` (default 300 s) of clock skew either way, each
  ``jti`` once within that whole window — the shape of a DPoP proof (RFC 9449 §4.2).
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import json
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

import webauthn
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from tungban.core import rawsql
from tungban.core.dates import resident_datetime
from tungban.core.errors import DomainError, NotFound
from tungban.identity import eme
from tungban.identity import services as identity
from tungban.identity.models import Resident
from tungban.ledger.canonical import canonical

from . import choices, errors, kinds, signals
from .models import (
    AccountNotice,
    ActivationCode,
    ApprovalRequest,
    Device,
    DeviceStatus,
    Platform,
    ReleaseRecord,
    RequestStatus,
    UsedProof,
)

PROOF_LIFETIME = 60  # seconds a device request proof is accepted (plus TUNGBAN_CLOCK_SKEW either way)
COMPLETION_GRACE = 60  # seconds after expiry an approved request may still be completed
ACTIVATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at a counter
#: Wrong numbers typed for one request before it is cancelled: 3 tries at a 2-digit number give
#: a guess 3 % (issue 13 item 6).
MAX_CODE_ATTEMPTS = 3


@functools.cache
def _dummy_hash() -> str:
    return make_password("not-an-activation-code")


def _now() -> dt.datetime:
    return timezone.now()


# --- Activation codes and binding ---------------------------------------------------------


@transaction.atomic
def issue_activation_code(resident: Resident, officer=None) -> str:
    """Issue a one-time activation code (8 characters) for binding the app; earlier unused
    codes are withdrawn. The code itself is returned once and stored only as a hash."""
    identity.require_active(resident)
    ActivationCode.objects.filter(resident=resident, used_at__isnull=True).update(used_at=_now())
    code = "".join(secrets.choice(ACTIVATION_ALPHABET) for _ in range(8))
    ActivationCode.objects.create(
        resident=resident,
        code_hash=make_password(code),
        expires_at=_now() + dt.timedelta(seconds=settings.TUNGBAN_ACTIVATION_TTL),
    )
    identity.audit(resident, "activation_code_issued", officer)
    return code


def pending_activation_code(resident: Resident) -> tuple[int, dt.datetime] | None:
    """The resident's activation code that can still bind an app (issued, not used, not
    withdrawn, not expired), as ``(id, expires_at)``, or ``None``. The counter shows a code
    it issued again only while this names it (issue 16, staff16 item 1)."""
    row = (
        ActivationCode.objects.filter(resident=resident, used_at__isnull=True, expires_at__gt=_now())
        .order_by("-created_at")
        .values_list("pk", "expires_at")
        .first()
    )
    return tuple(row) if row else None


def _webauthn_registration_options(resident: Resident, challenge: bytes) -> dict:
    options = webauthn.generate_registration_options(
        rp_id=settings.TUNGBAN_WEBAUTHN_RP_ID,
        rp_name="tungban 通辦",
        user_id=resident.public_id.bytes,
        user_name=resident.hkid_masked,
        user_display_name=resident.name_zh or resident.name_en,
        challenge=challenge,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
    )
    return json.loads(webauthn.options_to_json(options))


def _open_binding(resident: Resident, activation_code: ActivationCode | None = None) -> ApprovalRequest:
    """A binding request; one opened with a counter's code names it in
    ``context["activation_code"]`` (its id), used up when the binding completes."""
    nonce = secrets.token_bytes(32)
    return ApprovalRequest.objects.create(
        kind=kinds.BIND,
        resident=resident,
        nonce=bytes_to_base64url(nonce),
        expires_at=_now() + dt.timedelta(seconds=settings.TUNGBAN_APPROVAL_TTL),
        context={"activation_code": activation_code.pk} if activation_code is not None else {},
    )


def binding_details(binding: ApprovalRequest) -> dict:
    """What the app needs to finish binding: ``{"binding_id", "nonce", "expires_at",
    "resident": {...}, "webauthn": <PublicKeyCredentialCreationOptions JSON>}``."""
    resident = binding.resident
    return {
        "binding_id": str(binding.id),
        "nonce": binding.nonce,
        "expires_at": binding.expires_at.isoformat(),
        "resident": resident_summary(resident),
        "webauthn": _webauthn_registration_options(resident, base64url_to_bytes(binding.nonce)),
    }


def start_binding(hkid: str, activation_code: str) -> ApprovalRequest:
    """Begin binding the app with the HKID number and the activation code from a counter.

    Wrong guesses never void the code (issue 13 item 12: anyone who knows a resident's HKID
    could otherwise lock the resident out). Guessing is slowed instead, before this runs, by
    the rate limiter on the API (:mod:`tungban.core.ratelimit`): attempts per client, per
    HKID from one client, and a slow ceiling per HKID from anywhere (``binding``,
    ``binding_hkid_client``, ``binding_hkid``), answered with 429 and ``Retry-After``. A
    distributed attacker can at worst delay the resident until the window ends; the code
    (8 characters of 32, about 10^12 values) stays valid and cannot be found in the few
    hundred guesses a week the ceiling allows. ``failed_attempts`` is kept as a record.
    Past the per-HKID limits the API answers ``activation_code_locked`` (429, issue 16
    item 2); those limits count per code (:func:`activation_code_key`), so a new code from the
    counter is not locked.

    The code is used up when a binding it opened **completes** (:func:`complete_binding`),
    not here (issue 16 item 1): a binding that fails after the code was accepted (the phone
    crashed, the network dropped, the proof was refused) can be retried with the same code
    for the code's remaining lifetime. Single use holds: once one binding completes, the code
    opens no other and completes no other binding started with it (a second phone); a new code
    from the counter withdraws the old one and the bindings it opened.

    Spaces (also full-width ones), hyphens and letter case typed in the code are ignored:
    :func:`normalize_activation_code`.

    :raises DomainError: bad HKID; :class:`Forbidden` ``bad_activation_code`` (wrong,
        used or expired) or ``account_suspended``.
    """
    try:
        resident = identity.get_by_hkid(hkid)
    except NotFound:
        resident = None
    bad = errors.BadActivationCode()
    candidate = None
    if resident is not None:
        candidate = (
            ActivationCode.objects.filter(resident=resident, used_at__isnull=True, expires_at__gt=_now())
            .order_by("-created_at")
            .first()
        )
    code_text = normalize_activation_code(activation_code)
    if candidate is None:
        check_password(code_text, _dummy_hash())  # same work either way: no timing hint that an account exists
        raise bad
    if not check_password(code_text, candidate.code_hash):
        # A record for officers only: wrong guesses delay (rate limit), never void, the code.
        ActivationCode.objects.filter(pk=candidate.pk).update(failed_attempts=F("failed_attempts") + 1)
        raise bad
    identity.require_active(resident)
    return _open_binding(resident, activation_code=candidate)


def normalize_activation_code(typed: str | None) -> str:
    """The code as issued from what a resident typed: Unicode NFKC (full-width letters, digits
    and spaces as a Chinese keyboard gives them), upper case, without any white space or
    hyphen (codes are read out and shown in groups: ``K7QP 2M9X``, ``K7QP-2M9X``; issue 16
    item 2). ``"k7qp - 2m9x\u3000"`` → ``"K7QP2M9X"``."""
    text = unicodedata.normalize("NFKC", typed or "").upper()
    return "".join(ch for ch in text if not ch.isspace() and ch not in "-\u2010\u2011\u2012\u2013\u2014\u2212")


def activation_code_key(hkid: str) -> str:
    """The current activation code of the account with this HKID number, as a rate-limit key
    part: ``"<code id>"``, or ``"-"`` when the number has no account or no valid code. The
    per-HKID binding limits count per code, so a new code from the counter starts a fresh
    count (issue 16 item 2); a guesser cannot get a new code, so guessing stays slowed."""
    try:
        resident = identity.get_by_hkid(hkid)
    except (NotFound, DomainError):
        return "-"
    code_id = (
        ActivationCode.objects.filter(resident=resident, used_at__isnull=True, expires_at__gt=_now())
        .order_by("-created_at")
        .values_list("pk", flat=True)
        .first()
    )
    return str(code_id) if code_id is not None else "-"


def start_binding_after_registration(resident: Resident) -> ApprovalRequest:
    """Open a binding for a resident who has just self-registered in this app session."""
    return _open_binding(resident)


def _import_public_jwk(jwk: Any) -> ECKey:
    if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or "d" in jwk:
        raise errors.BadDeviceKey()
    try:
        return ECKey.import_key({k: jwk[k] for k in ("kty", "crv", "x", "y")})
    except (JoseError, KeyError, ValueError):
        raise errors.BadDeviceKey() from None


def _verify_jws(token: str, key: ECKey) -> tuple[dict, dict]:
    try:
        obj = jws.deserialize_compact(token, key, algorithms=["ES256"])
        return obj.headers(), json.loads(obj.payload)
    except (JoseError, ValueError, TypeError):
        raise errors.BadSignature() from None


def _verify_extracted(obj, key: ECKey) -> tuple[dict, dict]:
    """:func:`_verify_jws` of a JWS already parsed by ``jws.extract_compact`` (no second parse)."""
    try:
        if not jws.validate_compact(obj, key, algorithms=["ES256"]):
            raise errors.BadSignature()
        return obj.headers(), json.loads(obj.payload)
    except (JoseError, ValueError, TypeError):
        raise errors.BadSignature() from None


@functools.lru_cache(maxsize=4096)
def _ec_key(crv: str, x: str, y: str) -> ECKey:
    return ECKey.import_key({"kty": "EC", "crv": crv, "x": x, "y": y})


def device_key(public_jwk: dict) -> ECKey:
    """The device's public key from its stored JWK (``Device.public_jwk``, EC P-256). Keys are
    kept per process by their coordinates: content-addressed and immutable (issue 15), never
    a device's state (its status is read from the database on every call).

    :raises joserfc.errors.JoseError, ValueError, KeyError: not an EC public JWK."""
    if public_jwk.get("kty") != "EC" or "d" in public_jwk:
        return ECKey.import_key(public_jwk)  # as before: whatever joserfc makes of it
    return _ec_key(public_jwk["crv"], public_jwk["x"], public_jwk["y"])


def complete_binding(
    binding_id: str,
    *,
    public_jwk: dict,
    proof: str,
    platform: str,
    name: str = "",
    webauthn_registration: dict | None = None,
) -> Device:
    """Bind a device: store its public key (and passkey) after checking possession.

    A resident has one bound device; binding a new phone unbinds the old one (re-bind).
    A binding opened with a counter's activation code uses the code up here, in the same
    transaction (issue 16 item 1); a refusal leaves the code usable.
    :raises NotFound: ``no_binding``; :class:`DomainError` ``request_expired``,
        ``bad_device_key``, ``passkey_required`` (web), ``bad_passkey``;
        :class:`Forbidden` ``bad_signature``, ``bad_activation_code`` (the code was used by
        another binding or replaced by a newer code meanwhile); :class:`Conflict` ``device_taken`` (this device
        key already serves an account), ``request_already_decided`` (binding used).
    """
    if platform not in Platform.values:
        raise errors.BadPlatform()
    key = _import_public_jwk(public_jwk)
    with transaction.atomic():
        binding = _lock_request(binding_id, kinds.BIND)
        _header, payload = _verify_jws(proof, key)
        if payload.get("binding_id") != str(binding.id) or payload.get("nonce") != binding.nonce:
            raise errors.BadSignature(_("The proof is not for this binding."))
        thumbprint = key.thumbprint()
        if Device.objects.filter(jwk_thumbprint=thumbprint).exists():
            raise errors.DeviceTaken()
        cred_id = pub = None
        sign_count = 0
        if platform == Platform.WEB:
            if not webauthn_registration:
                raise errors.PasskeyRequired()
            try:
                verified = webauthn.verify_registration_response(
                    credential=webauthn_registration,
                    expected_challenge=base64url_to_bytes(binding.nonce),
                    expected_rp_id=settings.TUNGBAN_WEBAUTHN_RP_ID,
                    expected_origin=settings.TUNGBAN_ISSUER,
                    require_user_verification=True,
                )
            except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
                raise errors.BadPasskey(
                    _("The passkey could not be registered: %(reason)s") % {"reason": exc}, status=400
                ) from None
            cred_id, pub, sign_count = (
                bytes_to_base64url(verified.credential_id),
                verified.credential_public_key,
                verified.sign_count,
            )
        resident = binding.resident
        identity.require_active(resident)
        code_id = (binding.context or {}).get("activation_code")
        # The code is used up now, by the binding that completes (issue 16 item 1). Conditional
        # update: of two phones that started with one code, only the first to finish binds; a
        # code withdrawn by a newer one (or used) binds nothing.
        if code_id is not None and not ActivationCode.objects.filter(pk=code_id, used_at__isnull=True).update(
            used_at=_now()
        ):
            raise errors.BadActivationCode()
        for old in Device.objects.select_for_update().filter(resident=resident, status=DeviceStatus.ACTIVE):
            _unbind(old, reason="rebound")
        try:
            with transaction.atomic():
                device = Device.objects.create(
                    resident=resident,
                    platform=platform,
                    name=(name or "")[:80],
                    public_jwk=key.as_dict(private=False),
                    jwk_thumbprint=thumbprint,
                    webauthn_credential_id=cred_id,
                    webauthn_public_key=pub,
                    webauthn_sign_count=sign_count,
                    # Registration above required user verification (UV flag checked).
                    verifies_user=platform == Platform.WEB,
                )
        except IntegrityError:
            raise errors.DeviceTaken() from None
        binding.status = RequestStatus.COMPLETED
        binding.device = device
        binding.decided_at = _now()
        binding.signature = proof
        binding.save()
        identity.audit(resident, "device_bound", None, device=str(device.id), platform=platform)
    return device


def _unbind(device: Device, *, reason: str, actor=None) -> None:
    device.status = DeviceStatus.UNBOUND
    device.unbound_at = _now()
    device.save(update_fields=["status", "unbound_at"])
    identity.audit(device.resident, "device_unbound", actor, device=str(device.id), reason=reason)
    signals.device_unbound.send(sender=Device, device=device, reason=reason)


@transaction.atomic
def unbind(device: Device, *, actor=None, reason: str = "unbound") -> None:
    """Unbind a device (lost phone, or the resident's choice). Its key stops working at once."""
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.status == DeviceStatus.ACTIVE:
        _unbind(device, reason=reason, actor=actor)


def active_device(resident: Resident) -> Device | None:
    return resident.devices.filter(status=DeviceStatus.ACTIVE).first()


def has_been_bound(resident: Resident) -> bool:
    """Whether the account has ever had a device bound or a binding started (a counter's
    activation code used, or a self-registration's binding opened), even if none is bound now.

    A new activation code for such an account is a re-binding (issue 13 item 1, security review):
    unbinding or suspending first does not make it a first code again.
    """
    return (
        Device.objects.filter(resident=resident).exists()
        or ApprovalRequest.objects.filter(resident=resident, kind=kinds.BIND).exists()
    )


@transaction.atomic
def unbind_active(resident: Resident, *, actor=None, reason: str = "officer") -> bool:
    """Unbind the resident's bound device, if any (an officer's action). Returns whether one was."""
    device = active_device(resident)
    if device is not None:
        unbind(device, actor=actor, reason=reason)
    return device is not None


# --- Approval requests ----------------------------------------------------------------------


def create_request(
    *,
    kind: str,
    requester_id: str,
    requester_name_en: str,
    requester_name_zh: str,
    requested_claims: list[dict],
    requester_logo_url: str = "",
    context: dict | None = None,
    binds: dict | None = None,
    resident: Resident | None = None,
    user_code: bool = False,
    origin: dict | None = None,
) -> ApprovalRequest:
    """Open an approval request for the app. Expires after ``TUNGBAN_APPROVAL_TTL`` seconds.

    A request whose link or QR code a page shows to whoever is in front of it (an OpenID
    Connect login or form filling) may be forwarded to a victim (cross-device phishing):
    with ``user_code`` it gets a random 2-digit number for that page to show, which the
    approval must carry (:func:`decide`); ``origin`` (``{"user_agent", "ip"}`` of the browser
    that opened the page) is shown in the app (:func:`request_details`). Sources: IETF
    draft-ietf-oauth-cross-device-security §6.1.4 and §6.1.7; issue 13 item 6.

    :param kind: a kind registered with :mod:`.kinds`.
    :param requested_claims: ``[{"name": str, "essential": bool}]``.
    :param context: what the requester needs to resume and what the app shows (JSON); its
        ``details``, ``[{"label": {"en", "zh"}, "value": {"en", "zh"}}]``, are lines the app
        shows under the kind's question (:func:`request_details` gives them in the request's
        language), e.g. the terms of a mandate to act for a company.
    :param binds: ``{name: JSON value}``, one value for each bind the kind declares: the signed
        decision must repeat them (stored as ``context["binds"]``, checked by :func:`decide`).
    :raises LookupError: the kind is not registered; :class:`ValueError`: ``binds`` does not
        name exactly the kind's binds. Both are the requesting app's bugs, not the user's.
    """
    registered = kinds.get(kind)
    declared = registered.binds
    binds = dict(binds or {})
    if set(binds) - set(registered.optional_binds) != set(declared):
        raise ValueError(f"Approval kind {kind!r} binds {sorted(declared)}, got {sorted(binds)}")
    context = {**(context or {}), "binds": binds}
    if origin:
        context["origin"] = _origin(origin)
    request = ApprovalRequest(  # one INSERT without the ORM's compiler (issue 15: a request per login)
        user_code=f"{secrets.randbelow(100):02d}" if user_code else "",
        kind=kind,
        requester_id=requester_id,
        requester_name_en=requester_name_en,
        requester_name_zh=requester_name_zh,
        requester_logo_url=requester_logo_url,
        requested_claims=requested_claims,
        nonce=bytes_to_base64url(secrets.token_bytes(32)),
        resident=resident,
        context=context,
        expires_at=_now() + dt.timedelta(seconds=settings.TUNGBAN_APPROVAL_TTL),
    )
    return rawsql.insert(request)


def _lock_request(request_id, kind: str | None = None, at: dt.datetime | None = None) -> ApprovalRequest:
    """The pending request, locked; expiry judged at ``at`` (when the call was received,
    issue 14 item 7), default now."""
    try:
        req = ApprovalRequest.objects.select_for_update().get(pk=request_id)
    except (ApprovalRequest.DoesNotExist, ValueError, ValidationError):
        raise errors.NoRequest() from None
    if kind and req.kind != kind:
        raise errors.NoRequest()
    if req.status != RequestStatus.PENDING:
        raise errors.RequestAlreadyDecided()
    if (at or _now()) >= req.expires_at:
        raise errors.RequestExpired()
    return req


def get_request(request_id, *, with_resident: bool = True) -> ApprovalRequest:
    """The request, with its resident read in the same query unless ``with_resident`` is
    false (the app's read needs only the device's: a resident row is a dozen encrypted
    fields to decrypt, issue 15). :raises NotFound: ``no_request``."""
    rows = ApprovalRequest.objects.select_related("resident") if with_resident else ApprovalRequest.objects
    try:
        return rows.get(pk=request_id)
    except (ApprovalRequest.DoesNotExist, ValueError, ValidationError):
        raise errors.NoRequest() from None


def get_request_to_complete(request_id) -> ApprovalRequest:
    """The request, with its resident's ``id``, ``status`` and ``tier`` only (the others
    deferred: the requester's completion decrypts nothing), in one read of
    ``wallet_approvalrequest`` joined to ``identity_resident``, written once without the
    ORM's compiler (issue 15: the browser's completion of a login).

    :raises NotFound: ``no_request`` (unknown or malformed id)."""
    try:
        pk = request_id if isinstance(request_id, uuid.UUID) else uuid.UUID(str(request_id))
    except ValueError:
        raise errors.NoRequest() from None
    sql = (
        f"SELECT {rawsql.columns(ApprovalRequest)}, {rawsql.columns(Resident, _RESIDENT_FIELDS, 'r')} "
        "FROM wallet_approvalrequest t LEFT JOIN identity_resident r ON r.id = t.resident_id WHERE t.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ApprovalRequest._meta.pk.get_db_prep_value(pk, connection)])
        row = cursor.fetchone()
    if row is None:
        raise errors.NoRequest()
    req, i = rawsql.load(ApprovalRequest, row)
    resident, _ = rawsql.load(Resident, row, i, _RESIDENT_FIELDS, "r")
    if req.resident_id is not None:
        req.resident = resident
    return req


_RESIDENT_FIELDS = ("id", "status", "tier")  # is_active is a property of status; acr follows tier


def request_details(req: ApprovalRequest, device: Device, resident=None) -> dict:
    """What the app shows: who asks, for which fields (with this resident's values), until
    when; ``binds`` (``{name: value}``), the values its signed decision must repeat as they
    are; plus WebAuthn assertion options when the device has a passkey.

    :param resident: the device's resident if already read (a :class:`Resident` or a
        :class:`tungban.identity.eme.StoredResident`); default ``device.resident``.
    :raises NotFound: ``no_request`` (addressed to another account)."""
    if req.resident_id and req.resident_id != device.resident_id:
        raise errors.NoRequest()
    if resident is None:
        resident = device.resident
    data = {
        "id": str(req.id),
        "kind": req.kind,
        "status": req.effective_status(),
        "requester": {
            "id": req.requester_id,
            "name_en": req.requester_name_en,
            "name_zh": req.requester_name_zh,
            "logo_url": req.requester_logo_url,
        },
        "claims": [
            {
                "name": c["name"],
                "essential": bool(c.get("essential")),
                "label": eme.label(c["name"]),
                "value": eme.preview(resident, c["name"]),
            }
            for c in req.requested_claims
        ],
        "documents": [{"name": d["name"], "sha256": d["sha256"]} for d in req.context.get("documents", [])],
        "document_pages": req.context.get("format") == "pades",  # PDFs the app can show (issue 16)
        "reason": req.context.get("reason", ""),
        "details": _details(_unwaived_lines(req, device.resident_id)),
        "offline_access_days": req.context.get("offline_access_days"),
        "consent": req.context.get("consent"),
        "terms_sha256": req.context.get("terms_sha256"),
        "choice": _choice_details(req, resident),
        "binds": bound_values(req, device.resident_id),
        "code_required": bool(req.user_code),
        "origin": origin_details(req),
        "nonce": req.nonce,
        "expires_at": req.expires_at.isoformat(),
        "webauthn": None,
    }
    if device.has_passkey:
        options = webauthn.generate_authentication_options(
            rp_id=settings.TUNGBAN_WEBAUTHN_RP_ID,
            challenge=base64url_to_bytes(req.nonce),
            allow_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(device.webauthn_credential_id))],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        data["webauthn"] = json.loads(webauthn.options_to_json(options))
    return data


def _choice_details(req: ApprovalRequest, resident) -> dict | None:
    """The question a requester asks in the approval (``context["choice"]``, registered with
    :mod:`.choices`) with the resident's options, in the active language; ``None`` without one.
    ``resident`` is a :class:`Resident` (an app read of such a request takes the reference path)."""
    name = req.context.get("choice")
    if not name:
        return None
    choice = choices.get(name)
    pick = _picker()
    options = [
        {"id": str(o["id"]), "label": pick(o.get("label")), "detail": pick(o.get("detail"))}
        for o in (choice.options(req, resident) if req.status == RequestStatus.PENDING else [])
    ]
    return {
        "name": name,
        "legend": str(choice.legend),
        "options": options,
        "none": str(choice.none),
        "claim": choice.claim,
    }


def _picker():
    zh = (get_language() or "").startswith("zh")

    def pick(text) -> str:
        if not isinstance(text, dict):
            return str(text or "")
        first, second = ("zh", "en") if zh else ("en", "zh")
        return str(text.get(first) or text.get(second) or "")

    return pick


def _details(lines) -> list[dict]:
    """A request's ``details`` in the active language: ``[{"label", "value"}]`` (Chinese for
    ``zh*``, English otherwise; a missing language falls back to the other)."""
    zh = (get_language() or "").startswith("zh")

    def pick(text) -> str:
        if not isinstance(text, dict):
            return str(text or "")
        first, second = ("zh", "en") if zh else ("en", "zh")
        return str(text.get(first) or text.get(second) or "")

    return [{"label": pick(line.get("label")), "value": pick(line.get("value"))} for line in lines or []]


def _origin(origin: dict) -> dict:
    """What is kept of the browser that opened a sign-in page: ``{"browser", "os", "ip"}`` —
    the browser and operating-system families its ``User-Agent`` names (ua-parser, about
    0.04 ms; ``""`` when it names none; the header itself is not stored) and its address."""
    from ua_parser import parse  # loads its rules on first use

    parsed = parse(str(origin.get("user_agent") or "")[:1000])
    family = parsed.user_agent.family if parsed.user_agent else ""
    system = parsed.os.family if parsed.os else ""
    return {
        "browser": "" if family == "Other" else family[:60],
        "os": "" if system == "Other" else system[:60],
        "ip": str(origin.get("ip") or "")[:45],
    }


def origin_details(req: ApprovalRequest) -> dict | None:
    """Where a request shown on a page came from, for the app to show (issue 13 item 6):
    ``{"started_at": ISO 8601, "browser": str, "os": str, "ip": str}`` — when the page was
    opened, the browser and operating-system families its ``User-Agent`` named (``""`` when
    unknown), the address the platform saw it from (``REMOTE_ADDR``: the proxy's, unless the
    deployment's proxy sets it to the client's). ``None`` for other requests."""
    origin = req.context.get("origin")
    if not isinstance(origin, dict):
        return None
    return {
        "started_at": req.created_at.isoformat(),
        "browser": origin.get("browser") or "",
        "os": origin.get("os") or "",
        "ip": origin.get("ip") or "",
    }


def _count_wrong_code(request_id) -> DomainError:
    """Count a wrong number for the request (committed even though the approval is refused);
    the :data:`MAX_CODE_ATTEMPTS`-th cancels it (``failed``, ``code_attempts_exceeded``)."""
    with transaction.atomic():
        req = ApprovalRequest.objects.select_for_update().get(pk=request_id)
        req.code_attempts += 1
        if req.code_attempts < MAX_CODE_ATTEMPTS or req.status != RequestStatus.PENDING:
            req.save(update_fields=["code_attempts"])
            return errors.WrongCode()
        req.status = RequestStatus.FAILED
        req.failure_code = errors.CodeAttemptsExceeded.code
        req.decided_at = _now()
        req.save(update_fields=["code_attempts", "status", "failure_code", "decided_at"])
        return errors.CodeAttemptsExceeded()


def decide(
    request_id,
    device: Device,
    signature: str,
    webauthn_assertion: dict | None = None,
    received_at: dt.datetime | None = None,
) -> ApprovalRequest:
    """Record the resident's decision, signed by the bound device.

    Checks, in order: the request is pending and not expired at ``received_at`` (when the
    decision reached the server, e.g. ``request.received_at``; default now: a decision sent in
    time but processed late still counts, issue 14 item 7); the JWS verifies with this
    device's key and names this device; its payload repeats this request's id, requester
    and nonce, and every value the request binds (:func:`bound_values`, compared as JSON of
    the same type: ``1`` is not ``true`` nor ``1.0``); approved claims are a subset of the
    requested ones and include every essential one; an approval carries the request's
    ``user_code`` as ``code`` (when it has one; a decline needs none); a web device's passkey
    assertion verifies (user verification).

    :raises NotFound: ``no_request``; :class:`Conflict` ``request_already_decided`` (a
        replayed approval); :class:`DomainError` ``request_expired`` (HTTP 410),
        ``essential_claim``, ``unknown_claim``, ``bad_decision``; :class:`Forbidden`
        ``bad_signature`` (e.g. signed by another device), ``wrong_account``,
        ``user_verification_required``, ``bad_passkey``, ``account_suspended``,
        ``wrong_code`` (the approval of a ``code_required`` request does not carry the number
        its page shows; counted), ``code_attempts_exceeded`` (the last wrong number allowed:
        the request is now ``failed``).
    """
    try:
        return _decide(request_id, device, signature, webauthn_assertion, received_at)
    except errors.WrongCode:
        # Outside the refused decision's rolled-back transaction: the attempt must count.
        raise _count_wrong_code(request_id) from None


def _decide(
    request_id, device: Device, signature: str, webauthn_assertion: dict | None, received_at: dt.datetime | None
) -> ApprovalRequest:
    with transaction.atomic():
        req = _lock_request(request_id, at=received_at)
        if req.kind == kinds.BIND:
            raise errors.NoRequest()
        # The resident comes along (checked below); only the device row is locked.
        device = Device.objects.select_for_update(of=("self",)).select_related("resident").get(pk=device.pk)
        if device.status != DeviceStatus.ACTIVE:
            raise errors.DeviceUnbound()
        verdict = judge_decision(req, device, device.resident, signature, webauthn_assertion)
        device.webauthn_sign_count = verdict.sign_count
        device.last_used_at = _now()
        device.save(update_fields=["webauthn_sign_count", "last_used_at"])
        verdict.apply(req, device)
        req.resident = device.resident
        req.save(
            update_fields=[
                "status",
                "approved_claims",
                "resident",
                "device",
                "signature",
                "decided_at",
                "user_verification",
                "context",
            ]
        )
        failure = announce_decision(req)
    if failure is not None:
        raise failure  # recorded as failed; the app shows why
    return req


@dataclass(frozen=True)
class Verdict:
    """What :func:`judge_decision` found: the request's new ``status``, its
    ``approved_claims``, how the user was verified (``"passkey"`` or ``"none"``), the
    device's WebAuthn ``sign_count`` after the assertion, the ``signature`` (the JWS)."""

    status: str
    approved_claims: list[str]
    user_verification: str
    sign_count: int
    signature: str
    #: The signed answer to the request's choice (:mod:`.choices`), when it has one and was approved.
    chosen: str | None = None

    def apply(self, req: ApprovalRequest, device: Device) -> None:
        """Set the decision's fields on ``req`` (not saved): as :func:`decide` records them."""
        if req.context.get("choice") and self.status == RequestStatus.APPROVED:
            req.context = {**req.context, "chosen": self.chosen}
        req.status = self.status
        req.approved_claims = self.approved_claims
        req.user_verification = self.user_verification
        req.device = device
        req.signature = self.signature
        req.decided_at = _now()


def judge_decision(
    req: ApprovalRequest, device: Device, resident, signature: str, webauthn_assertion: dict | None
) -> Verdict:
    """The checks of :func:`decide` on the signed decision itself, in its order, writing
    nothing: the JWS and its ``kid``, the payload's request, nonce, requester and bound
    values, the account (``resident``: the device's, read with it; a :class:`Resident` or an
    :class:`tungban.identity.eme.StoredResident`), the decision and its claims, the page's
    code, the passkey assertion (user verification, issue 13 item 9). The request's state
    (pending, unexpired, not a binding) and the device's (bound) are the caller's to check.

    :raises DomainError: as :func:`decide` (``wrong_code`` is not counted here)."""
    header, payload = _verify_jws(signature, device_key(device.public_jwk))
    if header.get("kid") != str(device.id):
        raise errors.BadSignature()
    if (
        payload.get("request_id") != str(req.id)
        or payload.get("nonce") != req.nonce
        or payload.get("requester") != req.requester_id
        or not _repeats(payload, bound_values(req, device.resident_id))
    ):
        raise errors.BadSignature(_("The signature is for another request."))
    if req.resident_id and req.resident_id != device.resident_id:
        raise errors.WrongAccount()
    identity.require_active(resident)
    decision = payload.get("decision")
    if decision not in ("approve", "decline"):
        raise errors.BadDecision()
    claims = payload.get("claims") or []
    requested = {c["name"]: bool(c.get("essential")) for c in req.requested_claims}
    if decision == "approve":
        if not isinstance(claims, list) or any(c not in requested for c in claims):
            raise errors.UnknownClaim()
        missing = [n for n, essential in requested.items() if essential and n not in claims]
        if missing:
            raise errors.EssentialClaim(fields=", ".join(missing))
        # The number the requesting page shows (cross-device binding code): a resident sent
        # someone else's QR code or link has not seen it.
        typed = payload.get("code")
        if req.user_code and not (
            isinstance(typed, str) and hmac.compare_digest(typed.encode(), req.user_code.encode())
        ):
            raise errors.WrongCode()
    chosen = None
    if decision == "approve" and req.context.get("choice"):
        # The answer to the requester's question, covered by the signature; judged on approval
        # by the choice's check (announce_decision), which never trusts it was offered.
        chosen = payload.get("choice")
        if chosen is not None and (not isinstance(chosen, str) or len(chosen) > 200):
            raise errors.BadDecision()
    sign_count = device.webauthn_sign_count
    if device.has_passkey:
        if not webauthn_assertion:
            raise errors.UserVerificationRequired()
        try:
            verified = webauthn.verify_authentication_response(
                credential=webauthn_assertion,
                expected_challenge=base64url_to_bytes(req.nonce),
                expected_rp_id=settings.TUNGBAN_WEBAUTHN_RP_ID,
                expected_origin=settings.TUNGBAN_ISSUER,
                credential_public_key=bytes(device.webauthn_public_key),
                credential_current_sign_count=device.webauthn_sign_count,
                require_user_verification=True,
            )
        except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError):
            raise errors.BadPasskey() from None
        sign_count = verified.new_sign_count
        user_verification = "passkey"
    else:
        # Only the device key signed: the CLI app's PIN unlocks its key file locally and is
        # never seen here, so nothing says a person was verified (issue 13 item 9).
        user_verification = "none"
    approve = decision == "approve"
    return Verdict(
        status=RequestStatus.APPROVED if approve else RequestStatus.DECLINED,
        approved_claims=[c for c in requested if c in claims] if approve else [],
        user_verification=user_verification,
        sign_count=sign_count,
        signature=signature,
        chosen=chosen,
    )


def announce_decision(req: ApprovalRequest) -> DomainError | None:
    """Tell the other apps (``approval_decided``, in a savepoint of the caller's transaction,
    after the decision is written): a receiver's :class:`DomainError` rolls back what the
    receivers wrote, records the request as ``failed`` with its code, sends
    ``approval_failed`` and is returned (the caller commits, then raises it)."""
    try:
        with transaction.atomic():
            if req.status == RequestStatus.APPROVED and req.context.get("choice"):
                # The resident's signed answer to the requester's question (.choices).
                choices.get(req.context["choice"]).check(req, req.resident, req.context.get("chosen"))
            signals.approval_decided.send(sender=ApprovalRequest, request=req)
    except DomainError as exc:
        req.status = RequestStatus.FAILED
        req.failure_code = exc.code
        req.save(update_fields=["status", "failure_code"])
        signals.approval_failed.send(sender=ApprovalRequest, request=req)
        return exc
    return None


def _repeats(payload: dict, binds: dict) -> bool:
    """Whether ``payload`` carries every bound value unchanged (same canonical JSON text)."""
    return all(name in payload and canonical(payload[name]) == canonical(value) for name, value in binds.items())


def _unwaived_lines(req: ApprovalRequest, resident_id) -> list:
    """``context["details"]`` less the lines tagged (``"bind"``) with a bind waived for the
    resident ``resident_id`` (:func:`.kinds.register_waiver`)."""
    lines = req.context.get("details") or []
    if not any(isinstance(line, dict) and line.get("bind") for line in lines):
        return lines
    return [line for line in lines if not line.get("bind") or not kinds.waived(line["bind"], req, resident_id)]


def bound_values(req: ApprovalRequest, resident_id=None) -> dict:
    """``{name: value}`` the signed decision on ``req`` must repeat: ``context["binds"]``,
    less an optional bind waived for the resident ``resident_id`` (:func:`.kinds.register_waiver`; e.g. a
    cross-boundary consent already given, issue 23).

    A request opened before the registry (no ``binds``; accepted for one release) binds what
    the signing and consent requests of that time did: ``documents`` (the SHA-256 digests of
    ``context["documents"]``, in order) and ``terms`` (``context["terms_sha256"]``).
    """
    if "binds" in req.context:
        binds = dict(req.context["binds"])
        if resident_id is not None and binds and kinds.has_waivers():
            binds = {name: value for name, value in binds.items() if not kinds.waived(name, req, resident_id)}
        return binds
    legacy = {}  # Remove after the next release, with the requests that predate binds.
    if "documents" in req.context:
        legacy["documents"] = [d["sha256"] for d in req.context["documents"]]
    if "terms_sha256" in req.context:
        legacy["terms"] = req.context["terms_sha256"]
    return legacy


def complete(req_id, *, expected_kind: str | None = None, read: ApprovalRequest | None = None) -> ApprovalRequest:
    """Mark an approved request as used by the requester (once), with its resident.

    One conditional ``UPDATE`` (approved, of ``expected_kind``, not past the completion
    grace) decides it, so of two concurrent completions only one wins; the request is then
    read with its resident — unless the caller passes the request it already ``read`` (with
    :func:`get_request`, its resident loaded): once approved, nothing but the status changes,
    so that one is returned marked completed (issue 15: one query less per login). Called
    inside the requester's transaction, it adds no savepoint (issue 15 acceptance 2); a
    failure raises before anything is written.

    :raises Conflict: ``request_already_decided`` when it is not (or no longer) approved;
        :class:`DomainError` ``request_expired`` past ``expires_at`` + :data:`COMPLETION_GRACE`;
        ``ApprovalRequest.DoesNotExist`` for an unknown id.
    """
    with transaction.atomic(savepoint=False):
        used = _mark_completed(req_id, expected_kind)
        if used and read is not None and str(read.pk) == str(req_id):
            read.status = RequestStatus.COMPLETED
            return read
        # The resident comes along (the login session and the code need it).
        req = ApprovalRequest.objects.select_related("resident").get(pk=req_id)
    if not used:
        if req.status != RequestStatus.APPROVED or (expected_kind and req.kind != expected_kind):
            raise errors.RequestAlreadyDecided(_("This request has already been used."))
        raise errors.RequestExpired()
    return req


def _mark_completed(req_id, expected_kind: str | None) -> bool:
    """``approved`` → ``completed`` if the request ``req_id`` is approved (of
    ``expected_kind``) and not past ``expires_at`` + :data:`COMPLETION_GRACE`; whether it was.
    One ``UPDATE`` of ``wallet_approvalrequest`` written once (issue 15: the ORM's compiler
    was most of its cost); its row lock makes two concurrent completions serial."""
    try:
        sql, params = _completion_statement(req_id, expected_kind)
    except ValueError:
        return False
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def _completion_statement(req_id, expected_kind: str | None) -> tuple[str, list]:
    """The conditional ``UPDATE`` of :func:`_mark_completed`: ``(sql, params)``.

    :raises ValueError: ``req_id`` is no UUID."""
    pk = req_id if isinstance(req_id, uuid.UUID) else uuid.UUID(str(req_id))
    since = _now() - dt.timedelta(seconds=COMPLETION_GRACE)
    sql = "UPDATE wallet_approvalrequest SET status = %s WHERE id = %s AND status = %s AND expires_at >= %s"
    params = [
        RequestStatus.COMPLETED.value,
        ApprovalRequest._meta.pk.get_db_prep_value(pk, connection),
        RequestStatus.APPROVED.value,
        connection.ops.adapt_datetimefield_value(since),
    ]
    if expected_kind:
        sql += " AND kind = %s"
        params.append(expected_kind)
    return sql, params


def completion_guard(read: ApprovalRequest, *, expected_kind: str | None = None) -> tuple[str, list]:
    """What :func:`complete` writes, for the requester to run **in the statement of its own
    writes** (issue 15, the browser's completion: one statement, no ``BEGIN``/``COMMIT``):
    ``(sql, params)`` of one ``UPDATE`` of ``wallet_approvalrequest`` (no ``RETURNING``)
    that marks the request ``completed`` only if it is still approved (of ``expected_kind``)
    and not past ``expires_at`` + :data:`COMPLETION_GRACE` — it updates one row or none.
    The requester writes its rows only if it updated one (e.g. a data-modifying ``WITH``,
    :func:`tungban.core.rawsql.insert_linked`'s ``guard``); its row lock makes two concurrent
    completions serial: the second updates nothing. Run it and nothing else of this request.

    :param read: the request as the caller read it (:func:`get_request_to_complete`); judged
        first, so a request that cannot be completed raises before anything is written.
    :raises Conflict: ``request_already_decided`` when ``read`` is not approved (or not of
        ``expected_kind``); :class:`DomainError` ``request_expired`` past the grace.
    """
    if read.status != RequestStatus.APPROVED or (expected_kind and read.kind != expected_kind):
        raise errors.RequestAlreadyDecided(_("This request has already been used."))
    if read.expires_at < _now() - dt.timedelta(seconds=COMPLETION_GRACE):
        raise errors.RequestExpired()
    return _completion_statement(read.pk, expected_kind)


def completion_refused(req_id, *, expected_kind: str | None = None) -> DomainError:
    """The error of a :func:`completion_guard` that updated no row (another completion won,
    or the grace ran out meanwhile), as :func:`complete` raises it: the request read again.

    :returns: ``request_already_decided`` (:class:`Conflict`) or ``request_expired``."""
    req = ApprovalRequest.objects.filter(pk=req_id).only("status", "kind").first()
    if req is None or req.status != RequestStatus.APPROVED or (expected_kind and req.kind != expected_kind):
        return errors.RequestAlreadyDecided(_("This request has already been used."))
    return errors.RequestExpired()


def pending_for(resident: Resident) -> list[ApprovalRequest]:
    """Pending, unexpired requests addressed to this resident (newest first)."""
    return list(
        ApprovalRequest.objects.filter(resident=resident, status=RequestStatus.PENDING, expires_at__gt=_now())
        .exclude(kind=kinds.BIND)
        .order_by("-created_at")
    )


# --- Device request proofs -------------------------------------------------------------------


def authenticate_device(authorization: str | None, method: str, url: str) -> Device:
    """Authenticate an app API call by its ``Authorization: Device <JWS>`` proof.

    :param url: the request's absolute URL without query (compared to ``htu``).
    ``iat`` (integer seconds) is accepted from ``now - PROOF_LIFETIME - TUNGBAN_CLOCK_SKEW``
    to ``now + TUNGBAN_CLOCK_SKEW`` (issue 14 item 9); the ``jti`` is stored until the end
    of that window, so that purging ``UsedProof`` rows by ``expires_at`` never reopens it.
    :raises Forbidden: ``device_auth_required``, ``bad_signature``, ``proof_expired``,
        ``proof_replayed``, ``device_unbound``, ``account_suspended``.
    """
    if not authorization or not authorization.startswith("Device "):
        raise errors.DeviceAuthRequired()
    token = authorization[len("Device ") :].strip()
    try:
        obj = jws.extract_compact(token.encode())
        kid = obj.headers().get("kid")
        device = Device.objects.select_related("resident").get(pk=kid)
    except Exception:
        raise errors.BadSignature(status=401) from None
    jti, keep_until = check_proof(obj, device, method, url)
    if not _remember_proof(jti, keep_until):
        raise errors.ProofReplayed()
    identity.require_active(device.resident)
    return device


def check_proof(obj, device: Device, method: str, url: str) -> tuple[str, dt.datetime]:
    """The checks of :func:`authenticate_device` that write nothing, in its order: the proof
    ``obj`` (a JWS parsed by ``joserfc.jws.extract_compact``) verifies with ``device``'s key,
    the device is bound, ``htm``/``htu`` name this call, ``iat`` is within the window, the
    ``jti`` is long enough. ``device.resident`` is read only for an unbound device's notice.

    :returns: ``(jti key, keep until)`` for :func:`_remember_proof`.
    :raises Forbidden: ``bad_signature``, ``device_unbound``, ``proof_expired`` (status 401)."""
    try:
        key = device_key(device.public_jwk)
    except (JoseError, ValueError, TypeError, KeyError, AttributeError):
        raise errors.BadSignature() from None
    _header, payload = _verify_extracted(obj, key)
    if device.status != DeviceStatus.ACTIVE:
        # Tell the phone why, if the account has a notice since it was bound (issue 13 item 1).
        notice = AccountNotice.objects.filter(resident_id=device.resident_id, created_at__gte=device.bound_at).first()
        raise errors.DeviceUnbound(
            f"{errors.DeviceUnbound.default_message} {notice_text(notice)}" if notice else None, status=401
        )
    if payload.get("htm") != method or payload.get("htu") != url:
        raise errors.BadSignature(_("The proof is for another call."), status=401)
    iat = payload.get("iat")
    now = _now()
    skew = settings.TUNGBAN_CLOCK_SKEW
    # A phone's clock may be off either way by the documented skew (issue 14 item 9).
    if not isinstance(iat, int) or not (-PROOF_LIFETIME - skew <= iat - now.timestamp() <= skew):
        raise errors.ProofExpired()
    jti = str(payload.get("jti", ""))[:64]
    if len(jti) < 16:
        raise errors.BadSignature(_("The proof needs a unique jti."), status=401)
    # Remembered until the proof is refused as too old, so that no purge can let it back in.
    last_accepted = dt.datetime.fromtimestamp(iat + PROOF_LIFETIME + skew + 1, tz=dt.UTC)
    return f"{device.pk.hex[:8]}{jti}"[:64], max(last_accepted, now)


def _remember_proof(jti: str, expires_at: dt.datetime) -> bool:
    """Store a proof's ``jti`` (table ``wallet_usedproof``) unless it is there: whether it
    was new. One statement (``INSERT … ON CONFLICT (jti) DO NOTHING``, PostgreSQL and
    SQLite): no savepoint or transaction of its own, and nothing to roll back when it was
    seen (issue 15: it was BEGIN, INSERT, COMMIT on every app call)."""
    table = connection.ops.quote_name(UsedProof._meta.db_table)
    value = UsedProof._meta.get_field("expires_at").get_db_prep_save(expires_at, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (jti, expires_at) VALUES (%s, %s) ON CONFLICT (jti) DO NOTHING",  # noqa: S608 - the table name is the model's
            [jti, value],
        )
        return cursor.rowcount == 1


# --- History -----------------------------------------------------------------------------------


def record_release(
    resident: Resident,
    *,
    requester_id: str,
    requester_name_en: str,
    requester_name_zh: str,
    kind: str,
    claims: list[str],
    approval: ApprovalRequest | None = None,
    once_since: dt.datetime | None = None,
) -> ReleaseRecord:
    """Record that ``claims`` of ``resident`` were released to a service (shown in the app).
    With ``once_since``: the same release (requester, kind and claims) already recorded since
    then is the record, and nothing is added (a mini-app's launch session: security review M5)."""
    if once_since is not None:
        for rec in ReleaseRecord.objects.filter(
            resident=resident, requester_id=requester_id, kind=kind, released_at__gte=once_since
        ).order_by("-released_at"):
            if list(rec.claims) == list(claims):
                return rec
    return ReleaseRecord.objects.create(
        resident=resident,
        requester_id=requester_id,
        requester_name_en=requester_name_en,
        requester_name_zh=requester_name_zh,
        kind=kind,
        claims=list(claims),
        approval=approval,
    )


@functools.cache
def _release_insert_sql() -> str:
    table = connection.ops.quote_name(ReleaseRecord._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(ReleaseRecord._meta.get_field(n).column) for n in _RELEASE_COLUMNS)
    return f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(_RELEASE_COLUMNS))})"


_RELEASE_COLUMNS = (
    "resident",
    "requester_id",
    "requester_name_en",
    "requester_name_zh",
    "kind",
    "claims",
    "approval",
    "released_at",
)


def latest_release(resident: Resident, *, requester_id: str) -> ReleaseRecord | None:
    """The newest release of ``resident``'s data to ``requester_id`` (served by the
    ``(resident, -released_at)`` index), or ``None``."""
    return ReleaseRecord.objects.filter(resident=resident, requester_id=requester_id).order_by("-released_at").first()


def record_release_row(
    resident_id: int,
    *,
    requester_id: str,
    requester_name_en: str,
    requester_name_zh: str,
    kind: str,
    claims: list[str],
    approval_id=None,
) -> None:
    """:func:`record_release` in one ``INSERT`` into ``wallet_releaserecord`` (raw SQL, issue
    15: the ORM's statement building cost more than the write), for a hot path that read the
    resident's and the approval's ids with its own query: the same row, without building
    model instances or reading the new id back. ``approval_id`` is the stored value as read
    (a UUID, or its 32 hex digits on SQLite). Inside the caller's transaction if there is
    one, else its own (autocommit).

    The ids are not checked by the database (:class:`~tungban.wallet.models.ReleaseRecord`:
    no foreign-key constraints, issue 15): pass ids the caller has just read.

    :raises django.db.DatabaseError: the database failed."""
    claims_field = ReleaseRecord._meta.get_field("claims")
    values = (
        resident_id,
        requester_id,
        requester_name_en,
        requester_name_zh,
        kind,
        claims_field.get_db_prep_save(list(claims), connection),
        approval_id,
        connection.ops.adapt_datetimefield_value(timezone.now()),
    )
    with connection.cursor() as cursor:
        cursor.execute(_release_insert_sql(), values)


def release_insert_sql(source: str, **expressions: str) -> str:
    """:func:`record_release_row` as one ``INSERT … SELECT … FROM source RETURNING id``, for a
    hot path that records a release in the statement that reads what it releases (a
    data-modifying ``WITH`` on PostgreSQL, issue 15): ``expressions`` maps each of
    ``resident``, ``requester_id``, ``requester_name_en``, ``requester_name_zh``, ``kind``,
    ``claims`` (a JSON array of claim names), ``approval`` and ``released_at`` to an SQL
    expression over ``source`` (a table or ``WITH`` name), whose parameters the caller binds.
    The result column ``id`` is the new record's key. Table written: ``wallet_releaserecord``.

    :raises ValueError: an expression missing or unknown."""
    if set(expressions) != set(_RELEASE_COLUMNS):
        raise ValueError(f"expressions for exactly {_RELEASE_COLUMNS}, got {sorted(expressions)}")
    q = connection.ops.quote_name
    columns = ", ".join(q(ReleaseRecord._meta.get_field(n).column) for n in _RELEASE_COLUMNS)
    values = ", ".join(expressions[n] for n in _RELEASE_COLUMNS)
    return (
        f"INSERT INTO {q(ReleaseRecord._meta.db_table)} ({columns}) SELECT {values} FROM {source}"
        f" RETURNING {q(ReleaseRecord._meta.pk.column)} AS id"
    )


def correct_release_claims(record_id: int, claims: list[str]) -> None:
    """Set the claims of the release record ``record_id`` to ``claims`` (one ``UPDATE`` by
    key), for a hot path whose one statement recorded a guess of what it would release and
    found, once the values were read, that it released ``claims`` (issue 15).

    :raises django.db.DatabaseError: the database failed."""
    ReleaseRecord.objects.filter(pk=record_id).update(claims=list(claims))


def take_back_release(record_id: int) -> None:
    """Delete the release record ``record_id`` (one ``DELETE`` by key), for a hot path whose
    one statement recorded a release that it then could not give (e.g. a value no key
    opens), so that no release is on record for an answer that was not given (issue 15).

    :raises django.db.DatabaseError: the database failed."""
    ReleaseRecord.objects.filter(pk=record_id).delete()


def history(resident: Resident, limit: int = 100) -> list[ReleaseRecord]:
    """The resident's releases, newest first."""
    return list(resident.releases.all()[:limit])


def resident_summary(resident: Resident) -> dict:
    """Public summary of the account for the app: names, masked HKID, tier, status."""
    return {
        "name_en": resident.name_en,
        "name_zh": resident.name_zh,
        "hkid_masked": resident.hkid_masked,
        "tier": resident.tier,
        "status": resident.status,
    }


def device_key_bound(public_jwk: dict) -> bool:
    """Is ``public_jwk`` (e.g. a credential's ``cnf.jwk``) the key of a currently bound app?
    False for an unbound (lost or replaced) phone and for keys that are no JWK at all."""
    thumbprint = _jwk_thumbprint(json.dumps(public_jwk, sort_keys=True)) if isinstance(public_jwk, dict) else None
    if thumbprint is None:
        return False
    return Device.objects.filter(jwk_thumbprint=thumbprint, status=DeviceStatus.ACTIVE).exists()


@functools.lru_cache(maxsize=1024)
def _jwk_thumbprint(jwk_json: str) -> str | None:
    """RFC 7638 thumbprint of a JWK given as canonical JSON, None for no EC key (a pure
    function of its argument, so it is kept; issue 15)."""
    try:
        return ECKey.import_key(json.loads(jwk_json)).thumbprint()
    except (JoseError, ValueError, TypeError, KeyError):
        return None


def device_key_bound_sql(public_jwk) -> tuple[str, list] | None:
    """:func:`device_key_bound` as a scalar SQL expression, for a caller that reads it in the
    same statement as its own tables (認證易's online check, issue 15): ``(sql, params)``
    whose value is 1 when ``public_jwk`` is the key of a bound app and NULL otherwise; None
    when ``public_jwk`` is no EC JWK at all (then it is not bound). Table read:
    ``wallet_device`` (``jwk_thumbprint``, ``status``), parameters bound."""
    thumbprint = _jwk_thumbprint(json.dumps(public_jwk, sort_keys=True)) if isinstance(public_jwk, dict) else None
    if thumbprint is None:
        return None
    return (
        "(SELECT 1 FROM wallet_device WHERE jwk_thumbprint = %s AND status = %s LIMIT 1)",
        [thumbprint, DeviceStatus.ACTIVE.value],
    )


def kind_labels() -> dict[str, str]:
    """``{kind id: label}`` of every registered approval kind (:mod:`.kinds`), translated into
    the active language; e.g. ``{"sign": "Sign documents", ...}`` for the app and the history."""
    return kinds.labels()


def kind_questions() -> dict[str, str]:
    """``{kind id: question}`` of the kinds that registered one (:mod:`.kinds`), translated."""
    return kinds.questions()


# --- Account notices (issue 13 item 1) ----------------------------------------------------------

#: ``kind → text`` of the notices the app shows; ``%(date)s`` is when the notice was made.
NOTICE_TEXTS = {
    "counter_rebind": _(
        "On %(date)s a registration counter issued a new activation code for your account, approved "
        "by two officers, so that another phone can be bound. This phone stops working once it is. "
        "If you did not ask for this, call 1823 at once."
    ),
    "counter_unbind": _(
        "On %(date)s a registration counter unbound your phone from your account. A new phone can "
        "only be bound with a new activation code, approved by two officers at a counter. If you did "
        "not ask for this, call 1823 at once."
    ),
    "counter_suspend": _(
        "On %(date)s a registration counter suspended your account and unbound your phone. Ask at a "
        "registration counter or call 1823."
    ),
}


def record_notice(resident: Resident, kind: str, **details) -> AccountNotice:
    """Record a notice for the resident's app (shown once on its next open and in the history).

    :param kind: a key of :data:`NOTICE_TEXTS`. :raises KeyError: for another kind.
    """
    NOTICE_TEXTS[kind]  # noqa: B018 - an unknown kind is a programming error
    return AccountNotice.objects.create(resident=resident, kind=kind, details=details)


def notices(resident: Resident, limit: int = 20) -> list[AccountNotice]:
    """The resident's notices, newest first."""
    return list(resident.notices.all()[:limit])


def notice_text(notice: AccountNotice) -> str:
    """The notice's text in the active language, with its date in Hong Kong time written as
    the app writes dates (:func:`tungban.core.dates.resident_datetime`, issue 16 polish16 item 9)."""
    return str(NOTICE_TEXTS[notice.kind]) % {"date": resident_datetime(notice.created_at)}


# --- Retention (issue 14 item 7) ----------------------------------------------------------


def purge_expired(now: dt.datetime) -> dict[str, int]:
    """The wallet's expired protocol state (registered with :mod:`tungban.core.retention`):

    * pending approval requests past ``expires_at`` become ``expired`` (they stayed
      ``pending`` for ever);
    * expired approval requests are deleted ``TUNGBAN_EXPIRED_RETENTION`` seconds after they
      expired, unless a row of another app still names them (a signing request, a consent
      whose status is read from its request's, a code): those are kept with that row;
    * request-proof ``jti``s (``UsedProof``) past their ``expires_at``.

    :returns: ``{table: rows}`` for ``wallet.ApprovalRequest.expired``,
        ``wallet.ApprovalRequest`` (deleted) and ``wallet.UsedProof``.
    """
    expired = ApprovalRequest.objects.filter(status=RequestStatus.PENDING, expires_at__lte=now).update(
        status=RequestStatus.EXPIRED
    )
    old = ApprovalRequest.objects.filter(
        status=RequestStatus.EXPIRED,
        expires_at__lt=now - dt.timedelta(seconds=settings.TUNGBAN_EXPIRED_RETENTION),
    )
    for rel in ApprovalRequest._meta.related_objects:  # rows of other apps still naming it
        if rel.related_model is ReleaseRecord:
            continue  # a release names an approved request, never an expired one (ReleaseRecord.approval)
        old = old.filter(**{f"{rel.name}__isnull": True})
    deleted = old.delete()[1].get(ApprovalRequest._meta.label, 0)
    proofs = UsedProof.objects.filter(expires_at__lt=now).delete()[0]
    return {
        "wallet.ApprovalRequest.expired": expired,
        "wallet.ApprovalRequest": deleted,
        "wallet.UsedProof": proofs,
    }


def extend_pending(request_id, *, ttl: int, max_lifetime: int) -> tuple[dt.datetime, bool]:
    """Give a pending request a fresh time to live: ``expires_at`` = now + ``ttl`` seconds,
    never later than ``created_at`` + ``max_lifetime`` seconds (a sign-in page's "More time",
    issue 16; WCAG 2.2.1 Timing Adjustable). Returns ``(expires_at, can_extend_again)``.

    :raises NotFound: ``no_request``; :class:`~tungban.core.errors.DomainError`:
        ``request_already_decided`` (409), ``request_expired`` (410)."""
    with transaction.atomic():
        req = _lock_request(request_id)
        now = _now()
        if now >= req.expires_at:
            raise errors.RequestExpired()
        cap = req.created_at + dt.timedelta(seconds=max_lifetime)
        req.expires_at = max(req.expires_at, min(now + dt.timedelta(seconds=ttl), cap))
        req.save(update_fields=["expires_at"])
    return req.expires_at, req.expires_at < cap - dt.timedelta(seconds=1)
