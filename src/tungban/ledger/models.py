"""An append-only, hash-chained log of metadata records (the platform's ledger).

Each entry stores its body as canonical JSON text and ``entry_hash`` = SHA-256 over the
previous entry's hash and the body, so altering, deleting or re-ordering any stored entry
breaks the chain from that point on (see :func:`tungban.ledger.chain.verify`). The
:class:`Head` row holds the current size and hash; appends lock it, so concurrent writers
(any number of workers on PostgreSQL) form one chain without gaps.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Entry(models.Model):
    seq = models.BigIntegerField(primary_key=True, help_text="1, 2, 3 … without gaps")
    kind = models.CharField(max_length=40, help_text="What the entry records, e.g. 'exchange'")
    reference = models.CharField(max_length=64, help_text="Id of the record in its own app")
    body = models.TextField(help_text="Canonical JSON of the recorded metadata")
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("log entry")
        verbose_name_plural = _("log entries")
        indexes = [models.Index(fields=["kind", "reference"])]


class Head(models.Model):
    """The log's current size and last hash (one row, ``name`` = "main")."""

    name = models.CharField(max_length=20, primary_key=True)
    size = models.BigIntegerField(default=0)
    head_hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("ledger head")
        verbose_name_plural = _("ledger heads")


# --- The transparency log (RFC 9162 Merkle tree) ------------------------------------------------
#
# Hashes are stored as raw 32-byte SHA-256 digests (``BinaryField``), exactly the bytes that
# RFC 9162 §2.1.1 hashes together; the API and the signed tree heads carry them base64-encoded.


class LogLeaf(models.Model):
    """One entry of the transparency log: RFC 9162 ``leaf_index`` (0, 1, 2 … without gaps),
    the canonical JSON ``body`` and ``leaf_hash`` = SHA-256(0x00 ‖ UTF-8 body) (§2.1.1)."""

    index = models.BigIntegerField(primary_key=True, help_text="0-based leaf_index (RFC 9162 §2.1)")
    kind = models.CharField(max_length=40, help_text="What the entry records, e.g. 'credential.issued'")
    # Looked up with its kind (index below): no index of its own (issue 15, fourth round)
    reference = models.CharField(max_length=64, help_text="Id of the record in its own app")
    body = models.TextField(help_text="Canonical JSON of the recorded metadata (the leaf's data)")
    leaf_hash = models.BinaryField(max_length=32, db_index=True, help_text="SHA-256(0x00 || body), 32 bytes")
    appended_at = models.DateTimeField()

    class Meta:
        verbose_name = _("transparency log leaf")
        verbose_name_plural = _("transparency log leaves")
        indexes = [models.Index(fields=["kind", "reference"], name="ledger_leaf_kind_ref")]


class LogNode(models.Model):
    """The root hash of a perfect subtree of the log: the ``2**level`` leaves from
    ``index * 2**level`` on (``level`` ≥ 1; level 0 are the leaves themselves). Written once,
    when its last leaf is appended, and never changed: a proof reads O(log n) of these."""

    pk = models.CompositePrimaryKey("level", "index")
    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32, help_text="SHA-256(0x01 || left || right), 32 bytes")

    class Meta:
        verbose_name = _("transparency log node")
        verbose_name_plural = _("transparency log nodes")


class TreeHead(models.Model):
    """A signed tree head (RFC 9162 §4.10, as a JWS): one per append transaction."""

    tree_size = models.BigIntegerField(primary_key=True)
    root_hash = models.BinaryField(max_length=32)
    timestamp = models.BigIntegerField(help_text="Milliseconds since the Unix epoch")
    signature = models.TextField(help_text="Compact JWS (ES256, typ tree-head+jwt) by the platform key")

    class Meta:
        verbose_name = _("signed tree head")
        verbose_name_plural = _("signed tree heads")


class LogState(models.Model):
    """The transparency log's current size (one row, ``name`` = "main"); appends lock it."""

    name = models.CharField(max_length=20, primary_key=True)
    size = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("transparency log state")
        verbose_name_plural = _("transparency log states")


class PublishedHead(models.Model):
    """Every signed tree head the log has made, in the order it made them (issue 14 item 10):
    after each append transaction, on the schedule (``TUNGBAN_TREE_HEAD_INTERVAL``) and when
    the latest head was signed again (key rotated, or older than ``TUNGBAN_TREE_HEAD_MAX_AGE``).
    Append-only: rows are never updated or deleted, and ``/api/v1/log/heads`` publishes them
    all, so witnesses can check each new head against the last one they kept."""

    seq = models.BigAutoField(primary_key=True, help_text="1, 2, 3 … in the order the heads were made")
    tree_size = models.BigIntegerField()
    root_hash = models.BinaryField(max_length=32, help_text="MTH(D[tree_size]), 32 bytes")
    timestamp = models.BigIntegerField(help_text="Milliseconds since the Unix epoch")
    signature = models.TextField(help_text="Compact JWS (ES256, typ tree-head+jwt) by the platform key")

    class Meta:
        verbose_name = _("published tree head")
        verbose_name_plural = _("published tree heads")


class PendingLeaf(models.Model):
    """A leaf queued for the transparency log (issue 15), as Trillian and Sigstore's Rekor
    queue theirs: written in the transaction of the record it describes (so it commits, or
    not, with the record) without taking the log's lock, then integrated into the tree —
    with every other leaf queued meanwhile, under one signed tree head — by the next
    appender (:func:`tungban.ledger.transparency.integrate_pending`). Deleted when integrated."""

    id = models.BigAutoField(primary_key=True, help_text="Order of arrival: leaves are integrated in this order")
    kind = models.CharField(max_length=40)
    reference = models.CharField(max_length=64)
    fields = models.TextField(help_text="Canonical JSON of the leaf's fields (the log adds kind, ref and at)")
    queued_at = models.DateTimeField()

    class Meta:
        verbose_name = _("queued transparency log leaf")
        verbose_name_plural = _("queued transparency log leaves")
