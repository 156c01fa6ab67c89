"""``Authorization: Device <JWS>``: the ninja auth class for calls from the resident's app.

Used by every app's ``/app/...`` operations (wallet, exchange, credentials). It raises the
platform's errors itself (never ninja's bare 401), so each error body has the
:class:`tungban.core.api.ErrorOut` shape.
"""

from __future__ import annotations

from django.conf import settings
from ninja.security import APIKeyHeader

from . import services


class DeviceAuth(APIKeyHeader):
    """``Authorization: Device <JWS>``: a fresh proof signed by the bound device key (see
    :func:`tungban.wallet.services.authenticate_device`; the proof is DPoP-shaped, RFC 9449 §4.2).

    ``request.auth`` is the :class:`~tungban.wallet.models.Device`.

    :raises tungban.core.errors.Forbidden: status 401 with ``device_auth_required`` (no or
        another scheme), ``bad_signature``, ``proof_expired``, ``proof_replayed``,
        ``device_unbound``; 403 ``account_suspended``.
    """

    param_name = "Authorization"

    def authenticate(self, request, key):
        return services.authenticate_device(key, request.method, settings.TUNGBAN_ISSUER + request.path)


device_auth = DeviceAuth()
