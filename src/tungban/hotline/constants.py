"""The 1823 case vocabulary (issue 22): kinds, states, channels, event kinds, officer roles."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseKind(models.TextChoices):
    """What the person is telling the government (1823 takes "查詢、投訴、讚賞或建議",
    seed 002 ITIB176 annex II)."""

    ENQUIRY = "enquiry", _("Enquiry")
    COMPLAINT = "complaint", _("Complaint")
    SUGGESTION = "suggestion", _("Suggestion")
    COMPLIMENT = "compliment", _("Compliment")


class CaseState(models.TextChoices):
    """Where a case is. Open311's ``status`` is ``closed`` for :attr:`CLOSED` and ``open`` for
    every other state.

    ``submitted``: received, not routed yet; ``assigned``: routed to a department that has not
    accepted it; ``escalated``: no department accepted it in time, or every candidate declined
    it — the 1823 coordinator settles the lead department (seed 002 ITIB211: the Deputy Chief
    Secretary decides where the lead department cannot be settled); ``accepted``: a department
    took it and must close it; ``closed``: the department closed it with a reply and the
    closure date (seed 002 ITIB211: 1823 did not keep the actual closure date — here it is
    mandatory). A reopened case goes back to ``accepted`` with the same department.
    """

    SUBMITTED = "submitted", _("Received")
    ASSIGNED = "assigned", _("With a department")
    ESCALATED = "escalated", _("Deciding the lead department")
    ACCEPTED = "accepted", _("Being handled")
    CLOSED = "closed", _("Closed")


#: States in which a department still owes the person something.
OPEN_STATES = (CaseState.SUBMITTED, CaseState.ASSIGNED, CaseState.ESCALATED, CaseState.ACCEPTED)


class Channel(models.TextChoices):
    """How the case reached 1823."""

    WEB = "web", _("Website")
    APP = "app", _("App")
    ASSISTANT = "assistant", _("Assistant hand-off")
    OPEN311 = "open311", _("Open311 client")
    PHONE = "phone", _("Phone (entered by 1823)")


class EventKind(models.TextChoices):
    """One line of a case's history (:class:`~tungban.hotline.models.CaseEvent`)."""

    SUBMITTED = "submitted", _("Submitted")
    ROUTED = "routed", _("Routed to a department")
    ACCEPTED = "accepted", _("Accepted by the department")
    DECLINED = "declined", _("Declined by the department")
    TRANSFERRED = "transferred", _("Transferred to another department")
    ESCALATED = "escalated", _("Escalated: no department accepted in time")
    LEAD_DECIDED = "lead_decided", _("Lead department decided")
    REPLIED = "replied", _("Reply to the person")
    NOTE = "note", _("Internal note")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened by the person")
    REMINDED = "reminded", _("Pledge reminder")


class ActorKind(models.TextChoices):
    PERSON = "person", _("The person")
    OFFICER = "officer", _("Department officer")
    COORDINATOR = "coordinator", _("1823 coordinator")
    CLIENT = "client", _("Open311 client")
    SYSTEM = "system", _("System")


class OfficerRole(models.TextChoices):
    """``department``: acts on the cases of their department; ``coordinator``: the 1823 team,
    routes and settles lead departments for every case."""

    DEPARTMENT = "department", _("Department case officer")
    COORDINATOR = "coordinator", _("1823 coordinator")
