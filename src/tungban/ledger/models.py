"""An append-only, hash-chained log of metadata records (the platform's ledger).

Each entry stores its body as canonical JSON text and ``entry_hash`` = SHA-256 over the
previous entry's hash and the body, so altering, deleting or re-ordering any stored entry
breaks the chain from that point on (see :func:`tungban.ledger.services.verify`). The
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
