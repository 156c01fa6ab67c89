"""What other apps call to put their records on the transparency log and check them
(issue 14 item 10): a narrow interface, so the apps above never touch the tree.

A record's leaf holds a digest of its metadata, not the metadata (data minimisation: the
log's entries are public at ``/api/v1/log/entries``)::

    body = canonical JSON of {"kind", "ref", "at", "record_sha256"}
    record_sha256 = hex SHA-256 of the canonical JSON of the record's fields

The record's owner (the exchange gateway, for the resident: the app) recomputes the digest
from the fields it shows, and proves the leaf is in a signed tree head with an RFC 9162
§2.1.3 inclusion proof (:func:`proofs_for`). The gateway's records replace the retired
hash chain (:mod:`.chain`), which stays verifiable for the entries written before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings

from . import audit, transparency
from .canonical import canonical
from .merkle import b64
from .models import LogLeaf

DIGEST = "record_sha256"


def record_digest(fields: dict) -> str:
    """Hex SHA-256 of the canonical JSON of ``fields`` (what the leaf fixes)."""
    return hashlib.sha256(canonical(fields).encode("utf-8")).hexdigest()


def log_record(kind: str, reference: str, fields: dict) -> int:
    """Put one record on the transparency log, inside the caller's transaction (the leaf
    commits, or not, with the record): a leaf ``{"kind", "ref", "at", "record_sha256"}`` and
    a new signed, published tree head. Returns the leaf's ``leaf_index`` (0-based).

    :param kind: e.g. ``"exchange"`` (≤ 40 characters). :param reference: the record's id (≤ 64).
    :param fields: the record's metadata (JSON values; only its digest is logged).
    :raises RuntimeError: outside ``transaction.atomic()``. :raises ValueError: bad kind/reference.
    """
    return transparency.log_append(kind, reference, {DIGEST: record_digest(fields)})


def queue_record(
    kind: str, reference: str, fields: dict, *, kept: bool = False, digest: str | None = None
) -> int | None:
    """:func:`log_record` without waiting for the log's lock (issue 15): the leaf is queued
    in the caller's transaction (it commits, or not, with the record) and integrated into the
    tree, with the others queued meanwhile and under one signed tree head, by
    :func:`integrate` after the commit (or by the next appender, or the worker's schedule).
    Where leaves are not queued (SQLite, :func:`tungban.ledger.transparency.batching`) it is
    :func:`log_record`. Returns the ticket to pass to :func:`integrate`. ``kept``: sent with
    the caller's next reading statement inside :func:`tungban.core.onestatement.joined`
    (:func:`tungban.ledger.transparency.log_queue`).

    ``digest``: :func:`record_digest` of ``fields`` when the caller has it already (its
    :func:`promise`), not computed again.

    :raises RuntimeError: outside ``transaction.atomic()``. :raises ValueError: bad kind/reference.
    """
    return transparency.log_queue(kind, reference, {DIGEST: digest or record_digest(fields)}, kept=kept)


def integrate(tickets: list[int | None]) -> None:
    """Call after the commit of the records whose leaves :func:`queue_record` queued: returns
    once every one of them is in the log under a signed, published tree head."""
    transparency.integrate(tickets)


def integrate_soon(tickets: list[int | None]) -> int:
    """Call after the commit of the records whose leaves :func:`queue_record` queued: integrate
    the queue if the log is free, never waiting for another sequencer
    (:func:`tungban.ledger.transparency.integrate_soon`); the records' leaves are then in a
    signed head, or promised (:func:`promise`) and integrated within the merge delay."""
    return transparency.integrate_soon(tickets)


def promise(kind: str, reference: str, fields: dict, *, digest: str | None = None) -> dict:
    """The promise of the leaf :func:`queue_record` queues for this record, for its owner to
    sign into its answer (issue 15 round 3): ``{"kind", "ref", "record_sha256", "merge_by"}``
    (ms since the epoch; :func:`tungban.ledger.transparency.promise`). The leaf's body holds
    the same ``kind``, ``ref`` and ``record_sha256``, and is integrated by ``merge_by``."""
    return transparency.promise(kind, reference, {DIGEST: digest or record_digest(fields)})


@dataclass
class RecordsReport:
    """Result of :func:`verify_records`: ``ok`` when ``problems`` is empty."""

    records: int = 0
    tree_size: int = 0
    root_hash: str = ""
    legacy_entries: int = 0  #: entries of the retired hash chain (set by the exchange gateway)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def integrate_reference(kind: str, reference: str) -> None:
    """Before an answer about record ``(kind, reference)`` is given again (a replay): return
    once its leaf, if still queued (the appender that queued it died or failed before
    integrating it), is in the tree under a signed, published head. One read of the queue
    (small: a leaf leaves it when integrated) when nothing of it is queued (issue 15 review M1)."""
    transparency.integrate_reference(kind, reference)


def _latest_leaves(kind: str, references: list[str]) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    rows = LogLeaf.objects.filter(kind=kind, reference__in=references).values_list("reference", "index", "body")
    for reference, index, body in rows:
        if reference not in found or found[reference][0] < index:
            found[reference] = (index, body)
    return found


def verify_records(
    kind: str, records: Iterable[tuple[str, dict]], *, expect: tuple[int, str] | None = None, batch: int = 2000
) -> RecordsReport:
    """The whole transparency log (:func:`tungban.ledger.audit.verify_log`, with ``expect``
    = a held head's ``(tree_size, root)``), then :func:`check_records` for ``kind``. Leaves
    still queued are integrated first; one queued longer than the maximum merge delay
    (``TUNGBAN_LOG_MERGE_DELAY``, of any kind) is a problem: a promise not kept (issue 15)."""
    late = [
        f"{k} {ref}: queued at {at.isoformat()}, not integrated within the maximum merge delay "
        f"({settings.TUNGBAN_LOG_MERGE_DELAY} s)"
        for k, ref, at in transparency.overdue()
    ]
    transparency.integrate_pending()
    audited = audit.verify_log(expect=expect)
    report = RecordsReport(
        tree_size=audited.tree_size, root_hash=b64(audited.root_hash), problems=[*late, *audited.problems]
    )
    check_records(kind, records, report, batch=batch)
    return report


def check_records(kind: str, records: Iterable[tuple[str, dict]], report: RecordsReport, *, batch: int = 2000) -> None:
    """Every ``(reference, fields)`` record against its latest leaf of ``kind``, adding to
    ``report``: a record never logged, a record altered after logging (its digest differs),
    and a leaf of ``kind`` whose record is gone (deleted). Counts the records checked."""
    seen: set[str] = set()

    def check(chunk: list[tuple[str, dict]]) -> None:
        leaves = _latest_leaves(kind, [ref for ref, _ in chunk])
        for reference, fields in chunk:
            report.records += 1
            leaf = leaves.get(reference)
            if leaf is None:
                report.problems.append(f"{kind} {reference}: not in the log")
                continue
            seen.add(reference)
            try:
                body = json.loads(leaf[1])
                logged = body.get(DIGEST)
            except (ValueError, AttributeError):
                body, logged = {}, None
            if logged != record_digest(fields):
                report.problems.append(f"{kind} {reference} (leaf {leaf[0]}): altered after logging")
            elif transparency.late(body):
                report.problems.append(
                    f"{kind} {reference} (leaf {leaf[0]}): integrated at {body['at']}, after its promised "
                    f"merge_by {body['merge_by']} (a promise not kept)"
                )

    chunk: list[tuple[str, dict]] = []
    for item in records:
        chunk.append(item)
        if len(chunk) >= batch:
            check(chunk)
            chunk = []
    if chunk:
        check(chunk)
    rows = LogLeaf.objects.filter(kind=kind).order_by("index").values_list("index", "reference")
    for index, reference in rows.iterator(chunk_size=5000):
        if reference not in seen:
            report.problems.append(f"leaf {index}: {kind} {reference} is missing (deleted record)")
            seen.add(reference)


def proofs_for(kind: str, references: list[str]) -> dict[str, dict]:
    """For each reference with a leaf of ``kind``, what its owner needs to check the record
    is in the log: ``{"leaf_index", "leaf_body" (the exact text hashed), "tree_head" (the
    latest signed head: seq, tree_size, root_hash, timestamp, signature), "inclusion_path"
    (base64, RFC 9162 §2.1.3.1)}``. References without a leaf are left out.

    ``seq`` is the head's place in ``/api/v1/log/heads``: the app checks the head is listed
    there unchanged, so a head the platform signs without publishing it (a private fork) is
    refused (issue 14 review, H1 c)."""
    leaves = _latest_leaves(kind, references)
    if not leaves:
        return {}
    head = transparency.signed_tree_head()
    head["seq"] = transparency.published_seq(head)
    out = {}
    for reference, (index, body) in leaves.items():
        if index >= head["tree_size"]:  # appended after the head was read
            continue
        proof = transparency.inclusion_proof(index, head["tree_size"])
        out[reference] = {
            "leaf_index": index,
            "leaf_body": body,
            "tree_head": head,
            "inclusion_path": proof["inclusion_path"],
        }
    return out
