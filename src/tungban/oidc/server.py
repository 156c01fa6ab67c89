"""The OpenID Connect provider, built on Authlib (RFC 6749, RFC 7636, RFC 7009,
OpenID Connect Core 1.0, OpenID Connect RP-Initiated Logout 1.0).

Authlib handles the protocol; this module supplies storage and the platform's rules:

* authorization code flow only, PKCE required with ``S256`` (RFC 7636 §4.2; FAPI 2.0);
* codes are single use — a second redemption is refused *and* revokes every token issued
  from the code (RFC 6749 §4.1.2);
* refresh tokens only with ``offline_access`` (OIDC Core §11), rotated on every use with
  reuse detection (RFC 9700 §4.14.2);
* ID tokens are ES256-signed with the active database key, ``sub`` is pairwise per sector
  (OIDC Core §8.1), ``acr`` tells tungban (basic) from tungban+ (plus).
"""

from __future__ import annotations

import secrets
import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, timedelta
from urllib.parse import urlsplit

from authlib.integrations.django_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnsupportedResponseTypeError,
)
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from authlib.oidc.core.grants.util import create_half_hash, is_openid_scope
from authlib.oidc.rpinitiated import EndSessionEndpoint
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tungban.core import rawsql
from tungban.core.errors import DomainError
from tungban.keys import services as keys
from tungban.wallet import services as wallet

from . import dpop, federated, par, rows, services, validators
from . import scopes as scope_registry
from .constants import CLIENT_ASSERTION_SIGNING_ALGS, LOGIN_KIND, OFFLINE_ACCESS_SCOPE
from .memo import active_client, memoized, nonce_key, request_memo
from .models import AuthorizationCode, Client, ClientToken, Token, UsedClientAssertion, release_copies

ID_TOKEN_LIFETIME = 600


@dataclass
class Subject:
    """The ``user`` Authlib passes around: the resident and what the app approved."""

    resident: object
    approval: object = None
    session: object = None
    code: AuthorizationCode | None = None
    #: The resident's pairwise ``sub`` at the client when already read with the grant (issue 15: saves a query).
    sub: str | None = None
    #: ``(sql, params)`` of the approval's completion (:func:`tungban.wallet.services.completion_guard`),
    #: written in the statement of the login session and its code (issue 15, third round).
    completes: tuple | None = None


class S256Required(CodeChallenge):
    """PKCE is mandatory for every client and only ``S256`` is accepted."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send 'code_challenge' with 'code_challenge_method=S256'.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only 'code_challenge_method=S256' is supported.")
        return super().validate_code_challenge(grant, redirect_uri)


CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none", "private_key_jwt"]
ASSERTION_LIFETIME_MAX = 3600  # seconds: a client assertion valid longer is refused (its jti is kept that long)
#: Client assertion algorithms; FAPI clients only the FAPI 2.0 §5.4.1 ones.
ASSERTION_ALGORITHMS = CLIENT_ASSERTION_SIGNING_ALGS
FAPI_ALGORITHMS = ["ES256", "PS256"]
#: FAPI 2.0 §5.3.2.1 item 11: authorization codes of FAPI clients live at most 60 seconds.
FAPI_CODE_TTL = 60


_assertion_request: ContextVar = ContextVar("tungban_assertion_request")


class PrivateKeyJWT(JWTBearerClientAssertion):
    """``private_key_jwt`` client authentication (RFC 7523 §2.2 and §3; OIDC Core §9):
    a JWT signed with a key from the client's registered JWKS, ``iss`` = ``sub`` =
    client_id, ``aud`` as :func:`check_assertion_audience` says, a short ``exp`` and a
    ``jti`` used once. Authlib checks the signature and claims; this class supplies the
    keys, the audience rule and the single-use store (shared by every worker: the database)."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __call__(self, query_client, request):
        # Authlib sets request.client (found by the assertion's sub) before
        # process_assertion_claims, which gets no request: remember it for this call.
        reset = _assertion_request.set(request)
        try:
            return super().__call__(query_client, request)
        finally:
            _assertion_request.reset(reset)

    def get_audiences(self):
        # Authlib's own check (any one of these, also inside an array); the stricter rule,
        # per client, is check_assertion_audience, applied first.
        return assertion_audiences(fapi=False)

    def process_assertion_claims(self, assertion, resolve_key):
        # PS256 as well as joserfc's recommended ES256/RS256; FAPI clients: PS256/ES256 only.
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except JoseError as exc:
            raise InvalidClientError(description=exc.description) from exc
        client = getattr(_assertion_request.get(None), "client", None)  # the client named by sub (Authlib)
        if client is None or client.client_id != token.claims.get("sub"):
            client = Client.objects.filter(client_id=str(token.claims.get("sub"))).first()
        fapi = bool(client and client.fapi)
        if fapi and token.header["alg"] not in FAPI_ALGORITHMS:
            raise InvalidClientError(
                description=f"FAPI 2.0 clients sign assertions with {' or '.join(FAPI_ALGORITHMS)}."
            )
        check_assertion_audience(token.claims.get("aud"), fapi=fapi)
        self.verify_claims(token.claims)
        return token.claims

    def resolve_client_public_key(self, client):
        return KeySet.import_key_set(client.jwks)

    def verify_claims(self, claims):
        super().verify_claims(claims)  # checks jti last, so only valid assertions are stored
        if int(claims["exp"]) - int(claims.get("iat", time.time())) > ASSERTION_LIFETIME_MAX:
            raise InvalidClientError(description=f"The assertion must expire within {ASSERTION_LIFETIME_MAX} seconds.")

    def validate_jti(self, claims, jti):
        try:
            with transaction.atomic():
                UsedClientAssertion.objects.create(
                    jti=f"{claims['sub']}:{jti}"[:200],
                    expires_at=timezone.datetime.fromtimestamp(int(claims["exp"]) + self.leeway, tz=UTC),
                )
        except IntegrityError:
            return False
        return True


