"""Issuing, revoking and verifying e-licences and e-certificates (issue #5, MISSION §4).

Format: SD-JWT VC (draft-ietf-oauth-sd-jwt-vc; SD-JWT is RFC 9901), made and checked with
the ``sd-jwt`` library (OpenWallet Foundation). The issuer-signed JWT has header
``{"alg": "ES256", "typ": "dc+sd-jwt", "kid"}`` and, in the clear, ``iss`` (the issuer's
URL), ``vct`` (the credential type's URL), ``iat``, ``nbf``, ``exp`` (when the type expires),
``status`` and ``cnf`` (the holder's app key, RFC 7800); every claim about the holder is
selectively disclosable (one disclosure each, SD-JWT §4.2).

Status: IETF Token Status List (draft-ietf-oauth-status-list), 2 bits per credential
(0 valid, 1 invalid = revoked, 2 suspended); ``status.status_list = {"idx", "uri"}``. A
verifier fetches the whole list, so the issuer does not learn which credential is checked.

Transparency: every issuance and status change is a leaf in the RFC 9162 Merkle log
(:mod:`tungban.ledger`), written in the same transaction. Leaves carry the SHA-256 of the
issuer-signed JWT and the status position, never personal data.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import functools
import hashlib
import io
import json
import time
import uuid
import zlib
from dataclasses import dataclass

import jsonschema
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import receiver
from django.tasks import TaskResultStatus, task
from django.tasks.signals import task_finished
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from joserfc import jws as jose_jws
from joserfc.jwk import ECKey, KeySet
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.issuer import SDJWTIssuer

from tungban.core import jobs
from tungban.core.errors import DomainError
from tungban.identity import hkid as hkid_mod
from tungban.identity import services as identity
from tungban.identity.models import Resident
from tungban.keys import services as keys
from tungban.keys.sealing import seal, unseal
from tungban.ledger import transparency as ledger
from tungban.wallet.models import Device, DeviceStatus

from . import errors as credential_errors
from .constants import CREDENTIALS_SCOPE
from .models import (
    Credential,
    CredentialType,
    IssuanceBatch,
    Issuer,
    IssuerKey,
    JobState,
    Status,
    StatusChange,
    StatusList,
)

SD_JWT_TYP = "dc+sd-jwt"
STATUS_LIST_TYP = "statuslist+jwt"
STATUS_BITS = 2
STATUS_CODES = {Status.VALID: 0x00, Status.REVOKED: 0x01, Status.SUSPENDED: 0x02}
STATUS_NAMES = {0x00: Status.VALID, 0x01: Status.REVOKED, 0x02: Status.SUSPENDED}
# Allowed transitions: revocation is final (Token Status List §7.1: INVALID is permanent).
TRANSITIONS = {
    Status.VALID: {Status.SUSPENDED, Status.REVOKED},
    Status.SUSPENDED: {Status.VALID, Status.REVOKED},
    Status.REVOKED: set(),
}
HKT = dt.timezone(dt.timedelta(hours=8))


# --------------------------------------------------------------------------- URLs and keys


def issuer_url(issuer: Issuer | str) -> str:
    """The issuer identifier (``iss``): ``{TUNGBAN_ISSUER}/issuers/{id}``."""
    return f"{settings.TUNGBAN_ISSUER}/issuers/{getattr(issuer, 'id', issuer)}"


def vct_url(ctype: CredentialType | str) -> str:
    """The credential type identifier (``vct``), resolving to its SD-JWT VC Type Metadata."""
    return f"{settings.TUNGBAN_ISSUER}/credentials/types/{getattr(ctype, 'id', ctype)}"


def status_list_url(status_list: StatusList) -> str:
    return f"{settings.TUNGBAN_ISSUER}/credentials/status/{status_list.issuer_id}/{status_list.number}"


def verifier_audience() -> str:
    """The ``aud`` the holder's app puts in a key-binding JWT for an in-person presentation
    checked with 認證易 (``{TUNGBAN_ISSUER}/verify``)."""
    return f"{settings.TUNGBAN_ISSUER}/verify"


def create_issuer_key(issuer: Issuer) -> IssuerKey:
    """Generate a new P-256 key for ``issuer``; it becomes the active key."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = seal(private)
    public = ECKey.import_key(private.public_key())
    kid = public.thumbprint()
    jwk = {**public.as_dict(private=False), "kid": kid, "use": "sig", "alg": "ES256"}
    return IssuerKey.objects.create(issuer=issuer, kid=kid, private_pem=pem, public_jwk=jwk)


@transaction.atomic
def rotate_issuer_key(issuer: Issuer) -> IssuerKey:
    """Retire ``issuer``'s active key(s) and create a new one. Retired keys stay published
    (credentials they signed keep verifying)."""
    issuer.keys.filter(retired_at__isnull=True).update(retired_at=timezone.now())
    return create_issuer_key(issuer)


@dataclass(frozen=True)
class _SigningKey:
    kid: str
    jwcrypto: JWK
    joserfc: ECKey


@functools.lru_cache(maxsize=32)
def _decrypted(kid: str, pem: bytes) -> _SigningKey:
    private = unseal(pem)
    return _SigningKey(kid, JWK.from_pyca(private), ECKey.import_key(private, {"kid": kid}))


def _signing_key(issuer: Issuer) -> _SigningKey:
    key = issuer.keys.filter(retired_at__isnull=True).order_by("-created_at", "-id").only("kid", "private_pem").first()
    if key is None:
        key = create_issuer_key(issuer)
    return _decrypted(key.kid, bytes(key.private_pem))


def ensure_issuer_key(issuer: Issuer) -> None:
    """Give ``issuer`` a signing key if it has none (at set-up, not on a public request)."""
    if not issuer.keys.exists():
        create_issuer_key(issuer)


def issuer_jwks(issuer: Issuer) -> dict:
    """The issuer's public keys (RFC 7517 JWKS), active and retired; no private key is read."""
    return published_jwks(issuer.id)


