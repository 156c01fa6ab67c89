"""The full audit of the transparency log (``tungban verify_transparency_log``): recompute
every leaf, node and signed tree head from the stored bodies (RFC 9162 §2.1), and compare with
a tree head held outside the platform.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db.models import Q
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tungban.core.errors import DomainError
from tungban.keys import services as keys

from .merkle import EMPTY_ROOT, b64, fold, leaf_hash, node_hash
from .models import LogLeaf, LogNode, PublishedHead, TreeHead
from .transparency import HEAD_TYP, current_size, decode_hash


@dataclass
class LogReport:
    """Result of :func:`verify_log`: ``ok`` when ``problems`` is empty. ``root_hash`` is the
    root recomputed from the leaves' bodies (raw bytes)."""

    tree_size: int = 0
    root_hash: bytes = EMPTY_ROOT
    heads: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _head_keys():
    """Every platform key ever stored (retired ones too: old heads stay verifiable)."""
    return KeySet.import_key_set(keys.every_public_jwk())


def _check_signature(head: TreeHead, keyset) -> str | None:
    try:
        token = jwt.decode(head.signature, keyset, algorithms=["ES256"])
    except (JoseError, ValueError) as exc:
        return f"signature does not verify ({type(exc).__name__})"
    claims = token.claims
    if token.header.get("typ") != HEAD_TYP:
        return "signature has the wrong typ"
    if (claims.get("tree_size"), claims.get("root_hash"), claims.get("timestamp")) != (
        head.tree_size,
        b64(head.root_hash),
        head.timestamp,
    ):
        return "signed claims differ from the stored head"
    return None


def _pages(queryset, key: str, page: int):
    """Rows of ``queryset`` (values) by ascending ``key``, ``page`` at a time (keyset pagination)."""
    last = None
    while True:
        qs = queryset if last is None else queryset.filter(**{f"{key}__gt": last})
        rows = list(qs.order_by(key)[:page])
        if not rows:
            return
        yield from rows
        last = rows[-1][key]
        if len(rows) < page:
            return


