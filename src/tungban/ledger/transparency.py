"""The transparency log: an append-only Merkle tree (RFC 9162, Certificate Transparency
v2, §2.1) kept in the database, with signed tree heads and inclusion and consistency proofs.

Hashing (RFC 9162 §2.1.1, SHA-256; the same as RFC 6962; the arithmetic is in :mod:`.merkle`,
the full audit in :mod:`.audit`)::

    body       = canonical JSON of {"kind", "ref", "at", ...fields}
                 (keys sorted, no spaces, UTF-8; :func:`tungban.ledger.canonical.canonical`)
    leaf_hash  = SHA-256(0x00 || UTF-8 body)
    node hash  = SHA-256(0x01 || left || right)
    MTH({})    = SHA-256("")                       (the empty tree)
    MTH(D[n])  = node hash of MTH(D[0:k]) and MTH(D[k:n]), k the largest power of 2 < n

Leaves are numbered from 0 (``leaf_index`` as in RFC 9162). Hashes are stored as raw
32-byte digests and exchanged base64-encoded (RFC 4648 §4, with padding).

Storage (``models``): :class:`LogLeaf` per entry; :class:`LogNode` holds the root of every
*perfect* subtree (2**level leaves, level ≥ 1) once its last leaf is appended — about one
node per leaf — so a root, an inclusion proof (§2.1.3) or a consistency proof (§2.1.4)
reads O(log n) stored hashes, fetched in one query, and never rehashes ranges of leaves.
:class:`TreeHead` is one signed tree head per append transaction; :class:`PublishedHead`
is every head made, in order — after appends, on the worker's schedule
(:func:`publish_head_if_due`) and when re-signed — never changed, published at
``/api/v1/log/heads`` for witnesses (:mod:`.witness`, issue 14 item 10); :class:`LogState` is the
row appends lock, so concurrent workers serialise (``select_for_update`` on PostgreSQL, the
write lock SQLite's ``BEGIN IMMEDIATE`` takes).

The tree is pymerkle's :class:`~pymerkle.BaseMerkleTree` (RFC 9162 hashing, second-preimage
protection on) over a Django storage backend (:class:`DatabaseTree`). Inclusion paths come
from pymerkle; consistency paths are built here from RFC 9162 §2.1.4.1 ``SUBPROOF``, since
pymerkle's own consistency proofs have a different shape. Nothing is cached across calls:
each call makes a new tree object that reads the size under the current transaction.

A signed tree head is a compact JWS (ES256, ``typ`` "tree-head+jwt") by the platform key
over ``{"iss", "iat", "tree_size", "root_hash", "timestamp"}``, verifiable with the platform
JWKS at ``/oidc/jwks`` — the JSON counterpart of RFC 9162 §4.10's TLS-encoded tree head.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import json
import logging
import time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pymerkle import BaseMerkleTree, InvalidChallenge

from tungban.core import onestatement
from tungban.core.errors import DomainError, NotFound
from tungban.keys import services as keys

from . import errors
from .canonical import canonical
from .merkle import EMPTY_ROOT, b64, consistency_ranges, fold, inclusion_ranges, perfect_subtrees
from .models import LogLeaf, LogNode, LogState, PendingLeaf, PublishedHead, TreeHead

logger = logging.getLogger(__name__)

STATE = "main"
HEAD_TYP = "tree-head+jwt"
#: Most entries :func:`get_entries` returns at once.
MAX_ENTRIES = 1000
#: Keys the log sets in every body; ``fields`` may not use them.
RESERVED = frozenset({"kind", "ref", "at", "merge_by"})


# --- Errors ---------------------------------------------------------------------------------


class TreeSizeUnknown(DomainError):
    """``tree_size_unknown`` (400): the log never had this size (more than its size now, or < 1)."""


class LeafIndexOutOfRange(DomainError):
    """``leaf_index_out_of_range`` (400): ``leaf_index`` < 0 or ≥ the tree size asked about."""


class LeafNotFound(NotFound):
    """``leaf_not_found`` (404): no leaf with this hash in the tree size asked about."""


class InvalidRange(DomainError):
    """``invalid_range`` (400): a range of entries or sizes that is empty or reversed."""


def _size_unknown(size: int, current: int, field_name: str) -> TreeSizeUnknown:
    if current == 0:
        message = _("The log never had %(size)s leaves: it is empty.") % {"size": size}
    else:
        message = _(
            "The log never had %(size)s leaves: it has %(current)s, and proofs exist for tree sizes 1 to %(current)s."
        ) % {"size": size, "current": current}
    return TreeSizeUnknown("tree_size_unknown", message, field=field_name, details={"tree_size": current})


# --- Input -------------------------------------------------------------------------------


def decode_hash(value: bytes | str, field_name: str = "hash") -> bytes:
    """A 32-byte SHA-256 digest from raw bytes, base64 (standard or URL-safe, padding
    optional) or 64 hex digits.

    :raises DomainError: ``invalid_hash`` (400) for anything else.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
    else:
        text = (value or "").strip().replace(" ", "+")  # an unencoded "+" in a query string arrives as " "
        raw = b""
        if len(text) == 64:
            try:
                raw = bytes.fromhex(text)
            except ValueError:
                raw = b""
        if not raw:
            try:
                raw = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)
            except (binascii.Error, ValueError):
                raw = b""
    if len(raw) != 32:
        raise errors.InvalidHash(field=field_name)
    return raw


# --- The tree -------------------------------------------------------------------------------


