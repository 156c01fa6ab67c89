"""The app's approval calls on the hot path (issue 15 acceptance 2): ``GET
/api/v1/wallet/requests/{id}`` (what a request asks for) and ``POST
/api/v1/wallet/requests/{id}/decision`` (the signed approval), answered through
:mod:`tungban.core.hotpaths` (registered in :class:`tungban.wallet.apps.WalletConfig`).

The reference path (the ninja operations of :mod:`.api`, :class:`.auth.DeviceAuth`,
:func:`.services.authenticate_device`, :func:`.services.decide`) costs, besides the page
middleware and ninja's schema conversion, ORM statements whose building was most of the CPU:
the device with its resident; the proof's ``jti``; the request (app read); or, for the
decision, BEGIN, the request locked, the device locked with its resident again, two updates,
the receivers' savepoint and COMMIT. Here:

* one ``SELECT`` (raw SQL, :func:`_read`) of the device, its resident (stored columns,
  decrypted only when read: :class:`tungban.identity.eme.StoredResident`) and the request;
* the same checks, in the same order, by the same code (:func:`.services.check_proof`,
  :func:`.services.judge_decision`, :func:`.services.request_details`), before anything is
  written;
* the app's read: the proof's ``jti`` (one ``INSERT … ON CONFLICT DO NOTHING``,
  :func:`.services._remember_proof`), then the answer;
* the decision: one transaction with the ``jti``, one conditional ``UPDATE`` of the request
  (still pending and unexpired when the call was received: what the reference's lock
  checked), one conditional ``UPDATE`` of the device (still bound, and for a passkey the
  signature counter it was judged with) — on PostgreSQL these three are one statement
  (:func:`_combined_sql`), so the decision is the read, BEGIN, that statement and COMMIT —, then the receivers of ``approval_decided`` (every
  approval kind's reaction, e.g. signing or a consent, still runs after the decision is
  written, in its transaction). Without the reference's savepoint around them: a receiver's
  refusal (:class:`~tungban.core.errors.DomainError`) rolls the whole transaction back, and
  the decision is written again as ``failed`` with the refusal's code, ``approval_failed``
  sent, in a second transaction — what the reference stores and answers
  (:func:`.services.announce_decision`).

Anything but the common valid case — no or another ``Authorization`` scheme, an unknown
device, a bad, expired, replayed or misdirected proof, an unbound device, a suspended
account, an unknown, foreign, decided or expired request, a body that is not the decision's
JSON, any refused decision (a wrong code is counted by the reference), a claim registered by
another app, or a row that changed between the read and the writes (the transaction is
rolled back, the ``jti`` with it) — returns ``None`` before anything is kept, so that the
request goes down the full stack to the ninja operation, which gives every error answer as
before (and records the proof's ``jti``, as before).

Tables read: ``wallet_device``, ``identity_resident``, ``wallet_approvalrequest`` (joined on
their primary keys); written: ``wallet_usedproof``, ``wallet_approvalrequest``,
``wallet_device``. Names come from the models' ``_meta``; every value is a bound parameter.
"""

from __future__ import annotations

import functools
import json
import uuid

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from joserfc import jws

from tungban.core.errors import DomainError
from tungban.identity import eme
from tungban.identity.models import Resident

from . import kinds, services, signals
from .models import ApprovalRequest, Device, DeviceStatus, RequestStatus, UsedProof

#: The paths (:func:`tungban.core.hotpaths.register`), as the URL conf's ninja operations.
REQUEST_PATH = "/api/v1/wallet/requests/{id}"
DECISION_PATH = "/api/v1/wallet/requests/{id}/decision"

JSON = "application/json; charset=utf-8"  # ninja's JSON renderer's content type


class _FallThrough(Exception):
    """Roll back and let the reference path answer."""


@functools.cache
def _shape(model: type[Model], vendor: str) -> tuple[str, tuple[str, ...], tuple]:
    """``(column list, attnames, (col, converters) per field)`` of every concrete field of
    ``model``, computed once per database vendor (immutable)."""
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    columns = ", ".join(f"{{alias}}.{quote(f.column)}" for f in fields)
    converters = []
    for field in fields:
        col = field.get_col(model._meta.db_table)
        converters.append((col, tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))))
    return columns, tuple(f.attname for f in fields), tuple(converters)


def _load(model: type[Model], values) -> Model:
    """An instance of ``model`` from its stored ``values`` (every concrete field, in order),
    through the database's and the fields' converters, as the ORM loads it."""
    _cols, attnames, converters = _shape(model, connection.vendor)
    values = list(values)
    for i, (col, convs) in enumerate(converters):
        for conv in convs:
            values[i] = conv(values[i], col, connection)
    return model.from_db(connection.alias, attnames, values)