def verify_log(
    expect: tuple[int, bytes | str] | None = None, *, chunk: int = 8192, signatures: bool = True
) -> LogReport:
    """Recompute the whole log from the leaves' bodies, ``chunk`` leaves at a time.

    Checks, naming the leaf index in each problem: every leaf hash against its body
    (RFC 9162 §2.1.1) and the body's kind/ref against the row; leaves without gaps; every
    stored node against the leaves below it (a missing, altered or extra node); every stored
    signed tree head's root against the leaves, its JWS signature and claims, and that
    timestamps grow with the size — since every head's root is recomputed from the same
    leaves, all heads are prefixes of one sequence: the log only grew; the log size row;
    and, given ``expect=(tree_size, root)`` from a head held outside (root raw, base64 or
    hex), that the log still has that tree (not cut back or rewritten).
    """
    report = LogReport()
    problems = report.problems
    held = None
    if expect is not None:
        try:
            held = (int(expect[0]), decode_hash(expect[1], "expect"))
        except DomainError:
            problems.append("the expected root is not a SHA-256 hash (base64 or hex)")
    keyset = _head_keys() if signatures else None

    heads = _pages(TreeHead.objects.values("tree_size", "root_hash", "timestamp", "signature"), "tree_size", 1000)
    next_head = next(heads, None)
    last_ts = None

    def check_heads(size: int, stack) -> None:
        nonlocal next_head, last_ts
        while next_head is not None and next_head["tree_size"] <= size:
            head = TreeHead(**next_head)
            report.heads += 1
            if head.tree_size == size:
                if bytes(head.root_hash) != fold(stack):
                    problems.append(
                        f"tree head {size}: root does not match leaves 0–{size - 1} (a leaf before index {size} was altered, or the head)"
                    )
            else:
                problems.append(
                    f"tree head {head.tree_size}: the log has no leaf {head.tree_size - 1} (leaves missing)"
                )
            if keyset is not None and (why := _check_signature(head, keyset)):
                problems.append(f"tree head {head.tree_size}: {why}")
            if last_ts is not None and head.timestamp < last_ts:
                problems.append(f"tree head {head.tree_size}: timestamp earlier than the previous head's")
            last_ts = head.timestamp
            next_head = next(heads, None)
        if held and held[0] == size and held[1] != fold(stack):
            problems.append(
                f"tree size {size}: differs from the signed tree head you hold (leaves 0–{size - 1} were rewritten)"
            )

    stack: list[tuple[int, bytes]] = []
    expected = 0
    leaves = _pages(LogLeaf.objects.values("index", "kind", "reference", "body", "leaf_hash"), "index", chunk)
    computed: dict[tuple[int, int], bytes] = {}
    chunk_start = 0

    def compare_nodes(start: int, end: int) -> None:
        """Stored nodes completed by leaves ``start`` to ``end - 1`` against ``computed``."""
        if end <= start:
            return
        q = Q()
        for level in range(1, end.bit_length() + 1):
            lo, hi = -(-(start + 1) // (1 << level)) - 1, (end >> level) - 1
            if hi >= lo:
                q |= Q(level=level, index__gte=lo, index__lte=hi)
        stored = (
            {}
            if not q
            else {(lv, i): bytes(h) for lv, i, h in LogNode.objects.filter(q).values_list("level", "index", "hash")}
        )
        for key, digest in computed.items():
            first, last = key[1] << key[0], ((key[1] + 1) << key[0]) - 1
            got = stored.get(key)
            if got is None:
                problems.append(f"leaves {first}–{last}: node (level {key[0]}, index {key[1]}) is missing")
            elif got != digest:
                problems.append(
                    f"leaves {first}–{last}: node (level {key[0]}, index {key[1]}) does not match the leaves (a leaf in this range or the node was altered)"
                )
        computed.clear()

    for row in leaves:
        index = row["index"]
        if index != expected:
            problems.append(
                f"leaf {expected}: missing (next stored leaf is {index}); the tree cannot be checked past it"
            )
            break
        body = row["body"]
        digest = leaf_hash(body)
        if bytes(row["leaf_hash"]) != digest:
            problems.append(f"leaf {index}: hash does not match its body (body or hash altered)")
        try:
            parsed = json.loads(body)
            if parsed.get("kind") != row["kind"] or parsed.get("ref") != row["reference"]:
                problems.append(f"leaf {index}: kind or reference differs from its body")
        except (ValueError, AttributeError):
            problems.append(f"leaf {index}: body is not a JSON object")
        level, h = 0, digest
        while stack and stack[-1][0] == level:
            h = node_hash(stack.pop()[1], h)
            level += 1
            computed[(level, index >> level)] = h
        stack.append((level, h))
        expected = index + 1
        check_heads(expected, stack)
        if expected - chunk_start >= chunk:
            compare_nodes(chunk_start, expected)
            chunk_start = expected
    compare_nodes(chunk_start, expected)

    size = expected
    report.tree_size, report.root_hash = size, fold(stack)
    # Nodes beyond the leaves (left behind by removed leaves).
    extra = Q()
    for level in range(1, 64):
        extra |= Q(level=level, index__gte=size >> level)
    for lv, i in LogNode.objects.filter(extra).values_list("level", "index")[:20]:
        problems.append(
            f"leaves {i << lv}–{((i + 1) << lv) - 1}: node (level {lv}, index {i}) stored but those leaves are missing"
        )
    while next_head is not None:  # heads past the leaves
        problems.append(
            f"tree head {next_head['tree_size']}: the log has only {size} leaves (leaves {size}–{next_head['tree_size'] - 1} missing)"
        )
        report.heads += 1
        next_head = next(heads, None)
    state = current_size()
    if state != size:
        problems.append(f"the log size row says {state} leaves, the leaves say {size}")
    latest = TreeHead.objects.order_by("-tree_size").values_list("tree_size", flat=True).first() or 0
    if latest != state:
        problems.append(f"the latest signed tree head is for {latest} leaves, the log has {state}")
    _check_published(report, keyset, size)
    if held and held[0] > size:
        problems.append(
            f"the log has {size} leaves but a signed tree head you hold had {held[0]}: leaves {size}–{held[0] - 1} were removed"
        )
    if held and held[0] == 0 and held[1] != EMPTY_ROOT:
        problems.append("the tree head you hold for size 0 does not have the empty root")
    return report


def _check_published(report: LogReport, keyset, size: int) -> None:
    """The published history of heads (issue 14 item 10): each head's root is the root the
    log had at that size (the stored per-size head, checked against the leaves above, or the
    empty root), its signature verifies, and sizes and timestamps never go back in ``seq``
    order. A witness outside does the same against the heads it saw."""
    roots = dict(TreeHead.objects.values_list("tree_size", "root_hash"))
    last_size = last_ts = None
    rows = _pages(PublishedHead.objects.values("seq", "tree_size", "root_hash", "timestamp", "signature"), "seq", 1000)
    for row in rows:
        seq, tree_size = row["seq"], row["tree_size"]
        expected = EMPTY_ROOT if tree_size == 0 else roots.get(tree_size)
        if tree_size > size:
            report.problems.append(f"published head #{seq}: {tree_size} leaves, the log has only {size}")
        elif expected is None or bytes(expected) != bytes(row["root_hash"]):
            report.problems.append(f"published head #{seq}: root differs from the log's root at {tree_size} leaves")
        if last_size is not None and tree_size < last_size:
            report.problems.append(f"published head #{seq}: {tree_size} leaves, fewer than the head before it")
        if last_ts is not None and row["timestamp"] < last_ts:
            report.problems.append(f"published head #{seq}: timestamp earlier than the head before it")
        if keyset is not None:
            head = TreeHead(
                tree_size=tree_size, root_hash=row["root_hash"], timestamp=row["timestamp"], signature=row["signature"]
            )
            if why := _check_signature(head, keyset):
                report.problems.append(f"published head #{seq}: {why}")
        last_size, last_ts = tree_size, row["timestamp"]