def published_jwks(issuer_id: str) -> dict:
    """The public keys of ``issuer_id`` as stored (no private key is read, none created)."""
    return {
        "keys": list(
            IssuerKey.objects.filter(issuer_id=issuer_id)
            .order_by("-created_at", "-id")
            .values_list("public_jwk", flat=True)
        )
    }


def issuer_metadata(issuer: Issuer) -> dict:
    """JWT VC Issuer Metadata (SD-JWT VC §5), served at
    ``/.well-known/jwt-vc-issuer/issuers/{id}``: ``{"issuer", "jwks", "name_en", "name_zh"}``."""
    return {
        "issuer": issuer_url(issuer),
        "jwks": issuer_jwks(issuer),
        "name_en": issuer.name_en,
        "name_zh": issuer.name_zh,
    }


def did_web(issuer: Issuer) -> str:
    """The issuer's ``did:web`` identifier (W3C did:web method §3.2: host, port encoded, path)."""
    host = settings.TUNGBAN_ISSUER.split("://", 1)[1].replace(":", "%3A").replace("/", ":")
    return f"did:web:{host}:issuers:{issuer.id}"


def did_document(issuer: Issuer) -> dict:
    """A DID document (W3C DID Core §5) for :func:`did_web`, listing the issuer's keys as
    ``JsonWebKey`` verification methods; served at ``/issuers/{id}/did.json``."""
    did = did_web(issuer)
    methods = [
        {"id": f"{did}#{k['kid']}", "type": "JsonWebKey", "controller": did, "publicKeyJwk": k}
        for k in issuer_jwks(issuer)["keys"]
    ]
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/jwk/v1"],
        "id": did,
        "alsoKnownAs": [issuer_url(issuer)],
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }


def type_metadata(ctype: CredentialType) -> dict:
    """SD-JWT VC Type Metadata (draft-ietf-oauth-sd-jwt-vc §6) of ``ctype``: names and
    rendering in English and Traditional Chinese, per-claim labels, and the JSON Schema."""
    display = ctype.display or {}
    colours = {
        k: v for k, v in (("background_color", display.get("background")), ("text_color", display.get("text"))) if v
    }
    rendering = {"rendering": {"simple": colours}} if colours else {}
    return {
        "vct": vct_url(ctype),
        "name": ctype.name_en,
        "description": ctype.description_en,
        "display": [
            {"lang": "en", "name": ctype.name_en, "description": ctype.description_en, **rendering},
            {"lang": "zh-Hant", "name": ctype.name_zh, "description": ctype.description_zh, **rendering},
        ],
        "claims": [
            {
                "path": [c["name"]],
                "sd": "always",
                "display": [{"lang": "en", "label": c["label_en"]}, {"lang": "zh-Hant", "label": c["label_zh"]}],
            }
            for c in display.get("claims", [])
        ],
        "schema": ctype.schema,
        "issuer": issuer_url(ctype.issuer_id),
        "validity_days": ctype.validity_days,
    }


# --------------------------------------------------------------------------- issuers and officers


def get_type(type_id: str) -> CredentialType:
    """:raises NotFound: ``credential_type_unknown``."""
    try:
        return CredentialType.objects.select_related("issuer").get(id=type_id, active=True)
    except CredentialType.DoesNotExist:
        raise credential_errors.CredentialTypeUnknown(id=type_id) from None


def issuers_for_officer(user) -> list[Issuer]:
    """The issuers ``user`` may issue for: all for a superuser, else those listing them."""
    qs = Issuer.objects.all() if user.is_superuser else user.credential_issuers.all()
    return list(qs.order_by("id"))


def require_officer(user, issuer: Issuer) -> None:
    """:raises Forbidden: ``not_an_issuer_officer`` when ``user`` is no officer of ``issuer``."""
    if not (user.is_active and user.is_staff and (user.is_superuser or issuer.officers.filter(pk=user.pk).exists())):
        raise credential_errors.NotAnIssuerOfficer(
            _("You are not an officer of %(issuer)s.") % {"issuer": issuer.name_en}
        )


@transaction.atomic
def register_issuer_system(issuer: Issuer, client) -> Issuer:
    """Let ``client`` (an OpenID Connect client with a registered JWKS) issue and revoke
    ``issuer``'s credentials through the API: it may then ask for the ``credentials`` scope
    (``client_credentials`` with ``private_key_jwt`` only)."""
    if CREDENTIALS_SCOPE not in client.allowed_scopes:
        client.allowed_scopes = [*client.allowed_scopes, CREDENTIALS_SCOPE]
        client.save(update_fields=["allowed_scopes"])
    issuer.client = client
    issuer.save(update_fields=["client"])
    return issuer


def issuer_for_token(token) -> Issuer:
    """The issuer behind a ``credentials`` access token: the department system's own
    ``client_credentials`` token, never one obtained by logging a resident in.

    :raises Forbidden: ``not_an_issuer``.
    """
    if token.resident_id is not None:
        raise credential_errors.NotAnIssuer(
            _("Issue credentials with your system's own token (client credentials), not a resident's.")
        )
    return issuer_for_client(token.client)


def issuer_for_client(client) -> Issuer:
    """The issuer a department system's OpenID Connect client issues for.

    :raises Forbidden: ``not_an_issuer`` when the client is registered for no issuer.
    """
    try:
        return client.credential_issuer
    except Issuer.DoesNotExist:
        raise credential_errors.NotAnIssuer() from None


# --------------------------------------------------------------------------- claims


def input_claims(ctype: CredentialType) -> list[str]:
    """Claims an officer (or a CSV column) supplies: the schema's properties that are not
    filled from the holder's identity, in display order."""
    order = [c["name"] for c in (ctype.display or {}).get("claims", [])]
    props = list(ctype.schema.get("properties", {}))
    names = [n for n in order if n in props] + [n for n in props if n not in order]
    return [n for n in names if n not in (ctype.holder_claims or {})]


