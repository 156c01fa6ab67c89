"""The award's event log (issue 20, review of the money findings): what happened to an offer and
who did it — offered, signed, lapsed — kept beside the fund's ledger (whose entries say the
money side). Append-only; bilingual notes."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["AwardEvent"]


class AwardEvent(models.Model):
    """One event of an award: ``action`` (``offered``, ``signed``, ``lapsed``), ``actor`` (a
    user name, a resident's public id, or ``worker``), notes in both languages."""

    award = models.ForeignKey("subsidy.Award", on_delete=models.CASCADE, related_name="events", verbose_name=_("award"))
    action = models.CharField(_("Action"), max_length=20)
    actor = models.CharField(_("Actor"), max_length=80)
    note_en = models.TextField(_("Note in English"), blank=True)
    note_zh = models.TextField(_("Note in Chinese"), blank=True)
    created_at = models.DateTimeField(_("Recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("award event")
        verbose_name_plural = _("award events")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.award_id} {self.action}"
