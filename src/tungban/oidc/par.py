"""Pushed authorization requests (RFC 9126), signed request objects (JAR, RFC 9101) and
the ``request`` / ``request_uri`` parameters at the authorization endpoint (OIDC Core §6).

* :func:`push` is the PAR endpoint's work: the client authenticates as at the token endpoint
  (FAPI clients: ``private_key_jwt`` only), sends the authorization request's parameters —
  or one signed request object in ``request`` — and gets a one-time ``request_uri`` valid
  :data:`PAR_TTL` seconds, bound to it (RFC 9126 §2.2). A ``DPoP`` proof binds the code
  to the proof's key (RFC 9449 §10).
* :func:`resolve` runs first at the authorization endpoint: a pushed ``request_uri`` is
  redeemed once and replaced by its parameters; a ``request`` object is verified as
  :func:`verify_request_object` says for a client with registered keys and refused with
  ``request_not_supported`` for any other (OIDC Core §6.1; an unsigned one, ``alg`` ``none``,
  always); a ``request_uri`` that this server did not issue is refused with
  ``request_uri_not_supported`` (OIDC Core §6.2: nothing is fetched). FAPI clients must use
  PAR (FAPI 2.0 Security Profile §5.3.2.2 item 2, issue 13 item 21).
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
import time
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc9101.errors import (
    InvalidRequestObjectError,
    InvalidRequestUriError,
    RequestNotSupportedError,
    RequestUriNotSupportedError,
)
from authlib.oauth2.rfc9207 import IssuerParameter
from django.conf import settings
from django.db import transaction
from django.http import HttpResponseRedirect, JsonResponse, QueryDict
from django.utils import timezone
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tungban.core import ratelimit
from tungban.core.errors import DomainError

from . import dpop, errors, federated
from .memo import active_client
from .models import AuthorizationCode, Client, PushedAuthorizationRequest

#: RFC 9126 §2.2: the prefix of the ``request_uri`` values this server issues.
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
#: Seconds a pushed request stays redeemable (RFC 9126 §2.2: short; FAPI 2.0 §5.3.2.2: < 600).
PAR_TTL = 60
#: JWS algorithms of request objects (FAPI 2.0 §5.4.1: PS256, ES256).
REQUEST_OBJECT_ALGORITHMS = ["ES256", "PS256"]
#: Longest a request object may be valid, ``exp`` − ``nbf`` (FAPI 2.0 Message Signing §5.3.1: 60 min).
REQUEST_OBJECT_MAX_LIFETIME = 3600
#: Claims of a request object that are the JWT's, not authorization request parameters.
_JWT_CLAIMS = {"iss", "aud", "exp", "iat", "nbf", "jti"}
#: Parameters of client authentication, not of the authorization request (RFC 9126 section 2.1).
_CLIENT_AUTH_PARAMS = {"client_secret", "client_assertion", "client_assertion_type"}


class Issuer(IssuerParameter):
    """RFC 9207: ``iss`` in every authorization response, errors included, for every client
    (Authlib's extension; its hook handles Authlib's own response objects, this one Django's)."""

    def get_issuer(self) -> str:
        return settings.TUNGBAN_ISSUER

    def add_issuer_parameter(self, authorization_server, response):
        add_issuer(response)


def add_issuer(response):
    """Add ``iss`` (RFC 9207 §2) to a redirecting authorization response; returns it.
    Not added twice: only when the Location's query has no parameter named exactly ``iss``
    (a registered redirect URI's ``?dismiss=1`` is no ``iss``)."""
    location = response.get("Location") if response is not None else None
    if location and "iss" not in {name for name, _ in parse_qsl(urlsplit(location).query, keep_blank_values=True)}:
        response["Location"] = add_params_to_uri(location, {"iss": settings.TUNGBAN_ISSUER})
    return response


def nonce_max_length() -> int:
    """The longest ``nonce`` (OIDC Core §3.1.2.1) the platform accepts: what an
    authorization code can store (FAPI 2.0 SP §5.3.2.2: at least 64)."""
    return AuthorizationCode._meta.get_field("nonce").max_length


def verify_request_object(client: Client, raw: str) -> dict[str, str]:
    """The authorization request parameters in a signed request object (RFC 9101 §4, §6.1).

    Verified against the client's registered keys with PS256 or ES256 (never ``none``);
    ``iss`` must be the client_id, ``aud`` the issuer, ``exp`` present and at most
    :data:`REQUEST_OBJECT_MAX_LIFETIME` seconds after ``nbf`` (or ``iat``, or now); a
    ``client_id`` claim must be the client's.

    :returns: the parameters as strings (objects such as ``claims`` as JSON).
    :raises OAuth2Error: ``request_not_supported`` for a client without keys,
        ``invalid_request_object`` for anything else wrong.
    """
    if not (client.jwks or {}).get("keys"):
        raise RequestNotSupportedError(
            description="Request objects are accepted only from services with registered keys (signed, RFC 9101)."
        )
    try:
        token = jwt.decode(raw, KeySet.import_key_set(client.jwks), algorithms=REQUEST_OBJECT_ALGORITHMS)
        jwt.JWTClaimsRegistry(
            leeway=5,
            iss={"essential": True, "value": client.client_id},
            aud={"essential": True, "value": settings.TUNGBAN_ISSUER},
            exp={"essential": True},
        ).validate(token.claims)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise InvalidRequestObjectError(
            description=f"The request object must be a JWT signed with a registered key ({' or '.join(REQUEST_OBJECT_ALGORITHMS)}), iss = client_id, aud = issuer, not expired ({exc.__class__.__name__})."
        ) from None
    claims = token.claims
    start = claims.get("nbf", claims.get("iat", time.time()))
    if not isinstance(start, int | float) or claims["exp"] - start > REQUEST_OBJECT_MAX_LIFETIME:
        raise InvalidRequestObjectError(
            description=f"A request object may be valid for at most {REQUEST_OBJECT_MAX_LIFETIME} seconds."
        )
    if claims.get("client_id", client.client_id) != client.client_id:
        raise InvalidRequestObjectError(description="The request object's 'client_id' is not the client's.")
    if "request" in claims or "request_uri" in claims:
        raise InvalidRequestObjectError(description="A request object must not contain 'request' or 'request_uri'.")
    return {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in claims.items()
        if name not in _JWT_CLAIMS and value is not None
    }


def _with_params(request, params: dict[str, str]):
    """A copy of the Django ``request`` as a GET carrying exactly ``params``."""
    clone = copy.copy(request)
    clone.method = "GET"
    query = QueryDict(mutable=True)
    for name, value in params.items():
        query[name] = value
    clone.GET = query
    clone.POST = QueryDict()
    return clone


def push(server, request, auth_methods: list[str]) -> JsonResponse:
    """The PAR endpoint (RFC 9126 §2): authenticate the client, validate the request as
    the authorization endpoint would, store it, answer 201 ``{"request_uri", "expires_in"}``.

    A FAPI client must send ``redirect_uri`` (FAPI 2.0 SP §5.3.2.2); a ``nonce`` longer than
    :func:`nonce_max_length` is refused here. Errors are JSON
    (RFC 9126 §2.3): ``invalid_client`` (401), ``invalid_request``,
    ``invalid_request_object``, ``invalid_dpop_proof`` / ``use_dpop_nonce`` (with
    ``DPoP-Nonce``) and the authorization endpoint's (400).
    """
    federated_id = request.POST.get("client_id") or _assertion_subject(request.POST.get("client_assertion"))
    if federated_id and federated.is_federated(federated_id):
        try:  # a trust chain resolution: limited per client address (issue 23 review)
            ratelimit.count(federated.RATE_LIMIT_GROUP, ratelimit.client_ip(request))
        except ratelimit.RateLimited as exc:
            return ratelimit.limited_response(exc.details["retry_after"])
        refused = _register_federated(federated_id, request)
        if refused is not None:
            return refused
    oauth_request = server.create_oauth2_request(request)
    try:
        client = server.authenticate_client(oauth_request, auth_methods, endpoint="par")
        params = {k: v for k, v in request.POST.dict().items() if k not in _CLIENT_AUTH_PARAMS}
        if "request_uri" in params:
            raise InvalidRequestError("'request_uri' cannot be pushed (RFC 9126 section 2.1).")
        if params.get("client_id", client.client_id) != client.client_id:
            raise InvalidRequestError("'client_id' is not the authenticated client.")
        if "request" in params:
            params = verify_request_object(client, params["request"])
        params["client_id"] = client.client_id
        if client.fapi and not params.get("redirect_uri"):
            # FAPI 2.0 SP §5.3.2.2 item 6: not Authlib's fall-back to the one registered URI.
            raise InvalidRequestError("A FAPI 2.0 pushed authorization request must carry 'redirect_uri'.")
        if len(params.get("nonce") or "") > nonce_max_length():
            # RFC 9126 §2.1: refused at the push, not after the resident approved (the code stores it).
            raise InvalidRequestError(f"The 'nonce' must be at most {nonce_max_length()} characters.")
        proof = request.headers.get("DPoP")
        if proof is not None:
            jkt = dpop.check_proof(proof, method="POST", url=dpop.endpoint_url(request.path), require_nonce=True)
            if params.setdefault("dpop_jkt", jkt) != jkt:
                raise dpop.DPoPError("'dpop_jkt' is not the DPoP proof's key (RFC 9449 section 10.1).")
        server.get_consent_grant(_with_params(request, params), end_user=None)  # raises what /authorize would
        stored = PushedAuthorizationRequest.objects.create(
            request_uri=REQUEST_URI_PREFIX + secrets.token_urlsafe(32),
            client=client,
            params=params,
            expires_at=timezone.now() + timedelta(seconds=PAR_TTL),
        )
    except OAuth2Error as error:
        error.redirect_uri = None  # RFC 9126 §2.3: errors are answered, never redirected
        return server.handle_error_response(oauth_request, error)
    response = JsonResponse({"request_uri": stored.request_uri, "expires_in": PAR_TTL}, status=201)
    response["Cache-Control"] = "no-store"
    return response


#: RFC 7523 §2.2: the client assertion type of ``private_key_jwt``.
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _assertion_subject(assertion) -> str | None:
    """The unverified ``sub`` of a client assertion (only to choose which federated client to
    register; Authlib verifies the assertion afterwards), or ``None``."""
    if not isinstance(assertion, str) or assertion.count(".") != 2:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(assertion.split(".")[1] + "=="))
    except ValueError:
        return None
    sub = payload.get("sub") if isinstance(payload, dict) else None
    return sub if isinstance(sub, str) else None