def _holder_value(resident: Resident, attribute: str, at: dt.date):
    if attribute.startswith("age_over_"):
        return identity.age_on(resident.date_of_birth, at) >= int(attribute.removeprefix("age_over_"))
    value = getattr(resident, attribute)
    return value.isoformat() if isinstance(value, dt.date) else value


def _coerce(ctype: CredentialType, name: str, raw):
    """A CSV/form string → the JSON type the schema asks for (integer, number, boolean)."""
    spec = ctype.schema.get("properties", {}).get(name, {})
    if not isinstance(raw, str):
        return raw
    raw = raw.strip()
    kind = spec.get("type")
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw  # the schema check reports it
    if kind == "boolean" and raw.lower() in ("true", "false", "yes", "no", "1", "0"):
        return raw.lower() in ("true", "yes", "1")
    return raw


_FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


def claims_validator(ctype: CredentialType) -> jsonschema.Draft202012Validator:
    """A JSON Schema validator for ``ctype``'s claims (build once, reuse for many rows)."""
    return jsonschema.Draft202012Validator(ctype.schema, format_checker=_FORMAT_CHECKER)


def prepare_claims(
    ctype: CredentialType,
    holder: Resident,
    inputs: dict,
    *,
    at: dt.date | None = None,
    validator: jsonschema.Draft202012Validator | None = None,
) -> dict:
    """The claims of a new credential: the holder's identity claims (``holder_claims``)
    plus ``inputs`` (coerced from strings), checked against the type's JSON Schema and age.

    :raises DomainError: ``holder_not_active`` (suspended account), ``holder_too_young``
        (``min_age``), ``claims_invalid`` (schema; ``field`` names the claim).
    """
    at = at or timezone.now().astimezone(HKT).date()
    if holder.status != "active":
        raise credential_errors.HolderNotActive()
    if ctype.min_age and identity.age_on(holder.date_of_birth, at) < ctype.min_age:
        raise credential_errors.HolderTooYoung(age=ctype.min_age)
    claims = {name: _holder_value(holder, attr, at) for name, attr in (ctype.holder_claims or {}).items()}
    claims = {k: v for k, v in claims.items() if v not in ("", None)}
    unknown = sorted(set(inputs) - set(input_claims(ctype)))
    if unknown:
        raise credential_errors.ClaimsInvalid(name=unknown[0], field=unknown[0])
    for name, raw in inputs.items():
        if raw not in ("", None):
            claims[name] = _coerce(ctype, name, raw)
    validator = validator or claims_validator(ctype)
    error = next(iter(sorted(validator.iter_errors(claims), key=lambda e: list(e.path))), None)
    if error is not None:
        name, message = _schema_problem(ctype, error)
        raise credential_errors.ClaimsInvalid(message, field=name)
    return claims


def claim_label(ctype: CredentialType, name: str) -> str:
    """The claim's label in the active language (from the display template), else its name."""
    from django.utils.translation import get_language

    zh = (get_language() or "").startswith("zh")
    for c in (ctype.display or {}).get("claims", []):
        if c["name"] == name:
            return c["label_zh"] if zh else c["label_en"]
    return name


def _schema_problem(ctype: CredentialType, error: jsonschema.ValidationError) -> tuple[str | None, str]:
    """``(claim name or None, message in the user's language)`` for a JSON Schema error."""
    name = str(error.path[0]) if error.path else None
    spec = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    if kind == "required":
        name = next((n for n in error.validator_value if n not in error.instance), None)
        return name, gettext("“%(label)s” is required.") % {"label": claim_label(ctype, name)}
    if kind == "anyOf":
        options = [
            claim_label(ctype, branch["required"][0]) for branch in error.validator_value if branch.get("required")
        ]
        return None, gettext("Give at least one of: %(names)s.") % {"names": "、".join(options)}
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(spec.get("properties", {})))
        return (extra[0] if extra else None), gettext("Unknown claim “%(name)s”.") % {
            "name": extra[0] if extra else "?"
        }
    label = claim_label(ctype, name) if name else ctype.name_en
    if kind == "enum":
        return name, gettext("“%(label)s” must be one of: %(values)s.") % {
            "label": label,
            "values": ", ".join(map(str, error.validator_value)),
        }
    if kind == "format" and error.validator_value == "date":
        return name, gettext("“%(label)s” must be a date, e.g. 2026-11-21.") % {"label": label}
    if kind == "pattern":
        hint = spec.get("description") or error.validator_value
        return name, gettext("“%(label)s” is not in the right form (%(hint)s).") % {"label": label, "hint": hint}
    if kind in ("minLength", "maxLength"):
        return name, gettext("“%(label)s” must be %(min)s to %(max)s characters long.") % {
            "label": label,
            "min": spec.get("minLength", 1),
            "max": spec.get("maxLength", "…"),
        }
    if kind in ("minimum", "maximum", "type"):
        if spec.get("type") in ("integer", "number"):
            return name, gettext("“%(label)s” must be a number from %(min)s to %(max)s.") % {
                "label": label,
                "min": spec.get("minimum", "…"),
                "max": spec.get("maximum", "…"),
            }
    if kind == "const":
        return name, gettext("“%(label)s” does not meet the conditions for this credential.") % {"label": label}
    return name, gettext("“%(label)s” is not valid.") % {"label": label}


# --------------------------------------------------------------------------- issuance


@dataclass
class _Prepared:
    holder: Resident
    claims: dict
    row: int | None = None