class DatabaseTree(BaseMerkleTree):
    """pymerkle's RFC 9162 tree over the ``ledger`` tables.

    Entries are ``(kind, reference, body)`` tuples; the leaf data hashed is the UTF-8 body.
    pymerkle numbers leaves from 1; the rest of this module, like RFC 9162, from 0.

    :param size: the tree size to work on; read from :class:`LogState` when not given (the
        caller holds the lock when appending).
    """

    def __init__(self, size: int | None = None):
        self._size = current_size() if size is None else size
        #: hashes read or written during this object's life: {(level, index): digest};
        #: subtrees are immutable once complete, so this never goes stale within a call.
        self._hashes: dict[tuple[int, int], bytes] = {}
        #: When a list: :meth:`_store` leaves its rows here, ``(leaves, nodes)``, for the
        #: caller to write with the head in one statement (:func:`_write_appended`).
        self.deferred: list | None = None
        #: When True, the next read of stored hashes also reads the newest head's timestamp
        #: into :attr:`last_timestamp` (PostgreSQL appends: one round trip for both).
        self.read_last_timestamp = False
        self.last_timestamp: int | None = None
        super().__init__("sha256", capacity=0)  # pymerkle's LRU cache is not used

    # pymerkle storage interface ------------------------------------------------------------

    def _encode_entry(self, data) -> bytes:
        return data[2].encode("utf-8")

    def _store_leaf(self, data, digest) -> int:
        self._store([(data, digest)])
        return self._size

    def append_entries(self, entries) -> int:
        """Append many ``(kind, reference, body)`` entries in one pass (bulk inserts)."""
        with self.lock:
            self._store([(data, self.hash_buff(self._encode_entry(data))) for data in entries])
            return self._size

    def _get_leaf(self, index: int) -> bytes:
        self._prefetch([(0, index - 1)])
        return self._hashes[(0, index - 1)]

    def _get_leaves(self, offset: int, width: int) -> list[bytes]:
        rows = (
            LogLeaf.objects.filter(index__gte=offset, index__lt=offset + width)
            .order_by("index")
            .values_list("leaf_hash", flat=True)
        )
        return [bytes(h) for h in rows]

    def _get_size(self) -> int:
        return self._size

    def _get_subroot(self, offset: int, width: int) -> bytes:
        """The root of the perfect subtree of ``width`` (a power of 2) leaves from ``offset``:
        a stored leaf or node hash, never a rehash of leaves (unless a node is missing)."""
        key = (width.bit_length() - 1, offset // width)
        digest = self._hashes.get(key)
        if digest is None:
            self._prefetch([key])
            digest = self._hashes.get(key)
        if digest is None:
            logger.warning("transparency log: node %s missing, recomputed from leaves", key)
            digest = self._get_subroot_uncached(offset, width)
            self._hashes[key] = digest
        return digest

    # stored hashes --------------------------------------------------------------------------

    def _prefetch(self, keys) -> None:
        """Read the leaf (level 0) and node hashes for ``keys`` not yet known, in one query.

        Plain SQL: building the ORM query cost ten times the query itself. Nodes are asked
        one OR branch per level, not as a row-value IN (which SQLite answers with a scan)."""
        wanted = {k for k in keys if k not in self._hashes}
        with_timestamp, self.read_last_timestamp = self.read_last_timestamp, False
        if not wanted and not with_timestamp:
            return
        quote = connection.ops.quote_name
        by_level: dict[int, list[int]] = {}
        for level, index in wanted:
            by_level.setdefault(level, []).append(int(index))
        parts, params = [], []
        leaves = by_level.pop(0, None)
        if leaves:
            parts.append(
                f"SELECT 0, {quote('index')}, {quote('leaf_hash')} FROM {quote(LogLeaf._meta.db_table)} "
                f"WHERE {quote('index')} IN ({', '.join(['%s'] * len(leaves))})"
            )
            params += leaves
        if by_level:
            ors = []
            for level, indexes in by_level.items():
                ors.append(f"({quote('level')} = %s AND {quote('index')} IN ({', '.join(['%s'] * len(indexes))}))")
                params += [level, *indexes]
            parts.append(
                f"SELECT {quote('level')}, {quote('index')}, {quote('hash')} FROM {quote(LogNode._meta.db_table)} WHERE {' OR '.join(ors)}"
            )
        if with_timestamp:  # as _last_timestamp(), in the same round trip (PostgreSQL)
            ts = quote("timestamp")
            parts.append(
                f"SELECT -1, GREATEST(COALESCE((SELECT {ts} FROM {quote(TreeHead._meta.db_table)} "
                f"ORDER BY {quote('tree_size')} DESC LIMIT 1), 0), COALESCE((SELECT {ts} FROM "
                f"{quote(PublishedHead._meta.db_table)} ORDER BY {quote('seq')} DESC LIMIT 1), 0))::bigint, NULL::bytea"
            )
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for level, index, digest in cursor.fetchall():
                if level == -1:
                    self.last_timestamp = int(index)
                    continue
                self._hashes[(level, index)] = bytes(digest)

    def prefetch_ranges(self, ranges) -> None:
        self._prefetch([key for (a, b) in ranges for key in perfect_subtrees(a, b)])

    def frontier(self) -> list[tuple[int, bytes]]:
        """``(level, hash)`` of the maximal perfect subtrees of the whole tree, left to right
        (the right edge new leaves attach to)."""
        keys = perfect_subtrees(0, self._size)
        self._prefetch(keys)
        return [(level, self._get_subroot(index << level, 1 << level)) for (level, index) in keys]

    def _store(self, items: list) -> None:
        """Append ``[((kind, reference, body), leaf_hash), ...]``: leaves, the nodes they
        complete and nothing else (the caller writes the tree head)."""
        if not items:
            return
        at = connection.ops.adapt_datetimefield_value(timezone.now())
        stack = self.frontier()
        hash_pair = self.hash_pair
        hashes = self._hashes
        leaves, nodes = [], []
        i = self._size
        for (kind, reference, body), digest in items:
            leaves.append((i, kind, reference, body, digest, at))
            hashes[(0, i)] = digest
            level, h = 0, digest
            while stack and stack[-1][0] == level:
                h = hash_pair(stack.pop()[1], h)
                level += 1
                nodes.append((level, i >> level, h))
                hashes[(level, i >> level)] = h
            stack.append((level, h))
            i += 1
        if self.deferred is not None:
            self.deferred.append((leaves, nodes))
        else:
            _insert(LogLeaf, ("index", "kind", "reference", "body", "leaf_hash", "appended_at"), leaves)
            _insert(LogNode, ("level", "index", "hash"), nodes)
        self._size = i

    # reads ------------------------------------------------------------------------------------

    def root(self, size: int | None = None) -> bytes:
        """MTH(D[size]) (RFC 9162 §2.1.1); the current size by default."""
        size = self._size if size is None else size
        self.prefetch_ranges([(0, size)])
        return self.get_root(size)

    def inclusion_path(self, leaf_index: int, size: int) -> list[bytes]:
        """PATH(leaf_index, D[size]) (RFC 9162 §2.1.3.1), 0-based ``leaf_index``."""
        self.prefetch_ranges([(leaf_index, leaf_index + 1), *inclusion_ranges(leaf_index, size)])
        proof = self.prove_inclusion(leaf_index + 1, size)
        return list(proof.path[1:])  # pymerkle's path starts with the leaf hash itself

    def consistency_path(self, first: int, second: int) -> list[bytes]:
        """PROOF(first, D[second]) (RFC 9162 §2.1.4.1), 0 < first ≤ second."""
        ranges = consistency_ranges(first, second)
        self.prefetch_ranges(ranges)
        return [self._get_root(a, b) for (a, b) in ranges]


def _insert(model, names: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert ``rows`` without the ORM, whose ``bulk_create`` spends most of its time
    building model objects and SQL (3× slower): ``COPY … FROM STDIN`` on PostgreSQL
    (psycopg 3), ``executemany`` of one ``INSERT`` (a loop in C) elsewhere."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(model._meta.get_field(n).column) for n in names)
    with connection.cursor() as cursor:
        raw = getattr(cursor, "cursor", cursor)
        if connection.vendor == "postgresql" and hasattr(raw, "copy"):
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(names))})", rows)