def assertion_audiences(*, fapi: bool) -> list[str]:
    """The ``aud`` values a client assertion may carry: a FAPI client's only the issuer
    identifier; another client's also, for compatibility (RFC 7523 §3, OIDC Core §9,
    RFC 9126 §2), the token and PAR endpoints' URLs and the issuer with a trailing slash."""
    iss = settings.TUNGBAN_ISSUER
    return [iss] if fapi else [iss, f"{iss}/", f"{iss}/oidc/token", f"{iss}/oidc/par"]


def check_assertion_audience(aud, *, fapi: bool) -> None:
    """Check a client assertion's ``aud`` claim (the audience-injection defence).

    * FAPI clients: exactly the issuer identifier, as a JSON string — FAPI 2.0 Security
      Profile (final) §5.3.2.1 item 8: the authorization server "shall only accept its
      issuer identifier value (as defined in [RFC8414]) as a string in the ``aud`` claim
      received in client authentication assertions"; likewise draft-ietf-oauth-rfc7523bis
      §4 (the issuer as the sole audience value, a string, not an array).
    * Other clients: a string or an array, but every value one of
      :func:`assertion_audiences` — an array naming anyone else (which joserfc accepts when
      one member matches) is refused.

    :raises InvalidClientError: ``invalid_client`` (RFC 6749 §5.2).
    """
    allowed = assertion_audiences(fapi=fapi)
    if fapi:
        if not isinstance(aud, str) or aud != allowed[0]:
            raise InvalidClientError(
                description="A FAPI 2.0 client assertion's 'aud' must be the issuer identifier, as a string."
            )
        return
    values = aud if isinstance(aud, list) else [aud]
    if not values or any(not isinstance(v, str) or v not in allowed for v in values):
        raise InvalidClientError(description="The assertion's 'aud' must name this server only: use the issuer.")