def _chunks(values: list, size: int = 5000):
    """``values`` in slices small enough for any database's bound-parameter limit."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _allocate(issuer: Issuer, count: int) -> list[tuple[StatusList, int]]:
    """``count`` fresh status-list positions of ``issuer``, locking its open list."""
    slots: list[tuple[StatusList, int]] = []
    while len(slots) < count:
        current = StatusList.objects.select_for_update(of=("self",)).filter(issuer=issuer).order_by("-number").first()
        if current is None or current.allocated >= current.size:
            number = current.number + 1 if current else 1
            StatusList.objects.get_or_create(issuer=issuer, number=number)
            continue
        take = min(count - len(slots), current.size - current.allocated)
        slots += [(current, current.allocated + i) for i in range(take)]
        current.allocated += take
        current.save(update_fields=["allocated"])
    return slots


def _sign(
    ctype: CredentialType,
    key: _SigningKey,
    claims: dict,
    *,
    holder_jwk: dict | None,
    status: dict,
    iat: int,
    nbf: int,
    exp: int | None,
) -> str:
    user_claims = {"iss": issuer_url(ctype.issuer_id), "vct": vct_url(ctype), "iat": iat, "nbf": nbf, "status": status}
    if exp is not None:
        user_claims["exp"] = exp
    user_claims.update({SDObj(k): v for k, v in claims.items()})
    issuer = SDJWTIssuer(
        user_claims,
        key.jwcrypto,
        holder_key=JWK(**holder_jwk) if holder_jwk else None,
        sign_alg="ES256",
        extra_header_parameters={"typ": SD_JWT_TYP, "kid": key.kid},
    )
    return issuer.sd_jwt_issuance


def jwt_digest(sd_jwt: str) -> str:
    """hex SHA-256 of the issuer-signed JWT part of an SD-JWT (the text before the first
    ``~``): the value the transparency log records for a credential."""
    return hashlib.sha256(sd_jwt.split("~", 1)[0].encode("ascii")).hexdigest()


def _issue_many(
    ctype: CredentialType,
    prepared: list[_Prepared],
    *,
    issued_by: str,
    batch: IssuanceBatch | None = None,
    valid_from: dt.datetime | None = None,
) -> tuple[list[Credential], IssuanceBatch | None]:
    """Sign, store and log credentials for ``prepared`` holders.

    Three steps keep locks short: (1) reserve status-list positions in a short transaction
    (a reserved position that is never used stays "valid" and refers to nothing); (2) sign
    with no transaction open; (3) one transaction writes every credential and their log
    leaves: all or nothing. For a bulk job (``batch``, called inside the chunk's
    transaction) the three steps share that transaction, and each credential records its
    ``batch_row``.
    """
    now = timezone.now()
    start = valid_from or now
    expires = start + dt.timedelta(days=ctype.validity_days) if ctype.validity_days else None
    holders = [p.holder.pk for p in prepared]
    devices = {
        d.resident_id: d
        for chunk in _chunks(holders)
        for d in Device.objects.filter(resident_id__in=chunk, status=DeviceStatus.ACTIVE)
    }
    key = _signing_key(ctype.issuer)
    with transaction.atomic():
        slots = _allocate(ctype.issuer, len(prepared))
    iat, nbf = int(now.timestamp()), int(start.timestamp())
    exp = int(expires.timestamp()) if expires else None
    credentials = []
    for p, (status_list, index) in zip(prepared, slots, strict=True):
        device = devices.get(p.holder.pk)
        status = {"status_list": {"idx": index, "uri": status_list_url(status_list)}}
        token = _sign(
            ctype,
            key,
            p.claims,
            holder_jwk=device.public_jwk if device else None,
            status=status,
            iat=iat,
            nbf=nbf,
            exp=exp,
        )
        credentials.append(
            Credential(
                credential_type=ctype,
                issuer_id=ctype.issuer_id,
                holder=p.holder,
                holder_device=device,
                sd_jwt=token,
                digest=jwt_digest(token),
                status_list=status_list,
                status_index=index,
                issued_at=now,
                valid_from=start,
                expires_at=expires,
                issued_by=issued_by,
                log_index=-1,
                batch_row=p.row if batch is not None else None,
            )
        )
    with transaction.atomic():
        record = batch
        leaves = ledger.log_append_many(
            [
                (
                    "credential.issued",
                    c.digest,
                    {
                        "issuer": c.issuer_id,
                        "type": ctype.id,
                        "status_list": status_list_url(c.status_list),
                        "status_index": c.status_index,
                        "nbf": nbf,
                        "exp": exp,
                    },
                )
                for c in credentials
            ]
        )
        for c, leaf in zip(credentials, leaves, strict=True):
            c.log_index, c.batch = leaf, record
        Credential.objects.bulk_create(credentials, batch_size=2000)
    return credentials, record


def issue(
    ctype: CredentialType, holder: Resident, inputs: dict, *, issued_by: str, valid_from: dt.datetime | None = None
) -> Credential:
    """Issue one credential of ``ctype`` to ``holder`` (claims from :func:`prepare_claims`),
    bound to the holder's bound app key if there is one; logged in the same transaction.

    :param issued_by: who issued it, e.g. ``"officer:chan"`` or ``"client:swd-system"``.
    :raises DomainError: as :func:`prepare_claims`; ``valid_from_invalid``.
    """
    if valid_from is not None:
        now = timezone.now()
        if timezone.is_naive(valid_from) or not now - dt.timedelta(days=1) <= valid_from <= now + dt.timedelta(
            days=366
        ):
            raise credential_errors.ValidFromInvalid()
    claims = prepare_claims(ctype, holder, inputs)
    return _issue_many(ctype, [_Prepared(holder, claims)], issued_by=issued_by, valid_from=valid_from)[0][0]


@dataclass
class RowError:
    """One rejected CSV row: ``row`` is the line number in the file (header = 1)."""

    row: int
    code: str
    message: str
    field: str | None = None

    def as_dict(self) -> dict:
        return {"row": self.row, "error": self.code, "message": self.message, "field": self.field}


MAX_BULK_ROWS = 50_000


def read_csv(ctype: CredentialType, data: bytes | str) -> tuple[list[dict], list[RowError]]:
    """Parse a bulk-issuance CSV: UTF-8 (BOM allowed), a header row with ``hkid`` and the
    type's input claims (:func:`input_claims`; optional ones may be left out).

    :returns: ``(rows, errors)``; each row is ``{"row": line, "hkid": ..., "claims": {...}}``.
    :raises DomainError: ``csv_invalid`` for a file that cannot be read at all (not UTF-8,
        no header, missing required columns, unknown columns, more than ``MAX_BULK_ROWS`` rows).
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise credential_errors.CsvInvalid() from None
    reader = csv.DictReader(io.StringIO(data))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise credential_errors.CsvInvalid(
            _("The file cannot be read as CSV: %(problem)s") % {"problem": exc}
        ) from None
    if "hkid" not in header:
        raise credential_errors.CsvInvalid(_("The first row must name the columns, including “hkid”."))
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise credential_errors.CsvInvalid(_("The column “%(name)s” appears twice.") % {"name": repeated[0]})
    allowed = set(input_claims(ctype))
    unknown = [h for h in header if h not in allowed and h != "hkid"]
    if unknown:
        raise credential_errors.CsvInvalid(
            _("Unknown column “%(name)s”. Columns: %(columns)s")
            % {"name": unknown[0], "columns": ", ".join(["hkid", *input_claims(ctype)])}
        )
    required = set(ctype.schema.get("required", [])) & allowed
    missing = sorted(required - set(header))
    if missing:
        raise credential_errors.CsvInvalid(_("Missing column “%(name)s”.") % {"name": missing[0]})
    reader.fieldnames = header
    rows, errors = [], []
    records = iter(reader)
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a cell beyond the csv module's field size limit
            raise credential_errors.CsvInvalid(
                _("Line %(line)d cannot be read: %(problem)s") % {"line": reader.line_num + 1, "problem": exc}
            ) from None
        line = reader.line_num
        if len(rows) + len(errors) >= MAX_BULK_ROWS:
            raise credential_errors.CsvInvalid(_("A file may hold at most %(n)d rows.") % {"n": MAX_BULK_ROWS})
        if None in record:
            errors.append(RowError(line, "row_malformed", gettext("The row has more cells than the header.")))
            continue
        if all(not (v or "").strip() for v in record.values()):
            continue
        rows.append(
            {
                "row": line,
                "hkid": (record.pop("hkid") or "").strip(),
                "claims": {k: (v or "") for k, v in record.items()},
            }
        )
    return rows, errors


