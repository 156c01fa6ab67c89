"""Revoking, suspending and reinstating credentials, and the signed status lists that publish
their status.

IETF Token Status List (draft-ietf-oauth-status-list), 2 bits per credential (0 valid,
1 invalid = revoked, 2 suspended); revocation is final (§7.1). A verifier fetches the whole
list (a ``statuslist+jwt`` token, §5.1), so the issuer does not learn which credential is
checked. Every status change is a leaf in the RFC 9162 Merkle log (:mod:`tungban.ledger`),
written in the same transaction as the change.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import zlib

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from joserfc import jws as jose_jws

from tungban.ledger import transparency as ledger

from .. import errors as credential_errors
from ..models import Credential, Status, StatusChange, StatusList
from .issuer_keys import _signing_key
from .metadata import issuer_url, status_list_url

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


#: Statuses an officer or a department's system sets only with a reason (issue 16, staff16 item 2).
REASON_REQUIRED = {Status.SUSPENDED, Status.REVOKED}


def officer_change_status(
    credential: Credential, new_status: str, *, reason: str, confirm_final: bool, changed_by: str
) -> Credential:
    """:func:`change_status` as officers' pages and department systems (the API) ask for it,
    with the rules of issue 16 (staff16 item 2): suspending or revoking needs a ``reason``
    (recorded in the status history), and revoking, which is final, an explicit
    ``confirm_final``.

    :raises DomainError: 422 ``status_reason_required`` (field ``reason``), 422
        ``revocation_not_confirmed`` (field ``confirm``), besides those of :func:`change_status`.
        Nothing is changed then.
    """
    reason = (reason or "").strip()
    if new_status in REASON_REQUIRED and not reason:
        raise credential_errors.StatusReasonRequired()
    if new_status == Status.REVOKED and not confirm_final:
        raise credential_errors.RevocationNotConfirmed()
    return change_status(credential, new_status, reason=reason, changed_by=changed_by)


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
