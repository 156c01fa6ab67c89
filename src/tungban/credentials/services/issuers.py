"""Issuers, their officers and their systems: who may issue for which issuer. Officers are
staff users listed on the issuer (superusers may act for all); a department system is an
OpenID Connect client registered for the issuer, acting with its own ``client_credentials``
token (``private_key_jwt``) and the ``credentials`` scope. Also :func:`get_type`, the active
credential type by id.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from .. import errors as credential_errors
from ..constants import CREDENTIALS_SCOPE, PLATFORM_ISSUERS
from ..models import CredentialType, Issuer


def get_type(type_id: str) -> CredentialType:
    """:raises NotFound: ``credential_type_unknown``."""
    try:
        return CredentialType.objects.select_related("issuer").get(id=type_id, active=True)
    except CredentialType.DoesNotExist:
        raise credential_errors.CredentialTypeUnknown(id=type_id) from None


def issuers_for_officer(user) -> list[Issuer]:
    """The issuers ``user`` may issue for: all for a superuser, else those listing them; never
    an issuer whose credentials only the platform issues (:data:`PLATFORM_ISSUERS`)."""
    qs = Issuer.objects.all() if user.is_superuser else user.credential_issuers.all()
    return list(qs.exclude(id__in=PLATFORM_ISSUERS).order_by("id"))


def require_officer(user, issuer: Issuer) -> None:
    """:raises Forbidden: ``not_an_issuer_officer`` when ``user`` is no officer of ``issuer``
    (nobody is an officer of an issuer in :data:`PLATFORM_ISSUERS`, superusers included)."""
    if issuer.id in PLATFORM_ISSUERS or not (
        user.is_active and user.is_staff and (user.is_superuser or issuer.officers.filter(pk=user.pk).exists())
    ):
        raise credential_errors.NotAnIssuerOfficer(
            _("You are not an officer of %(issuer)s.") % {"issuer": issuer.name_en}
        )


@transaction.atomic
def register_issuer_system(issuer: Issuer, client) -> Issuer:
    """Let ``client`` (an OpenID Connect client with a registered JWKS) issue and revoke
    ``issuer``'s credentials through the API: it may then ask for the ``credentials`` scope
    (``client_credentials`` with ``private_key_jwt`` only).

    :raises Forbidden: ``not_an_issuer`` for an issuer in :data:`PLATFORM_ISSUERS`.
    """
    if issuer.id in PLATFORM_ISSUERS:
        raise credential_errors.NotAnIssuer()
    if CREDENTIALS_SCOPE not in client.allowed_scopes:
        client.allowed_scopes = [*client.allowed_scopes, CREDENTIALS_SCOPE]
        client.save(update_fields=["allowed_scopes"])
    issuer.client = client
    issuer.save(update_fields=["client"])
    return issuer


def issuer_for_token(token) -> Issuer:
    """The issuer behind a ``credentials`` access token: the department system's own
    ``client_credentials`` token, never one obtained by logging a resident in.

    :raises Forbidden: ``not_an_issuer``.
    """
    if token.resident_id is not None:
        raise credential_errors.NotAnIssuer(
            _("Issue credentials with your system's own token (client credentials), not a resident's.")
        )
    return issuer_for_client(token.client)


def issuer_for_client(client) -> Issuer:
    """The issuer a department system's OpenID Connect client issues for.

    :raises Forbidden: ``not_an_issuer`` when the client is registered for no issuer (or for
        one in :data:`PLATFORM_ISSUERS`).
    """
    try:
        issuer = client.credential_issuer
    except Issuer.DoesNotExist:
        raise credential_errors.NotAnIssuer() from None
    if issuer.id in PLATFORM_ISSUERS:
        raise credential_errors.NotAnIssuer()
    return issuer