def validate_rows(ctype: CredentialType, rows: list[dict]) -> tuple[list[_Prepared], list[RowError]]:
    """Check each parsed row (HKID, holder, claims); never writes."""
    canon = {}
    errors: list[RowError] = []
    for r in rows:
        try:
            canon[r["row"]] = hkid_mod.normalize(r["hkid"])
        except DomainError as exc:
            errors.append(RowError(r["row"], exc.code, str(exc.message), "hkid"))
    wanted = sorted(set(canon.values()))
    residents = {x.hkid: x for chunk in _chunks(wanted) for x in Resident.objects.filter(hkid__in=chunk)}
    validator = claims_validator(ctype)
    seen: dict[str, int] = {}
    prepared = []
    for r in rows:
        if r["row"] not in canon:
            continue
        resident = residents.get(canon[r["row"]])
        if resident is None:
            errors.append(RowError(r["row"], "no_account", gettext("No account exists for this HKID number."), "hkid"))
            continue
        if canon[r["row"]] in seen:
            errors.append(
                RowError(
                    r["row"],
                    "duplicate_holder",
                    gettext("Same HKID number as row %(row)d.") % {"row": seen[canon[r["row"]]]},
                    "hkid",
                )
            )
            continue
        seen[canon[r["row"]]] = r["row"]
        try:
            prepared.append(
                _Prepared(resident, prepare_claims(ctype, resident, r["claims"], validator=validator), r["row"])
            )
        except DomainError as exc:
            errors.append(RowError(r["row"], exc.code, str(exc.message), exc.field))
    errors.sort(key=lambda e: e.row)
    return prepared, errors


def submit_bulk(
    ctype: CredentialType, data: bytes | str, *, issued_by: str, filename: str = "", issue_valid_rows: bool = False
) -> IssuanceBatch:
    """Accept a CSV for issuance (see :func:`read_csv`) and return at once: the rows are
    stored with the batch and a background task (``tungban worker``) checks and issues them.

    The job (``batch.state``): ``queued`` → ``running`` (rows checked, then issued in chunks of
    ``TUNGBAN_ISSUANCE_CHUNK``, each one transaction) → ``done``; ``rejected`` when some row
    is invalid and ``issue_valid_rows`` is false (nothing issued; ``batch.errors`` lists every
    row's error, as ``[{row, error, message, field}]``); ``failed`` after
    ``TUNGBAN_TASK_MAX_ATTEMPTS`` unexpected errors. With ``issue_valid_rows`` the valid rows
    are issued and ``errors`` records the skipped ones.

    :returns: the new :class:`IssuanceBatch` (state ``queued``).
    :raises DomainError: ``csv_invalid`` (the file itself cannot be used); ``bulk_empty``.
    """
    rows, errors = read_csv(ctype, data)
    total = len(rows) + len(errors)
    if total == 0:
        raise credential_errors.BulkEmpty()
    with transaction.atomic():
        batch = IssuanceBatch.objects.create(
            credential_type=ctype,
            issued_by=issued_by,
            filename=filename[:255],
            rows_total=total,
            rows_rejected=len(errors),
            errors=[e.as_dict() for e in errors],
            rows=rows,
            issue_valid_rows=issue_valid_rows,
            state=JobState.QUEUED,
        )
        batch.task_id = jobs.enqueue(issue_batch_task, str(batch.id))
        batch.save(update_fields=["task_id"])
    return batch


