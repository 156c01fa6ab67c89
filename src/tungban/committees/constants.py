"""Choices of the committees app (issue 20, part E).

Conflicts of interest follow Waldur MasterMind's model (anchor study §3.2,
``proposal/enums.py``): a conflict's *severity* is ``real`` (must recuse), ``apparent``
(requires management: the chair may dismiss it with reasons) or ``potential`` (disclosure);
its *status* is ``pending``, ``dismissed``, ``waived`` (with a management plan) or
``recused``. Members come from the AI industry, academia, the I&T sector and government
(seed 000 §12).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Sector(models.TextChoices):
    """Where a member comes from (seed 000 §12: 「由人工智能業界、學界、創科界及政府等代表組成」)."""

    INDUSTRY = "industry", _("AI industry")
    ACADEMIA = "academia", _("Academia")
    INNOVATION = "innovation", _("Innovation and technology sector")
    GOVERNMENT = "government", _("Government")


class Role(models.TextChoices):
    CHAIR = "chair", _("Chair")
    SECRETARY = "secretary", _("Secretary")
    MEMBER = "member", _("Member")


class Severity(models.TextChoices):
    """Waldur's severities (anchor study §3.2)."""

    REAL = "real", _("Real")
    APPARENT = "apparent", _("Apparent")
    POTENTIAL = "potential", _("Potential")


class ConflictStatus(models.TextChoices):
    """Waldur's statuses (anchor study §3.2)."""

    PENDING = "pending", _("Pending")
    DISMISSED = "dismissed", _("Dismissed")
    WAIVED = "waived", _("Waived")
    RECUSED = "recused", _("Recused")


class ConflictSource(models.TextChoices):
    """Why a conflict was detected."""

    ORGANISATION = "organisation", _("Member's own organisation")
    DECLARED_INTEREST = "declared_interest", _("Declared interest")
    DECLARED_FOR_ITEM = "declared_for_item", _("Declared at the meeting")


class InterestNature(models.TextChoices):
    """Kinds of interest a member declares (Waldur's financial-interest disclosure types,
    anchor study §3.2, plus employment)."""

    EMPLOYMENT = "employment", _("Employment")
    EQUITY = "equity", _("Shareholding")
    BOARD = "board", _("Directorship or board seat")
    CONSULTING = "consulting", _("Consultancy")
    ROYALTIES = "royalties", _("Royalties")
    GIFTS = "gifts", _("Gifts or sponsorship")
    OTHER = "other", _("Other")


class MeetingState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Outcome(models.TextChoices):
    """A committee's decision on an item (seed 000 §13: the committee approves the amount and
    duration; issue 20: approve, reject or defer)."""

    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")
    DEFER = "defer", _("Defer")