def bind_dpop(grant) -> str:
    """Check the token request's ``DPoP`` proof (RFC 9449 §5; a server nonce required) and
    remember its key's thumbprint on the request for :meth:`Server.save_token`; ``""``
    without a proof. FAPI clients must send one (FAPI 2.0 §5.3.2.1: sender-constrained
    tokens).

    :raises DPoPError: ``invalid_dpop_proof``, ``use_dpop_nonce``.
    """
    request = grant.request
    proof = request.headers.get("DPoP")
    if proof is None:
        if request.client.fapi:
            raise dpop.DPoPError("FAPI 2.0 clients must send a DPoP proof: tokens are sender-constrained.")
        request.dpop_jkt = ""
    else:
        request.dpop_jkt = dpop.check_proof(
            proof, method=request.method, url=dpop.endpoint_url(urlsplit(request.uri).path), require_nonce=True
        )
    return request.dpop_jkt


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    @staticmethod
    def validate_authorization_redirect_uri(request, client):
        # Authlib's check, without echoing the URI: an error description must be ASCII
        # without '"' or '\\' (RFC 6749 §4.1.2.1), and Authlib raised a ValueError (a 500)
        # building one from such a URI (issue 13 item 11).
        if request.payload.redirect_uri and not client.check_redirect_uri(request.payload.redirect_uri):
            raise InvalidRequestError("The 'redirect_uri' is not registered for this client.")
        return grants.AuthorizationCodeGrant.validate_authorization_redirect_uri(request, client)

    def validate_authorization_request(self):
        """Authlib's validation of the authorization request (RFC 6749 §4.1.1: client,
        redirect URI, response type, scope; the PKCE and nonce hooks), once per grant.

        ``AuthorizationServer.create_authorization_response(request, grant=grant)`` validates
        again a grant that ``get_consent_grant`` already validated; Authlib's
        ``validate_consent_request`` keeps the validated redirect URI on the grant (``None``
        until then, never ``None`` after: a missing one is refused), and the grant's request
        is the same object, unchanged: its answer is that redirect URI (issue 15: the browser's
        completion validated every parameter twice)."""
        if self.redirect_uri is not None:
            return self.redirect_uri
        return super().validate_authorization_request()

    def validate_token_request(self):
        super().validate_token_request()
        code = self.request.authorization_code
        if bind_dpop(self) != code.dpop_jkt and code.dpop_jkt:
            # RFC 9449 §10: a code pushed with a DPoP key is redeemed with the same key.
            raise InvalidGrantError("The DPoP key is not the one the authorization request was bound to.")

    def generate_authorization_code(self):
        """The code (RFC 6749 §10.10: not guessable): 256 random bits, 43 base64url characters
        (:func:`_random_token`). Authlib's own draws 48 characters, one call to the OS's
        random source each (issue 15: a tenth of the browser's completion)."""
        return _random_token()

    def save_authorization_code(self, code, request):
        subject: Subject = request.user
        approval = subject.approval
        data = request.payload.data
        session = subject.session
        unsaved = session is not None and session._state.adding  # services.start_login_session(deferred=True)
        row = AuthorizationCode(
            code=code,
            client=request.client,
            resident=subject.resident,
            approval=approval,
            session=None if unsaved else session,
            redirect_uri=request.payload.redirect_uri or "",
            scope=request.scope,
            claims=list(approval.approved_claims) if approval else [],
            nonce=data.get("nonce", ""),
            auth_time=int(approval.decided_at.timestamp()) if approval else int(time.time()),
            acr=services.acr_for_login(approval) if approval else services.acr_for(subject.resident),
            amr=services.amr_for(approval),
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            dpop_jkt=str(data.get("dpop_jkt") or "")[:64],
        )
        if unsaved:  # the login session and its code: one statement on PostgreSQL (issue 15)
            saved = rawsql.insert_linked(session, row, "session", guard=subject.completes)
            if saved is None:  # the approval was completed meanwhile (or its grace ran out): nothing written
                raise wallet.completion_refused(approval.pk, expected_kind=approval.kind)
            return saved
        return rawsql.insert(row)  # one INSERT without the ORM's compiler (issue 15)

    def query_authorization_code(self, code, client):
        if not isinstance(code, str) or "\x00" in code:
            return None  # PostgreSQL refuses NUL in a query's text (a 500, not invalid_grant)
        item, self.request.pairwise_sub, kid = rows.authorization_code(code, client.pk, client.sector)
        if item is None:
            return None
        keys.use_kid(kid)  # the ID token's key, read with the code (Server.create_token_response)
        item.client = client
        if item.used_at is not None:
            # RFC 6749 §4.1.2: a second use is refused and revokes what the first one got.
            services.revoke_tokens_from_code(item)
            return None
        ttl = min(settings.TUNGBAN_CODE_TTL, FAPI_CODE_TTL) if item.client.fapi else settings.TUNGBAN_CODE_TTL
        if time.time() > item.created_at.timestamp() + ttl:
            return None
        return item

    def create_token_response(self):
        """Redeem the code only now, after Authlib checked ``redirect_uri`` and the PKCE
        verifier, so a stolen code without its verifier cannot burn it. The row lock makes
        two concurrent redemptions serial: the second sees the code used, revokes the
        first one's tokens and is refused.

        On PostgreSQL the code is marked used and the token stored by one statement in
        :meth:`Server.save_token` (:func:`.rows.redeem_code`; issue 15), after everything
        that can fail (the ID token is signed before it); elsewhere the mark and the token
        are written in one transaction."""
        code = self.request.authorization_code
        if rows.redeems_in_one_statement():
            try:
                return super().create_token_response()
            except _CodeAlreadyUsed:
                pass
        else:
            with transaction.atomic():
                if rows.mark_code_used(code.pk, timezone.now()):
                    return super().create_token_response()
        services.revoke_tokens_from_code(code)
        raise InvalidGrantError("Invalid 'code' in request.")

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True):
        # A refresh token only for a login that asked for and was granted offline_access (OIDC
        # Core §11); never for anonymous form filling (no openid), which is one-off by nature.
        scopes = scope_to_list(scope or "")
        include_refresh_token = include_refresh_token and OFFLINE_ACCESS_SCOPE in scopes and "openid" in scopes
        return super().generate_token(
            user=user,
            scope=scope,
            grant_type=grant_type,
            expires_in=expires_in,
            include_refresh_token=include_refresh_token,
        )

    def delete_authorization_code(self, authorization_code):
        # Marked used in create_token_response and kept, so that reuse is detected.
        pass

    def authenticate_user(self, authorization_code):
        if not authorization_code.resident.is_active:
            return None
        return Subject(
            resident=authorization_code.resident,
            session=authorization_code.session,
            code=authorization_code,
            sub=getattr(self.request, "pairwise_sub", None),
        )


