"""Committees, their members and criteria, declarations of interest, meetings, agenda items,
conflicts, scores, decisions and frozen minutes (issue 20, part E).

Organisations are named by their Business Registration number (BRN, 8 digits) and names: a
company's particulars are not personal data; what a member declares about their interests
(``Declaration.details``) is, and is encrypted at rest (:mod:`tungban.core.fields`).
An agenda item is about a *subject* of a registered kind (:mod:`.subjects`), named by
``kind`` and ``subject_id``; the item keeps the subject's organisations' BRNs as they were
when it was put on the agenda (the basis of conflict detection).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from tungban.core.fields import EncryptedTextField

from .constants import (
    ConflictSource,
    ConflictStatus,
    InterestNature,
    MeetingState,
    Outcome,
    Role,
    Sector,
    Severity,
)

BRN = RegexValidator(r"^\d{8}$", _("A Business Registration number has 8 digits."))


class Committee(models.Model):
    """A committee, e.g. the AI Subsidy Scheme's independent committee (seed 000 §12)."""

    code = models.SlugField(_("Code"), max_length=60, unique=True)
    name_en = models.CharField(_("Name in English"), max_length=200)
    name_zh = models.CharField(_("Name in Chinese"), max_length=100)

    class Meta:
        verbose_name = _("committee")
        verbose_name_plural = _("committees")
        ordering = ["code"]

    def __str__(self):
        return self.code


class Criterion(models.Model):
    """A scoring criterion and its weight (0–1; a committee's weights add up to 1). The
    scheme's four are seed 000 §13 (a)–(d); (c) and (d) have unpublished weights
    (``published`` False), configurable here."""

    committee = models.ForeignKey(
        Committee, on_delete=models.CASCADE, related_name="criteria", verbose_name=_("committee")
    )
    code = models.SlugField(_("Code"), max_length=20)
    name_en = models.CharField(_("Name in English"), max_length=300)
    name_zh = models.CharField(_("Name in Chinese"), max_length=150)
    weight = models.DecimalField(
        _("Weight"),
        max_digits=4,
        decimal_places=3,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    published = models.BooleanField(_("Weight published"), default=True)
    position = models.PositiveSmallIntegerField(_("Position"), default=0)

    class Meta:
        verbose_name = _("criterion")
        verbose_name_plural = _("criteria")
        ordering = ["committee", "position", "code"]
        constraints = [models.UniqueConstraint(fields=["committee", "code"], name="committees_criterion_once")]

    def __str__(self):
        return f"{self.committee_id}:{self.code}"


class Member(models.Model):
    """A Django user's membership of a committee for a term, with their sector and
    organisation (seed 000 §12)."""

    committee = models.ForeignKey(
        Committee, on_delete=models.CASCADE, related_name="members", verbose_name=_("committee")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="committee_memberships",
        verbose_name=_("user"),
    )
    display_name = models.CharField(_("Name"), max_length=120)
    role = models.CharField(_("Role"), max_length=12, choices=Role.choices, default=Role.MEMBER)
    sector = models.CharField(_("Sector"), max_length=12, choices=Sector.choices)
    organisation_brn = models.CharField(_("Organisation's BR number"), max_length=8, blank=True, validators=[BRN])
    organisation_name = models.CharField(_("Organisation"), max_length=200, blank=True)
    term_from = models.DateField(_("Term from"))
    term_to = models.DateField(_("Term to"))

    class Meta:
        verbose_name = _("committee member")
        verbose_name_plural = _("committee members")
        ordering = ["committee", "role", "display_name"]
        constraints = [models.UniqueConstraint(fields=["committee", "user"], name="committees_member_once")]

    def __str__(self):
        return self.display_name

    @property
    def can_decide(self) -> bool:
        """The chair and the secretary record decisions."""
        return self.role in (Role.CHAIR, Role.SECRETARY)


class Meeting(models.Model):
    """A meeting of a committee for a batch of applications (seed 000 §15: batches)."""

    committee = models.ForeignKey(
        Committee, on_delete=models.PROTECT, related_name="meetings", verbose_name=_("committee")
    )
    batch_label = models.CharField(_("Batch"), max_length=60)
    held_on = models.DateField(_("Date"))
    quorum = models.PositiveSmallIntegerField(_("Quorum"), default=3)
    state = models.CharField(_("State"), max_length=10, choices=MeetingState.choices, default=MeetingState.PLANNED)
    opened_at = models.DateTimeField(_("Opened at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("Closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["-held_on", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["committee", "batch_label"], name="committees_meeting_per_batch")
        ]

    def __str__(self):
        return f"{self.committee_id} {self.batch_label}"


class Declaration(models.Model):
    """A member's declaration of interest: standing (no meeting) or for one meeting, about an
    organisation (by BRN) or about one agenda item. Conflicts are detected from it at once."""

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="declarations", verbose_name=_("committee member")
    )
    meeting = models.ForeignKey(
        Meeting,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="declarations",
        verbose_name=_("meeting"),
    )
    item = models.ForeignKey(
        "AgendaItem",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="declarations",
        verbose_name=_("agenda item"),
    )
    organisation_brn = models.CharField(_("Organisation's BR number"), max_length=8, blank=True, validators=[BRN])
    organisation_name = models.CharField(_("Organisation"), max_length=200, blank=True)
    nature = models.CharField(_("Nature of the interest"), max_length=12, choices=InterestNature.choices)
    severity = models.CharField(_("Severity"), max_length=10, choices=Severity.choices, default=Severity.REAL)
    details = EncryptedTextField(_("Details"), blank=True)
    declared_at = models.DateTimeField(_("Declared at"), auto_now_add=True)

    class Meta:
        verbose_name = _("declaration of interest")
        verbose_name_plural = _("declarations of interest")
        ordering = ["member", "-declared_at"]

    def __str__(self):
        return f"{self.member_id} {self.organisation_brn or self.item_id}"


class AgendaItem(models.Model):
    """An item on a meeting's agenda: a subject of a registered kind, its decision once made."""

    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="items", verbose_name=_("meeting"))
    position = models.PositiveSmallIntegerField(_("Position"))
    kind = models.CharField(_("Kind of subject"), max_length=60)
    subject_id = models.CharField(_("Subject"), max_length=100)
    title_en = models.CharField(_("Title in English"), max_length=300)
    title_zh = models.CharField(_("Title in Chinese"), max_length=300)
    organisation_brns = models.JSONField(_("Organisations' BR numbers"), default=list)
    added_at = models.DateTimeField(_("Added at"), auto_now_add=True)
    outcome = models.CharField(_("Decision"), max_length=8, choices=Outcome.choices, blank=True)
    terms = models.JSONField(_("Terms decided"), default=dict, blank=True)
    reasons_en = models.TextField(_("Reasons in English"), blank=True)
    reasons_zh = models.TextField(_("Reasons in Chinese"), blank=True)
    weighted_score_at_decision = models.DecimalField(
        _("Weighted score at the decision"), max_digits=5, decimal_places=3, null=True, blank=True
    )
    decided_at = models.DateTimeField(_("Decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        Member,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="decisions",
        verbose_name=_("decided by"),
    )
    # tcommittee: the subject was withdrawn (e.g. the applicant withdrew): off the agenda, kept on record
    withdrawn_at = models.DateTimeField(_("Withdrawn at"), null=True, blank=True)
    withdrawal_reason_en = models.TextField(_("Reason for the withdrawal in English"), blank=True)
    withdrawal_reason_zh = models.TextField(_("Reason for the withdrawal in Chinese"), blank=True)

    class Meta:
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")
        ordering = ["meeting", "position"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "kind", "subject_id"], name="committees_item_once"),
            models.UniqueConstraint(fields=["meeting", "position"], name="committees_item_position"),
        ]

    def __str__(self):
        return f"{self.meeting_id}#{self.position} {self.kind}:{self.subject_id}"

    @property
    def decided(self) -> bool:
        return bool(self.outcome)

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None


