"""Checks on a client's registration, shared by :func:`.services.register_client` and the
admin (:meth:`.models.Client.clean`). Pure functions: they import no model, so the model can
use them without an import cycle.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy as _
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from . import errors


def check_client_metadata(
    redirect_uris, post_logout_redirect_uris, scopes, *, supported_scopes: Collection[str]
) -> None:
    """Validate a client's registration (RFC 6749 §3.1.2: absolute URIs, no fragment);
    ``scopes`` must all be in ``supported_scopes``.

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
    if not isinstance(scopes, list) or any(s not in supported_scopes for s in scopes):
        raise errors.InvalidScope()


def public_jwks_only(jwks) -> dict:
    """Check a client's JWK Set (RFC 7517 §5) and return it without private members.

    :raises DomainError: ``invalid_client_metadata`` when it is not a JWK Set of EC or RSA
        public keys.
    """
    try:
        keyset = KeySet.import_key_set(jwks)
        if not keyset.keys or any(k.key_type not in ("EC", "RSA") for k in keyset.keys):
            raise ValueError
    except (JoseError, ValueError, TypeError, KeyError):
        raise errors.InvalidClientMetadata() from None
    return {"keys": [k.as_dict(private=False) | ({"kid": k.kid} if k.kid else {}) for k in keyset.keys]}