def id_token(client: Client, subject: Subject, code: AuthorizationCode, access_token: str, *, with_nonce: bool) -> str:
    """ES256 ID token (OIDC Core §2) with pairwise ``sub``, ``acr``, ``amr``,
    ``auth_time``, ``sid``, ``at_hash`` (§3.1.3.6) and, at the code exchange, ``nonce``;
    for a federated client (:mod:`.federated`, issue 23) without ``amr``, ``auth_time`` and
    ``sid`` (:data:`.federated.WITHHELD_ID_TOKEN_CLAIMS`: not in the cross-boundary consent).
    No e-ME data: that is released through the userinfo endpoint only. After a refresh
    (§12.2) ``auth_time``, ``acr`` and ``amr`` stay those of the original login.
    Claims a scope resolves per login (:func:`.services.login_claims`, e.g. ``authority``)
    are in it too, judged at issuance.

    :raises InvalidGrantError: such a claim can no longer be released (e.g. the mandate was
        revoked between the approval and the token request)."""
    now = int(time.time())
    claims = {
        "iss": settings.TUNGBAN_ISSUER,
        "sub": subject.sub or services.pairwise_sub(subject.resident, client),
        "aud": client.client_id,
        "iat": now,
        "exp": now + ID_TOKEN_LIFETIME,
        "auth_time": code.auth_time,
        "acr": code.acr,
        "amr": code.amr,
    }
    if with_nonce and code.nonce:
        claims["nonce"] = code.nonce
    if code.session_id:
        claims["sid"] = code.session.sid
    if federated.is_federated(client.client_id):
        # A federation's client (issue 23): across the boundary goes exactly what the consent
        # names and the release records (_crossing: sub, acr), besides what OIDC Core §2 requires.
        for name in federated.WITHHELD_ID_TOKEN_CLAIMS:
            claims.pop(name, None)
    resolved = scope_registry.resolved_claims(getattr(code, "claims", None) or ())
    if resolved:
        # Claims of the login itself (e.g. CorpID's authority: the company chosen in the app),
        # judged again now; a login without them reads nothing more.
        try:
            claims.update(services.login_claims(resolved, subject.resident, client, code.approval))
        except DomainError as exc:
            raise InvalidGrantError(exc.message) from None
    claims["at_hash"] = create_half_hash(access_token, "ES256").decode()
    return keys.sign_jwt(claims, "JWT")


class TungbanOpenIDCode(OpenIDCode):
    def exists_nonce(self, nonce, request):
        # OIDC Core §15.5.2. Usually answered with the client's read (memo.active_client).
        client_id = request.payload.client_id
        return memoized(nonce_key(client_id, nonce), lambda: rows.nonce_used(client_id, nonce))

    def generate_user_info(self, user, scope):  # pragma: no cover - encode_id_token is overridden
        raise NotImplementedError

    def encode_id_token(self, token, request):
        return id_token(
            request.client, request.user, request.authorization_code, token["access_token"], with_nonce=True
        )

    def process_token(self, grant, response):
        _, token, _ = response
        if "id_token" not in token and token.get("scope") and is_openid_scope(token["scope"]):
            token["id_token"] = self.encode_id_token(token, grant.request)  # not signed in Server.save_token
        return token


