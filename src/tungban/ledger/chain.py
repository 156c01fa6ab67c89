"""The exchange log: a hash chain of metadata (append, publish a signed head, verify the chain).

Hashing (hex SHA-256 throughout)::

    genesis   = SHA-256("tungban-ledger-v1")
    body      = canonical JSON of {"seq", "kind", "ref", "at", ...fields}
                (keys sorted, no spaces, UTF-8; the RFC 8785 shape for our strings and integers)
    entry_hash(n) = SHA-256(entry_hash(n-1) || "\\n" || body(n))

A verifier that holds an earlier signed head ``(size, head_hash)`` also detects a log cut
back to before that head.

Retired (issue 14 item 10): exchanges are now leaves of the transparency log
(:mod:`tungban.ledger.services`). The chain keeps the entries written before and still
verifies; its head is anchored in the transparency log (:func:`anchor`, a leaf of kind
``ledger.chain-head`` made on the worker's schedule), so witnesses of that log also hold the
chain, and :func:`verify` checks the chain against the latest anchor.

The other log, the RFC 9162 Merkle transparency log of credentials, is
:mod:`tungban.ledger.transparency` (audit: :mod:`tungban.ledger.audit`).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tungban.keys import services as keys

from . import transparency
from .canonical import canonical
from .models import Entry, Head

GENESIS = hashlib.sha256(b"tungban-ledger-v1").hexdigest()
HEAD = "main"


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def append(kind: str, reference: str, fields: dict) -> Entry:
    """Append one entry and return it. Must run inside the caller's transaction, so the
    entry commits (or not) with the record it describes.

    :param fields: JSON-serialisable metadata (strings, integers, None); never personal data.
    :raises RuntimeError: when called outside ``transaction.atomic()``.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger.append must run inside the transaction that writes the record")
    head = Head.objects.select_for_update().filter(name=HEAD).first()
    if head is None:
        Head.objects.get_or_create(name=HEAD, defaults={"size": 0, "head_hash": GENESIS})
        head = Head.objects.select_for_update().get(name=HEAD)
    now = timezone.now()
    seq = head.size + 1
    body = canonical(
        {**fields, "seq": seq, "kind": kind, "ref": reference, "at": now.isoformat(timespec="microseconds")}
    )
    entry = Entry.objects.create(
        seq=seq,
        kind=kind,
        reference=reference,
        body=body,
        prev_hash=head.head_hash,
        entry_hash=chain_hash(head.head_hash, body),
        created_at=now,
    )
    head.size, head.head_hash = seq, entry.entry_hash
    head.save(update_fields=["size", "head_hash", "updated_at"])
    return entry


def body_of(entry: Entry) -> dict:
    return json.loads(entry.body)


def head() -> dict:
    """``{"size": int, "head_hash": hex}`` of the log now (size 0 and the genesis hash when empty)."""
    row = Head.objects.filter(name=HEAD).first()
    return {"size": row.size, "head_hash": row.head_hash} if row else {"size": 0, "head_hash": GENESIS}


def signed_head() -> dict:
    """The current head signed by the platform key: ``{"size", "head_hash", "timestamp",
    "signature"}`` where ``signature`` is a compact JWS (ES256, ``typ`` "log-head+jwt",
    RFC 8725 §3.11) over ``{"iss", "iat", "size", "head_hash"}``, verifiable with the
    platform JWKS (``/oidc/jwks``). Auditors keep these to detect a log cut back later."""
    current = head()
    now = int(time.time())
    token = keys.sign_jwt({"iss": settings.TUNGBAN_ISSUER, "iat": now, **current}, "log-head+jwt")
    return {**current, "timestamp": now, "signature": token}


