"""Whether a person may act for a company: the one check the next waves call (corporate login,
corporate signing, pre-fill with the company's authorisation).

Nothing is cached: every call reads the organisation, the person's mandate and each mandate it
was delegated from, so a revocation, an expiry or a suspension counts from the next request.
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from tungban.identity import services as identity
from tungban.identity.models import Resident

from .. import errors
from ..constants import Action, OrganisationStatus
from ..models import Mandate, Organisation
from . import mandates, register


def authority(resident: Resident, br_number: str, service: str, action: str, *, on: dt.date | None = None) -> Mandate:
    """The mandate under which ``resident`` may do ``action`` in ``service`` for the company
    with ``br_number`` on the day ``on`` (default today), or an error.

    The returned :class:`~tungban.corpid.models.Mandate` carries what the caller must honour:
    ``role``, ``joint_approval`` (a second person must approve the action: the signing wave's
    second signatory), ``public_id`` (the mandate id for the ID token's authority claims and the
    audit of the action), ``organisation`` (BRN and names).

    :param service: the service's identifier (an e-service's slug, an online service's client id).
    :param action: ``view``, ``apply``, ``pay`` or ``sign``.
    :raises DomainError: ``account_suspended`` (403: the person's tungban account),
        ``br_number_format`` (400), ``br_number_not_registered`` (404), ``company_not_live``
        (409: dissolved or in liquidation on the register),
        ``invalid_scope`` (400: an unknown action), ``no_mandate`` (403: no organisation or no
        mandate for this person), ``organisation_suspended`` (403), ``mandate_not_accepted``,
        ``mandate_declined``, ``mandate_revoked``, ``mandate_expired``, ``mandate_not_yet_valid``
        (403: the mandate or one it was delegated from), ``mandate_out_of_scope`` (403).
    """
    identity.require_active(resident)
    company = register.company(br_number)
    if company.status != "live":
        raise errors.CompanyNotLive()
    if action not in Action.values:
        raise errors.InvalidScope(reason=_("actions are view, apply, pay and sign"), field="action")
    org = Organisation.objects.filter(company=company).first()
    if org is None:
        raise errors.NoMandate()
    held = list(Mandate.objects.select_related("organisation", "parent").filter(organisation=org, holder=resident))
    if not held:
        raise errors.NoMandate()
    if org.status == OrganisationStatus.SUSPENDED or not mandates.administrators_in_force(org, on):
        raise errors.OrganisationSuspended()
    live = [m for m in held if m.state in mandates.LIVE] or sorted(held, key=lambda m: m.created_at)[-1:]
    mandate = live[0]
    refused = mandates.refusal(mandate, on)
    if refused is not None:
        raise refused
    if not mandates.covers(mandate, service, action):
        label = Action(action).label
        raise errors.MandateOutOfScope(what=f"{label} / {service}")
    return mandate