class RefreshGrant(grants.RefreshTokenGrant):
    """RFC 6749 §6 refresh, for confidential clients granted ``offline_access``.

    Every refresh rotates the refresh token (RFC 9700 §4.14.2): the old row is revoked and
    a new one carries the same resident, login session, approved claims and absolute
    expiry. A rotated (or revoked) refresh token presented again revokes the whole grant.
    The row lock makes two concurrent refreshes with one token serial: the second is
    refused and revokes the grant. An ID token comes back when ``openid`` is in scope
    (OIDC Core §12.2), without ``nonce``.

    A DPoP-bound refresh token (RFC 9449 §5) is refreshed only with a proof of its key.

    Every client may retry a refresh whose answer it did not get (FAPI 2.0 §5.3.2.1 item 5,
    issue 14 item 6): within ``TUNGBAN_REFRESH_GRACE`` seconds (default 30) of the rotation,
    while the token it was rotated to is unused, presenting it again revokes that successor
    (the pair never received) and issues an equivalent new pair. Tokens are stored only as
    digests, so the same pair cannot be sent again. After the grace period, or once the
    successor was itself refreshed, the old token is a replay and revokes the grant
    (RFC 9700 §4.14.2). The retry must come from the same client (RFC 6749 §6).
    """

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        client = self.request.client
        token, self.request.pairwise_sub, kid = rows.refresh_token(
            services.refresh_token_digest(refresh_token), client.sector
        )
        if token is None:
            return None
        keys.use_kid(kid)  # the ID token's key, read with the token (Server.create_token_response)
        if token.client_id == client.pk:
            token.client = client
        if token.revoked_at is not None:
            if token.check_client(self.request.client) and self._retry_in_grace(token):
                return None if token.is_refresh_expired() else token
            services.revoke_grant(token)
            return None
        return None if token.is_refresh_expired() else token

    @staticmethod
    def _retry_in_grace(token: Token) -> bool:
        """Whether ``token`` (revoked) is a refresh token rotated less than
        ``TUNGBAN_REFRESH_GRACE`` seconds ago whose successor is still unused (FAPI 2.0
        §5.3.2.1 item 5, issue 14 item 6)."""
        if token.rotated_at is None:
            return False
        if timezone.now() - token.rotated_at > timedelta(seconds=settings.TUNGBAN_REFRESH_GRACE):
            return False
        successors = Token.objects.filter(rotated_from=token)
        # A live successor nobody used yet; a revoked grant (logout, revocation) stays revoked.
        return (
            successors.filter(revoked_at__isnull=True).exists()
            and not successors.filter(rotated_at__isnull=False).exists()
        )

    def validate_token_request(self):
        super().validate_token_request()
        bound = self.request.refresh_token.dpop_jkt
        if bind_dpop(self) != bound and bound:
            raise InvalidGrantError(
                "This refresh token is bound to a DPoP key: prove possession of it (RFC 9449 section 5)."
            )

    def authenticate_user(self, refresh_token):
        resident = refresh_token.resident
        if resident is None or not resident.is_active:
            return None
        return Subject(
            resident=resident,
            session=refresh_token.session,
            code=refresh_token.authorization_code,
            sub=getattr(self.request, "pairwise_sub", None),
        )

    def _granted_scope(self, token: Token) -> str:
        """The scope the resident approved at login: a refresh may narrow the access token's
        scope, never the grant's (RFC 6749 §6), so a later refresh can ask for all of it again."""
        return token.authorization_code.scope if token.authorization_code_id else token.get_scope()

    def _validate_token_scope(self, token):
        asked = set(scope_to_list(self.request.payload.scope or ""))
        if asked and not set(scope_to_list(self._granted_scope(token))).issuperset(asked):
            raise InvalidScopeError()

    def issue_token(self, user, refresh_token):
        scope = self.request.payload.scope or self._granted_scope(refresh_token)
        return self.generate_token(user=user, scope=scope, include_refresh_token=True)

    def create_token_response(self):
        """Rotate and answer. On PostgreSQL a live token is rotated and its successor stored
        by one statement in :meth:`Server.save_token` (:func:`.rows.rotate_and_insert`, the
        ID token signed before it; issue 15); a token found no longer live there, and every
        rotation elsewhere, takes the path below in one transaction."""
        old: Token = self.request.refresh_token
        if self.authenticate_user(old) is None:
            raise InvalidGrantError("The account is suspended.")
        if rows.redeems_in_one_statement():
            self.request.rotate_in_save = True
            try:
                return super().create_token_response()
            except _NotLive:
                self.request.rotate_in_save = False
        with transaction.atomic():
            # Lock order (as services.revoke_grant and end_login_session): the grant's code, its
            # login session, the token. Revoking the grant or ending the session waits for this
            # rotation and then sees the new token; a rotation that comes second sees them done.
            services.lock_grant(old)
            # Revoke and mark rotated, if live, in one UPDATE that holds the row's lock: a
            # concurrent refresh with the same token may have rotated it since it was
            # authenticated (then this one is a retry, judged as one on the row read again).
            live = rows.rotate(old.pk, timezone.now())
            if not live:
                locked = Token.objects.select_for_update().only("revoked_at", "rotated_at").get(pk=old.pk)
            if live or self._retry_in_grace(locked):
                if not live:
                    # A retry in the grace period: the successor the client never received goes.
                    Token.objects.filter(rotated_from=old, revoked_at__isnull=True).update(revoked_at=timezone.now())
                status, token, headers = super().create_token_response()
                if is_openid_scope(token.get("scope") or ""):
                    token["id_token"] = id_token(
                        old.client, self.request.user, old.authorization_code, token["access_token"], with_nonce=False
                    )
                return status, token, headers
        services.revoke_grant(old)
        raise InvalidGrantError("Invalid 'refresh_token' in request.")

    def revoke_old_credential(self, refresh_token):
        # Done in create_token_response (rows.rotate), before the new token, in the same
        # transaction; a retry in the grace period finds the old token revoked and rotated.
        pass


