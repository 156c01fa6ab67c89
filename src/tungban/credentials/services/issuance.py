"""Signing, storing and logging credentials (issue #5, MISSION §4), one at a time
(:func:`issue`) or many (:func:`_issue_many`, shared with the bulk job in :mod:`.bulk`).

Format: SD-JWT VC (draft-ietf-oauth-sd-jwt-vc; SD-JWT is RFC 9901), made with the ``sd-jwt``
library (OpenWallet Foundation). The issuer-signed JWT has header
``{"alg": "ES256", "typ": "dc+sd-jwt", "kid"}`` and, in the clear, ``iss`` (the issuer's
URL), ``vct`` (the credential type's URL), ``iat``, ``nbf``, ``exp`` (when the type expires),
``status`` and ``cnf`` (the holder's app key, RFC 7800); every claim about the holder is
selectively disclosable (one disclosure each, SD-JWT §4.2).

Status: each credential gets a position in one of its issuer's status lists (IETF Token
Status List, draft-ietf-oauth-status-list; see :mod:`.status`),
``status.status_list = {"idx", "uri"}``.

Transparency: every issuance is a leaf in the RFC 9162 Merkle log (:mod:`tungban.ledger`),
written in the same transaction as the credential. Leaves carry the SHA-256 of the
issuer-signed JWT (:func:`jwt_digest`) and the status position, never personal data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.issuer import SDJWTIssuer

from tungban.identity.models import Resident
from tungban.ledger import transparency as ledger
from tungban.wallet.models import Device, DeviceStatus

from .. import errors as credential_errors
from ..models import Credential, CredentialType, IssuanceBatch, Issuer, StatusList
from .claims import prepare_claims
from .issuer_keys import _signing_key, _SigningKey
from .metadata import issuer_url, status_list_url, vct_url

SD_JWT_TYP = "dc+sd-jwt"


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
    """``count`` fresh status-list positions of ``issuer``, locking its open list until the
    caller's transaction ends (call inside the transaction that stores the credentials: a
    rollback then returns the positions)."""
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
    issuer = CompactSDJWTIssuer(
        user_claims,
        key.jwcrypto,
        holder_key=JWK(**holder_jwk) if holder_jwk else None,
        sign_alg="ES256",
        extra_header_parameters={"typ": SD_JWT_TYP, "kid": key.kid},
    )
    return issuer.sd_jwt_issuance


class CompactSDJWTIssuer(SDJWTIssuer):
    """The ``sd-jwt`` library's issuer with the JWT's header and payload as compact JSON (no
    spaces) and no ``_sd_alg`` (SHA-256 is the default, SD-JWT §4.1.1): every QR of a
    presentation is smaller (issue 16: the e-licence QR was about 1.5 KB and fragile for a
    checker's camera). Disclosures and signing are the library's (jwcrypto JWS), unchanged."""

    def _create_signed_jws(self):
        from jwcrypto.jws import JWS

        payload = {k: v for k, v in self.sd_jwt_payload.items() if not (k == "_sd_alg" and v == "sha-256")}
        self.sd_jwt = JWS(payload=json.dumps(payload, separators=(",", ":")))
        protected = {"alg": self._sign_alg, "typ": self.SD_JWT_HEADER, **self._extra_header_parameters}
        self.sd_jwt.add_signature(
            self._issuer_key, alg=self._sign_alg, protected=json.dumps(protected, separators=(",", ":"))
        )
        self.serialized_sd_jwt = self.sd_jwt.serialize(compact=True)


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
    expires_at: dt.datetime | None = None,
) -> tuple[list[Credential], IssuanceBatch | None]:
    """Sign, store and log credentials for ``prepared`` holders, in one transaction (the
    caller's, if any: a bulk job's chunk): status-list positions are allocated, the
    credentials signed with them, written, and their log leaves appended, all or nothing. A
    failure or a killed worker anywhere rolls the positions back with the rest, so the next
    issuance gets them (issue 14 item 5: positions allocated in a transaction of their own
    leaked). The issuer's open status list stays locked while the credentials are signed
    (about a millisecond each); concurrent issuers of one issuer queue on it and get
    distinct positions. For a bulk job each credential records its ``batch_row``.
    ``expires_at``, when given, replaces the type's validity (a credential that ends with what
    it attests, e.g. a CorpID mandate's last day).
    """
    now = timezone.now()
    start = valid_from or now
    expires = start + dt.timedelta(days=ctype.validity_days) if ctype.validity_days else None
    if expires_at is not None:
        expires = expires_at
    holders = [p.holder.pk for p in prepared]
    devices = {
        d.resident_id: d
        for chunk in _chunks(holders)
        for d in Device.objects.filter(resident_id__in=chunk, status=DeviceStatus.ACTIVE)
    }
    key = _signing_key(ctype.issuer)
    iat, nbf = int(now.timestamp()), int(start.timestamp())
    exp = int(expires.timestamp()) if expires else None
    with transaction.atomic():
        slots = _allocate(ctype.issuer, len(prepared))
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
    ctype: CredentialType,
    holder: Resident,
    inputs: dict,
    *,
    issued_by: str,
    valid_from: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
) -> Credential:
    """Issue one credential of ``ctype`` to ``holder`` (claims from :func:`prepare_claims`),
    bound to the holder's bound app key if there is one; logged in the same transaction.

    :param issued_by: who issued it, e.g. ``"officer:chan"`` or ``"client:swd-system"``.
    :param expires_at: the credential's ``exp`` (aware), instead of the type's
        ``validity_days``; it must be after ``valid_from`` (default now).
    :raises DomainError: as :func:`prepare_claims`; ``valid_from_invalid``; ``expires_at_invalid``
        (``expires_at`` naive or not after the start).
    """
    if valid_from is not None:
        now = timezone.now()
        if timezone.is_naive(valid_from) or not now - dt.timedelta(days=1) <= valid_from <= now + dt.timedelta(
            days=366
        ):
            raise credential_errors.ValidFromInvalid()
    if expires_at is not None and (timezone.is_naive(expires_at) or expires_at <= (valid_from or timezone.now())):
        raise credential_errors.ExpiresAtInvalid()
    claims = prepare_claims(ctype, holder, inputs)
    return _issue_many(
        ctype, [_Prepared(holder, claims)], issued_by=issued_by, valid_from=valid_from, expires_at=expires_at
    )[0][0]