def _register_federated(client_id: str, request) -> JsonResponse | None:
    """Register the federated client ``client_id`` (:func:`.federated.register`, OpenID
    Federation 1.0 §12.1) before its pushed request is authenticated: it must authenticate with
    ``private_key_jwt``. ``None`` when registered, else the JSON error (RFC 9126 §2.3):
    ``invalid_client`` (401) with the federation's code first in ``error_description``, e.g.
    ``"invalid_trust_chain: …"``."""
    try:
        if request.POST.get("client_assertion_type") != JWT_BEARER:
            raise errors.FederatedClientAuthentication()
        federated.register(client_id, params=request.POST.dict(), endpoint="par")
    except DomainError as exc:
        from django.utils import translation

        with translation.override("en"):
            description = f"{exc.code}: {exc.message}"
        response = JsonResponse({"error": "invalid_client", "error_description": description}, status=401)
        response["Cache-Control"] = "no-store"
        return response
    return None


def resolve(request):
    """The authorization request behind ``request`` (a Django request to the authorization
    endpoint): itself, or a copy carrying a pushed or signed request's parameters.

    :raises OAuth2Error: ``request_uri_not_supported``, ``invalid_request_uri`` (unknown,
        used, expired or another client's), ``request_not_supported``,
        ``invalid_request_object``, ``invalid_request`` (a FAPI client not using PAR).
    """
    data = {**request.GET.dict(), **request.POST.dict()}
    if any("\x00" in data.get(name, "") for name in ("client_id", "request_uri")):
        raise InvalidRequestError("Invalid characters in the request.")
    client_id = data.get("client_id")
    client = active_client(client_id, data.get("nonce")) if client_id else None  # and the nonce check
    if "request_uri" in data:
        if "request" in data:
            raise InvalidRequestError("Send 'request' or 'request_uri', not both.")
        request_uri = data["request_uri"]
        if not request_uri.startswith(REQUEST_URI_PREFIX):
            raise RequestUriNotSupportedError(
                description="Only request_uri values from this server's pushed authorization request endpoint are accepted."
            )
        with transaction.atomic():
            pushed = (
                PushedAuthorizationRequest.objects.select_for_update()
                .filter(request_uri=request_uri, client=client, used_at__isnull=True, expires_at__gt=timezone.now())
                .first()
                if client
                else None
            )
            if pushed is None:
                raise InvalidRequestUriError(
                    description="The request_uri is unknown, used, expired or not this client's."
                )
            pushed.used_at = timezone.now()  # RFC 9126 §4: one time
            pushed.save(update_fields=["used_at"])
        return _with_params(request, pushed.params)
    if "request" in data:
        if client is None:
            raise RequestNotSupportedError(description="Unknown client.")
        params = verify_request_object(client, data["request"])
        params["client_id"] = client.client_id  # RFC 9101 §5: client_id stays outside the object too
        request = _with_params(request, params)
    if client is not None and client.fapi:
        raise InvalidRequestError("This service must use a pushed authorization request (FAPI 2.0, RFC 9126).")
    return request


def error_response(request, error: OAuth2Error):
    """Redirect ``error`` (with ``state`` and ``iss``) to the request's redirect URI when it
    is registered for the request's client, else ``None`` (show a page; RFC 6749 §4.1.2.1)."""
    data = {**request.GET.dict(), **request.POST.dict()}
    client_id = data.get("client_id") or ""
    if "\x00" in client_id:  # no such client, and PostgreSQL refuses NUL in a query's text
        return None
    client = Client.objects.filter(client_id=client_id, is_active=True).first()
    redirect_uri = data.get("redirect_uri") or (client.get_default_redirect_uri() if client else None)
    if client is None or not redirect_uri or not client.check_redirect_uri(redirect_uri):
        return None
    params = {"error": error.error}
    if error.description:
        params["error_description"] = str(error.description)
    if data.get("state"):
        params["state"] = data["state"]
    return add_issuer(HttpResponseRedirect(add_params_to_uri(redirect_uri, params)))