@dataclass
class Report:
    """Result of :func:`verify`: ``ok`` when ``problems`` is empty."""

    size: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(*, expect: tuple[int, str] | None = None, chunk: int = 5000) -> Report:
    """Re-compute the whole chain from the stored entries.

    Detects: an altered body or hash (``entry N: hash mismatch``), a deleted or re-ordered
    entry (``entry N: missing`` / ``previous hash does not match``), a head that disagrees
    with the entries, and — given ``expect=(size, head_hash)`` from an earlier signed head —
    a log cut back or rewritten before that point.
    """
    report = Report()
    anchor_row = _anchored()
    anchored_size = anchor_row[1] if anchor_row else None
    hashes: dict[int, str] = {}
    prev = GENESIS
    expected_seq = 1
    last_seq = 0
    qs = Entry.objects.order_by("seq").values_list("seq", "body", "prev_hash", "entry_hash")
    for seq, body, prev_hash, entry_hash in qs.iterator(chunk_size=chunk):
        if seq != expected_seq:
            report.problems.append(f"entry {expected_seq}: missing (next stored entry is {seq})")
        if prev_hash != prev:
            report.problems.append(f"entry {seq}: previous hash does not match entry {seq - 1}")
        recomputed = chain_hash(prev_hash, body)
        if recomputed != entry_hash:
            report.problems.append(f"entry {seq}: hash mismatch (content altered)")
        try:
            if json.loads(body).get("seq") != seq:
                report.problems.append(f"entry {seq}: body names another position")
        except ValueError:
            report.problems.append(f"entry {seq}: body is not JSON")
        if expect and seq == expect[0] and entry_hash != expect[1]:
            report.problems.append(f"entry {seq}: differs from the signed head you hold")
        prev = entry_hash
        if anchored_size == seq:
            hashes[seq] = entry_hash
        expected_seq = seq + 1
        last_seq = seq
    report.size, report.head_hash = last_seq, prev
    anchored = anchor_row
    if anchored is not None:
        index, size, digest = anchored
        if size > last_seq or (size and hashes.get(size) != digest):
            report.problems.append(
                f"the chain no longer matches its head of {size} entries anchored in the transparency log at leaf {index}: entries were removed or rewritten"
            )
    current = head()
    if (current["size"], current["head_hash"]) != (last_seq, prev):
        report.problems.append(
            f"head says {current['size']} entries ending {current['head_hash'][:12]}…, the entries say {last_seq} ending {prev[:12]}…"
        )
    if expect and expect[0] > last_seq:
        report.problems.append(
            f"the log has {last_seq} entries but a signed head you hold had {expect[0]}: entries were removed"
        )
    return report


def entries(kind: str, references: list[str]) -> dict[str, Entry]:
    """Entries of ``kind`` for the given references, by reference."""
    return {e.reference: e for e in Entry.objects.filter(kind=kind, reference__in=references)}


ANCHOR_KIND = "ledger.chain-head"


def _anchored() -> tuple[int, int, str] | None:
    """``(leaf_index, size, head_hash)`` of the latest anchor of the chain, or None."""
    leaf = transparency.leaf_for(ANCHOR_KIND, HEAD)
    if leaf is None:
        return None
    try:
        body = json.loads(leaf.body)
        return leaf.index, int(body["size"]), str(body["head_hash"])
    except (ValueError, KeyError, TypeError):
        return leaf.index, -1, ""


def anchor(now=None) -> dict[str, int]:
    """Put the chain's head into the transparency log (a leaf ``{"kind":
    "ledger.chain-head", "ref": "main", "size", "head_hash"}``) unless the latest anchor
    already holds it or the chain is empty. Run on the worker's schedule (registered with
    :mod:`tungban.core.retention`); returns ``{table: leaves added}``."""
    with transaction.atomic():
        current = Head.objects.select_for_update().filter(name=HEAD).first()
        if current is None or current.size == 0:
            return {}
        latest = _anchored()
        if latest is not None and latest[1:] == (current.size, current.head_hash):
            return {}
        transparency.log_append(ANCHOR_KIND, HEAD, {"size": current.size, "head_hash": current.head_hash})
    return {"ledger_logleaf": 1}