def issue_bulk(
    ctype: CredentialType, data: bytes | str, *, issued_by: str, filename: str = "", issue_valid_rows: bool = False
) -> IssuanceBatch:
    """:func:`submit_bulk`, then carry the job out in this process, with no worker (for
    command-line tools and benchmarks; web requests use :func:`submit_bulk`).

    :returns: the finished batch (``state`` ``done``, ``rejected`` or ``failed``).
    """
    from django_tasks_db.models import DBTaskResult

    batch = submit_bulk(ctype, data, issued_by=issued_by, filename=filename, issue_valid_rows=issue_valid_rows)
    ran = []
    while not batch.finished:
        ran.append(batch.task_id)
        run_batch_step(str(batch.id), batch.task_id)
        batch.refresh_from_db()
    DBTaskResult.objects.filter(id__in=ran).delete()  # done here: nothing left for a worker
    return batch


@task(takes_context=True)
def issue_batch_task(context, batch_id: str) -> str:
    """One step of a bulk issuance job (:func:`run_batch_step`), retried with backoff."""
    try:
        return run_batch_step(batch_id, context.task_result.id)
    except Exception as exc:
        _retry_or_fail(batch_id, context.task_result.id, exc)
        raise


def _retry_or_fail(batch_id: str, task_id: str, exc: Exception) -> None:
    with transaction.atomic():
        batch = IssuanceBatch.objects.select_for_update().get(pk=batch_id)
        if batch.finished or batch.task_id != str(task_id):
            return
        batch.attempts += 1
        if jobs.can_retry(batch.attempts):
            batch.task_id = jobs.enqueue(issue_batch_task, batch_id, delay=jobs.retry_delay(batch.attempts))
        else:
            batch.state, batch.finished_at, batch.rows = JobState.FAILED, timezone.now(), []
            batch.failure = f"{type(exc).__name__}: {exc}"[:200]
        batch.save(update_fields=["attempts", "task_id", "state", "finished_at", "rows", "failure"])


@receiver(task_finished)
def _on_task_finished(sender, task_result, **kwargs):
    """A bulk-issuance task that failed outside its own handler (``tungban worker`` gave up on
    it after its workers died repeatedly) counts as a failed attempt of its job."""
    if task_result.status == TaskResultStatus.FAILED and task_result.task.module_path == issue_batch_task.module_path:
        _retry_or_fail(task_result.args[0], str(task_result.id), RuntimeError("the worker died"))


def _current(batch_id: str, task_id: str) -> IssuanceBatch | None:
    """The batch, locked, if ``task_id`` is still the task meant to carry it on."""
    batch = (
        IssuanceBatch.objects.select_for_update(of=("self",)).select_related("credential_type__issuer").get(pk=batch_id)
    )
    if batch.finished or batch.task_id != str(task_id):
        return None
    return batch


def run_batch_step(batch_id: str, task_id: str) -> str:
    """Carry a bulk issuance one step on: check every row (first step), then issue the next
    chunk of valid rows, then queue the next step. Each step commits in one transaction
    with the next task, so a worker killed at any point leaves the job resumable: the rerun
    of the interrupted task starts from the last committed chunk. A task that is no longer
    the job's current one (``task_id``) does nothing, and ``(batch, batch_row)`` is unique.

    :returns: what the step did (``checked``, ``issued``, ``done``, ``rejected``, ``skipped``).
    """
    batch = IssuanceBatch.objects.select_related("credential_type").get(pk=batch_id)
    if batch.finished or batch.task_id != str(task_id):
        return "skipped"
    IssuanceBatch.objects.filter(pk=batch.pk, state=JobState.QUEUED).update(state=JobState.RUNNING)
    if batch.valid_rows is None:
        return _check_batch(batch, task_id)
    with transaction.atomic():
        batch = _current(batch_id, task_id)
        if batch is None:
            return "skipped"
        return _issue_chunk(batch)


def _check_batch(batch: IssuanceBatch, task_id: str) -> str:
    """First step: every row's checks (no transaction held while checking)."""
    ctype = batch.credential_type
    prepared, row_errors = validate_rows(ctype, batch.rows)
    errors = sorted([RowError(**_row_error(e)) for e in batch.errors] + row_errors, key=lambda e: e.row)
    with transaction.atomic():
        batch = _current(str(batch.id), task_id)
        if batch is None:
            return "skipped"
        batch.errors = [e.as_dict() for e in errors]
        batch.rows_rejected = len(errors)
        batch.state = JobState.RUNNING
        if not prepared or (errors and not batch.issue_valid_rows):
            batch.state, batch.finished_at, batch.rows, batch.valid_rows = (
                JobState.REJECTED,
                timezone.now(),
                [],
                [],
            )
            batch.save()
            return "rejected"
        batch.valid_rows = [p.row for p in prepared]
        batch.task_id = jobs.enqueue(issue_batch_task, str(batch.id))
        batch.save()
    return "checked"


def _row_error(e: dict) -> dict:
    return {"row": e["row"], "code": e["error"], "message": e["message"], "field": e.get("field")}


def _issue_chunk(batch: IssuanceBatch) -> str:
    """Issue the next ``TUNGBAN_ISSUANCE_CHUNK`` valid rows (inside the caller's transaction:
    status-list positions, signatures, log leaves and credentials commit together, so a
    crash leaks no position and a rerun re-issues nothing)."""
    ctype = batch.credential_type
    wanted = batch.valid_rows[batch.cursor : batch.cursor + settings.TUNGBAN_ISSUANCE_CHUNK]
    by_row = {r["row"]: r for r in batch.rows}
    done = set(Credential.objects.filter(batch=batch, batch_row__in=wanted).values_list("batch_row", flat=True))
    rows = [by_row[n] for n in wanted if n not in done]
    # The file was checked as a whole (e.g. duplicate holders); check each row again now, as
    # an account may have changed since.
    prepared, late = validate_rows(ctype, rows)
    if prepared:
        credentials = _issue_many(ctype, prepared, issued_by=batch.issued_by, batch=batch)[0]
        batch.rows_issued += len(credentials)
    if late:
        batch.errors = sorted([*batch.errors, *(e.as_dict() for e in late)], key=lambda e: e["row"])
        batch.rows_rejected += len(late)
    batch.cursor += len(wanted)
    if batch.cursor >= len(batch.valid_rows):
        batch.state, batch.finished_at, batch.rows = JobState.DONE, timezone.now(), []
        batch.save()
        return "done"
    batch.task_id = jobs.enqueue(issue_batch_task, str(batch.id))
    batch.save()
    return "issued"