@functools.cache
def _read_sql(vendor: str) -> tuple[str, int, int]:
    """The one ``SELECT`` (module docstring) and where the resident's and the request's
    columns start in its row."""
    q = connection.ops.quote_name
    device_cols, device_names, _c = _shape(Device, vendor)
    request_cols, _n, _c = _shape(ApprovalRequest, vendor)
    resident_cols = eme.stored_columns()
    d, r, a = (q(m._meta.db_table) for m in (Device, Resident, ApprovalRequest))
    sql = (
        f"SELECT {device_cols.format(alias='d')}, {', '.join('r.' + q(c) for c in resident_cols)}, "
        f"{request_cols.format(alias='a')} FROM {d} d"
        f" INNER JOIN {r} r ON r.{q(Resident._meta.pk.column)} = d.{q(Device._meta.get_field('resident').column)}"
        f" LEFT OUTER JOIN {a} a ON a.{q(ApprovalRequest._meta.pk.column)} = %s"
        f" WHERE d.{q(Device._meta.pk.column)} = %s"
    )
    return sql, len(device_names), len(device_names) + len(resident_cols)


def _read(device_id: uuid.UUID, request_id: uuid.UUID):
    """``(device, resident, request or None)`` in one statement, or ``None`` (no such device)."""
    sql, resident_at, request_at = _read_sql(connection.vendor)
    pk = Device._meta.pk
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk.get_db_prep_value(request_id, connection), pk.get_db_prep_value(device_id, connection)])
        row = cursor.fetchone()
    if row is None:
        return None
    device = _load(Device, row[:resident_at])
    resident = eme.StoredResident(row[resident_at:request_at])
    req = _load(ApprovalRequest, row[request_at:]) if row[request_at] is not None else None
    return device, resident, req


def _authenticate(request: HttpRequest, request_id: str):
    """The checks of :func:`.services.authenticate_device` (all but the ``jti``'s) and the
    request's own, on one read: ``(device, resident, req, jti, keep_until)``, or ``None``
    for anything the reference path must answer."""
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if not authorization.startswith("Device "):
        return None
    try:
        rid = uuid.UUID(request_id)
        obj = jws.extract_compact(authorization[len("Device ") :].strip().encode())
        kid = uuid.UUID(obj.headers().get("kid"))
    except Exception:  # noqa: BLE001 - anything malformed: the reference answers it
        return None
    found = _read(kid, rid)
    if found is None:
        return None
    device, resident, req = found
    try:
        jti, keep_until = services.check_proof(obj, device, request.method, settings.TUNGBAN_ISSUER + request.path)
    except DomainError:
        return None
    if device.status != DeviceStatus.ACTIVE or not resident.is_active:
        return None
    if req is None or req.kind == kinds.BIND or (req.resident_id and req.resident_id != device.resident_id):
        return None  # no_request (a binding is no approval; another account's is not shown)
    return device, resident, req, jti, keep_until


def _json(data, status: int = 200) -> HttpResponse:
    response = HttpResponse(json.dumps(data), content_type=JSON, status=status)
    response["Content-Length"] = str(len(response.content))  # as CommonMiddleware would (keep-alive)
    return response


def _error(exc: DomainError) -> HttpResponse:
    """The API's answer to ``exc`` (:func:`tungban.api._domain_error`'s body and status)."""
    response = _json(exc.as_dict(), exc.status)
    details = exc.details or {}
    for member, header in (
        ("www_authenticate", "WWW-Authenticate"),
        ("dpop_nonce", "DPoP-Nonce"),
        ("retry_after", "Retry-After"),
    ):
        if member in details:
            response[header] = str(details[member])
    return response


def _details(req: ApprovalRequest, device: Device, resident) -> dict | None:
    """The ``RequestOut`` body, members in the schema's order, or ``None`` when a claim is
    not the identity app's own (its value may need more than the resident's row)."""
    names = [c["name"] for c in req.requested_claims]
    if req.context.get("choice"):
        return None  # its options may need more than the resident's row (.choices)
    if not all(name in eme.CLAIMS for name in names) or not eme.own_claims_only(names):
        return None
    data = services.request_details(req, device, resident)
    origin = data["origin"]
    return {
        "id": data["id"],
        "kind": data["kind"],
        "status": str(data["status"]),
        "requester": data["requester"],
        "claims": data["claims"],
        "documents": data["documents"],
        "document_pages": data["document_pages"],
        "reason": data["reason"],
        "details": data["details"],
        "offline_access_days": data["offline_access_days"],
        "consent": data["consent"],
        "terms_sha256": data["terms_sha256"],
        "choice": None,  # a request with a choice takes the reference path (above)
        "binds": data["binds"],
        "code_required": data["code_required"],
        "origin": origin,
        "nonce": data["nonce"],
        "expires_at": data["expires_at"],
        "webauthn": data["webauthn"],
    }


