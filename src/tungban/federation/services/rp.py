"""Hosted services as relying parties of a partner platform's OpenID provider. Part frp.

A hosted service (:class:`~tungban.federation.models.Entity`, role ``service``) logs in a
partner's resident: resolve the provider's trust chain, a signed request object and
``private_key_jwt`` with the service's protocol key (§12.1 automatic registration), PKCE, the
ID token verified with the provider's keys from the resolved metadata, the assurance level
checked against the service's ``required_acr`` (through the partner's ``acr_map``).

The protocol is Authlib's client (``authlib.integrations.requests_client.OAuth2Session`` with
``authlib.oauth2.rfc7523.PrivateKeyJWT``) and joserfc (request object, ID token); nothing of
OAuth is written here. The login's state is bound to the browser that started it: the page
keeps a random secret in a cookie of the service's path, and the database holds only keyed
digests of it and of ``state`` (:func:`digest`), so a leaked row cannot finish a login and a
``state`` replayed in another browser finds nothing.

Sources: OpenID Federation 1.0 (draft 45) §12.1 (automatic registration: ``client_id`` is the
entity identifier, the request object signed with a key of the RP's ``jwks``), §10 (trust chain
of the OpenID provider); OpenID Connect Core 1.0 §3.1.2 (authorization request), §3.1.3.7 (ID
token validation), §6.1 (request object); RFC 9101 (JAR), RFC 7636 (PKCE S256), RFC 7523
(``private_key_jwt``), RFC 9207 (``iss`` in the authorization response).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from datetime import timedelta
from urllib.parse import urlencode

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tungban.core import netguard
from tungban.oidc import stepup
from tungban.oidc.constants import ACR_BASIC, ACR_MFA, ACR_PLUS, ACR_PLUS_MFA

from .. import errors
from ..constants import ALGORITHM, OPENID_PROVIDER, Role
from ..models import Entity, Partner, RemoteLogin

#: Seconds a started login waits for the provider's callback (the resident approves in the app
#: meanwhile: the provider's own approval lasts at most 10 minutes).
LOGIN_LIFETIME = 900
#: Seconds a completed login is shown on the service's page (the service's "session").
SESSION_LIFETIME = 8 * 3600
#: Seconds a request object is valid (RFC 9101 §10.2: short; the provider accepts at most 300).
REQUEST_OBJECT_LIFETIME = 120
#: The scope a hosted service asks for: the pairwise identifier and the level only (data
#: minimisation, issue 23: "an identifier for this service only — and the assurance level").
DEFAULT_SCOPE = "openid"
#: The ID token's protocol claims (OIDC Core §2): everything else is "what crossed".
_PROTOCOL_CLAIMS = {"iss", "sub", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash", "jti"}  # fmt: skip


def digest(value: str) -> str:
    """A keyed digest of ``value`` (HMAC-SHA256 under a key derived from ``SECRET_KEY``, 64 hex
    digits): what :class:`RemoteLogin` stores of the ``state`` and of the browser's secret."""
    return salted_hmac("tungban.federation.rp", value, algorithm="sha256").hexdigest()


def new_browser_secret() -> str:
    """A fresh secret for the browser's cookie (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def callback_uri(service: Entity) -> str:
    """The service's redirect URI: the first of its declared ``redirect_uris``, else
    ``<entity id>/callback``."""
    declared = (service.metadata or {}).get("openid_relying_party", {}).get("redirect_uris") or []
    return declared[0] if declared else f"{service.entity_id}/callback"


def hosted_service(slug: str) -> Entity:
    """The active hosted service ``federation/services/<slug>``.

    :raises errors.EntityNotFound: no such service here."""
    service = Entity.objects.filter(path=f"federation/services/{slug}", role=Role.SERVICE, is_active=True).first()
    if service is None:
        raise errors.EntityNotFound()
    return service


def partner_of(provider: str) -> Partner:
    """The active :class:`Partner` whose platform entity is ``provider``.

    :raises errors.UnknownPartner: none (no agreement: nobody logs in from there)."""
    partner = Partner.objects.filter(entity_id=provider.rstrip("/"), is_active=True).first()
    if partner is None:
        raise errors.UnknownPartner()
    return partner


def _provider_metadata(provider: str) -> dict:
    """The provider's ``openid_provider`` metadata from its trust chain, resolved afresh
    (:func:`.chain.resolve`; a revoked or expired chain fails here)."""
    from . import chain

    trust = chain.resolve(provider, entity_type=OPENID_PROVIDER)
    op = (trust.metadata or {}).get(OPENID_PROVIDER) or {}
    for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks"):
        if not op.get(name):
            raise errors.InvalidMetadata(details={"parameter": name})
    return op


def _protocol_key(service: Entity):
    from . import entities

    return entities.protocol_key(service)


def _pkce_challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def acr_values_for(service: Entity, partner: Partner) -> list[str]:
    """The partner's ``acr`` values that reach ``service.required_acr`` once mapped through
    ``partner.acr_map`` (weakest first); without a map, the platform's own values."""
    required = [service.required_acr] if service.required_acr else []
    mapping = partner.acr_map or {value: value for value in (ACR_BASIC, ACR_PLUS, ACR_MFA, ACR_PLUS_MFA)}
    return [theirs for theirs, ours in mapping.items() if _satisfies(ours, required)] or list(mapping)[:1]