class Conflict(models.Model):
    """A member's conflict of interest on an agenda item (Waldur's model, anchor study §3.2).
    A detected conflict recuses the member at once; the chair may dismiss an apparent or
    potential one with reasons, never a real one."""

    item = models.ForeignKey(
        AgendaItem, on_delete=models.CASCADE, related_name="conflicts", verbose_name=_("agenda item")
    )
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="conflicts", verbose_name=_("committee member")
    )
    source = models.CharField(_("Detected from"), max_length=20, choices=ConflictSource.choices)
    severity = models.CharField(_("Severity"), max_length=10, choices=Severity.choices)
    status = models.CharField(
        _("Status"), max_length=10, choices=ConflictStatus.choices, default=ConflictStatus.RECUSED
    )
    declaration = models.ForeignKey(
        Declaration,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conflicts",
        verbose_name=_("declaration of interest"),
    )
    organisation_brn = models.CharField(_("Organisation's BR number"), max_length=8, blank=True)
    detected_at = models.DateTimeField(_("Detected at"), auto_now_add=True)
    resolution_en = models.TextField(_("Reasons for the resolution in English"), blank=True)
    resolution_zh = models.TextField(_("Reasons for the resolution in Chinese"), blank=True)
    resolved_by = models.ForeignKey(
        Member,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolved_at = models.DateTimeField(_("Resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("conflict of interest")
        verbose_name_plural = _("conflicts of interest")
        ordering = ["item", "member"]
        constraints = [models.UniqueConstraint(fields=["item", "member"], name="committees_conflict_once")]

    def __str__(self):
        return f"{self.item_id} {self.member_id} {self.status}"

    @property
    def recused(self) -> bool:
        return self.status == ConflictStatus.RECUSED


class Score(models.Model):
    """One member's score (0–10) of one item on one criterion (seed 000 §13 (a)–(d))."""

    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="scores", verbose_name=_("agenda item"))
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="scores", verbose_name=_("committee member")
    )
    criterion = models.ForeignKey(
        Criterion, on_delete=models.PROTECT, related_name="scores", verbose_name=_("criterion")
    )
    value = models.PositiveSmallIntegerField(_("Score"), validators=[MinValueValidator(0), MaxValueValidator(10)])
    comment = models.TextField(_("Comment"), blank=True)
    scored_at = models.DateTimeField(_("Scored at"), auto_now=True)

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        ordering = ["item", "criterion", "member"]
        constraints = [
            models.UniqueConstraint(fields=["item", "member", "criterion"], name="committees_score_once"),
            models.CheckConstraint(condition=models.Q(value__lte=10), name="committees_score_at_most_10"),
        ]

    def __str__(self):
        return f"{self.item_id} {self.member_id} {self.criterion_id}={self.value}"


class Minutes(models.Model):
    """A meeting's minutes, made when it closes and never changed: the record (``content``,
    canonical JSON), the bilingual PDF and the SHA-256 of the PDF."""

    meeting = models.OneToOneField(Meeting, on_delete=models.PROTECT, related_name="minutes", verbose_name=_("meeting"))
    content = models.JSONField(_("Record"))
    pdf = models.BinaryField(_("PDF"))
    digest = models.CharField(_("SHA-256 of the PDF"), max_length=64)
    frozen_at = models.DateTimeField(_("Frozen at"))

    class Meta:
        verbose_name = _("minutes")
        verbose_name_plural = _("minutes")

    def __str__(self):
        return f"{self.meeting_id} {self.digest[:12]}"