def current_size() -> int:
    row = LogState.objects.filter(name=STATE).values_list("size", flat=True).first()
    return row or 0


# --- Appending ------------------------------------------------------------------------------


def log_append(kind: str, reference: str, fields: dict) -> int:
    """Append one entry and publish a new signed tree head; return its ``leaf_index``
    (0-based, RFC 9162 §2.1). Runs inside the caller's transaction, so the entry commits
    (or not) with the record it describes.

    :param kind: what happened, e.g. ``"credential.issued"``, ``"credential.revoked"`` (≤ 40).
    :param reference: the record's id in its own app, e.g. the credential id (≤ 64).
    :param fields: JSON-serialisable metadata (strings, integers, booleans, None); never
        personal data. Keys ``kind``, ``ref`` and ``at`` are the log's.
    :raises RuntimeError: outside ``transaction.atomic()``.
    :raises ValueError: for an over-long kind or reference, or a reserved key in ``fields``.
    """
    return log_append_many([(kind, reference, fields)])[0]


def log_append_many(items: list[tuple[str, str, dict]]) -> list[int]:
    """Append ``(kind, reference, fields)`` entries in order, with one signed tree head for
    the lot; return their ``leaf_index``es. Thousands at once cost a few bulk inserts: the
    right edge of the tree is read once and the new nodes computed in memory.

    Each body is the canonical JSON of ``{"kind", "ref", "at", **fields}`` with ``at`` the
    append time (ISO 8601, UTC, microseconds). Errors as :func:`log_append`.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("the transparency log must be appended to inside the transaction that writes the record")
    if not items:
        return []
    _check_items(items)
    first = _locked_size()  # from here on, other workers wait: "at" grows with the index
    queued = _take_pending() if batching() else []  # the next appender integrates the queue first (issue 15)
    return _append_locked(first, [*queued, *items])[len(queued) :]


def _check_items(items) -> None:
    for kind, reference, fields in items:
        if not kind or len(kind) > 40 or not reference or len(str(reference)) > 64:
            raise ValueError("kind (1-40 characters) and reference (1-64 characters) are required")
        if RESERVED & set(fields):
            raise ValueError(f"fields may not use the log's own keys {sorted(RESERVED)}")


def _append_locked(first: int, items: list[tuple[str, str, dict]]) -> list[int]:
    """Append ``items`` to the tree of ``first`` leaves, whose lock the caller holds, with one
    signed, published tree head; return their ``leaf_index``es."""
    now = timezone.now()
    at = now.astimezone(dt.UTC).isoformat(timespec="microseconds")
    entries = [
        (kind, str(ref), canonical({**fields, "kind": kind, "ref": str(ref), "at": at})) for kind, ref, fields in items
    ]
    tree = DatabaseTree(size=first)
    one_statement = connection.vendor == "postgresql"
    if one_statement:
        tree.deferred = []
        tree.read_last_timestamp = True  # read with the tree's right edge, one round trip
    tree.append_entries(entries)
    size = tree.get_size()
    root = tree.root(size)
    last = tree.last_timestamp if tree.last_timestamp is not None else _last_timestamp()
    timestamp = max(int(now.timestamp() * 1000), last)  # never goes back, whatever the worker's clock
    signature = _sign_head(size, root, timestamp)
    head = (size, root, timestamp, signature)
    if one_statement:  # issue 15 round 3: leaves, nodes, both heads and the size in one round trip
        _write_appended(*tree.deferred[0], head)
        return list(range(first, size))
    # Plain SQL (issue 15): the ORM's query building cost more than these three statements.
    _insert(TreeHead, ("tree_size", "root_hash", "timestamp", "signature"), [head])
    _insert(PublishedHead, ("tree_size", "root_hash", "timestamp", "signature"), [head])
    _set_size(size)
    return list(range(first, size))


def _write_appended(leaves: list[tuple], nodes: list[tuple], head: tuple) -> None:
    """PostgreSQL: write an append — its ``leaves`` (``ledger_logleaf``), the ``nodes`` they
    complete (``ledger_lognode``), the signed head (``ledger_treehead`` and
    ``ledger_publishedhead``) and the new size (``ledger_logstate``) — in one statement
    (data-modifying CTEs over ``unnest`` of arrays, parameters bound): one round trip
    where there were seven (four COPYs and an UPDATE; issue 15 round 3)."""
    q = connection.ops.quote_name
    size, root, timestamp, signature = head
    leaf_cols = ", ".join(q(c) for c in ("index", "kind", "reference", "body", "leaf_hash", "appended_at"))
    node_cols = ", ".join(q(c) for c in ("level", "index", "hash"))
    head_cols = ", ".join(q(c) for c in ("tree_size", "root_hash", "timestamp", "signature"))
    sql = (
        f"WITH l AS (INSERT INTO {q(LogLeaf._meta.db_table)} ({leaf_cols}) "
        "SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[], %s::text[], %s::bytea[], %s::timestamptz[])), "
        f"n AS (INSERT INTO {q(LogNode._meta.db_table)} ({node_cols}) "
        "SELECT * FROM unnest(%s::smallint[], %s::bigint[], %s::bytea[])), "
        f"h AS (INSERT INTO {q(TreeHead._meta.db_table)} ({head_cols}) VALUES (%s, %s, %s, %s)), "
        f"p AS (INSERT INTO {q(PublishedHead._meta.db_table)} ({head_cols}) VALUES (%s, %s, %s, %s)) "
        f"UPDATE {q(LogState._meta.db_table)} SET size = %s, updated_at = %s WHERE name = %s"
    )
    columns = list(zip(*leaves, strict=True)) if leaves else [()] * 6
    node_columns = list(zip(*nodes, strict=True)) if nodes else [()] * 3
    params = [list(c) for c in columns] + [list(c) for c in node_columns]
    params += [size, root, timestamp, signature] * 2
    params += [size, connection.ops.adapt_datetimefield_value(timezone.now()), STATE]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# --- Queued leaves (issue 15) ----------------------------------------------------------------
#
# Appending under the log's lock, one signed head per record, serialised every exchange on
# PostgreSQL (5-6 ms each, two per exchange). A record may instead queue its leaf
# (:func:`log_queue`) in its own transaction, without the lock, and the leaves queued meanwhile
# are integrated together, under one signed head, by the next appender (:func:`integrate`,
# which the record's owner calls after its commit, :func:`log_append_many`, or the worker's
# schedule): the Trillian / Sigstore Rekor sequencer. The guarantees stay: the leaf commits
# with its record, leaves are numbered in order without gaps, every head is signed and
# published, and :func:`integrate` returns only once the caller's leaves are in a published head.


def batching() -> bool:
    """Whether leaves are queued (:func:`log_queue`) rather than appended at once: on a
    database with concurrent writers (PostgreSQL). SQLite has one writer at a time, whose
    commits are its cost: there the leaf is appended in the record's transaction."""
    return bool(connection.features.has_select_for_update)


