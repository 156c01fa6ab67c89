"""The platform as an OAuth 2.0 resource server (RFC 6750): reading the bearer token other
apps' APIs are called with.

* :data:`require_oauth`: Authlib's resource protector with the platform's token validator.
* :func:`bearer_token`: the valid token of a request, or a :class:`DomainError` carrying the
  RFC 6750 §3.1 code and the ``WWW-Authenticate`` value (``details.www_authenticate``).
* :class:`ScopedBearer`: the ninja auth class for an API that needs a scope; it raises those
  errors itself, so no API needs to guess the error shape from the URL.

This module imports :mod:`.models` and :mod:`.errors` only; :mod:`.services` (domain rules) and :mod:`.server`
(the authorization server) do not import it, so there is no cycle.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from authlib.integrations.django_oauth2 import BearerTokenValidator, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6750 import InvalidTokenError
from django.utils.translation import gettext_lazy as _
from ninja.security import HttpBearer

from tungban.core.errors import DomainError

from . import dpop, errors, stepup
from .models import ClientToken, Token, access_token_digest

#: ``WWW-Authenticate`` for a request that sent no bearer token (RFC 6750 §3: no error code).
NO_TOKEN_CHALLENGE = 'Bearer realm="tungban"'


class TokenValidator(BearerTokenValidator):
    """RFC 6750 bearer tokens, looked up by their SHA-256 (tokens are stored hashed), read
    with what every protected endpoint uses next (the client, the resident, the code and its
    approval) in one query instead of four."""

    def authenticate_token(self, token_string):
        """The :class:`.models.Token` of a login (or a DPoP-bound client's token), else the
        client's own :class:`.models.ClientToken` (``client_credentials``), by the token's
        digest; ``None`` if neither."""
        digest = access_token_digest(token_string)
        found = (
            Token.objects.select_related("client", "resident", "authorization_code__approval")
            .filter(access_token=digest)
            .first()
        )
        if found is None:
            found = ClientToken.objects.select_related("client").filter(access_token=digest).first()
        return found

    def validate_token(self, token, scopes, request):
        super().validate_token(token, scopes, request)
        if token.dpop_jkt:  # RFC 9449 §7.1: a DPoP-bound token is no bearer token
            raise InvalidTokenError(
                description="This access token is DPoP-bound: send it as 'Authorization: DPoP' with a proof."
            )


class DPoPTokenValidator(TokenValidator):
    """``Authorization: DPoP <token>`` with a ``DPoP`` proof (RFC 9449 §7): the proof's key
    must be the one the token is bound to and its ``ath`` the token's hash."""

    TOKEN_TYPE = "dpop"

    def validate_token(self, token, scopes, request):
        BearerTokenValidator.validate_token(self, token, scopes, request)
        if not token.dpop_jkt:
            raise InvalidTokenError(description="This access token is not DPoP-bound: send it as a bearer token.")
        token_string = request.headers.get("Authorization", "").split(None, 1)[-1].strip()
        jkt = dpop.check_proof(
            request.headers.get("DPoP"),
            method=request.method,
            url=dpop.endpoint_url(urlsplit(request.uri).path),
            access_token=token_string,
        )
        if jkt != token.dpop_jkt:
            raise dpop.DPoPError("The DPoP proof is not signed with the key the token is bound to.")


require_oauth = ResourceProtector()
require_oauth.register_token_validator(TokenValidator(Token))
require_oauth.register_token_validator(DPoPTokenValidator(Token))


def bearer_token(request, scope: str | None = None) -> Token:
    """The valid access token in ``request``'s ``Authorization: Bearer`` header (RFC 6750),
    or ``Authorization: DPoP`` with its ``DPoP`` proof (RFC 9449 §7; a DPoP-bound token is
    refused as a bearer token), for other apps' APIs (e.g. signing) and the UserInfo endpoint.

    :param scope: a scope the token must carry (RFC 6750 §3.1 ``insufficient_scope``).
    :raises DomainError: the RFC 6750 §3.1 code as ``error`` (``invalid_token``, 401, or
        ``insufficient_scope``, 403; ``invalid_request``, 400, for a malformed header), with
        ``details.www_authenticate`` for the header, e.g. ``Bearer error="invalid_token"``;
        a DPoP error (``invalid_dpop_proof``, ``use_dpop_nonce``, 401) also carries a fresh
        server nonce in ``details.dpop_nonce`` for the ``DPoP-Nonce`` header (RFC 9449 §8, §9).
    """
    try:
        return require_oauth.acquire_token(request, scope)
    except OAuth2Error as error:
        code = error.error or "invalid_token"
        if code in ("missing_authorization", "unsupported_token_type"):
            # RFC 6750 §3.1: no credentials (or another scheme) get the bare challenge, no error code.
            raise errors.InvalidToken(details={"www_authenticate": NO_TOKEN_CHALLENGE}) from None
        dpop_error = code in (dpop.DPoPError.error, dpop.UseDPoPNonce.error)
        if dpop_error or request.headers.get("Authorization", "").lower().startswith("dpop "):
            challenge = f'DPoP realm="tungban", error="{code}", algs="{" ".join(dpop.ALGORITHMS)}"'
        else:
            challenge = f'Bearer realm="tungban", error="{code}"'
        if code == "insufficient_scope" and scope:
            challenge += f', scope="{scope}"'
        details = {"www_authenticate": challenge}
        if dpop_error:
            # RFC 9449 §9: use_dpop_nonce comes with the nonce to use; an invalid proof too, so
            # that a client whose nonce went stale recovers in one retry.
            details["dpop_nonce"] = dpop.new_nonce()
        declared = {"invalid_token": errors.InvalidToken, "insufficient_scope": errors.InsufficientScope}.get(code)
        if declared is not None:
            raise declared(error.description or None, details=details) from None
        status = 400 if code == "invalid_request" else 401  # RFC 9449 §7.1: DPoP errors 401
        raise DomainError(
            code, error.description or _("A valid access token is required."), status=status, details=details
        ) from None


class ScopedBearer(HttpBearer):
    """``Authorization: Bearer <access token>`` carrying ``scope`` (RFC 6750 §2.1), or
    ``Authorization: DPoP`` with a proof for a DPoP-bound token (RFC 9449 §7), as a
    ninja auth class. Subclasses turn the token into the caller with :meth:`authorize`.

    Step-up (RFC 9470, issue 16 item 3): a resident's token must come from a login that
    reaches ``acr_values`` (any one of them) and the level its client registered
    (``Client.required_acr``), no older than ``max_age`` seconds; else 401
    ``insufficient_user_authentication`` with ``WWW-Authenticate: Bearer
    error="insufficient_user_authentication", acr_values="…"[, max_age=N]``
    (:func:`.stepup.require`). A client's own token (``client_credentials``) has no login to
    step up and passes.

    :raises DomainError: ``invalid_token`` (401, ``WWW-Authenticate: Bearer realm="tungban"``)
        without a bearer token; otherwise as :func:`bearer_token` (401 ``invalid_token``,
        403 ``insufficient_scope``), ``insufficient_user_authentication`` (401), and what
        :meth:`authorize` raises.
    """

    def __init__(self, scope: str | None = None, *, acr_values: list[str] | None = None, max_age: int | None = None):
        self.scope = scope
        self.acr_values = list(acr_values or [])
        self.max_age = max_age
        super().__init__()

    def __call__(self, request):
        scheme, _sep, credentials = request.headers.get(self.header, "").partition(" ")
        if scheme.lower() not in (self.openapi_scheme, "dpop") or not credentials.strip():
            raise errors.InvalidToken(
                _("This call needs an access token (Authorization: Bearer)."),
                details={"www_authenticate": NO_TOKEN_CHALLENGE},
            )
        return self.authorize(request, self._checked(request))

    def authenticate(self, request, token):  # ninja's hook; __call__ does the work
        return self.authorize(request, self._checked(request))

    def _checked(self, request):
        token = bearer_token(request, self.scope)
        stepup.require(
            token,
            acr_values=self.acr_values,
            max_age=self.max_age,
            floor=getattr(token.client, "required_acr", ""),
        )
        return token

    def authorize(self, request, token: Token):
        """The value for ``request.auth`` (the token itself unless overridden)."""
        return token
