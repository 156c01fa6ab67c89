"""Checks on a client's registration, shared by :func:`.services.register_client` and the
admin (:meth:`.models.Client.clean`), and on the form of token-endpoint requests and client
credentials (:mod:`.server`). Pure functions: they import no model, so the model can use them
without an import cycle.
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Collection
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError
from django.utils.translation import gettext_lazy as _
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from . import errors


def check_client_metadata(
    redirect_uris, post_logout_redirect_uris, scopes, *, supported_scopes: Collection[str], fapi: bool = False
) -> None:
    """Validate a client's registration (RFC 6749 §3.1.2: absolute URIs, no fragment);
    ``scopes`` must all be in ``supported_scopes``. A FAPI client's redirect URIs must be
    ``https`` (FAPI 2.0 SP §5.3.2.2: authorization responses never over unencrypted
    connections; its loopback exception is for native apps, which no FAPI service here is).

    :raises DomainError: ``invalid_redirect_uri`` or ``invalid_scope``.
    """
    if not isinstance(redirect_uris, list) or not redirect_uris:
        raise errors.InvalidRedirectUri()
    for field, uris in (
        ("redirect_uris", redirect_uris),
        ("post_logout_redirect_uris", post_logout_redirect_uris or []),
    ):
        for uri in uris:
            parts = urlsplit(str(uri))
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
                raise errors.InvalidRedirectUri(
                    _("Redirect URIs must be absolute http(s) URLs without a fragment."), field=field
                )
    if fapi and any(urlsplit(str(uri)).scheme != "https" for uri in redirect_uris):
        raise errors.InvalidRedirectUri(_("A FAPI 2.0 service's redirect URIs must use https."))
    if not isinstance(scopes, list) or any(s not in supported_scopes for s in scopes):
        raise errors.InvalidScope()


#: Prefix of a client's own pairwise sector (:attr:`.models.Client.sector`).
OWN_SECTOR_PREFIX = "client:"


def check_sector_identifier(sector_identifier: str) -> None:
    """An administrator's sector for grouping services (OIDC Core §8.1): a name such as a
    host (``dept.example``) or an ``http(s)`` URL, never ``prefix:…``, the form of the
    platform's own sectors (a client's ``client:<pk>``, the exchange's ``cdeg:<id>``), so no
    service can be joined to another one's subjects by a crafted value.

    :raises DomainError: ``invalid_sector_identifier``.
    """
    value = (sector_identifier or "").strip()
    if not value:
        return
    scheme = value.split(":", 1)[0].lower() if ":" in value else None
    if scheme is not None and not (scheme in ("http", "https") and value.lower().startswith(f"{scheme}://")):
        raise errors.InvalidSectorIdentifier()


#: Smallest RSA modulus accepted, in bits (RFC 7518 §3.3, §3.5; FAPI 2.0 SP §5.4.1 item 2).
MIN_RSA_BITS = 2048


def rsa_too_small(key) -> bool:
    """Whether ``key`` (a joserfc key) is an RSA key under :data:`MIN_RSA_BITS` bits."""
    return key.key_type == "RSA" and key.raw_value.key_size < MIN_RSA_BITS


def public_jwks_only(jwks) -> dict:
    """Check a client's JWK Set (RFC 7517 §5) and return it without private members.

    :raises DomainError: ``invalid_client_metadata`` when it is not a JWK Set of EC or RSA
        public keys, or holds an RSA key under :data:`MIN_RSA_BITS` bits.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # joserfc's SecurityWarning of a small key: refused below
            keyset = KeySet.import_key_set(jwks)
        if not keyset.keys or any(k.key_type not in ("EC", "RSA") for k in keyset.keys):
            raise ValueError
    except (JoseError, ValueError, TypeError, KeyError):
        raise errors.InvalidClientMetadata() from None
    if any(rsa_too_small(k) for k in keyset.keys):
        raise errors.InvalidClientMetadata(_("RSA keys must be at least 2048 bits long."))
    return {"keys": [k.as_dict(private=False) | ({"kid": k.kid} if k.kid else {}) for k in keyset.keys]}


# --- Token-endpoint requests (RFC 6749 §2.3, §3.2, §5.2): Authlib's errors, ASCII descriptions ---

#: RFC 6749 §5.2 ``error_description`` of a failed client authentication: what went wrong, in words.
CLIENT_AUTH_FAILED = (
    "Client authentication failed: unknown or inactive client, wrong client secret or assertion, "
    "or an authentication method this client is not registered for."
)
MALFORMED_BASIC = "The Basic credentials must be base64 of UTF-8 'client_id:client_secret' (RFC 6749 section 2.3.1)."
BASIC_CHALLENGE_REALM = "tungban"


def basic_credentials_used(authorization: str | None) -> bool | None:
    """Whether an ``Authorization`` header carries HTTP Basic client credentials (RFC 6749
    §2.3.1, RFC 7617): ``None`` when it is absent or another scheme, ``True`` when it is
    base64 of UTF-8 ``client_id:client_secret``, ``False`` when it is Basic but malformed
    (not base64, not ASCII, not UTF-8, no colon)."""
    scheme, _sep, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip().encode("ascii"), validate=True).decode("utf-8")
    except (ValueError, UnicodeError):  # binascii.Error is a ValueError
        return False
    return ":" in decoded


def client_auth_error(
    *, used_basic: bool, malformed: bool = False, description: str | None = None
) -> InvalidClientError:
    """The ``invalid_client`` error (RFC 6749 §5.2) for a failed client authentication:
    401 with ``WWW-Authenticate: Basic realm="tungban", error=…, error_description=…`` when
    the client sent ``Authorization: Basic``, else 400 without the header.

    :param description: Authlib's own description, kept when it says something specific
        (e.g. "JWT ID is used before."); its "cannot authenticate with methods: [...]"
        (a Python list) becomes :data:`CLIENT_AUTH_FAILED`.
    """
    if malformed:
        description = MALFORMED_BASIC
    elif not description or "cannot authenticate with method" in description or not error_safe(description):
        description = CLIENT_AUTH_FAILED
    error = _BasicChallenge(description=description) if used_basic else InvalidClientError(description=description)
    error.status_code = 401 if used_basic else 400
    return error


class _BasicChallenge(InvalidClientError):
    def get_headers(self):
        headers = [h for h in super().get_headers() if h[0].lower() != "www-authenticate"]
        # RFC 7617 §2: the realm; RFC 6749 §5.2: the scheme the client used. Descriptions are ASCII without '"'.
        challenge = (
            f'Basic realm="{BASIC_CHALLENGE_REALM}", error="{self.error}", '
            f'error_description="{self.get_error_description()}"'
        )
        return [*headers, ("WWW-Authenticate", challenge)]


def check_token_request(content_type: str, form) -> None:
    """A token request must be a form (``application/x-www-form-urlencoded``, RFC 6749 §3.2
    and §4.1.3) with ``grant_type``.

    :raises InvalidRequestError: ``invalid_request`` (RFC 6749 §5.2), e.g. for a JSON body or
        a missing ``grant_type`` (issue 13 item 17: not ``unsupported_grant_type``).
    """
    if (content_type or "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise InvalidRequestError("The token request must be sent as application/x-www-form-urlencoded.")
    if not form.get("grant_type"):
        raise InvalidRequestError("Missing 'grant_type' parameter.")


def error_safe(text: str) -> bool:
    """Whether ``text`` may appear in an OAuth ``error_description`` (RFC 6749 §4.1.2.1,
    §5.2: ASCII %x20-21 / %x23-5B / %x5D-7E, i.e. printable ASCII without '"' or '\\\\')."""
    return all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in text)
