"""填表通 through the Consented Data Exchange Gateway: the resident's registered address
from the Water Supplies Department (WSD), obtained with their consent.

The service is the Transport Department as a *data user* of tungban's gateway: it
authenticates with its own key (``private_key_jwt``, :class:`examples.data_user.DataUser`),
asks the logged-in resident for consent to the data product
``wsd.registered-address.v1``, waits while the resident approves in the app, then fetches
the address once (``max_uses`` 1). Pure helpers here (no Flask); the routes are in ``app.py``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: The data product: the registered address of the resident's water account.
WSD_PRODUCT = "wsd.registered-address.v1"
#: What the resident reads in the app (PDPO DPP1: the purpose of collection), sent in the
#: language of the service's page (issue 16, polish16 item 8: not English-first in both).
PURPOSES = {
    "en": "Fill in the residential address on your vehicle licence renewal",
    "zh-HK": "填寫車輛牌照續期申請的住址",
}
#: How long the consent lasts once given (seconds); it is used once, right away.
CONSENT_SECONDS = 600
MAX_USES = 1

#: ``region`` of the product's schema, written out (the address lines are in English).
REGIONS = {"HK": "Hong Kong", "KLN": "Kowloon", "NT": "New Territories"}

#: Gateway / provider problems after which asking again later may work: the consent is
#: not used up by a failed request, so "try again" fetches under the same consent.
RETRYABLE = {"provider_unavailable", "provider_timeout", "provider_error", "unreachable"}

_ERROR_KEYS = {
    "consent_declined": "addr_err_declined",
    "consent_expired": "addr_err_expired",
    "consent_revoked": "addr_err_revoked",
    "consent_exhausted": "addr_err_exhausted",
    "no_record": "addr_err_no_record",
    "provider_unavailable": "addr_err_provider",
    "provider_timeout": "addr_err_provider",
    "provider_error": "addr_err_provider",
    "provider_bad_data": "addr_err_provider",
    "unreachable": "addr_err_unreachable",
    "account_suspended": "addr_err_account_suspended",
    "unknown_subject": "addr_err_login_again",
    "login_required": "addr_err_login_again",
    "not_a_data_user": "addr_err_not_allowed",
    "invalid_client": "addr_err_not_allowed",
    "unauthorized_client": "addr_err_not_allowed",
    "insufficient_scope": "addr_err_not_allowed",
    "invalid_scope": "addr_err_not_allowed",
}


def error_key(status: str, code: str | None = None) -> str:
    """The i18n key explaining why no address was filled in (a fill's ``status`` and ``code``)."""
    if status == "declined":
        return "addr_err_declined"
    if status == "expired":
        return "addr_err_expired"
    if status == "revoked":
        return "addr_err_revoked"
    return _ERROR_KEYS.get(code or "", "addr_err_failed")


def format_address(data: Any) -> str:
    """The WSD product's data as text for the form's address box: the address lines, then
    "district, region" on the last line (what a line already names is not repeated).

    :raises ValueError: the data has no usable address lines.
    """
    address = data.get("address") if isinstance(data, Mapping) else None
    lines = address.get("lines") if isinstance(address, Mapping) else None
    if not isinstance(lines, list):
        raise ValueError("no address lines")
    parts = [line.strip() for line in lines if isinstance(line, str) and line.strip()]
    if not parts:
        raise ValueError("no address lines")
    tail = []
    for extra in (address.get("district"), REGIONS.get(str(address.get("region")), "")):
        if isinstance(extra, str) and extra.strip() and all(extra.strip().lower() != p.lower() for p in parts):
            tail.append(extra.strip())
    if tail:
        parts.append(", ".join(tail))
    return "\n".join(parts)


def load_private_jwk(value: Any) -> dict | None:
    """A private JWK given as a dict or a JSON string; None when empty or unusable."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except ValueError:
            log.warning("VL_CDEG_PRIVATE_JWK is not JSON: the address button is off")
            return None
    if isinstance(value, Mapping) and value.get("kty") and value.get("d"):
        return dict(value)
    if value:
        log.warning("The gateway key is not a private JWK: the address button is off")
    return None


def resolve_private_jwk(settings: Mapping[str, Any]) -> dict | None:
    """The service's private key for the gateway: ``VL_CDEG_PRIVATE_JWK`` (a dict or JSON
    text), else ``cdeg_private_jwk`` in the ``VL_CLIENT_CONFIG`` file; None without one."""
    direct = load_private_jwk(settings.get("VL_CDEG_PRIVATE_JWK"))
    if direct:
        return direct
    path = settings.get("VL_CLIENT_CONFIG")
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # resolve_client_credentials() already warns
    return load_private_jwk(data.get("cdeg_private_jwk")) if isinstance(data, dict) else None
