"""Idempotent retries of the API's creating calls (issue 14 item 2), with the
``Idempotency-Key`` request header of draft-ietf-httpapi-idempotency-key-header-07.

A department system whose request timed out cannot tell whether the platform went on and
committed it. With a key it retries the same request with the same key and learns what
happened, without doing it twice:

* **Syntax** (draft §2.1): the header is an RFC 8941 Item whose value is a String
  (``Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"``), parsed with the ``http-sf``
  library; this platform asks for 8 to 255 characters (a UUID is recommended). Anything else
  is 400 ``idempotency_key_invalid``; a call that requires the key and has none is 400
  ``idempotency_key_missing`` (draft §2.7).
* **Scope**: the key belongs to the authenticated caller (its OAuth client, plus the resident
  for a login token), never shared between callers (draft §4: a composite lookup key).
* **Fingerprint** (draft §2.4): HMAC-SHA256 (RFC 2104) under the platform's look-up key
  ``TUNGBAN_LOOKUP_HASH_KEY`` of the method, path, query string and the canonical JSON body
  (sorted keys, no spaces) — :func:`request_digest`. Keyed because the body carries personal
  data (an HKID): with database access alone the digest cannot be tested against guesses
  (issue 14 review L1).
* **Answers**: the same key with the same request gets the first answer again (status and
  body), marked ``Idempotent-Replayed: true``; the same key with another request is 422
  ``idempotency_key_reused``; the same key while the first request still runs is 409
  ``idempotency_in_progress`` with ``Retry-After`` (draft §2.7). Only 2xx answers and the
  deterministic 4xx (400, 403, 404, 410, 413, 422: the same request would be refused the same
  way) are kept; 401, 409, 429 and every 5xx are not, so a retry runs the call afresh.
* **All or nothing**: the record and the call's writes commit in one transaction
  (:func:`idempotent`), so a worker killed before the commit leaves neither and the retry
  runs afresh; killed after it, the retry gets the first answer.
* **Concurrency**: on PostgreSQL a transaction-scoped advisory lock on (caller, key)
  (``pg_try_advisory_xact_lock``, PostgreSQL 15 §9.27.10) marks a request in progress; it is
  released by the commit, the rollback, or the death of the worker's connection. SQLite
  serialises write transactions (``transaction_mode`` IMMEDIATE), so there the second request
  waits for the first and gets its answer.
* **Calls that span transactions** (an exchange asks its provider between two transactions,
  ``staged=True``): the record is written ``in_progress`` first and committed at once (a new
  key in one ``INSERT … ON CONFLICT DO NOTHING``; a key with a record in a transaction that
  decides), and the operation stores its result with :func:`complete` inside its own last transaction. A
  session-scoped advisory lock (PostgreSQL; a lease of :data:`LEASE_SECONDS` elsewhere) tells a
  running first request from one whose worker died: a retry takes the latter over
  (:func:`resuming` is true) and runs again. A lane (:func:`lane_begin`, issue 15 fourth
  round) claims the key on PostgreSQL inside the operation's first transaction instead
  (:func:`claim_here`, or :func:`claim_clauses` in the operation's own first statement), so
  the record commits with the operation's first writes. The
  session lock is released by :func:`complete`'s write once it holds the record's row (issue
  15 fifth round; a retry that takes the lock then waits at the row for the commit and finds
  the answer kept), otherwise when the call ends.
* **Expiry** (draft §2.3): records are kept ``TUNGBAN_IDEMPOTENCY_TTL`` seconds (default
  24 h), then purged by the scheduled purge (:func:`purge_expired`, registered with
  :mod:`tungban.core.retention`). The answer is stored encrypted (``core.fields``).
* **Answers that may no longer be given** (issue 14 review M1): a stored answer can carry
  personal data whose disclosure was allowed only while something lasts (an exchange's consent).
  The operation names that something, its *subject*, when it stores the answer
  (``complete(result, subject=...)``); ``idempotent(recheck=...)`` is asked before each replay
  of a kept 2xx answer whether it may still be given, and when it raises a
  :class:`~tungban.core.errors.DomainError` that refusal is the answer and replaces the stored
  one (:func:`forget`): the data is deleted, and later retries get the same refusal. The owner
  of the subject calls :func:`forget` when it ends (a consent revoked or expired).

Use it on a ninja operation, under the router's decorator::

    @router.post("/issue", response={201: Out, **ERRORS}, auth=bearer)
    @idempotent(caller=lambda request: f"client:{request.auth.client.client_id}")
    def issue(request, payload: In): ...

The header parameter and the ``Idempotent-Replayed`` response header are added to the
operation's OpenAPI description; the error codes are in :data:`ERRORS` (the API's kernel codes).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import inspect
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import http_sf
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Status
from ninja.utils import contribute_operation_callback

from . import onestatement
from .errors import Conflict, DomainError

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MIN_LENGTH, MAX_LENGTH = 8, 255
#: Seconds a client is asked to wait (``Retry-After``) when its first request still runs.
RETRY_AFTER = 2
#: Without PostgreSQL's advisory locks: seconds an ``in_progress`` record of a staged call
#: counts as running (longer than any provider timeout); after that a retry takes it over.
LEASE_SECONDS = 120
#: Error statuses kept and replayed: a deterministic refusal of the same request.
STORED_ERRORS = frozenset({400, 403, 404, 410, 413, 422})
_UNPARSED = object()

KeyInvalid = DomainError.define(
    "idempotency_key_invalid",
    _(
        "The Idempotency-Key header must be one quoted string of 8 to 255 visible ASCII characters, "
        'e.g. Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324".'
    ),
    field=HEADER,
)
KeyMissing = DomainError.define(
    "idempotency_key_missing",
    _(
        "This call needs an Idempotency-Key header: a new random key (e.g. a UUID) for each request, the same for its retries."
    ),
    field=HEADER,
)
KeyReused = DomainError.define(
    "idempotency_key_reused",
    _("This Idempotency-Key was already used for a different request: use a new key for a new request."),
    status=422,
    field=HEADER,
)
InProgress = Conflict.define(
    "idempotency_in_progress",
    _("A request with this Idempotency-Key is still being processed: retry after %(seconds)s seconds."),
    field=HEADER,
)
#: The codes above, for the API's kernel error list (:data:`tungban.core.api.KERNEL_ERRORS`).
ERRORS = (KeyInvalid, KeyMissing, KeyReused, InProgress)


def is_stored(status: int) -> bool:
    """Whether an answer with HTTP ``status`` is kept for replay (2xx and :data:`STORED_ERRORS`)."""
    return 200 <= status < 300 or status in STORED_ERRORS


def parse_key(value: str) -> str:
    """The key of an ``Idempotency-Key`` header value: an RFC 8941 Item that is a String
    (draft §2.1) of :data:`MIN_LENGTH` to :data:`MAX_LENGTH` characters.

    :raises DomainError: ``idempotency_key_invalid`` (400) otherwise (also for two headers,
        which arrive joined by a comma).
    """
    try:
        item, _params = http_sf.parse(value.encode("ascii"), tltype="item")
    except (UnicodeEncodeError, ValueError):
        raise KeyInvalid() from None
    if not isinstance(item, str) or not MIN_LENGTH <= len(item) <= MAX_LENGTH:
        raise KeyInvalid()
    return item


def request_digest(request: HttpRequest) -> str:
    """hex HMAC-SHA256 (RFC 2104) under ``settings.TUNGBAN_LOOKUP_HASH_KEY`` over the method,
    path, query string and body of ``request`` (64 hex digits); a JSON body is canonicalised
    first (sorted keys, no insignificant spaces, UTF-8), so the same request serialised
    differently has the same digest. Keyed, so that the digest of a body with personal data
    cannot be tested offline against guesses (issue 14 review L1)."""
    try:
        raw = request.body
    except RawPostDataException:  # a form already read as a stream: its parsed fields instead
        raw = json.dumps(sorted(request.POST.lists())).encode()
    return digest_of(request.method, request.path, request.META.get("QUERY_STRING", ""), raw)


def digest_of(method: str, path: str, query: str, raw: bytes, parsed: Any = _UNPARSED) -> str:
    """:func:`request_digest` of a request given by its parts: ``method``, ``path`` (script
    name included, as ``HttpRequest.path``), ``query`` (the raw query string) and the body
    ``raw``; ``parsed``, when given, is ``json.loads(raw)`` already done by the caller (a lane)."""
    try:
        data = json.loads(raw) if parsed is _UNPARSED else parsed
        body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        body = hashlib.sha256(raw).hexdigest()
    material = json.dumps([method, path, query, body])
    return hmac.new(settings.TUNGBAN_LOOKUP_HASH_KEY.encode(), material.encode(), hashlib.sha256).hexdigest()


@dataclasses.dataclass
class _Call:
    """The idempotency state of one API request, from its operation's start to its answer."""

    staged: bool
    key: str | None = None
    caller: str = ""
    digest: str = ""
    operation: str = ""
    active: bool = False  # this request runs the operation under its key: keep its answer
    replayed: bool = False
    resumed: bool = False
    record_id: int | None = None  # staged: the in-progress record
    recheck: Callable[[HttpRequest, Any], None] | None = None
    request: HttpRequest | None = None
    session_lock: int | None = None  # staged on PostgreSQL: the advisory lock held
    completed: bool = False  # staged: complete() stored the answer and its transaction committed
    claim_pending: bool = False  # a lane's call: its key is claimed in the operation's first transaction
    claim_lock: int | None = None  # the claim sent with the operation's statement (claim_clauses), until claimed()