def _satisfies(acr: str, required: list[str]) -> bool:
    plus = acr in (ACR_PLUS, ACR_PLUS_MFA)
    mfa = acr in (ACR_MFA, ACR_PLUS_MFA)
    known = acr in (ACR_BASIC, ACR_PLUS, ACR_MFA, ACR_PLUS_MFA)
    return known and stepup.login_satisfies(plus=plus, mfa=mfa, required=required)


def start_login(service: Entity, provider: str, *, browser_secret: str, language: str) -> str:
    """Start a login at ``service`` with an identity from the partner platform ``provider``
    (its entity identifier); returns the provider's authorization URL to send the browser to.

    The provider's trust chain is resolved (``entity_type="openid_provider"``); the request is
    a signed request object (RFC 9101, ES256 with the service's protocol key, ``iss`` and
    ``client_id`` = the service's entity identifier, ``aud`` = the provider's issuer) carrying
    ``redirect_uri``, ``scope`` (:data:`DEFAULT_SCOPE`), ``state``, ``nonce``, PKCE S256,
    ``acr_values`` (:func:`acr_values_for`) and ``ui_locales`` (``language``, "en" or
    "zh-Hant"). A :class:`RemoteLogin` keeps digests of ``state`` and ``browser_secret``.

    :raises errors.UnknownPartner: ``provider`` is no partner's platform.
    :raises errors.InvalidTrustChain, errors.InvalidTrustAnchor, errors.InvalidMetadata,
        errors.FetchFailed: the provider's chain could not be verified (§10).
    """
    partner = partner_of(provider)
    op = _provider_metadata(partner.entity_id)
    key = _protocol_key(service)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    now = int(time.time())
    claims = {
        "iss": service.entity_id,
        "aud": op["issuer"],
        "client_id": service.entity_id,
        "response_type": "code",
        "redirect_uri": callback_uri(service),
        "scope": DEFAULT_SCOPE,
        "state": state,
        "nonce": nonce,
        "code_challenge": _pkce_challenge(verifier),
        "code_challenge_method": "S256",
        "acr_values": " ".join(acr_values_for(service, partner)),
        "ui_locales": "en" if language.startswith("en") else "zh-Hant",
        "iat": now,
        "exp": now + REQUEST_OBJECT_LIFETIME,
        "jti": secrets.token_urlsafe(16),
    }
    request_object = jwt.encode({"alg": ALGORITHM, "kid": key.kid, "typ": "oauth-authz-req+jwt"}, claims, key)
    RemoteLogin.objects.create(
        service=service,
        provider=partner.entity_id,
        state_hash=digest(state),
        nonce=nonce,
        code_verifier=verifier,
        browser_hash=digest(browser_secret),
    )
    query = urlencode(
        {"client_id": service.entity_id, "response_type": "code", "scope": DEFAULT_SCOPE, "request": request_object}
    )
    separator = "&" if "?" in op["authorization_endpoint"] else "?"
    return f"{op['authorization_endpoint']}{separator}{query}"