def app_request(request: HttpRequest, id: str) -> HttpResponse | None:
    """``GET /api/v1/wallet/requests/{id}`` (:func:`.api.get_request`): the request's
    details for the device that proved itself, after one read and the proof's ``jti``; or
    ``None`` (module docstring)."""
    found = _authenticate(request, id)
    if found is None:
        return None
    device, resident, req, jti, keep_until = found
    try:
        data = _details(req, device, resident)
    except DomainError:
        return None
    if data is None or not _plain(data):
        return None
    if not services._remember_proof(jti, keep_until):
        return None  # replayed: nothing was written, the reference answers proof_replayed
    return _json(data)


def _plain(data: dict) -> bool:
    """Whether the details are what ninja's ``RequestOut`` gives back unchanged (types it
    would convert, e.g. a number where a string is declared, go the reference way)."""
    req = data["requester"]
    return (
        all(isinstance(req[k], str) for k in ("id", "name_en", "name_zh", "logo_url"))
        and all(isinstance(c["value"], str) and isinstance(c["label"], str) for c in data["claims"])
        and all(isinstance(d["name"], str) and isinstance(d["sha256"], str) for d in data["documents"])
        and isinstance(data["reason"], str)
        and (data["offline_access_days"] is None or type(data["offline_access_days"]) is int)
        and (data["consent"] is None or isinstance(data["consent"], dict))
        and (data["terms_sha256"] is None or isinstance(data["terms_sha256"], str))
        and isinstance(data["binds"], dict)
        and (data["origin"] is None or all(isinstance(v, str) for v in data["origin"].values()))
    )


@functools.cache
def _update_sql(vendor: str) -> tuple[str, str]:
    """The decision's two conditional ``UPDATE`` statements (module docstring)."""
    q = connection.ops.quote_name

    def col(model, name):
        return q(model._meta.get_field(name).column)

    a, d = q(ApprovalRequest._meta.db_table), q(Device._meta.db_table)
    written = (
        "status",
        "approved_claims",
        "resident",
        "device",
        "signature",
        "decided_at",
        "user_verification",
        "failure_code",
    )
    request_sql = (
        f"UPDATE {a} SET {', '.join(f'{col(ApprovalRequest, n)} = %s' for n in written)}"
        f" WHERE {q(ApprovalRequest._meta.pk.column)} = %s AND {col(ApprovalRequest, 'status')} = %s"
        f" AND {col(ApprovalRequest, 'expires_at')} > %s"
    )
    device_sql = (
        f"UPDATE {d} SET {col(Device, 'webauthn_sign_count')} = %s, {col(Device, 'last_used_at')} = %s"
        f" WHERE {q(Device._meta.pk.column)} = %s AND {col(Device, 'status')} = %s"
        f" AND {col(Device, 'webauthn_sign_count')} = %s"
    )
    return request_sql, device_sql


def _statements(req: ApprovalRequest, device: Device, judged_count: int, at) -> tuple[list, list]:
    """The parameters of the two ``UPDATE`` statements, taken from ``req`` and ``device``
    once, before any receiver sees them."""
    ops = connection.ops
    pk = ApprovalRequest._meta.pk
    request_values = [
        str(req.status),
        ApprovalRequest._meta.get_field("approved_claims").get_db_prep_save(req.approved_claims, connection),
        req.resident_id,
        pk.get_db_prep_value(device.pk, connection),
        req.signature,
        ops.adapt_datetimefield_value(req.decided_at),
        req.user_verification,
        req.failure_code,
        pk.get_db_prep_value(req.pk, connection),
        RequestStatus.PENDING.value,
        ops.adapt_datetimefield_value(at),
    ]
    device_values = [
        device.webauthn_sign_count,
        ops.adapt_datetimefield_value(device.last_used_at),
        pk.get_db_prep_value(device.pk, connection),
        DeviceStatus.ACTIVE.value,
        judged_count,
    ]
    return request_values, device_values


@functools.cache
def _combined_sql(vendor: str) -> str:
    """PostgreSQL: the ``jti``'s ``INSERT`` and the two ``UPDATE`` statements as one statement
    (data-modifying ``WITH``, each step only if the one before wrote its row), answering
    how many rows each wrote."""
    q = connection.ops.quote_name
    request_sql, device_sql = _update_sql(vendor)
    return (
        f"WITH p AS (INSERT INTO {q(UsedProof._meta.db_table)} ({q('jti')}, {q('expires_at')}) VALUES (%s, %s)"
        f" ON CONFLICT ({q('jti')}) DO NOTHING RETURNING 1),"
        f" a AS ({request_sql} AND EXISTS (SELECT 1 FROM p) RETURNING 1),"
        f" d AS ({device_sql} AND EXISTS (SELECT 1 FROM a) RETURNING 1)"
        " SELECT (SELECT COUNT(*) FROM p), (SELECT COUNT(*) FROM a), (SELECT COUNT(*) FROM d)"
    )


