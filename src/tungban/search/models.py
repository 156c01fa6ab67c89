"""The one search's index (issue 22): one row per :class:`~tungban.search.sources.Document`,
the best bets staff set, who may set them, and the index's generation (what the typo
corrector's vocabulary is keyed by)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .sources import KINDS

KIND_CHOICES = [(k, k) for k in KINDS]


class SearchDocument(models.Model):
    """A document in the index: the fields of :class:`~tungban.search.sources.Document` plus
    its analysed tokens (``search_title``: title and keywords, weighted more; ``search_body``:
    text and department), kept in step with the full-text index (SQLite FTS5 table
    ``search_fts``; PostgreSQL GIN over ``to_tsvector('simple', …)``, migration 0002)."""

    kind = models.CharField(_("kind"), max_length=20, choices=KIND_CHOICES)
    ref = models.CharField(_("reference"), max_length=200)
    title_en = models.CharField(_("title in English"), max_length=400)
    title_zh = models.CharField(_("title in Chinese"), max_length=400)
    text_en = models.TextField(_("text in English"), blank=True)
    text_zh = models.TextField(_("text in Chinese"), blank=True)
    department = models.CharField(_("department"), max_length=20, blank=True, db_index=True)
    department_en = models.CharField(_("department in English"), max_length=200, blank=True)
    department_zh = models.CharField(_("department in Chinese"), max_length=200, blank=True)
    url = models.CharField(_("address"), max_length=500, blank=True)
    actions = models.JSONField(_("actions"), default=list, blank=True)
    keywords = models.TextField(_("keywords"), blank=True)
    popularity = models.PositiveIntegerField(_("popularity"), default=0)
    search_title = models.TextField(_("title tokens"), blank=True, editable=False)
    search_body = models.TextField(_("text tokens"), blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("search document")
        verbose_name_plural = _("search documents")
        constraints = [models.UniqueConstraint(fields=["kind", "ref"], name="search_document_kind_ref")]
        indexes = [models.Index(fields=["kind", "department"], name="search_doc_kind_dept")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}"


class SearchEditor(models.Model):
    """A staff member allowed to set best bets (``/staff/search/best-bets/``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="search_editor", verbose_name=_("user")
    )
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("search editor")
        verbose_name_plural = _("search editors")

    def __str__(self) -> str:
        return str(self.user)


class BestBet(models.Model):
    """A curated answer: for the normalised ``query`` (:func:`tungban.search.services.normalise_query`),
    ``document`` is shown first (GOV.UK's "best bets"), in ``position`` order among the query's."""

    query = models.CharField(_("query"), max_length=200, db_index=True)
    document = models.ForeignKey(
        SearchDocument, on_delete=models.CASCADE, related_name="best_bets", verbose_name=_("document")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=1)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("set by"),
    )
    created_at = models.DateTimeField(_("set at"), auto_now_add=True)

    class Meta:
        verbose_name = _("best bet")
        verbose_name_plural = _("best bets")
        ordering = ["query", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["query", "document"], name="search_bestbet_query_doc")]

    def __str__(self) -> str:
        return f"{self.query} → {self.document}"


class IndexState(models.Model):
    """One row (``pk=1``): ``generation`` goes up in the same transaction as every change to
    the index, so each worker's vocabulary for typo correction is rebuilt when it differs and
    never served stale."""

    generation = models.PositiveBigIntegerField(_("generation"), default=0)
    #: The last full rebuild (:func:`tungban.search.tasks.reindex_task`): when, what, how it went.
    reindex_state = models.CharField(_("reindex state"), max_length=10, default="idle")
    reindex_attempts = models.PositiveSmallIntegerField(_("reindex attempts"), default=0)
    reindexed_at = models.DateTimeField(_("reindexed at"), null=True, blank=True)
    reindex_counts = models.JSONField(_("documents by kind"), default=dict, blank=True)
    reindex_error = models.TextField(_("last reindex error"), blank=True)

    class Meta:
        verbose_name = _("search index state")
        verbose_name_plural = _("search index states")