def _pending(service: Entity, state: str, browser_secret: str) -> RemoteLogin:
    """The login ``state`` names, started by this browser, not yet finished, not expired; it is
    claimed (marked finished) in the same statement, so a callback is used once.

    :raises errors.LoginUnknown: none."""
    if not state or not browser_secret:
        raise errors.LoginUnknown()
    login = RemoteLogin.objects.filter(
        service=service,
        state_hash=digest(state),
        completed_at__isnull=True,
        error="",
        created_at__gt=timezone.now() - timedelta(seconds=LOGIN_LIFETIME),
    ).first()
    if login is None or not hmac.compare_digest(login.browser_hash, digest(browser_secret)):
        raise errors.LoginUnknown()
    claimed = RemoteLogin.objects.filter(pk=login.pk, completed_at__isnull=True, error="").update(error="in_progress")
    if not claimed:
        raise errors.LoginUnknown()
    return login


def _fail(login: RemoteLogin, exc: errors.DomainError):
    RemoteLogin.objects.filter(pk=login.pk).update(error=exc.code[:60], completed_at=timezone.now())
    raise exc


def decline_login(service: Entity, *, state: str, browser_secret: str, error: str, iss: str | None = None) -> None:
    """The provider sent the browser back with an ``error`` (OIDC Core §3.1.2.6), e.g.
    ``access_denied`` when the resident declined in the app: the login ends, recorded.

    :raises errors.LoginUnknown: no such login started in this browser.
    :raises errors.LoginDeclined: ``access_denied``; :raises errors.LoginRefused: another error."""
    login = _pending(service, state, browser_secret)
    if error == "access_denied":
        _fail(login, errors.LoginDeclined())
    _fail(login, errors.LoginRefused(why=str(error)[:60]))


def finish_login(service: Entity, *, state: str, code: str, browser_secret: str, iss: str | None = None) -> RemoteLogin:
    """Finish the login ``state`` names with the authorization ``code``; returns the completed
    :class:`RemoteLogin` (``subject``: the provider's pairwise identifier for this service;
    ``acr``: the level in this platform's terms; ``claims``: JSON of anything else that crossed).

    Checks, in order: the login was started by this browser (``browser_secret``) and is unused
    (:class:`errors.LoginUnknown`); the provider's chain still verifies; RFC 9207 ``iss`` equals
    the provider's issuer (required when the provider advertises
    ``authorization_response_iss_parameter_supported``; :class:`errors.IssuerMismatch`); the code
    is exchanged at the token endpoint with ``private_key_jwt`` and the PKCE verifier
    (:class:`errors.LoginRefused` if refused); the ID token is an ES256 JWT signed with a key of the
    provider's resolved ``jwks`` with ``iss``, ``aud`` (the service), ``exp``, ``sub`` and
    ``nonce`` right (OIDC Core §3.1.3.7; :class:`errors.InvalidIdToken`); its ``acr``, mapped
    through the partner's ``acr_map``, reaches ``service.required_acr``
    (:class:`errors.AssuranceTooLow`). A failed login is recorded with its error code and cannot
    be retried with the same ``state``.
    """
    login = _pending(service, state, browser_secret)
    try:
        partner = partner_of(login.provider)
        op = _provider_metadata(partner.entity_id)
    except errors.DomainError as exc:
        _fail(login, exc)
    if (iss is not None or op.get("authorization_response_iss_parameter_supported")) and iss != op["issuer"]:
        _fail(login, errors.IssuerMismatch())
    try:
        token = _exchange(service, op, code=code, verifier=login.code_verifier)
    except errors.DomainError as exc:
        _fail(login, exc)
    try:
        claims = _verify_id_token(token.get("id_token") or "", op, service=service, nonce=login.nonce)
    except errors.DomainError as exc:
        _fail(login, exc)
    theirs = claims.get("acr") or ""
    ours = (partner.acr_map or {}).get(theirs, theirs) if partner.acr_map else theirs
    required = [service.required_acr] if service.required_acr else []
    if required and not _satisfies(ours, required):
        _fail(login, errors.AssuranceTooLow())
    extra = {k: v for k, v in claims.items() if k not in _PROTOCOL_CLAIMS}
    with transaction.atomic():
        RemoteLogin.objects.filter(pk=login.pk).update(
            completed_at=timezone.now(), subject=claims["sub"], acr=ours, error=""
        )
        login.refresh_from_db()
        login.claims = json.dumps(extra, ensure_ascii=False, sort_keys=True)
        login.save(update_fields=["claims"])
    return login