#: The ticket of a leaf queued without reading its id back (:func:`log_queue` with ``kept``).
QUEUED = 0


def log_queue(kind: str, reference: str, fields: dict, *, kept: bool = False) -> int | None:
    """Queue one entry for the log in the caller's transaction (it commits, or not, with the
    record), or append it at once when not :func:`batching` (:func:`log_append`). Returns a
    ticket for :func:`integrate` (None when appended at once). Errors as :func:`log_append`.

    With ``kept`` the insert is a kept write of :func:`tungban.core.onestatement.joined`
    (sent with the caller's next statement that reads, issue 15 round 4) and the ticket is
    :data:`QUEUED` (its id is not read back)."""
    if not batching():
        log_append(kind, reference, fields)
        return None
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("the transparency log must be appended to inside the transaction that writes the record")
    _check_items([(kind, reference, fields)])
    table = connection.ops.quote_name(PendingLeaf._meta.db_table)
    now = timezone.now()
    # The leaf carries its own deadline, so a late integration shows in the log for ever
    # (check_records), not only while the leaf waits in the queue (overdue).
    fields = {**fields, "merge_by": merge_by(now)}
    sql = f"INSERT INTO {table} (kind, reference, fields, queued_at) VALUES (%s, %s, %s, %s)"
    params = [kind, str(reference), canonical(fields), connection.ops.adapt_datetimefield_value(now)]
    if kept:
        onestatement.write(sql, params)
        return QUEUED
    # with the caller's kept writes in front, one statement (tungban.core.onestatement, issue 15)
    return onestatement.fetchone(sql + " RETURNING id", params)[0]


def integrate(tickets: list[int | None]) -> None:
    """After the commit of the transactions that queued leaves (:func:`log_queue`'s
    ``tickets``): return once they are in the tree under a signed, published head — at once
    when another appender already integrated them, else integrating everything queued
    (:func:`integrate_pending`). ``None`` tickets (appended at once) need nothing."""
    ids = [t for t in tickets if t is not None]
    if not ids:
        return
    if QUEUED not in ids:  # ids known: nothing to do if another appender took them
        table = connection.ops.quote_name(PendingLeaf._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} WHERE id IN ({', '.join(['%s'] * len(ids))}) LIMIT 1", ids)
            if cursor.fetchone() is None:
                return
    integrate_pending()


#: When this process last tried to integrate the queue from :func:`integrate_soon`
#: (``time.monotonic()``), for ``TUNGBAN_LOG_BATCH_INTERVAL_MS``: a hint, not shared state.
_last_integration = float("-inf")


def forget_last_integration() -> None:
    """Let this process's next :func:`integrate_soon` integrate whatever its interval (tests)."""
    global _last_integration
    _last_integration = float("-inf")


#: Rounds :func:`integrate_soon` makes at most while leaves keep arriving (each round one
#: batch under one signed head); what arrives after is the next request's to integrate.
SOON_ROUNDS = 3


def integrate_soon(tickets: list[int | None]) -> int:
    """After the commit of the transactions that queued leaves (:func:`log_queue`'s
    ``tickets``): integrate what is queued if the log is free, never waiting for it (issue 15
    round 3). The caller's leaves are promised (their record's owner holds
    :func:`promise`), not yet proven: if another sequencer holds the log's lock
    (``FOR UPDATE SKIP LOCKED`` finds it taken), this returns at once, and that sequencer looks
    at the queue again after its commit; a sequencer that integrated something looks again
    too (at most :data:`SOON_ROUNDS` batches), so leaves committed while it worked are taken.
    What is left (a leaf committed in the instant between a last look and its release, or a
    worker that died) goes to the next request, the next appender, the worker's scheduled
    head or ``verify_exchange_log`` — within ``TUNGBAN_LOG_MERGE_DELAY``. No waiting on other
    exchanges: concurrent exchanges used to queue on the log's row lock, two integrations
    each (``bench/exchange.py``, concurrency 16: 10 of 16 backends waiting).

    **Batches** (issue 15, fourth round): with ``TUNGBAN_LOG_BATCH_INTERVAL_MS`` > 0 a call
    integrates only when its process has not tried for at least that long (one integration
    per interval and process, of every leaf queued meanwhile by any process, under one signed
    head, in one round), and makes no round trip otherwise: its leaves are promised, and the
    next call due, the worker's scheduled head or ``verify_exchange_log`` takes them within
    ``TUNGBAN_LOG_MERGE_DELAY``. The moment is a hint kept in this process (nothing depends
    on two processes agreeing on it: the log's lock decides who integrates). With 0 every
    call integrates, as in the third round.

    Returns how many leaves this call integrated. ``None`` tickets (appended at once:
    SQLite, :func:`batching`) need nothing."""
    global _last_integration
    ids = [t for t in tickets if t is not None]
    if not ids:
        return 0
    interval = settings.TUNGBAN_LOG_BATCH_INTERVAL_MS / 1000
    if interval > 0:
        now = time.monotonic()
        if now - _last_integration < interval:
            return 0  # promised: a later call integrates them with others
        _last_integration = now
        rounds = 1
    else:
        rounds = SOON_ROUNDS
    table = connection.ops.quote_name(PendingLeaf._meta.db_table)
    if QUEUED not in ids:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} WHERE id IN ({', '.join(['%s'] * len(ids))}) LIMIT 1", ids)
            if cursor.fetchone() is None:
                return 0  # another sequencer integrated them already
    total = 0
    for _round in range(rounds):
        with transaction.atomic():
            first, queued = _try_take_pending()
            if first is None:  # another sequencer holds the log: it looks again after its commit
                return total
            if queued:
                _append_locked(first, queued)
        total += len(queued)
        if rounds == 1:
            break  # batches: what arrived meanwhile is the next batch's
        # Look again after the commit (one read, outside a transaction): a leaf whose owner
        # found the log taken while this call held it was committed before that, so it shows.
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
            if not cursor.fetchone()[0]:
                break
    return total