_current: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("tungban_idempotency", default=None)


def _lock_id(caller: str, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{caller}\n{key}".encode()).digest()[:8], "big", signed=True)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _try_lock(lock_id: int, *, session: bool) -> bool:
    function = "pg_try_advisory_lock" if session else "pg_try_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [lock_id])
        return bool(cursor.fetchone()[0])


def _unlock(lock_id: int) -> None:
    """Release the session-level advisory lock ``lock_id`` taken by :func:`_try_lock`. A
    session lock outlives the request on its connection — a persistent one, or a pooled one
    given back to the pool (issue 15 item 1) — so when it cannot be released (the session is
    in an aborted transaction, a statement fails) the connection is closed for real: the
    server ends the session and its locks with it, and the pool discards a closed connection."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])
        return
    except Exception:  # noqa: BLE001 - whatever failed, the lock must not outlive the request
        pass
    raw = connection.connection
    if raw is not None and not raw.closed:
        raw.close()  # psycopg: a real close, even for a pooled connection (close_returns is off)
    try:
        connection.close()  # Django lets go of it (a pool discards the closed connection)
    except Exception:  # noqa: BLE001 - already closed
        pass


def _in_progress() -> HttpResponse:
    response = JsonResponse(
        {**InProgress(seconds=RETRY_AFTER).as_dict(), "details": {"retry_after": RETRY_AFTER}}, status=409
    )
    response["Retry-After"] = str(RETRY_AFTER)
    return response


def _replay(call: _Call, record):
    """The stored answer of ``record`` again; a kept 2xx answer only if the operation's
    ``recheck`` still allows it — else its refusal is raised and replaces the stored answer."""
    if call.recheck is not None and record.status is not None and 200 <= record.status < 300:
        try:
            call.recheck(call.request, json.loads(record.body))
        except DomainError as refusal:
            _store_refusal(_records().filter(pk=record.pk), refusal)
            raise
    call.replayed = True
    if record.body_is_result:  # serialised again by the operation, exactly as the first time
        return Status(record.status, json.loads(record.body))
    return HttpResponse(record.body, status=record.status, content_type="application/json")


def _store_refusal(records, refusal: DomainError) -> int:
    """Replace the stored answers of ``records`` with ``refusal`` (its JSON error body and
    status), which deletes what they carried; their subject is cleared. Returns the count."""
    from .models import IdempotencyState

    return records.update(
        state=IdempotencyState.COMPLETE,
        status=refusal.status,
        body=json.dumps(refusal.as_dict(), default=_json_default, ensure_ascii=False),
        body_is_result=False,
        subject="",
        updated_at=timezone.now(),
    )


def forget(subject: str, refusal: DomainError) -> int:
    """Delete every stored answer about ``subject`` (as given to :func:`complete`), putting
    ``refusal`` in its place: a retry of those requests gets that refusal (issue 14 review M1:
    an exchange's answers when its consent is revoked or expires). Call it in the transaction
    that ends the subject. Returns the number of answers deleted."""
    if not subject:
        return 0
    return _store_refusal(_records().filter(subject=subject), refusal)


def subjects(prefix: str) -> set[str]:
    """The subjects starting with ``prefix`` that have stored answers (records not yet
    expired), for an owner's scheduled check of which must be forgotten."""
    return set(_records().filter(subject__startswith=prefix).values_list("subject", flat=True).distinct().order_by())


def _records():
    from .models import IdempotencyRecord

    return IdempotencyRecord.objects


def _new_record(call: _Call, now: dt.datetime, **fields):
    return _records().create(
        caller=call.caller,
        key=call.key,
        operation=call.operation,
        digest=call.digest,
        created_at=now,
        updated_at=now,
        expires_at=now + dt.timedelta(seconds=settings.TUNGBAN_IDEMPOTENCY_TTL),
        **fields,
    )


@functools.cache
def _record_field(name: str, vendor: str):
    """``(quoted column, field)`` of ``IdempotencyRecord``'s field ``name`` on this vendor."""
    from .models import IdempotencyRecord

    field = IdempotencyRecord._meta.get_field(name)
    return connection.ops.quote_name(field.column), field


def _prepared(fields: dict) -> tuple[list[str], list]:
    """Quoted column names and database values (encryption included) of ``IdempotencyRecord`` ``fields``."""
    names, values = [], []
    conn = connections[DEFAULT_DB_ALIAS]  # once: each attribute of the proxy looks it up again
    vendor = conn.vendor
    for name, value in fields.items():
        column, field = _record_field(name, vendor)
        names.append(column)
        values.append(field.get_db_prep_save(value, conn))
    return names, values


#: The key's claim with its session advisory lock as two ``WITH`` clauses (``l``: the lock
#: tried; ``i``: the in-progress record, inserted only with the lock) and the two values a
#: statement that carries them selects (got the lock; the new record's id or NULL). The lock's
#: CTE calls a volatile function: evaluated once, before the INSERT that reads it.
_CLAIM_SELECT = '(SELECT got FROM l), (SELECT "id" FROM i)'


@functools.cache
def _claim_clauses_sql(vendor: str) -> str:
    from .models import IdempotencyRecord

    quote = connection.ops.quote_name
    names = [quote(IdempotencyRecord._meta.get_field(name).column) for name in _CLAIM_FIELDS]
    return (
        "l AS (SELECT pg_try_advisory_lock(%s) AS got), "
        f"i AS (INSERT INTO {quote(IdempotencyRecord._meta.db_table)} ({', '.join(names)}) "
        f"SELECT {', '.join(['%s'] * len(names))} FROM l WHERE l.got ON CONFLICT DO NOTHING RETURNING {quote('id')})"
    )


#: The fields of a new in-progress record, in the order the claim's statement sends them.
_CLAIM_FIELDS = (
    "caller",
    "key",
    "operation",
    "digest",
    "state",
    "status",
    "body",
    "body_is_result",
    "subject",
    "created_at",
    "updated_at",
    "expires_at",
)


def _claim_values(call: _Call, now: dt.datetime) -> list:
    """The database values of a new in-progress record of ``call`` (:data:`_CLAIM_FIELDS`)."""
    from .models import IdempotencyState

    _names, values = _prepared(
        {
            "caller": call.caller,
            "key": call.key,
            "operation": call.operation,
            "digest": call.digest,
            "state": IdempotencyState.IN_PROGRESS,
            "status": None,
            "body": "",
            "body_is_result": False,
            "subject": "",
            "created_at": now,
            "updated_at": now,
            "expires_at": now + dt.timedelta(seconds=settings.TUNGBAN_IDEMPOTENCY_TTL),
        }
    )
    return values


def _claim_new(call: _Call, now: dt.datetime, *, lock_id: int | None = None) -> tuple[bool, int | None]:
    """The staged call's in-progress record, for a key this caller has not used (the common
    case), in one statement committed at once (``INSERT … ON CONFLICT DO NOTHING``, plain
    SQL on ``core_idempotencyrecord``: issue 15): ``(True, its id)``; ``(True, None)`` when
    the key has a record, live or expired (then :func:`_begin_staged` decides in its
    transaction). With ``lock_id`` (PostgreSQL) the session advisory lock is tried first in
    the same statement (issue 15, fourth round: one round trip where there were two), and
    nothing is written without it: ``(False, None)``."""
    from .models import IdempotencyRecord

    values = _claim_values(call, now)
    with connection.cursor() as cursor:
        if lock_id is None:
            quote = connection.ops.quote_name
            names = [quote(IdempotencyRecord._meta.get_field(name).column) for name in _CLAIM_FIELDS]
            cursor.execute(
                f"INSERT INTO {quote(IdempotencyRecord._meta.db_table)} ({', '.join(names)}) "
                f"VALUES ({', '.join(['%s'] * len(names))}) ON CONFLICT DO NOTHING RETURNING {quote('id')}",
                values,
            )
            row = cursor.fetchone()
            return True, (row[0] if row else None)
        cursor.execute(f"WITH {_claim_clauses_sql(connection.vendor)} SELECT {_CLAIM_SELECT}", [lock_id, *values])
        got, record_id = cursor.fetchone()
    return bool(got), record_id


def _begin_atomic(call: _Call):
    """Inside the call's transaction: ``None`` to run the operation, or the answer to give."""
    if _postgres() and not _try_lock(_lock_id(call.caller, call.key), session=False):
        return _in_progress()
    now = timezone.now()
    _records().filter(caller=call.caller, key=call.key, expires_at__lte=now).delete()
    record = _records().filter(caller=call.caller, key=call.key).first()
    if record is not None:
        if record.digest != call.digest:
            raise KeyReused()
        if record.state == "complete":
            return _replay(call, record)
        return _in_progress()  # (only a staged operation leaves a record in progress)
    call.active = True
    return None


def _begin_staged(call: _Call, on_reuse: str):
    """Before an operation that spans transactions: claim the key (committed at once)."""
    from .models import IdempotencyState

    now = timezone.now()
    lock_id = _lock_id(call.caller, call.key) if _postgres() else None
    # A new key: one statement, no transaction of its own (issue 15), the lock tried in it.
    locked, record_id = _claim_new(call, now, lock_id=lock_id)
    if not locked:
        return _in_progress()
    call.session_lock = lock_id
    if record_id is not None:
        call.record_id = record_id
        call.active = True
        return None
    kept = None
    with transaction.atomic():
        _records().filter(caller=call.caller, key=call.key, expires_at__lte=now).delete()
        record = _records().select_for_update().filter(caller=call.caller, key=call.key).first()
        if record is None:
            record = _new_record(call, now, state=IdempotencyState.IN_PROGRESS)
        elif record.digest != call.digest:
            if on_reuse == "run":  # the operation refuses it itself (and records the refusal)
                return None
            raise KeyReused()
        elif record.state == IdempotencyState.COMPLETE:
            kept = record  # replayed after this transaction, so a refusal by recheck is kept
        elif not _postgres() and record.updated_at > now - dt.timedelta(seconds=LEASE_SECONDS):
            return _in_progress()
        else:  # the first request's worker died, or its answer was not kept (5xx, 409): take it over
            record.updated_at = now
            record.save(update_fields=["updated_at"])
            call.resumed = True
    if kept is not None:
        return _replay(call, kept)
    call.record_id = record.pk
    call.active = True
    return None


def _finish_staged(call: _Call, response: HttpResponse) -> None:
    """After a staged operation, if its record is still in progress (no :func:`complete`
    committed): keep a deterministic refusal; release anything else for a retry (no lease left)."""
    _finish_record(call, response.status_code, response.content)


def _finish_record(call: _Call, status: int, content: bytes) -> None:
    """:func:`_finish_staged` for an answer of HTTP ``status`` with body ``content``."""
    from .models import IdempotencyState

    if call.completed:  # nothing in progress any more: no query (issue 15)
        return
    pending = _records().filter(pk=call.record_id, state=IdempotencyState.IN_PROGRESS)
    if is_stored(status):
        pending.update(
            state=IdempotencyState.COMPLETE,
            status=status,
            body=content.decode(),
            body_is_result=False,
            updated_at=timezone.now(),
        )
    else:
        pending.update(updated_at=timezone.now() - dt.timedelta(seconds=LEASE_SECONDS + 1))


def complete(result: Any, *, status: int = 200, subject: str = "") -> None:
    """Store ``result`` (what the operation returns: JSON-serialisable, ``datetime`` and
    ``UUID`` allowed) as the answer of the staged call running in this context, in the
    caller's open transaction — the one that commits the operation's effects. Outside a
    staged idempotent call it does nothing. On PostgreSQL the same write releases the key's
    session advisory lock (``RETURNING pg_advisory_unlock``, after the record's row is
    locked): no statement of its own after the commit.

    :param subject: what the answer's disclosure depends on (up to 200 characters, e.g.
        ``exchange.consent:<id>``); :func:`forget` deletes the answers about it."""
    call = _current.get()
    if call is None or not call.staged or not call.active or call.record_id is None:
        return
    from .models import IdempotencyRecord, IdempotencyState

    names, values = _prepared(  # plain SQL on core_idempotencyrecord (issue 15)
        {
            "state": IdempotencyState.COMPLETE,
            "status": status,
            "body": json.dumps(result, default=_json_default, ensure_ascii=False),
            "body_is_result": True,
            "subject": subject[:200],
            "updated_at": timezone.now(),
        }
    )
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(IdempotencyRecord._meta.db_table)} SET {', '.join(f'{n} = %s' for n in names)} "
        f"WHERE {quote('id')} = %s"
    )
    params = [*values, call.record_id]
    lock_id = call.session_lock
    if lock_id is not None:
        # The key's session lock is released by this write, once it holds the record's row
        # (issue 15, fifth round: one round trip less than a statement of its own after the
        # commit). A retry that takes the lock from then on waits for this transaction at the
        # record (its claim conflicts with the row being updated) and then finds the answer
        # kept — or, if this transaction rolls back, the record in progress and no lock, as
        # after a worker's death (it takes the attempt over).
        sql += " RETURNING pg_advisory_unlock(%s)"
        params.append(lock_id)
    onestatement.write(sql, params)  # sent with the operation's next statement inside onestatement.joined()

    def committed():
        call.completed = True
        if call.session_lock == lock_id:
            call.session_lock = None  # released with the write: nothing to release after the call

    transaction.on_commit(committed)