def get_batch(batch_id, *, issuer: Issuer | None = None) -> IssuanceBatch:
    """A bulk issuance job (``rows`` deferred).

    :raises NotFound: ``batch_unknown`` (also when it belongs to another issuer).
    """
    qs = IssuanceBatch.objects.select_related("credential_type__issuer").defer("rows")
    if issuer is not None:
        qs = qs.filter(credential_type__issuer=issuer)
    try:
        return qs.get(id=batch_id)
    except (IssuanceBatch.DoesNotExist, ValueError, ValidationError):
        raise credential_errors.BatchUnknown() from None


# --------------------------------------------------------------------------- status


def get_credential(credential_id, *, issuer: Issuer | None = None) -> Credential:
    """:raises NotFound: ``credential_unknown`` (also when it belongs to another issuer)."""
    qs = Credential.objects.select_related("credential_type", "issuer", "holder", "status_list")
    if issuer is not None:
        qs = qs.filter(issuer=issuer)
    try:
        return qs.get(id=credential_id)
    except (Credential.DoesNotExist, ValueError, ValidationError):
        raise credential_errors.CredentialUnknown() from None


def change_status(credential: Credential, new_status: str, *, reason: str = "", changed_by: str) -> Credential:
    """Revoke, suspend or reinstate ``credential``: the row, its status list token and a
    log leaf change in one transaction; the next status-list fetch shows it.

    :raises DomainError: ``status_invalid`` (unknown status), ``status_transition``
        (e.g. reinstating a revoked credential: revocation is final).
    """
    if new_status not in STATUS_CODES:
        raise credential_errors.StatusInvalid()
    with transaction.atomic():
        locked = Credential.objects.select_for_update(of=("self",)).select_related("status_list").get(pk=credential.pk)
        if new_status not in TRANSITIONS[locked.status]:
            raise credential_errors.StatusTransition(old=Status(locked.status).label, new=Status(new_status).label)
        old = locked.status
        # Lock order as in issuance (status list, then the log's state row): no deadlock.
        status_list = StatusList.objects.select_for_update(of=("self",)).get(pk=locked.status_list_id)
        event = {Status.VALID: "reinstated", Status.SUSPENDED: "suspended", Status.REVOKED: "revoked"}[new_status]
        leaf = ledger.log_append(
            f"credential.{event}",
            locked.digest,
            {
                "issuer": locked.issuer_id,
                "status_list": status_list_url(status_list),
                "status_index": locked.status_index,
            },
        )
        locked.status = new_status
        locked.save(update_fields=["status"])
        StatusChange.objects.create(
            credential=locked,
            old_status=old,
            new_status=new_status,
            reason=reason[:200],
            changed_by=changed_by,
            log_index=leaf,
        )
        _rebuild_token(status_list)
    credential.status = new_status
    return credential