def _try_take_pending() -> tuple[int | None, list[tuple[str, str, dict]]]:
    """Lock the log's :class:`LogState` row without waiting and take the queued leaves, in
    one statement (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, then ``DELETE … RETURNING`` only
    if the lock was had; issue 15 round 3): ``(size, leaves oldest first)``, or ``(None, [])``
    when another transaction holds the row. The first time (no row yet) the row is made and
    locked waiting, as :func:`_locked_size` does. Elsewhere: :func:`_locked_size` and
    :func:`_take_pending`."""
    if not connection.features.has_select_for_update_skip_locked:
        return _locked_size(), _take_pending()
    state = connection.ops.quote_name(LogState._meta.db_table)
    pending = connection.ops.quote_name(PendingLeaf._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH s AS (SELECT size FROM {state} WHERE name = %s FOR UPDATE SKIP LOCKED), "
            f"d AS (DELETE FROM {pending} WHERE EXISTS (SELECT 1 FROM s) RETURNING id, kind, reference, fields) "
            f"SELECT NULL::bigint, (SELECT size FROM s), EXISTS (SELECT 1 FROM {state} WHERE name = %s), "
            "NULL::text, NULL::text, NULL::text "
            "UNION ALL SELECT id, NULL::bigint, NULL::boolean, kind::text, reference::text, fields FROM d",
            [STATE, STATE],
        )
        rows = cursor.fetchall()
    header = next(r for r in rows if r[0] is None)
    size, exists = header[1], header[2]
    if size is None:
        if exists:
            return None, []
        return _locked_state().size, _take_pending()
    leaves = sorted(r for r in rows if r[0] is not None)
    return size, [(kind, reference, json.loads(fields)) for _id, _s, _e, kind, reference, fields in leaves]


def promise(kind: str, reference: str, fields: dict, now: dt.datetime | None = None) -> dict:
    """The platform's promise that a leaf ``{"kind", "ref", "at", **fields}`` (``fields`` as
    :func:`log_queue` takes them) is in the log under a signed tree head by ``merge_by``: the
    counterpart of Certificate Transparency's signed certificate timestamp (RFC 9162 §4.8,
    maximum merge delay) and Rekor's signed entry timestamp, which the record's owner signs
    into its own answer (issue 15 round 3)::

        {"kind", "ref", **fields, "merge_by": ms since the epoch (now + TUNGBAN_LOG_MERGE_DELAY)}

    The leaf's body then holds every value of the promise (its own ``merge_by`` a few ms
    later: :func:`merge_by`), and ``at`` (when it was integrated) ≤ ``merge_by``."""
    return {**fields, "kind": kind, "ref": str(reference), "merge_by": merge_by(now)}


def merge_by(now: dt.datetime | None = None) -> int:
    """The maximum merge delay's deadline for a leaf queued ``now``: ms since the epoch
    (``now`` + ``TUNGBAN_LOG_MERGE_DELAY``). A queued leaf's body carries it
    (:func:`log_queue`), a few ms after its promise's (:func:`promise`, made first)."""
    return int((now or timezone.now()).timestamp() * 1000) + settings.TUNGBAN_LOG_MERGE_DELAY * 1000


def late(body: dict) -> bool:
    """Whether a leaf's ``body`` (parsed) was integrated after the deadline it carries
    (``at`` later than ``merge_by``): a promise broken (RFC 9162 §4.8's maximum merge delay)."""
    deadline = body.get("merge_by")
    if not isinstance(deadline, int) or not isinstance(body.get("at"), str):
        return False
    return dt.datetime.fromisoformat(body["at"]).timestamp() * 1000 > deadline


def overdue(now: dt.datetime | None = None) -> list[tuple[str, str, dt.datetime]]:
    """Queued leaves older than ``TUNGBAN_LOG_MERGE_DELAY``: ``[(kind, reference,
    queued_at)]``, oldest first — promises not kept (issue 15 round 3)."""
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=settings.TUNGBAN_LOG_MERGE_DELAY)
    rows = PendingLeaf.objects.filter(queued_at__lt=cutoff).order_by("id")
    return list(rows.values_list("kind", "reference", "queued_at"))


def integrate_reference(kind: str, reference: str) -> None:
    """Integrate the queue (:func:`integrate_pending`) if a leaf of ``(kind, reference)`` is
    still in it; else nothing (one read of :class:`PendingLeaf`)."""
    table = connection.ops.quote_name(PendingLeaf._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE kind = %s AND reference = %s LIMIT 1", [kind, reference])
        if cursor.fetchone() is None:
            return
    integrate_pending()


def integrate_pending() -> int:
    """Integrate every queued leaf into the tree, in the order queued, under one signed and
    published tree head, in one transaction holding the log's lock (the sequencer). Returns
    how many were integrated (0: none queued, nothing written)."""
    with transaction.atomic():
        first = _locked_size()
        queued = _take_pending()
        if queued:
            _append_locked(first, queued)
    return len(queued)


def _take_pending() -> list[tuple[str, str, dict]]:
    """The queued leaves, oldest first, deleted (call with the log's lock held: the appender
    that holds it is the only one to see them). One statement: a leaf whose transaction
    commits meanwhile is not in its snapshot, so it is neither returned nor deleted."""
    table = connection.ops.quote_name(PendingLeaf._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} RETURNING id, kind, reference, fields")
        rows = sorted(cursor.fetchall())
    return [(kind, reference, json.loads(fields)) for _id, kind, reference, fields in rows]


def _last_timestamp() -> int:
    """The newest head's timestamp (ms), stored or published; 0 for none. One query (plain
    SQL over ``ledger_treehead`` and ``ledger_publishedhead``)."""
    quote = connection.ops.quote_name
    heads, published = quote(TreeHead._meta.db_table), quote(PublishedHead._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT {quote('timestamp')} FROM {heads} ORDER BY {quote('tree_size')} DESC LIMIT 1), "
            f"(SELECT {quote('timestamp')} FROM {published} ORDER BY {quote('seq')} DESC LIMIT 1)"
        )
        row = cursor.fetchone()
    return max(row[0] or 0, row[1] or 0)


def _locked_size() -> int:
    """Lock the log's :class:`LogState` row (``ledger_logstate``; created at 0 the first
    time) and return the size it holds: plain SQL, ``FOR UPDATE`` on PostgreSQL (SQLite's
    ``BEGIN IMMEDIATE`` already holds the database's write lock)."""
    table = connection.ops.quote_name(LogState._meta.db_table)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT size FROM {table} WHERE name = %s{lock}", [STATE])
        row = cursor.fetchone()
    if row is None:
        return _locked_state().size
    return row[0]


def _set_size(size: int) -> None:
    """Store the log's new size in the locked :class:`LogState` row (plain SQL)."""
    table = connection.ops.quote_name(LogState._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET size = %s, updated_at = %s WHERE name = %s",
            [size, connection.ops.adapt_datetimefield_value(timezone.now()), STATE],
        )


def _publish(size: int, root: bytes, timestamp: int, signature: str) -> PublishedHead:
    """Store a head just made in the published history (call under the log's lock)."""
    return PublishedHead.objects.create(tree_size=size, root_hash=root, timestamp=timestamp, signature=signature)


