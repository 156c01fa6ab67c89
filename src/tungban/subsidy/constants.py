"""The AI Subsidy Scheme's fixed vocabularies (issue 20). Sources: seed
``000_e8d18668e17a2217.txt`` (LegCo paper ITB(1)/…, April 2024; cited as "seed 000 §N") and
``002_290747ba864f0a9c.txt`` (2025-26 budget replies; cited by reply id)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ApplicantCategory(models.TextChoices):
    """The five categories of eligible applicants (seed 000 §11(a)–(e)); individuals cannot
    apply (seed 002 ITIB229)."""

    UNIVERSITY = "university", _("Local university or degree-awarding institution")
    RD_INSTITUTION = "rd_institution", _("Research and development institution")
    GOVERNMENT_DEPARTMENT = "government_department", _("Government department")
    AI_STARTUP = "ai_startup", _("AI start-up")
    STRATEGIC_ENTERPRISE = "strategic_enterprise", _("Strategic enterprise")


class FundingLine(models.TextChoices):
    """The three lines of the HK$3 billion (seed 000 §10, §19, §20)."""

    COMPUTE = "compute", _("Compute subsidy")
    SECURITY = "security", _("Network and data security")
    ECOSYSTEM = "ecosystem", _("AI ecosystem development")


class ApplicationState(models.TextChoices):
    """Where an application is in the scheme (seed 000 §13, §15; seed 002 ITIB239).
    ``submitted`` → ``complete`` (the secretariat has complete information: the 2-month clock
    starts) ⇄ ``clarification_requested`` → ``recommended`` → ``on_agenda`` → ``approved`` |
    ``rejected`` | ``deferred`` (back to ``recommended`` for a later meeting); ``withdrawn``,
    ``ineligible`` (refused at the eligibility check, with reasons)."""

    SUBMITTED = "submitted", _("Submitted")
    CLARIFICATION_REQUESTED = "clarification_requested", _("Clarification requested")
    COMPLETE = "complete", _("Complete, in assessment")
    RECOMMENDED = "recommended", _("Recommended to the committee")
    ON_AGENDA = "on_agenda", _("On the committee's agenda")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    DEFERRED = "deferred", _("Deferred")
    INELIGIBLE = "ineligible", _("Ineligible")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class AwardState(models.TextChoices):
    """An award from the committee's approval to its end (seed 000 §21: the grantee signs an
    agreement with Cyberport)."""

    OFFERED = "offered", _("Offered, agreement not signed")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    COMPLETED = "completed", _("Completed")
    TERMINATED = "terminated", _("Terminated")
    LAPSED = "lapsed", _("Lapsed, offer not signed in time")