def status_bytes(status_list: StatusList) -> bytes:
    """The raw status list (Token Status List §4.1): ``size`` entries of 2 bits, entry ``i``
    in byte ``i // 4`` at bit ``2 * (i % 4)`` counting from the least significant bit."""
    raw = bytearray(status_list.size * STATUS_BITS // 8)
    for index, status in (
        Credential.objects.filter(status_list=status_list)
        .exclude(status=Status.VALID)
        .values_list("status_index", "status")
    ):
        raw[index // 4] |= STATUS_CODES[status] << (2 * (index % 4))
    return bytes(raw)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _rebuild_token(status_list: StatusList) -> str:
    now = int(time.time())
    ttl = settings.TUNGBAN_STATUS_LIST_TTL
    claims = {
        "sub": status_list_url(status_list),
        "iss": issuer_url(status_list.issuer_id),
        "iat": now,
        "exp": now + settings.TUNGBAN_STATUS_LIST_VALIDITY,
        "ttl": ttl,
        "status_list": {"bits": STATUS_BITS, "lst": _b64url(zlib.compress(status_bytes(status_list), 9))},
    }
    key = _signing_key(status_list.issuer)
    header = {"alg": "ES256", "typ": STATUS_LIST_TYP, "kid": key.kid}
    token = jose_jws.serialize_compact(header, json.dumps(claims, separators=(",", ":")), key.joserfc, ["ES256"])
    status_list.token = token
    status_list.token_expires_at = timezone.now() + dt.timedelta(seconds=settings.TUNGBAN_STATUS_LIST_VALIDITY)
    status_list.updated_at = timezone.now()
    status_list.save(update_fields=["token", "token_expires_at", "updated_at"])
    return token


def _token_stale(status_list: StatusList) -> bool:
    soon = timezone.now() + dt.timedelta(seconds=settings.TUNGBAN_STATUS_LIST_TTL)
    return not status_list.token or status_list.token_expires_at is None or status_list.token_expires_at <= soon


def status_list_token(issuer_id: str, number: int) -> tuple[str, StatusList]:
    """The signed Status List Token (JWT, ``typ`` ``statuslist+jwt``, Token Status List §5.1)
    of list ``number`` of ``issuer_id``, rebuilt when it is missing or near expiry.

    :raises NotFound: ``status_list_unknown``.
    """
    status_list = StatusList.objects.filter(issuer_id=issuer_id, number=number).first()
    if status_list is None:
        raise credential_errors.StatusListUnknown()
    if _token_stale(status_list):
        with transaction.atomic():
            status_list = StatusList.objects.select_for_update(of=("self",)).get(pk=status_list.pk)
            if _token_stale(status_list):  # another worker may have rebuilt it meanwhile
                _rebuild_token(status_list)
    return status_list.token, status_list


# --------------------------------------------------------------------------- officers' views


def _of_issuers(issuers: list[Issuer]):
    return Credential.objects.filter(issuer__in=issuers).select_related("credential_type", "issuer", "holder")


def recent_credentials(issuers: list[Issuer], limit: int = 20) -> list[Credential]:
    """The latest credentials of ``issuers``, newest first."""
    return list(_of_issuers(issuers).order_by("-issued_at")[:limit])


def recent_batches(issuers: list[Issuer], limit: int = 20) -> list[IssuanceBatch]:
    """The latest bulk issuances of ``issuers``' types, newest first."""
    return list(
        IssuanceBatch.objects.filter(credential_type__issuer__in=issuers)
        .select_related("credential_type")
        .defer("rows")
        .order_by("-created_at")[:limit]
    )


def types_of(issuers: list[Issuer]) -> list[CredentialType]:
    """The active credential types of ``issuers`` by issuer and id."""
    return list(CredentialType.objects.filter(issuer__in=issuers, active=True).order_by("issuer_id", "id"))


def search_credentials(issuers: list[Issuer], query: str) -> list[Credential]:
    """Credentials of ``issuers`` with id ``query`` or held by the HKID number ``query``.

    :raises DomainError: ``hkid_format`` / ``hkid_check_digit`` / ``no_account`` for a query
        that is neither a credential id nor a known HKID number.
    """
    query = (query or "").strip()
    try:
        return list(_of_issuers(issuers).filter(id=uuid.UUID(query)))
    except ValueError:
        pass
    return list(_of_issuers(issuers).filter(holder=identity.get_by_hkid(query)).order_by("-issued_at"))


# --------------------------------------------------------------------------- holders


def credentials_of(resident: Resident) -> list[Credential]:
    """The resident's credentials, newest first, with their types and issuers."""
    return list(
        Credential.objects.filter(holder=resident).select_related("credential_type", "issuer").order_by("-issued_at")
    )


def holder_credential(resident: Resident, credential_id) -> Credential:
    """:raises NotFound: ``credential_unknown`` unless ``resident`` holds it."""
    credential = get_credential(credential_id)
    if credential.holder_id != resident.pk:
        raise credential_errors.CredentialUnknown()
    return credential


def displayed_claims(ctype: CredentialType, claims: dict, language: str | None) -> list[dict]:
    """``[{"name", "label", "value"}]`` of ``claims`` in the type's display order and language."""
    zh = (language or "").startswith("zh")
    labels = {c["name"]: (c["label_zh"] if zh else c["label_en"]) for c in (ctype.display or {}).get("claims", [])}
    order = list(labels) + [k for k in claims if k not in labels]
    out = []
    for name in order:
        if name in claims:
            value = claims[name]
            if value is True:
                value = gettext("Yes")
            elif value is False:
                value = gettext("No")
            out.append({"name": name, "label": labels.get(name, name), "value": value})
    return out


def issued_claims(credential: Credential) -> dict:
    """Every claim of ``credential`` as issued (from its own disclosures)."""
    return issued_claims_from(credential.sd_jwt)


def issued_claims_from(sd_jwt: str) -> dict:
    """``{name: value}`` of the object-property disclosures in an SD-JWT (unverified)."""
    claims = {}
    for part in sd_jwt.split("~")[1:]:
        if part:
            decoded = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
            if len(decoded) == 3:
                claims[decoded[1]] = decoded[2]
    return claims


# --------------------------------------------------------------------------- trust material


def inclusion_of(digest: str, tree_size: int) -> dict | None:
    """The issuance leaf of the credential with ``digest`` and its RFC 9162 inclusion proof in
    the tree of ``tree_size`` leaves: ``{"leaf_index", "body", "inclusion_path"}``, or None
    when it was not logged within that size."""
    leaf = ledger.leaf_for("credential.issued", digest)
    if leaf is None or leaf.index >= tree_size:
        return None
    proof = ledger.inclusion_proof(leaf.index, tree_size)
    return {"leaf_index": leaf.index, "body": leaf.body, "inclusion_path": proof["inclusion_path"]}


def holder_inclusion_proof(resident: Resident, credential_id) -> dict:
    """For the holder's app: the inclusion proof of their credential against the latest
    signed tree head, with that head, so it can be checked offline later
    (``{"leaf_index", "body", "inclusion_path", "tree_head"}``).

    :raises NotFound: ``credential_unknown``.
    """
    credential = holder_credential(resident, credential_id)
    head = ledger.signed_tree_head()
    return {**inclusion_of(credential.digest, head["tree_size"]), "tree_head": head}


def trust_bundle() -> dict:
    """What a verifier needs to check credentials offline (see :mod:`.verify`):
    ``{"platform": base URL, "issuers": {iss: {"name_en", "name_zh", "jwks"}}, "types": {vct: {"name_en", "name_zh",
    "display"}}, "status_lists": {uri: token}, "tree_head": signed tree head,
    "log_jwks": platform JWKS, "generated_at": epoch seconds}``."""
    issuers = {
        issuer_url(i): {"name_en": i.name_en, "name_zh": i.name_zh, "jwks": issuer_jwks(i)}
        for i in Issuer.objects.order_by("id")
    }
    types = {
        vct_url(t): {"id": t.id, "name_en": t.name_en, "name_zh": t.name_zh, "display": t.display}
        for t in CredentialType.objects.order_by("id")
    }
    lists = {}
    for sl in StatusList.objects.order_by("issuer_id", "number"):
        lists[status_list_url(sl)] = status_list_token(sl.issuer_id, sl.number)[0]
    return {
        "platform": settings.TUNGBAN_ISSUER,
        "issuers": issuers,
        "types": types,
        "status_lists": lists,
        "tree_head": ledger.signed_tree_head(),
        "log_jwks": keys.public_jwks(),
        "generated_at": int(time.time()),
    }


def public_keyset(jwks: dict) -> KeySet:
    return KeySet.import_key_set(jwks)
