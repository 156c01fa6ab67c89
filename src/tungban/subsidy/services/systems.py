"""The secretariat's own systems on the scheme's JSON API (issue 20, branch tapi): Cyberport's
case-management system calls ``/api/v1/subsidy/secretariat/…`` with a ``client_credentials``
token carrying the scope :data:`SCOPE`, obtained with ``private_key_jwt`` (RFC 7523) by an
OpenID Connect client registered as a department system of ``CYBERPORT`` (the e-services'
:func:`tungban.eservices.services.webhooks.register_system`: a service account with the
approver role in the department, so it acts as an officer of the secretariat)."""

from __future__ import annotations

import datetime as dt

from tungban.eservices.services import webhooks

from .. import errors
from ..models import Application
from . import intake
from .intake import SECRETARIAT

#: The OAuth scope (RFC 6749 §3.3) of the secretariat's calls; registered with
#: :mod:`tungban.oidc.scopes` in :meth:`tungban.subsidy.apps.SubsidyConfig.ready` (``key_only``).
SCOPE = "subsidy"


def register_secretariat_system(client):
    """Let ``client`` act for the secretariat through the scheme's API: it becomes a department
    system of ``CYBERPORT`` (if it is not one already) and may ask for :data:`SCOPE`. Returns
    the :class:`~tungban.eservices.models.DepartmentSystem`.

    :raises DomainError: ``not_secretariat_system`` (the client is another department's system)."""
    system = webhooks.register_system(SECRETARIAT, client)
    if system.department_id != SECRETARIAT:
        raise errors.NotSecretariatSystem()
    if SCOPE not in client.allowed_scopes:
        client.allowed_scopes = [*client.allowed_scopes, SCOPE]
        client.save(update_fields=["allowed_scopes"])
    return system


def system_for_token(token):
    """The secretariat's system behind a ``subsidy`` access token: a ``client_credentials``
    token of a department system of ``CYBERPORT``, never a resident's login.

    :raises DomainError: ``not_department_system`` (403: a resident's token, or a client that is
        no department's system), ``not_secretariat_system`` (403: another department's)."""
    system = webhooks.system_for_token(token)
    if system.department_id != SECRETARIAT:
        raise errors.NotSecretariatSystem()
    return system


def mark_complete(app: Application, system, *, at: dt.datetime | None = None) -> Application:
    """:func:`tungban.subsidy.services.intake.mark_complete` done by the secretariat's system
    (``system``: its :class:`~tungban.eservices.models.DepartmentSystem`): ``submitted →
    complete``, ``complete_at`` set — the 2-month clock starts (seed 002 ITIB239: counted from
    receipt of complete information, not from submission) — and the e-services application in
    review, assigned to the system's service account and recorded as done through its client.
    One transaction: a refusal stores nothing.

    :raises DomainError: ``not_secretariat_system`` (another department's system),
        ``subsidy_state_refused`` (not ``submitted``)."""
    if system.department_id != SECRETARIAT:
        raise errors.NotSecretariatSystem()
    return intake.complete(app, system.user, at=at, via=system.client.client_id)