class TungbanRevocation(RevocationEndpoint):
    """RFC 7009 token revocation: a refresh token revokes its whole grant (§2.1); an access
    token revokes its row, which also ends the refresh token issued with it (both live in
    one row). The hint only orders the lookups: the other kind is tried too (§2.1)."""

    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        def by_access():
            digest = services.access_token_digest(token_string)
            return (
                Token.objects.filter(access_token=digest).first()
                or ClientToken.objects.filter(access_token=digest).first()  # a client's own (models.ClientToken)
            )

        by_refresh = lambda: Token.objects.filter(refresh_token=services.refresh_token_digest(token_string)).first()  # noqa: E731
        order = (by_refresh, by_access) if token_type_hint == "refresh_token" else (by_access, by_refresh)
        for lookup in order:
            found = lookup()
            if found is not None:
                found.revoke_whole_grant = lookup is by_refresh
                return found
        return None

    def revoke_token(self, token, request):
        if getattr(token, "revoke_whole_grant", False):
            services.revoke_grant(token)
        else:
            token.revoke()


class TungbanEndSession(EndSessionEndpoint):
    """OpenID Connect RP-Initiated Logout 1.0: ends the login session, revokes its tokens."""

    def get_server_jwks(self):
        return keys.public_jwks()

    def get_algorithms(self):
        return ["ES256"]

    def end_session(self, end_session_request):
        claims = end_session_request.id_token_claims or {}
        services.end_login_session(claims.get("sid"))