def publish_head_if_due(now: dt.datetime | None = None) -> bool:
    """The scheduled head (issue 14 item 10): sign and publish a head of the log as it is now
    when the latest published head is older than ``TUNGBAN_TREE_HEAD_INTERVAL`` seconds (or
    there is none, even for an empty log), so witnesses see the log is live and a frozen or
    withheld log shows. Run by the worker on the purge schedule (:mod:`tungban.core.retention`);
    returns whether it published one."""
    integrate_pending()  # leaves queued by a worker that died before integrating them
    now_ms = int((now or timezone.now()).timestamp() * 1000)
    with transaction.atomic():
        state = _locked_state()
        latest = PublishedHead.objects.order_by("-seq").values_list("timestamp", flat=True).first()
        if latest is not None and now_ms - latest < settings.TUNGBAN_TREE_HEAD_INTERVAL * 1000:
            return False
        size = state.size
        root = DatabaseTree(size=size).root(size) if size else EMPTY_ROOT
        timestamp = max(now_ms, _last_timestamp())
        _publish(size, root, timestamp, _sign_head(size, root, timestamp))
    return True


def scheduled_head(now: dt.datetime) -> dict[str, int]:
    """:func:`publish_head_if_due` in the shape of a :mod:`tungban.core.retention` function,
    so the worker's periodic run makes the scheduled heads: ``{table: heads published}``."""
    return {PublishedHead._meta.db_table: int(publish_head_if_due(now))}


def _published(row: PublishedHead | dict) -> dict:
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return {
        "seq": get("seq"),
        "tree_size": get("tree_size"),
        "root_hash": b64(get("root_hash")),
        "timestamp": get("timestamp"),
        "signature": get("signature"),
    }


#: Most heads :func:`published_heads` returns at once.
MAX_HEADS = 100


def published_heads(start: int = 1, limit: int = MAX_HEADS) -> list[dict]:
    """Published signed tree heads from ``seq`` ``start`` on, oldest first, at most ``limit``
    (≤ :data:`MAX_HEADS`): ``[{"seq", "tree_size", "root_hash" (base64), "timestamp" (ms),
    "signature" (compact JWS, as :func:`signed_tree_head`)}]``. Every head the log made is
    here, in order; none is ever changed or removed (issue 14 item 10)."""
    limit = max(1, min(limit, MAX_HEADS))
    rows = (
        PublishedHead.objects.filter(seq__gte=start)
        .order_by("seq")
        .values("seq", "tree_size", "root_hash", "timestamp", "signature")[:limit]
    )
    return [_published(row) for row in rows]


def latest_published_seq() -> int | None:
    """The ``seq`` of the newest published head, None before the first."""
    return PublishedHead.objects.order_by("-seq").values_list("seq", flat=True).first()


def published_seq(head: dict) -> int | None:
    """The ``seq`` under which ``head`` (``{"tree_size", "timestamp", "signature", ...}``) is
    listed in the published heads, None when it is not published."""
    return (
        PublishedHead.objects.filter(
            tree_size=head["tree_size"], timestamp=head["timestamp"], signature=head["signature"]
        )
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    )


def _locked_state() -> LogState:
    state = LogState.objects.select_for_update().filter(name=STATE).first()
    if state is None:
        LogState.objects.get_or_create(name=STATE, defaults={"size": 0})
        state = LogState.objects.select_for_update().get(name=STATE)
    return state


def _sign_head(size: int, root: bytes, timestamp: int) -> str:
    claims = {
        "iss": settings.TUNGBAN_ISSUER,
        "iat": timestamp // 1000,
        "tree_size": size,
        "root_hash": b64(root),
        "timestamp": timestamp,
    }
    return keys.sign_jwt(claims, HEAD_TYP)


# --- Reading --------------------------------------------------------------------------------


def signed_tree_head() -> dict:
    """The latest signed tree head (RFC 9162 §4.10, as JSON + JWS)::

        {"tree_size": int, "root_hash": base64 of MTH(D[tree_size]),
         "timestamp": ms since the epoch, "signature": compact JWS}

    ``signature`` is ES256 with ``typ`` "tree-head+jwt" over ``{"iss", "iat", "tree_size",
    "root_hash", "timestamp"}``; verify it with the platform JWKS (``/oidc/jwks``). An empty
    log answers tree size 0 with the empty root SHA-256("") (§2.1.1), signed now.
    """
    head = PublishedHead.objects.order_by("-seq").first() or TreeHead.objects.order_by("-tree_size").first()
    if head is None:
        timestamp = int(time.time() * 1000)
        return {
            "tree_size": 0,
            "root_hash": b64(EMPTY_ROOT),
            "timestamp": timestamp,
            "signature": _sign_head(0, EMPTY_ROOT, timestamp),
        }
    if _stale(head):
        head = _re_sign()
    return {
        "tree_size": head.tree_size,
        "root_hash": b64(head.root_hash),
        "timestamp": head.timestamp,
        "signature": head.signature,
    }


#: The latest published head's signature as a scalar SQL expression (NULL before the first),
#: for a caller that reads it in the same statement as its own tables (認證易's online check,
#: issue 15); table ``ledger_publishedhead``. :func:`head_from_signature` makes the head of it.
HEAD_SIGNATURE_SQL = "(SELECT signature FROM ledger_publishedhead ORDER BY seq DESC LIMIT 1)"


#: Tree levels an inclusion path may climb (a log of up to 2**63 leaves), for
#: :func:`inclusion_rows_sql`: ``VALUES`` rows (column ``column1`` in PostgreSQL and SQLite).
_LEVELS_SQL = "(VALUES " + ", ".join(f"({level})" for level in range(63)) + ")"