# --- Lanes (tungban.core.front): a staged call begun before Django (issue 15, fourth round) ---


class KeyTaken(Exception):
    """Raised by :func:`claim_here` (or :func:`claimed`) when the key of a lane's call is held by another request
    or already has a record: the transaction it was raised in rolls back (nothing written),
    and the lane leaves the request to the full stack, whose decorator decides."""


def lane_begin(*, caller: str, key: str, digest: str, operation: str) -> _Call | None:
    """For a lane of a staged idempotent operation (:func:`tungban.core.front.register_lane`),
    what :func:`idempotent` does before the operation — without a commit of its own on
    PostgreSQL. ``caller``, ``key``, ``digest`` (:func:`digest_of`) and ``operation``
    (``"POST /path"``) are what the decorator derives from the request.

    On PostgreSQL nothing is sent here: the key is claimed — its session advisory lock taken
    and its in-progress record written, in one statement — inside the operation's first
    transaction (:func:`claim_here`, which the operation calls first in that transaction), so the record commits with the operation's first writes (an exchange's
    request id and attempt) or not at all: one commit less than the decorator's claim
    committed on its own, and the same guarantees — a worker killed before that commit leaves
    neither (a retry runs afresh), after it the record in progress and no lock (a retry takes
    it over). Elsewhere (SQLite, no advisory locks) the record is claimed here, committed at once.

    :returns: the call, to run the operation in (:func:`lane_running`) and finish
        (:func:`lane_finish`); ``None`` (SQLite) when the key has a record — nothing is
        written, and the lane leaves the request to the full stack."""
    call = _Call(staged=True, key=key, caller=caller[:200], digest=digest, operation=operation[:200])
    call.active = True
    if _postgres():
        call.claim_pending = True
        return call
    _locked, record_id = _claim_new(call, timezone.now())
    if record_id is None:
        return None
    call.record_id = record_id
    return call