def _exchange(service: Entity, op: dict, *, code: str, verifier: str) -> dict:
    """The token response for ``code`` (RFC 6749 §4.1.3) through Authlib's client, the client
    authenticated with ``private_key_jwt`` (RFC 7523; ``aud`` = the token endpoint).

    :raises errors.LoginRefused: the provider refused (or answered with a redirect: never followed).
    :raises errors.FetchFailed: unreachable, a private address unless
        ``TUNGBAN_FEDERATION_ALLOW_PRIVATE``, an answer too large or too slow
        (:func:`tungban.core.netguard.guard`)."""
    from . import chain

    key = _protocol_key(service)
    token_endpoint = op["token_endpoint"]
    timeout = float(getattr(settings, "TUNGBAN_FEDERATION_FETCH_TIMEOUT", 5))
    # The token endpoint comes from the partner's metadata: the same guard as the chain's
    # fetches (private addresses unless TUNGBAN_FEDERATION_ALLOW_PRIVATE, the connection pinned
    # to the checked address, no redirects, a bounded answer within 2 × the timeout).
    session = netguard.guard(
        OAuth2Session(
            service.entity_id,
            key,
            token_endpoint_auth_method=PrivateKeyJWT(token_endpoint, alg=ALGORITHM, headers={"kid": key.kid}),
            redirect_uri=callback_uri(service),
        ),
        allow_private=bool(getattr(settings, "TUNGBAN_FEDERATION_ALLOW_PRIVATE", False)),
        max_bytes=chain.MAX_RESPONSE_BYTES,
        deadline=timeout * 2,
    )
    try:
        with session:
            return session.fetch_token(
                token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=verifier,
                timeout=timeout,
            )
    except AuthlibBaseError as exc:
        raise errors.LoginRefused(why=str(getattr(exc, "error", "") or "token_error")[:60]) from None
    except netguard.RedirectRefused:
        raise errors.LoginRefused(why="redirect") from None
    except requests.RequestException:
        raise errors.FetchFailed() from None
    except ValueError:  # not JSON
        raise errors.LoginRefused(why="token_error") from None


def _verify_id_token(id_token: str, op: dict, *, service: Entity, nonce: str) -> dict:
    """The ID token's claims, verified (OIDC Core §3.1.3.7) with joserfc.

    :raises errors.InvalidIdToken: any check fails."""
    try:
        keys = KeySet.import_key_set(op["jwks"])
        token = jwt.decode(id_token, keys, algorithms=[ALGORITHM])
        jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": op["issuer"]},
            aud={"essential": True, "value": service.entity_id},
            exp={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(token.claims)
    except (JoseError, ValueError, TypeError, KeyError):
        raise errors.InvalidIdToken() from None
    claims = token.claims
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != service.entity_id:
        raise errors.InvalidIdToken()  # §3.1.3.7 items 4-5: another audience needs azp = us
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise errors.InvalidIdToken()
    return claims


def current_login(service: Entity, browser_secret: str | None) -> RemoteLogin | None:
    """The latest completed login at ``service`` in this browser within
    :data:`SESSION_LIFETIME`, or ``None``."""
    if not browser_secret:
        return None
    return (
        RemoteLogin.objects.filter(
            service=service,
            browser_hash=digest(browser_secret),
            completed_at__gt=timezone.now() - timedelta(seconds=SESSION_LIFETIME),
            error="",
        )
        .exclude(subject="")
        .order_by("-completed_at")
        .first()
    )


def received_claims(login: RemoteLogin) -> dict:
    """What crossed besides the identifier and the level (decoded ``claims``)."""
    try:
        return json.loads(login.claims or "{}")
    except ValueError:
        return {}


def purge_abandoned_logins(now) -> dict[str, int]:
    """Delete logins started more than :data:`LOGIN_LIFETIME` seconds before ``now`` and never
    finished (their ``nonce`` and PKCE verifier; the callback can no longer use them). Finished
    and refused logins stay (the record of who logged in, or why not). Registered with
    :mod:`tungban.core.retention`; returns ``{model label: rows deleted}``."""
    cutoff = now - timedelta(seconds=LOGIN_LIFETIME)
    deleted, _ = RemoteLogin.objects.filter(completed_at__isnull=True, created_at__lt=cutoff).delete()
    return {RemoteLogin._meta.label: deleted}