def _write(jti: str, keep_until, request_values: list, device_values: list) -> None:
    """The proof's ``jti`` and the decision's writes (inside the caller's transaction): one
    statement on PostgreSQL (:func:`_combined_sql`), three elsewhere.

    :raises _FallThrough: the proof was seen, or the request or the device changed since
        they were read."""
    if connection.vendor == "postgresql":
        expires = UsedProof._meta.get_field("expires_at").get_db_prep_save(keep_until, connection)
        with connection.cursor() as cursor:
            cursor.execute(_combined_sql(connection.vendor), [jti, expires, *request_values, *device_values])
            written = cursor.fetchone()
        if tuple(written) != (1, 1, 1):
            raise _FallThrough
        return
    if not services._remember_proof(jti, keep_until):
        raise _FallThrough  # replayed
    request_sql, device_sql = _update_sql(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(request_sql, request_values)
        if cursor.rowcount != 1:
            raise _FallThrough
        cursor.execute(device_sql, device_values)
        if cursor.rowcount != 1:
            raise _FallThrough


def _decision_body(request: HttpRequest) -> tuple[str, dict | None] | None:
    """``(signature, webauthn)`` of a body ninja's ``DecisionIn`` takes as it is, else ``None``."""
    if not request.content_type == "application/json":
        return None
    try:
        body = json.loads(request.body)
    except ValueError:
        return None
    if not isinstance(body, dict) or type(body.get("signature")) is not str:
        return None
    webauthn = body.get("webauthn")
    if webauthn is not None and not isinstance(webauthn, dict):
        return None
    return body["signature"], webauthn


def decision(request: HttpRequest, id: str) -> HttpResponse | None:
    """``POST /api/v1/wallet/requests/{id}/decision`` (:func:`.api.decide`): the signed
    decision judged on one read and written in one transaction with the proof's ``jti``;
    or ``None`` (module docstring)."""
    body = _decision_body(request)
    if body is None:
        return None
    found = _authenticate(request, id)
    if found is None:
        return None
    device, resident, req, jti, keep_until = found
    at = getattr(request, "received_at", None) or services._now()
    if req.status != RequestStatus.PENDING or at >= req.expires_at:
        return None  # request_already_decided, request_expired
    if req.context.get("choice"):
        return None  # a question asked in the approval (.choices): judged and kept by the reference path
    signature, assertion = body
    try:
        verdict = services.judge_decision(req, device, resident, signature, assertion)
    except DomainError:
        return None  # refused (a wrong code is counted by the reference path)
    judged_count = device.webauthn_sign_count
    device.webauthn_sign_count = verdict.sign_count
    device.last_used_at = services._now()
    verdict.apply(req, device)
    req.resident_id = device.resident_id
    request_values, device_values = _statements(req, device, judged_count, at)
    try:
        with transaction.atomic():
            _write(jti, keep_until, request_values, device_values)
            # What the decision triggers for its kind (signing, a consent, …), after it is
            # written. No savepoint: a receiver's refusal rolls everything back, and the
            # decision is then written again as failed, in a transaction of its own.
            signals.approval_decided.send(sender=ApprovalRequest, request=req)
    except _FallThrough:
        return None
    except DomainError as refused:
        return _refused(req, refused, jti, keep_until, request_values, device_values)
    return _json({"id": str(req.id), "status": str(req.status), "approved_claims": req.approved_claims})


def _refused(req, refused: DomainError, jti, keep_until, request_values, device_values) -> HttpResponse | None:
    """A receiver of ``approval_decided`` refused the approval (its writes and the decision's
    were rolled back): record the decision as ``failed`` with the refusal's code, tell the
    receivers of ``approval_failed``, answer the refusal — what the reference path stores and
    answers (:func:`.services.announce_decision`)."""
    req.status = RequestStatus.FAILED
    req.failure_code = refused.code
    request_values = [RequestStatus.FAILED.value, *request_values[1:7], refused.code, *request_values[8:]]
    try:
        with transaction.atomic():
            _write(jti, keep_until, request_values, device_values)
            signals.approval_failed.send(sender=ApprovalRequest, request=req)
    except (_FallThrough, DomainError):
        # Decided or replayed meanwhile, or a receiver of approval_failed refused too (all
        # rolled back): the reference path answers.
        return None
    return _error(refused)