def claim_here() -> None:
    """Inside the first transaction of a lane's operation (:func:`lane_begin`), before its
    first write: claim the call's key — the advisory lock tried and the in-progress record
    written in one statement (:func:`_claim_new`), committed with the transaction. Nothing
    to do outside a lane's call, or once claimed.

    :raises KeyTaken: another request holds the key, or it has a record (live or expired):
        let it roll the transaction back."""
    call = _current.get()
    if call is None or not call.claim_pending:
        return
    call.claim_pending = False
    lock_id = _lock_id(call.caller, call.key)
    locked, record_id = _claim_new(call, timezone.now(), lock_id=lock_id)
    if locked:
        call.session_lock = lock_id  # a session lock: it outlives the transaction, even its rollback
    if record_id is None:
        raise KeyTaken()
    call.record_id = record_id


def claim_clauses() -> tuple[str, list, str] | None:
    """:func:`claim_here` as part of the operation's own first statement (issue 15, sixth
    round: one statement and one round trip less): ``(clauses, params, selected)`` — two
    data-modifying ``WITH`` clauses (``l``, ``i``) to put first in that statement's ``WITH``
    with ``params`` first among its parameters, and the two values (``selected``) it must
    select, which go to :func:`claimed`. ``None`` when there is nothing to claim (outside a
    lane's call, once claimed, or not on PostgreSQL, where :func:`lane_begin` claimed the key).

    The statement's other clauses run whether or not the key could be claimed: when
    :func:`claimed` raises :class:`KeyTaken` the caller rolls the transaction back (all of
    them with it), as after :func:`claim_here`."""
    call = _current.get()
    if call is None or not call.claim_pending:
        return None
    call.claim_pending = False
    call.claim_lock = _lock_id(call.caller, call.key)
    return (
        _claim_clauses_sql(connection.vendor),
        [call.claim_lock, *_claim_values(call, timezone.now())],
        _CLAIM_SELECT,
    )