def inclusion_rows_sql(kind: str, reference: str) -> tuple[str, list]:
    """A SELECT (its SQL and bound parameters) that reads, in the caller's own statement, the
    latest leaf of ``kind`` for ``reference`` (as :func:`leaf_for`) and the stored hashes its
    RFC 9162 §2.1.3.1 inclusion path in the latest published head's tree needs (the head of
    ``HEAD_SIGNATURE_SQL``, read in the same snapshot): issue 15, third round (these took
    three more round trips, a worker's first verification of each credential). Rows
    ``(tag, a, b, n)``, four columns (integer, text, text, bigint):

    * ``(0, body, tree_size as text, leaf_index)``: the leaf, with the head's ``tree_size``;
    * ``(1, hash, level as text, index)``: a stored hash — ``ledger_logleaf.leaf_hash`` at
      level 0, ``ledger_lognode.hash`` above — base64 (RFC 4648 §4) on PostgreSQL, the raw 32
      bytes on SQLite (NULL when not stored): every sibling on the leaf's way up that is a complete subtree of the
      head's tree, and the perfect subtrees of the tree's right edge (a superset of the path).

    No rows when there is no such leaf or no published head. :func:`inclusion_from_rows`
    makes the proof of them. Tables: ``ledger_logleaf``, ``ledger_lognode``,
    ``ledger_publishedhead``; portable SQL (PostgreSQL and SQLite; bit operators ``>>`` and
    ``&``, XOR with 1 written as ``x + 1 - 2 * (x & 1)``)."""
    q = connection.ops.quote_name
    leaf, node, head = (q(m._meta.db_table) for m in (LogLeaf, LogNode, PublishedHead))
    idx = q("index")
    latest = f"(SELECT MAX({idx}) AS m FROM {leaf} WHERE kind = %s AND reference = %s)"
    size = f"(SELECT tree_size AS n FROM {head} ORDER BY seq DESC LIMIT 1)"
    up = "(lf.m >> lv.column1)"
    sibling = f"({up} + 1 - 2 * ({up} & 1))"
    edge = "(hd.n >> lv.column1)"
    keys = (
        f"SELECT lv.column1 AS lvl, {sibling} AS idx FROM {_LEVELS_SQL} AS lv, {latest} AS lf, {size} AS hd "
        f"WHERE {sibling} < {edge} "
        f"UNION ALL SELECT lv.column1, ({edge} - 1) FROM {_LEVELS_SQL} AS lv, {size} AS hd WHERE ({edge} & 1) = 1"
    )
    # one index lookup per key (correlated subqueries: a join let the planner scan the leaves)
    stored = (
        f"CASE WHEN k.lvl = 0 THEN (SELECT leaf_hash FROM {leaf} WHERE {idx} = k.idx) "
        f"ELSE (SELECT hash FROM {node} WHERE {q('level')} = k.lvl AND {idx} = k.idx) END"
    )
    stored = f"encode({stored}, 'base64')" if connection.vendor == "postgresql" else stored
    sql = (
        f"SELECT 0 AS tag, l.body AS a, CAST(hd.n AS TEXT) AS b, l.{idx} AS n FROM {leaf} AS l, {size} AS hd "
        f"WHERE l.{idx} = (SELECT MAX({idx}) FROM {leaf} WHERE kind = %s AND reference = %s) "
        f"UNION ALL SELECT 1, {stored}, CAST(k.lvl AS TEXT), k.idx FROM ({keys}) AS k"
    )
    return sql, [kind, reference, kind, reference]


def inclusion_from_rows(rows) -> dict | None:
    """The inclusion proof of the rows of :func:`inclusion_rows_sql` (``(tag, a, b, n)``
    each): ``{"leaf_index", "body", "tree_size", "inclusion_path": [base64, ...]}`` as
    :func:`inclusion_proof` gives the path (RFC 9162 §2.1.3.1, the leaf's sibling first),
    built from the stored hashes with :mod:`.merkle`'s pure functions. None when the rows
    cannot make it — no leaf or no head, the leaf not within the head's tree, a stored hash
    missing — for the caller to ask :func:`inclusion_proof` (which recomputes a missing node)."""
    leaf, hashes = None, {}
    for tag, a, b, n in rows:
        if tag == 0:
            leaf = (a, int(b), int(n))
        elif a is not None:
            hashes[(int(b), int(n))] = a if isinstance(a, str) else b64(bytes(a))
    if leaf is None:
        return None
    body, size, index = leaf
    if not 0 <= index < size:
        return None
    path = []
    for start, end in inclusion_ranges(index, size):
        parts = perfect_subtrees(start, end)
        if any(key not in hashes for key in parts):
            return None
        if len(parts) == 1:
            path.append(hashes[parts[0]])
        else:  # the tree's right edge: MTH of its perfect subtrees (RFC 9162 §2.1.1)
            path.append(b64(fold([(level, base64.b64decode(hashes[(level, i)])) for level, i in parts])))
    return {"leaf_index": index, "body": body, "tree_size": size, "inclusion_path": path}


def head_from_signature(signature: str | None, active_kid: str | None) -> dict | None:
    """The signed tree head (as :func:`signed_tree_head`) whose compact JWS is ``signature``
    (the latest published one, ``HEAD_SIGNATURE_SQL``), its values taken from the JWS's
    payload, which the platform signed over exactly these values (the caller verifies the
    signature, e.g. RFC 9162 §8.1.3); ``active_kid`` is the platform's active key
    (``keys.ACTIVE_KID_SQL``). None when there is no such head, it does not parse, or it is
    due to be signed again (another key is active, or it is older than
    ``TUNGBAN_TREE_HEAD_MAX_AGE``): then ask :func:`signed_tree_head`."""
    if not signature or not active_kid:
        return None
    values = _head_values(signature)
    if values is None:
        return None
    kid, tree_size, root_hash, timestamp = values
    age_ms = int(time.time() * 1000) - timestamp
    if age_ms > settings.TUNGBAN_TREE_HEAD_MAX_AGE * 1000 or kid != active_kid:
        return None
    return {"tree_size": tree_size, "root_hash": root_hash, "timestamp": timestamp, "signature": signature}


@functools.lru_cache(maxsize=64)
def _head_values(signature: str) -> tuple | None:
    """``(kid, tree_size, root_hash, timestamp)`` of a signed tree head's compact JWS, from its
    header and payload (not verified here), or None when they do not parse or the timestamp is
    no integer: a pure function of the JWS's text, so kept per text (issue 15, twelfth round:
    every online verification parsed the same published head again)."""
    try:
        header, payload = (
            json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in signature.split(".")[:2]
        )
        values = (header.get("kid"), payload["tree_size"], payload["root_hash"], payload["timestamp"])
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        return None
    if not isinstance(values[3], int):
        return None
    return values


def _stale(head: TreeHead | PublishedHead) -> bool:
    """Signed by a key that is no longer the active one (rotated; it leaves the published
    JWKS after ``TUNGBAN_KEY_RETIREMENT_DAYS``), or older than
    ``TUNGBAN_TREE_HEAD_MAX_AGE`` seconds (a verifier tells a live log from a frozen one)."""
    age_ms = int(time.time() * 1000) - head.timestamp
    kid = _jws_header(head.signature).get("kid")
    return age_ms > settings.TUNGBAN_TREE_HEAD_MAX_AGE * 1000 or kid != keys.active_key()[0]


def _jws_header(token: str) -> dict:
    try:
        part = token.split(".")[0]
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, IndexError):
        return {}


def _re_sign() -> PublishedHead:
    """Sign the latest tree head again with the active key and a fresh timestamp (the root
    is unchanged), under the log's lock so appends and other workers agree. The new head is
    added to the published history; the heads published before stay as they were."""
    with transaction.atomic():
        state = _locked_state()
        latest = PublishedHead.objects.order_by("-seq").first()
        if latest is not None and latest.tree_size == state.size and not _stale(latest):
            return latest  # another worker re-signed it meanwhile
        size = state.size
        root = DatabaseTree(size=size).root(size) if size else EMPTY_ROOT
        timestamp = max(int(time.time() * 1000), _last_timestamp())
        return _publish(size, root, timestamp, _sign_head(size, root, timestamp))