class ClientCredentials(grants.ClientCredentialsGrant):
    """RFC 6749 §4.4: a service's own token, e.g. for anonymous signing (scope ``signing``)
    as a data user of the exchange gateway (scope ``cdeg``) or a credential issuer's system
    (scope ``credentials``); those two need ``private_key_jwt``: no shared secrets between
    organisations."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

    def validate_token_request(self):
        super().validate_token_request()
        bind_dpop(self)
        asked = scope_registry.key_only().intersection((self.request.payload.scope or "").split())
        if asked and self.request.auth_method != "private_key_jwt":
            raise InvalidScopeError(
                f"The '{sorted(asked)[0]}' scope needs private_key_jwt client authentication (RFC 7523)."
            )


class _NotLive(Exception):
    """Raised by :meth:`Server.save_token` when :func:`.rows.rotate_and_insert` found the
    refresh token no longer live: :meth:`RefreshGrant.create_token_response` judges it."""


class _CodeAlreadyUsed(Exception):
    """Raised by :meth:`Server.save_token` when :func:`.rows.redeem_code` found the code used
    (a concurrent redemption won): :meth:`CodeGrant.create_token_response` refuses it."""


class _UnsupportedResponseType(UnsupportedResponseTypeError):
    def get_error_description(self):
        return self.description  # not Authlib's "response_type=<the value> is not supported"


class Server(AuthorizationServer):
    def query_client(self, client_id):
        if not isinstance(client_id, str) or "\x00" in client_id:
            return None  # no such client; PostgreSQL refuses NUL in a query's text (a 500, not invalid_client)
        return active_client(client_id)

    def get_authorization_grant(self, request):
        """Authlib's choice of grant. A ``response_type`` no grant handles is
        ``unsupported_response_type`` as in Authlib, but the description does not echo it:
        it must be ASCII without '"' or '\\' (RFC 6749 §4.1.2.1), and Authlib raised a
        ValueError (a 500) building one from such a value (issue 13 item 11)."""
        if validators.error_safe(request.payload.response_type or ""):
            return super().get_authorization_grant(request)
        # As Authlib: redirect with the error only to a registered redirect URI (RFC 6749 §4.1.2.1).
        client = self.query_client(request.payload.client_id) if request.payload.client_id else None
        redirect_uri = None
        if client is not None:
            asked = request.payload.redirect_uri
            redirect_uri = (
                (asked if client.check_redirect_uri(asked) else None) if asked else client.get_default_redirect_uri()
            )
        raise _UnsupportedResponseType("", "The response type is not supported; use 'code'.", redirect_uri=redirect_uri)

    def authenticate_client(self, request, methods, endpoint="token"):
        """Authlib's client authentication (RFC 6749 §2.3), with the platform's refusals
        (issue 13 items 11 and 17): Basic credentials that are not base64 of UTF-8
        ``client_id:client_secret`` (§2.3.1) are ``invalid_client``, not a 500, and a failure
        says what went wrong in words, not as a Python list of methods.

        :raises InvalidClientError: 401 with ``WWW-Authenticate: Basic`` when the client sent
            ``Authorization: Basic`` (RFC 6749 §5.2), else 400.
        """
        basic = validators.basic_credentials_used(request.headers.get("Authorization"))
        if basic is False:
            raise validators.client_auth_error(used_basic=True, malformed=True)
        try:
            return super().authenticate_client(request, methods, endpoint)
        except InvalidClientError as error:
            raise validators.client_auth_error(used_basic=bool(basic), description=error.description) from None

    def create_token_response(self, request=None):
        """Authlib's token endpoint, after the platform's check of the request's form
        (:func:`.validators.check_token_request`: ``invalid_request``, RFC 6749 §5.2).

        Per request, never longer: the client is read once however many authentication
        methods Authlib tries (:func:`.memo.request_memo`), and the ID token is signed with
        the key whose ``kid`` was read with the code or refresh token
        (:func:`tungban.keys.services.one_key`, :func:`~tungban.keys.services.use_kid`;
        issue 15: no read of its own)."""
        try:
            validators.check_token_request(request.content_type, request.POST)
        except OAuth2Error as error:
            return self.handle_error_response(self.create_oauth2_request(request), error)
        with request_memo(), keys.one_key():
            return super().create_token_response(request)

    def save_token(self, token, request):
        jkt = getattr(request, "dpop_jkt", "")
        if jkt:
            token["token_type"] = "DPoP"  # RFC 9449 §5.1
        if request.payload.grant_type == "client_credentials" and not jkt:
            # A client's own bearer token: a row of the lean table (models.ClientToken).
            return rows.insert_client_token(
                access_token=services.access_token_digest(token["access_token"]),
                client_id=request.client.pk,
                scope=token.get("scope", ""),
                issued_at=int(time.time()),
                expires_in=token.get("expires_in", settings.TUNGBAN_ACCESS_TOKEN_TTL),
            )
        if request.payload.grant_type == "client_credentials":  # DPoP-bound (RFC 9449 §5): with its key
            return rows.insert_token(
                dpop_jkt=jkt,
                access_token=services.access_token_digest(token["access_token"]),
                token_type=token.get("token_type", "Bearer"),
                client=request.client,
                scope=token.get("scope", ""),
                issued_at=int(time.time()),
                expires_in=token.get("expires_in", settings.TUNGBAN_ACCESS_TOKEN_TTL),
            )
        subject: Subject = request.user
        now = int(time.time())
        if subject.sub is None and is_openid_scope(token.get("scope") or ""):
            # the ID token's sub (id_token reuses it): copied for UserInfo (release_copies)
            subject.sub = services.pairwise_sub(subject.resident, request.client)
        if request.payload.grant_type == "refresh_token":
            previous: Token = request.refresh_token
            code, refresh_expires_at = previous.authorization_code, previous.refresh_expires_at
            # The grant's claims (a narrowed token before this one may ask for all again), bounded by the new scope.
            claims = services.claims_within_scope(code.claims if code else previous.claims, token.get("scope", ""))
        else:
            previous = None
            code = request.authorization_code
            claims, refresh_expires_at = code.claims, now + settings.TUNGBAN_REFRESH_TOKEN_TTL
        refresh = token.get("refresh_token")
        store = rows.insert_token
        if previous is not None and getattr(request, "rotate_in_save", False):
            # Rotation and successor in one statement, written last: the ID token is signed first.
            if is_openid_scope(token.get("scope") or ""):
                token["id_token"] = id_token(
                    previous.client, subject, previous.authorization_code, token["access_token"], with_nonce=False
                )

            def store(**values):
                pk = rows.rotate_and_insert(
                    previous.pk, previous.authorization_code_id, previous.session_id, timezone.now(), **values
                )
                if pk is None:
                    raise _NotLive
                return pk

        elif previous is None and rows.redeems_in_one_statement():
            # The code's redemption and its token in one statement, written last: the ID token
            # (the one step that may still fail) is signed first, so a failure stores nothing.
            if token.get("scope") and is_openid_scope(token["scope"]):
                token["id_token"] = id_token(request.client, subject, code, token["access_token"], with_nonce=True)

            def store(**values):
                pk = rows.redeem_code(code.pk, timezone.now(), **values)
                if pk is None:
                    raise _CodeAlreadyUsed
                return pk

        if federated.is_federated(request.client.client_id):
            # A federation's client (issue 23): the ID token's release across the boundary is
            # recorded in the transaction that stores the token, or nothing is stored.
            store = _crossing(store, request, subject, code, token)
        return store(
            **release_copies(request.client, subject.resident, code, sub=subject.sub or ""),
            access_token=services.access_token_digest(token["access_token"]),
            token_type=token.get("token_type", "Bearer"),
            client=request.client,
            resident=subject.resident,
            authorization_code=code,
            session_id=code.session_id if code else None,
            scope=token.get("scope", ""),
            claims=claims,
            issued_at=now,
            expires_in=token.get("expires_in", settings.TUNGBAN_ACCESS_TOKEN_TTL),
            refresh_token=services.refresh_token_digest(refresh) if refresh else None,
            refresh_expires_at=refresh_expires_at if refresh else None,
            dpop_jkt=jkt,
            rotated_from=previous,
        )


def _crossing(store, request, subject: Subject, code, token: dict):
    """``store`` wrapped for a federated client (:mod:`.federated`): the token and the record of
    what its ID token releases (``sub``, ``acr``: OIDC Core §2) in one transaction; a refusal
    of the release (e.g. the binding was removed) stores nothing and is ``invalid_grant``."""

    def crossing_store(**values):
        with transaction.atomic():
            pk = store(**values)
            if "id_token" in token or is_openid_scope(token.get("scope") or ""):
                try:
                    federated.released(
                        request.client,
                        subject.resident,
                        claims=["sub", "acr"],
                        kind=LOGIN_KIND,
                        approval=code.approval if code is not None else None,
                        acr=code.acr if code is not None else "",
                    )
                except DomainError as exc:
                    raise InvalidGrantError(str(exc.message)) from None
            return pk

    return crossing_store


def _random_token(*args, **kwargs) -> str:
    """An access or refresh token (RFC 6749 §10.10: not guessable): 256 bits from
    :func:`secrets.token_urlsafe`, 43 base64url characters."""
    return secrets.token_urlsafe(32)


def build_server() -> Server:
    srv = Server(Client, Token)
    ttl = settings.TUNGBAN_ACCESS_TOKEN_TTL
    srv.load_config(
        {
            "token_expires_in": {"authorization_code": ttl, "refresh_token": ttl, "client_credentials": ttl},
            # Authlib's generator hooks: 256 random bits, base64url (43 characters), from the OS's
            # CSPRNG in one call; Authlib's default drew 42 or 48 characters one by one (issue 15:
            # 1 ms of CPU per token response). Refresh tokens are issued only with offline_access.
            "access_token_generator": _random_token,
            "refresh_token_generator": _random_token,
        }
    )
    srv.register_client_auth_method(PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT())
    srv.register_grant(CodeGrant, [S256Required(required=True), TungbanOpenIDCode(require_nonce=False)])
    srv.register_grant(RefreshGrant)
    srv.register_grant(ClientCredentials)
    srv.register_endpoint(TungbanRevocation)
    srv.register_endpoint(TungbanEndSession)
    srv.register_extension(par.Issuer())  # RFC 9207: iss in authorization responses
    return srv


server = build_server()