def claimed(got, record_id) -> None:
    """The two values the statement carrying :func:`claim_clauses` selected: the key's lock
    taken (a session lock: it outlives the transaction, even its rollback) and its record
    written. Nothing outside a lane's call.

    :raises KeyTaken: another request holds the key, or it has a record (live or expired):
        let it roll the transaction back."""
    call = _current.get()
    if call is None or call.claim_lock is None:
        return
    lock_id, call.claim_lock = call.claim_lock, None
    if got:
        call.session_lock = lock_id
    if record_id is None:
        raise KeyTaken()
    call.record_id = record_id


@contextlib.contextmanager
def lane_running(call: _Call) -> Iterator[None]:
    """Run the operation of a call begun by :func:`lane_begin` inside this block: there its
    key is claimed in its first transaction (:func:`claim_here`; :class:`KeyTaken` raised out
    of the block if it cannot be), :func:`complete` stores its answer and :func:`resuming`
    is false, as under the decorator; the lock is released when the block ends (unless
    :func:`complete`'s committed write released it)."""
    token = _current.set(call)
    try:
        yield
    finally:
        _current.reset(token)
        if call.claim_lock is not None:  # the claim's statement failed: whether it took the lock is unknown
            call.session_lock, call.claim_lock = call.claim_lock, None
        if call.session_lock is not None:
            _unlock(call.session_lock)


