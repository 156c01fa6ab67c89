"""The OpenID Provider's error codes for the platform's own JSON shape (client
registration, the resource server), declared once. The OAuth endpoints answer RFC 6749
§5.2 errors (``{"error", "error_description"}``) through Authlib instead.
"""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import DomainError, Forbidden

InvalidToken = DomainError.define("invalid_token", _("A valid access token is required."), status=401)
InsufficientScope = Forbidden.define(
    "insufficient_scope", _("The access token does not carry the scope this call needs.")
)
#: RFC 9470 §3 step-up: the token's login is too weak or too old for this call (see :mod:`.stepup`).
InsufficientUserAuthentication = DomainError.define(
    "insufficient_user_authentication",
    _(
        "This call needs a stronger or more recent login: send the resident through a new login with "
        "the acr_values and max_age of the WWW-Authenticate header."
    ),
    status=401,
)
InvalidClaims = DomainError.define("invalid_claims", _("The 'claims' parameter must be a JSON object."))
InvalidRedirectUri = DomainError.define(
    "invalid_redirect_uri", _("Register at least one redirect URI."), field="redirect_uris"
)
InvalidScope = DomainError.define("invalid_scope", _("Unknown scope."), field="allowed_scopes")
InvalidClientMetadata = DomainError.define(
    "invalid_client_metadata", _("The keys must be a JWK Set of EC or RSA public keys."), field="jwks"
)
InvalidSectorIdentifier = DomainError.define(
    "invalid_sector_identifier",
    _("A sector is a name such as a host (dept.example) or an http(s) URL, not the form 'prefix:...'."),
    field="sector_identifier",
)
#: A registered scope's refusal of an authorization request (:mod:`.scopes` ``prepare``), sent
#: to the service as ``error=invalid_scope`` (RFC 6749 §4.1.2.1) with the reason as its description.
InvalidScopeRequest = DomainError.define("invalid_scope_request", "%(reason)s", field="scope")
#: The same, as ``error=invalid_request`` (e.g. a ``claims`` member naming a service the client may not).
InvalidAuthorizationRequest = DomainError.define("invalid_authorization_request", "%(reason)s", field="claims")
#: The OAuth error (RFC 6749 §4.1.2.1) the service gets for each of these refusals.
OAUTH_ERRORS = {InvalidScopeRequest.code: "invalid_scope", InvalidAuthorizationRequest.code: "invalid_request"}
#: A federated client (:mod:`.federated`) pushing a request without ``private_key_jwt``
#: (OpenID Federation 1.0 §12.1.1: automatic registration authenticates with the client's keys).
FederatedClientAuthentication = DomainError.define(
    "private_key_jwt_required", _("A federation client authenticates with private_key_jwt."), status=401
)
