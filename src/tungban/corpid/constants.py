"""CorpID's fixed vocabulary (issue 19): roles, actions, the approval and card kinds."""

from django.db import models
from django.utils.translation import gettext_lazy as _

#: The approval a resident gives in the app to accept (or decline) a mandate offered to them.
MANDATE_KIND = "corpid.mandate"
#: The personal assistant card "Companies I act for".
CARD_KIND = "corpid.companies"
#: At most this many administrators per organisation (Singapore Corppass: "Admin (max 2 per
#: entity)", ask.gov.sg/corppass; anchor study §2.1).
MAX_ADMINISTRATORS = 2
#: The longest a mandate may last: 25 years (Suomi.fi e-Authorizations: "start and end date
#: required; max 25 years"; anchor study §2.1).
MAX_YEARS = 25
#: A scope's services entry meaning every service.
ALL_SERVICES = "*"


class Role(models.TextChoices):
    """Corppass's hierarchy (anchor study §2.1): administrators (at most two) manage everything;
    sub-administrators grant user mandates within their own scope; users act."""

    ADMINISTRATOR = "administrator", _("Administrator")
    SUB_ADMINISTRATOR = "sub_administrator", _("Sub-administrator")
    USER = "user", _("User")


class Action(models.TextChoices):
    """What a mandate lets its holder do in a service (issue 19: view, apply, pay, sign)."""

    VIEW = "view", _("View")
    APPLY = "apply", _("Apply")
    PAY = "pay", _("Pay")
    SIGN = "sign", _("Sign")


class MandateState(models.TextChoices):
    OFFERED = "offered", _("Waiting for the holder's answer")
    ACTIVE = "active", _("Accepted")
    DECLINED = "declined", _("Declined")
    REVOKED = "revoked", _("Revoked")


class Basis(models.TextChoices):
    """How the mandate came about (the OIDC authority claims draft's ``granted_by.method``)."""

    REGISTER = "register", _("Director on the Companies Registry's register")
    GRANTED = "granted", _("Granted by an administrator")
    DELEGATED = "delegated", _("Delegated from another mandate")


class OrganisationStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended (no administrator)")


class OfficerRole(models.TextChoices):
    DIRECTOR = "director", _("Director")
    SECRETARY = "secretary", _("Company secretary")