def lane_finish(call: _Call, status: int, content: bytes) -> None:
    """After the operation of a lane's call (inside :func:`lane_running`), given its answer's
    HTTP ``status`` and body ``content``: as the decorator after the operation — a
    deterministic refusal is kept, anything else not completed is released for a retry. An
    operation that wrote nothing (its key never claimed) has a kept refusal stored now, as
    the decorator would have."""
    if call.claim_pending:
        if not is_stored(status):
            return  # nothing claimed, nothing written: a retry runs afresh, as after the decorator's release
        token = _current.set(call)
        try:
            claim_here()
        except KeyTaken:
            return  # another request has the key now: it decides
        finally:
            _current.reset(token)
    _finish_record(call, status, content)


def resuming() -> bool:
    """Whether the staged call running in this context retries a first request with the same
    key and body that never completed (its worker died, or its answer was not kept)."""
    call = _current.get()
    return bool(call and call.resumed)


def _json_default(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _run_wrapper(run: Callable, *, staged: bool) -> Callable:
    """Wraps ninja's ``Operation.run`` (auth, parsing, the view, serialisation): the
    transaction that holds the operation's writes and its record, and the replay mark."""

    @functools.wraps(run)
    def wrapped(request, *args, **kwargs):
        call = _Call(staged=staged)
        token = _current.set(call)
        try:
            if staged or HEADER not in request.headers:
                response = run(request, *args, **kwargs)
                if call.active:
                    _finish_staged(call, response)
            else:
                response = _run_atomic(call, run, request, *args, **kwargs)
        finally:
            _current.reset(token)
            if call.session_lock is not None:
                _unlock(call.session_lock)
        if call.replayed:
            response[REPLAYED_HEADER] = "true"
        return response

    return wrapped


def _run_atomic(call: _Call, run: Callable, request, *args, **kwargs) -> HttpResponse:
    from .models import IdempotencyState

    with transaction.atomic():
        response = run(request, *args, **kwargs)
        if response.status_code >= 500:
            transaction.set_rollback(True)  # nothing partial: the retry runs afresh
        elif call.active and is_stored(response.status_code):
            try:
                with transaction.atomic():
                    _new_record(
                        call,
                        timezone.now(),
                        state=IdempotencyState.COMPLETE,
                        status=response.status_code,
                        body=response.content.decode(),
                    )
            except IntegrityError:  # another request with the key committed first (no advisory lock)
                transaction.set_rollback(True)
                return _in_progress()
    return response


def _document(operation, *, required: bool, description: str) -> None:
    """The header parameter and the replay mark in the operation's OpenAPI description."""
    extra = operation.openapi_extra = dict(operation.openapi_extra or {})
    extra.setdefault("parameters", []).append(
        {
            "name": HEADER,
            "in": "header",
            "required": required,
            "description": description,
            # An RFC 8941 sf-string of 8-255 visible ASCII characters (escapes left out here).
            "schema": {
                "type": "string",
                "pattern": r'^"[ !#-\[\]-~]{8,255}"$',
                "example": '"8e03978e-40d5-43e8-bc93-6894a57f9324"',
            },
        }
    )
    replayed = {
        REPLAYED_HEADER: {
            "description": "`true` when this is the stored answer to an earlier request with the same "
            "Idempotency-Key (draft-ietf-httpapi-idempotency-key-header)",
            "schema": {"type": "string", "enum": ["true"]},
        }
    }
    responses = extra.setdefault("responses", {})
    for status in operation.response_models:
        if isinstance(status, int) and is_stored(status):
            responses.setdefault(status, {}).setdefault("headers", {}).update(replayed)


_DESCRIPTION = (
    'The request\'s idempotency key (draft-ietf-httpapi-idempotency-key-header): a quoted string, e.g. "<UUID>", '
    "new for each request and the same for its retries. A retry with the same key and body gets the first answer "
    "(marked `Idempotent-Replayed: true`); another body is 422 `idempotency_key_reused`; while the first still runs, "
    "409 `idempotency_in_progress` with `Retry-After`. Kept for `TUNGBAN_IDEMPOTENCY_TTL` seconds (default 24 h)."
)


def idempotent(
    *,
    caller: Callable[[HttpRequest], str],
    required: bool = False,
    key_field: str | None = None,
    staged: bool = False,
    on_reuse: str = "refuse",
    recheck: Callable[[HttpRequest, Any], None] | None = None,
    description: str = "",
) -> Callable:
    """Decorate a ninja operation (below the router's decorator) to take an ``Idempotency-Key``.

    :param caller: ``request → str``, the authenticated caller that owns the key (run after
        the operation's auth, e.g. ``client:<client_id>``).
    :param required: refuse a request without the key (400 ``idempotency_key_missing``).
    :param key_field: a field of the JSON body (``payload``) that is the key when the header is
        absent (an exchange's ``request_id``); a header given as well must carry the same value.
    :param staged: the operation commits in several transactions and calls :func:`complete`
        in its last one (see the module's docstring).
    :param on_reuse: ``"refuse"`` (422 ``idempotency_key_reused``) or ``"run"``: a staged
        operation that refuses a reused key itself.
    :param recheck: ``(request, stored answer as JSON) → None``, called before a kept 2xx
        answer is replayed; it raises a :class:`~tungban.core.errors.DomainError` when the
        answer may no longer be given (issue 14 review M1): that refusal is the answer, and
        replaces the stored one.
    :param description: added to the header's description in the OpenAPI document.
    """
    if on_reuse not in ("refuse", "run"):
        raise ValueError(on_reuse)

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def inner(request, *args, **kwargs):
            call = _current.get()
            if call is None:
                return view(request, *args, **kwargs)
            key = parse_key(request.headers[HEADER]) if HEADER in request.headers else None
            if key_field is not None:
                value = getattr(kwargs.get("payload"), key_field, None)
                if key is not None and key != value:
                    raise KeyInvalid(_("The Idempotency-Key header must equal %(field)s.") % {"field": key_field})
                key = value if isinstance(value, str) and 1 <= len(value) <= MAX_LENGTH else None
            if key is None:
                if required:
                    raise KeyMissing()
                return view(request, *args, **kwargs)
            call.key, call.caller, call.digest = key, caller(request)[:200], request_digest(request)
            call.operation = f"{request.method} {request.path}"[:200]
            call.recheck, call.request = recheck, request
            answer = _begin_staged(call, on_reuse) if staged else _begin_atomic(call)
            if answer is not None:
                return answer
            return view(request, *args, **kwargs)

        # ninja reads the parameters' annotations through the wrapper, whose module differs:
        # give it the view's signature with its (string) annotations evaluated where they were written.
        inner.__signature__ = inspect.signature(view, eval_str=True)

        def contribute(operation) -> None:
            deco = functools.partial(_run_wrapper, staged=staged)
            operation.run = deco(operation.run)
            if not hasattr(operation, "_run_decorators"):
                operation._run_decorators = []
            operation._run_decorators.append(deco)  # re-applied when ninja clones the operation
            _document(operation, required=required, description=" ".join(filter(None, [_DESCRIPTION, description])))

        contribute_operation_callback(inner, contribute)
        return inner

    return decorate


def purge_expired(now: dt.datetime) -> dict[str, int]:
    """Delete the records whose ``expires_at`` has passed (``TUNGBAN_IDEMPOTENCY_TTL``);
    registered with :mod:`tungban.core.retention` as ``idempotency``."""
    from .models import IdempotencyRecord

    deleted, _rows = IdempotencyRecord.objects.filter(expires_at__lte=now).delete()
    return {IdempotencyRecord._meta.label: deleted}