def tree_root(tree_size: int | None = None) -> bytes:
    """MTH(D[tree_size]) recomputed from the stored nodes (raw 32 bytes); the current size by
    default, SHA-256("") for 0.

    :raises DomainError: ``tree_size_unknown`` beyond the current size or below 0.
    """
    tree = DatabaseTree()
    current = tree.get_size()
    size = current if tree_size is None else tree_size
    if not 0 <= size <= current:
        raise _size_unknown(size, current, "tree_size")
    return tree.root(size) if size else EMPTY_ROOT


def _proof_size(tree: DatabaseTree, tree_size: int | None, field_name: str = "tree_size") -> int:
    current = tree.get_size()
    size = current if tree_size is None else tree_size
    if not 1 <= size <= current:
        raise _size_unknown(size, current, field_name)
    return size


def inclusion_proof(leaf_index: int, tree_size: int | None = None) -> dict:
    """Inclusion proof of leaf ``leaf_index`` in the tree of ``tree_size`` leaves (current
    size by default), RFC 9162 §2.1.3.1::

        {"leaf_index": int, "tree_size": int, "leaf_hash": base64,
         "inclusion_path": [base64, ...]}   # the leaf's sibling first, up to the root

    Verify it with the §2.1.3.2 algorithm against the ``root_hash`` of a signed tree head of
    that size (e.g. ``examples/log_verifier.py``).

    :raises DomainError: ``tree_size_unknown`` (400) for a size the log never had (< 1 or
        more than now); ``leaf_index_out_of_range`` (400) unless 0 ≤ leaf_index < tree_size.
    """
    tree = DatabaseTree()
    size = _proof_size(tree, tree_size)
    if not 0 <= leaf_index < size:
        raise LeafIndexOutOfRange(
            "leaf_index_out_of_range",
            _("leaf_index must be from 0 to %(last)s for a tree of %(size)s leaves.")
            % {"last": size - 1, "size": size},
            field="leaf_index",
        )
    try:
        path = tree.inclusion_path(leaf_index, size)
    except InvalidChallenge as exc:  # checked above; kept for safety
        raise LeafIndexOutOfRange("leaf_index_out_of_range", str(exc), field="leaf_index") from None
    return {
        "leaf_index": leaf_index,
        "tree_size": size,
        "leaf_hash": b64(tree.get_leaf(leaf_index + 1)),
        "inclusion_path": [b64(h) for h in path],
    }


def inclusion_proof_by_hash(leaf_hash: bytes | str, tree_size: int | None = None) -> dict:
    """Inclusion proof of the first leaf with this hash (raw 32 bytes, base64 or hex) in the
    tree of ``tree_size`` leaves; the same shape as :func:`inclusion_proof` (RFC 6962 §4.5
    get-proof-by-hash).

    :raises DomainError: ``invalid_hash`` (400), ``tree_size_unknown`` (400),
        ``leaf_not_found`` (404) when no leaf below ``tree_size`` has this hash.
    """
    digest = decode_hash(leaf_hash)
    size = _proof_size(DatabaseTree(), tree_size)
    index = (
        LogLeaf.objects.filter(leaf_hash=digest, index__lt=size)
        .order_by("index")
        .values_list("index", flat=True)
        .first()
    )
    if index is None:
        raise LeafNotFound(
            "leaf_not_found", _("No leaf of the log's first %(size)s has this hash.") % {"size": size}, field="hash"
        )
    return inclusion_proof(index, size)


def consistency_proof(first: int, second: int | None = None) -> dict:
    """Consistency proof between the trees of ``first`` and ``second`` leaves (current size by
    default), RFC 9162 §2.1.4.1: proves the log of ``second`` leaves extends the one of
    ``first`` leaves, i.e. it only grew::

        {"first": int, "second": int, "consistency_path": [base64, ...]}

    Empty when first == second. Verify with the §2.1.4.2 algorithm against the root hashes of
    two signed tree heads.

    :raises DomainError: ``tree_size_unknown`` (400) for a size the log never had (< 1 or
        more than now); ``invalid_range`` (400) when first > second.
    """
    tree = DatabaseTree()
    second = _proof_size(tree, second, "second")
    if first < 1 or first > tree.get_size():
        raise _size_unknown(first, tree.get_size(), "first")
    if first > second:
        raise InvalidRange(
            "invalid_range",
            _("first (%(first)s) must not be larger than second (%(second)s).") % {"first": first, "second": second},
            field="first",
        )
    return {
        "first": first,
        "second": second,
        "consistency_path": [b64(h) for h in tree.consistency_path(first, second)],
    }


def _entry(leaf: LogLeaf | dict) -> dict:
    get = leaf.get if isinstance(leaf, dict) else lambda name: getattr(leaf, name)
    return {
        "leaf_index": get("index"),
        "kind": get("kind"),
        "reference": get("reference"),
        "body": get("body"),
        "leaf_hash": b64(get("leaf_hash")),
        "appended_at": get("appended_at"),
    }


def get_entries(start: int, end: int) -> list[dict]:
    """Entries ``start`` to ``end`` inclusive (0-based, as RFC 6962 §4.6 get-entries), at
    most :data:`MAX_ENTRIES` (1000) and none past the current size — fewer than asked may come
    back. Each: ``{"leaf_index", "kind", "reference", "body" (the exact canonical JSON text
    that was hashed), "leaf_hash" (base64), "appended_at" (datetime)}``.

    :raises DomainError: ``invalid_range`` (400) when start < 0, end < start, or start is
        not below the current size.
    """
    size = current_size()
    if start < 0 or end < start or start >= size:
        raise InvalidRange(
            "invalid_range",
            _("Ask for entries start to end (inclusive) with 0 ≤ start ≤ end and start below the log size %(size)s.")
            % {"size": size},
            field="start",
        )
    end = min(end, start + MAX_ENTRIES - 1, size - 1)
    rows = (
        LogLeaf.objects.filter(index__gte=start, index__lte=end)
        .order_by("index")
        .values("index", "kind", "reference", "body", "leaf_hash", "appended_at")
    )
    return [_entry(row) for row in rows]


def leaf_for(kind: str, reference: str) -> LogLeaf | None:
    """The latest leaf of ``kind`` for ``reference`` (e.g. the issuance of one credential), or None."""
    return LogLeaf.objects.filter(kind=kind, reference=reference).order_by("-index").first()


def leaves_for(reference: str) -> list[LogLeaf]:
    """Every leaf about ``reference``, oldest first (issuance, then status changes). A scan of
    the leaves (tests and audits; the platform looks leaves up by kind and reference)."""
    return list(LogLeaf.objects.filter(reference=reference).order_by("index"))
