"""OpenID Connect provider state: registered online services (clients), authorization
codes, access tokens and pairwise subject identifiers (the signing keys are in
:mod:`tungban.keys`).

Everything lives in the database so that any number of stateless workers agree.

On PostgreSQL the unique ``CharField`` columns here (digests, codes, ``sid``, ``sub``, ``jti``,
``request_uri``, ``client_id``) have no ``varchar_pattern_ops`` copy (the ``_like`` index Django
adds for ``LIKE`` queries, which nothing here runs; migration
``0010_hot_tables_index_diet``): each would be one more index every insert updates
(issue 15, pgdiet). ``tungban.oidc.tests.test_hot_table_indexes`` pins each table's indexes.
"""

from __future__ import annotations

import hashlib
import time

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tungban.core.errors import DomainError
from tungban.identity.models import Resident
from tungban.wallet.models import ApprovalRequest

from . import client_secrets, federated, scopes
from .constants import EME_SCOPES, OFFLINE_ACCESS_SCOPE
from .validators import OWN_SECTOR_PREFIX, check_client_metadata, check_sector_identifier, public_jwks_only

#: Live views of the scope registry (:mod:`.scopes`), importable from here for one release.
SUPPORTED_SCOPES = scopes.SUPPORTED
KEY_ONLY_SCOPES = scopes.KEY_ONLY


def _default_scopes():
    """A new client's scopes: the e-ME ones (other apps' scopes are granted explicitly).
    Referenced by migration 0001; scopes themselves are registered in :mod:`.scopes`."""
    return list(EME_SCOPES)


class Client(ClientMixin, models.Model):
    """An online service (relying party) registered by a platform administrator."""

    AUTH_METHODS = [
        ("client_secret_basic", "client_secret_basic"),
        ("client_secret_post", "client_secret_post"),
        ("none", _("none (public client, PKCE only)")),
        ("private_key_jwt", "private_key_jwt"),
    ]

    client_id = models.CharField(max_length=100, unique=True)
    client_secret_hash = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("Hash of the client secret; set with `tungban client add` or the admin action."),
    )
    name_en = models.CharField(_("Name (English)"), max_length=200)
    name_zh = models.CharField(_("Name (Chinese)"), max_length=200)
    logo_url = models.URLField(_("Logo URL"), blank=True)
    redirect_uris = models.JSONField(_("Redirect URIs (exact match)"), default=list)
    post_logout_redirect_uris = models.JSONField(_("Post-logout redirect URIs"), default=list, blank=True)
    allowed_scopes = models.JSONField(_("Allowed scopes"), default=_default_scopes)
    token_endpoint_auth_method = models.CharField(max_length=40, choices=AUTH_METHODS, default="client_secret_basic")
    jwks = models.JSONField(
        _("Public keys (JWKS)"),
        default=dict,
        blank=True,
        help_text=_("The client's public keys for private_key_jwt authentication (RFC 7523), as a JWK Set."),
    )
    sector_identifier = models.CharField(
        _("Sector identifier"),
        max_length=200,
        blank=True,
        help_text=_(
            "Leave empty: this service gets its own pairwise subject identifiers (sub). Services given the same "
            "sector (e.g. a department's host name) share them on purpose (OIDC Core §8.1). Changing it changes "
            "the sub every resident has at this service."
        ),
    )
    signing_callback_uri = models.URLField(
        _("Signing callback URL"),
        blank=True,
        help_text=_('Receives POST {"id", "status"} when a signing request is decided (needs the signing scope).'),
    )
    signing_max_auth_age = models.PositiveIntegerField(
        _("Signing: maximum login age (seconds)"),
        null=True,
        blank=True,
        help_text=_("Signing after login is refused when the login is older; empty means no limit."),
    )
    required_acr = models.CharField(
        _("Required login level"),
        max_length=40,
        blank=True,
        default="",
        choices=[
            ("", _("Any tungban account")),
            ("urn:tungban:acr:plus", _("tungban+ account")),
            ("urn:tungban:acr:mfa", _("Any account, confirmed with two factors (passkey in the app)")),
            ("urn:tungban:acr:plus:mfa", _("tungban+ account, confirmed with two factors (passkey in the app)")),
        ],
        help_text=_(
            "The level every login to this service must reach (acr); a login request may ask for "
            "more, never less. Its APIs answer step-up (RFC 9470) to tokens of weaker logins."
        ),
    )
    fapi = models.BooleanField(
        _("FAPI 2.0 security profile"),
        default=False,
        help_text=_(
            "Pushed authorization requests, private_key_jwt, DPoP-bound tokens and codes valid at most 60 seconds; needs public keys (JWKS)."
        ),
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("online service (client)")
        verbose_name_plural = _("online services (clients)")

    def __str__(self) -> str:
        return f"{self.name_en} ({self.client_id})"

    def save(self, *args, **kwargs):
        """Save; a deactivated client's live access tokens (of logins and its own) are revoked
        in the same transaction (RFC 7009 §2.1 spirit: a client that may no longer act holds no
        usable token), so no endpoint need check the client on every request."""
        with transaction.atomic():
            super().save(*args, **kwargs)
            if not self.is_active:
                now = timezone.now()
                Token.objects.filter(client_id=self.pk, revoked_at__isnull=True).update(revoked_at=now)
                ClientToken.objects.filter(client_id=self.pk, revoked_at__isnull=True).update(revoked_at=now)

    def clean(self):
        """Admin-side validation: the same rules as :func:`tungban.oidc.services.register_client`."""
        if str(self.client_id or "").startswith(federated.PREFIXES):
            raise ValidationError({"client_id": federated.RESERVED_MESSAGE})
        try:
            check_client_metadata(
                self.redirect_uris,
                self.post_logout_redirect_uris,
                self.allowed_scopes,
                supported_scopes=scopes.supported(),
                fapi=self.fapi,
            )
            if self.jwks:
                self.jwks = public_jwks_only(self.jwks)  # never keep a private key pasted by mistake
            check_sector_identifier(self.sector_identifier)
        except DomainError as exc:
            raise ValidationError({exc.field or "redirect_uris": exc.message}) from None
        if self.fapi:
            if not (self.jwks or {}).get("keys"):
                raise ValidationError({"jwks": _("A FAPI 2.0 client needs public keys (JWKS) for private_key_jwt.")})
            self.token_endpoint_auth_method = "private_key_jwt"  # FAPI 2.0 §5.3.1.1: no shared secrets

    @property
    def sector(self) -> str:
        """The pairwise-subject sector (OIDC Core §8.1): ``sector_identifier`` when an
        administrator grouped services, else the client's own ``"client:<pk>"`` (issue 13
        item 18: two services on one host must not share ``sub``; the primary key, not the
        host or the client_id, so that editing those never changes a resident's ``sub``).
        Clients registered before keep their former host sector (migration 0006)."""
        if self.sector_identifier:
            return self.sector_identifier
        return f"{OWN_SECTOR_PREFIX}{self.pk}"

    # --- authlib ClientMixin ---
    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope):
        if not scope:
            return ""
        return " ".join(s for s in scope.split() if s in self.allowed_scopes)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris  # exact string match (RFC 9700 §4.1.1)

    def check_client_secret(self, client_secret):
        stored = self.client_secret_hash
        ok, upgrade = client_secrets.matches(client_secret, stored)
        if upgrade:
            # Only if nobody replaced the secret meanwhile (an administrator's new secret wins).
            self.client_secret_hash = client_secrets.digest(client_secret)
            Client.objects.filter(pk=self.pk, client_secret_hash=stored).update(
                client_secret_hash=self.client_secret_hash
            )
        return ok

    def check_endpoint_auth_method(self, method, endpoint):
        if self.fapi:  # FAPI 2.0 §5.3.1.1 and §5.3.2.1: private_key_jwt only, no client secrets
            return self.is_active and method == "private_key_jwt"
        # A client with registered keys may always use the stronger private_key_jwt.
        return self.is_active and (
            method == self.token_endpoint_auth_method or (method == "private_key_jwt" and bool(self.jwks.get("keys")))
        )

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        if grant_type == "client_credentials":
            # Only confidential clients act on their own behalf (RFC 6749 §4.4).
            return self.token_endpoint_auth_method != "none"
        if grant_type == "refresh_token":
            # Refresh tokens only for confidential clients granted offline_access (OIDC Core §11).
            return self.token_endpoint_auth_method != "none" and OFFLINE_ACCESS_SCOPE in self.allowed_scopes
        return grant_type == "authorization_code"

    @property
    def client_metadata(self):
        return {"post_logout_redirect_uris": self.post_logout_redirect_uris}


class LoginSession(models.Model):
    """A completed login at the platform (``sid`` in ID tokens); ended by RP-initiated logout."""

    sid = models.CharField(max_length=64, unique=True)
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="login_sessions")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="sessions")
    auth_time = models.IntegerField()
    acr = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("login session")
        verbose_name_plural = _("login sessions")


class AuthorizationCode(AuthorizationCodeMixin, models.Model):
    """A one-time authorization code (RFC 6749 §4.1.2) with what was approved."""

    code = models.CharField(max_length=120, unique=True)
    # No index of its own: the (client, nonce) index below serves every lookup by client.
    client = models.ForeignKey(Client, on_delete=models.CASCADE, db_index=False)
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE)
    approval = models.ForeignKey(ApprovalRequest, null=True, on_delete=models.SET_NULL)
    session = models.ForeignKey(LoginSession, null=True, on_delete=models.SET_NULL)
    redirect_uri = models.TextField()
    scope = models.TextField()
    claims = models.JSONField(default=list, help_text="Approved claim names")
    nonce = models.CharField(max_length=200, blank=True)
    auth_time = models.IntegerField()
    acr = models.CharField(max_length=40)
    amr = models.JSONField(default=list)
    code_challenge = models.CharField(max_length=128)
    code_challenge_method = models.CharField(max_length=10)
    dpop_jkt = models.CharField(max_length=64, blank=True, help_text="DPoP key the code is bound to (RFC 9449 §10)")
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce or None

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return self.acr

    def get_amr(self):
        return self.amr

    class Meta:
        verbose_name = _("authorization code")
        verbose_name_plural = _("authorization codes")
        # The nonce replay check of every authorization page and completion (OIDC Core
        # §15.5.2, ``TungbanOpenIDCode.exists_nonce``): an index lookup, not a scan of the
        # client's codes (issue 15 acceptance 2).
        indexes = [models.Index(fields=["client", "nonce"], name="oidc_code_client_nonce")]


def access_token_digest(access_token: str) -> str:
    """How an access token is stored and looked up (``Token.access_token``): its SHA-256,
    hex (64 characters), as refresh tokens are (issue 13 item 10: a copy of the database
    holds no usable bearer token). Tokens are random strings of 256 bits (43 base64url characters), so a
    plain digest is as hard to invert as guessing the token."""
    return hashlib.sha256(access_token.encode("utf-8", "surrogatepass")).hexdigest()


class _IssuedToken(TokenMixin):
    """What Authlib asks of an access token (RFC 6749 §5.1: its client, scope and lifetime;
    RFC 7009: revoked), the same for :class:`Token` and :class:`ClientToken`."""

    def check_client(self, client):
        return self.client_id == client.pk

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self):
        return self.revoked_at is not None


class Token(_IssuedToken, models.Model):
    """A bearer access token (RFC 6750): for userinfo / form data / signing after a login,
    or, with no ``resident``, a client's own token (``client_credentials``, e.g. anonymous
    signing).

    The access token is stored only as its SHA-256 (hex, :func:`access_token_digest`).
    With ``offline_access`` the row also holds a refresh token (RFC 6749 §6), stored only as
    its SHA-256 (hex). Refreshing revokes the row and creates the next one (rotation, RFC
    9700 §4.14.2); all rows from one authorization code are one grant: presenting a rotated
    refresh token again revokes the whole grant. ``refresh_expires_at`` (Unix seconds) is
    fixed at the code's redemption and never extended by rotation.
    """

    access_token = models.CharField(
        max_length=255, unique=True, help_text="SHA-256 (hex) of the access token (never the token itself)"
    )
    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    # The nullable links are indexed where set only (Meta.indexes): a client's own token has
    # none of them, and every lookup by them names a value (issue 15, pgdiet).
    resident = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.CASCADE, db_index=False)
    authorization_code = models.ForeignKey(
        AuthorizationCode, null=True, on_delete=models.SET_NULL, related_name="tokens", db_index=False
    )
    session = models.ForeignKey(
        LoginSession, null=True, on_delete=models.SET_NULL, related_name="tokens", db_index=False
    )
    token_type = models.CharField(max_length=40, default="Bearer")
    scope = models.TextField()
    claims = models.JSONField(default=list)
    issued_at = models.IntegerField()
    expires_in = models.IntegerField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    refresh_token = models.CharField(
        max_length=64, unique=True, null=True, blank=True, help_text="SHA-256 (hex) of the refresh token"
    )
    refresh_expires_at = models.IntegerField(null=True, blank=True)
    dpop_jkt = models.CharField(
        max_length=64, blank=True, help_text="JWK SHA-256 thumbprint the tokens are bound to (RFC 9449 §6)"
    )
    rotated_at = models.DateTimeField(null=True, blank=True, help_text="When the refresh token was rotated")
    rotated_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="successors", db_index=False
    )
    # What a release of this token records and answers that never changes for the token,
    # copied at issuance from the rows the token endpoint has just read (issue 15, fifth round:
    # UserInfo and form data then read two rows, the token and its resident, instead of five):
    # the resident's pairwise ``sub`` at the client's sector (OIDC Core §8.1; "" when none was
    # needed: no ``openid`` scope), the approval the login's code carried, and the requester as
    # the resident approved it (the client's ``client_id`` and names at the login). A token
    # without them (issued before) is answered by the reference path. Not indexed, no
    # constraint: nothing looks a token up by them (:func:`release_copies`).
    sub = models.CharField(max_length=64, blank=True, default="")
    approval = models.ForeignKey(
        ApprovalRequest,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    requester_id = models.CharField(max_length=100, blank=True, default="")
    requester_name_en = models.CharField(max_length=200, blank=True, default="")
    requester_name_zh = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("access token")
        verbose_name_plural = _("access tokens")
        # Issue 15 (pgdiet): each grant's INSERT updates every index of this table, so the
        # nullable links are indexed only where set: a client's own token (client_credentials)
        # updates four indexes (id, access_token, refresh_token, client), not ten. The lookups
        # by these columns — a grant's revocation (authorization_code), a login session's end
        # (session), a resident's suspension (resident), a rotation's successors and the SET
        # NULL of a purge (rotated_from) — all name a value, which implies IS NOT NULL. The
        # refresh token keeps its full unique index: a partial one made the token lane's
        # refresh slower (bench/README.md, pgdiet).
        indexes = [
            models.Index(fields=["resident"], condition=Q(resident__isnull=False), name="oidc_token_resident_nn"),
            models.Index(
                fields=["authorization_code"], condition=Q(authorization_code__isnull=False), name="oidc_token_code_nn"
            ),
            models.Index(fields=["session"], condition=Q(session__isnull=False), name="oidc_token_session_nn"),
            models.Index(
                fields=["rotated_from"], condition=Q(rotated_from__isnull=False), name="oidc_token_rotated_from_nn"
            ),
        ]

    def save(self, *args, **kwargs):
        """As :meth:`Model.save`; a new token of a resident gets its release copies
        (:func:`release_copies`) where they were not given (tokens made through the ORM:
        administration, fixtures; the token endpoint writes them itself)."""
        if self._state.adding and self.resident_id is not None and not self.requester_id:
            for name, value in release_copies(
                self.client, self.resident, self.authorization_code, sub=self.sub or None
            ).items():
                setattr(self, name, value)
        super().save(*args, **kwargs)

    def is_refresh_expired(self) -> bool:
        return self.refresh_expires_at is None or time.time() >= self.refresh_expires_at

    def get_user(self):
        return self.resident

    def get_client(self):
        return self.client

    def revoke(self):
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class ClientToken(_IssuedToken, models.Model):
    """A client's own bearer access token (``client_credentials``, RFC 6749 §4.4): no
    resident, no grant, no refresh token, no DPoP key — e.g. anonymous signing, an exchange's
    data user. Issue 15 (fourth round): one row of a lean table, the **one** index its
    digest's primary key, written by the grant's one statement (:mod:`.fasttoken`).

    What the platform needs of it, and where: introspection by its digest (the platform's
    bearer check, :class:`.resource.TokenValidator`; an exchange's data user,
    :data:`.services.BEARER_TOKENS_SQL`) and revocation by it (RFC 7009,
    :class:`.server.TungbanRevocation`) — the primary key; expiry (``issued_at`` +
    ``expires_in``, Unix seconds) and the retention purge (:func:`.services.purge_expired`:
    a sequential scan of a scheduled job, no index every insert updates); the client and
    the scope; the audit of who got a token when (``client_id``, ``issued_at``). UserInfo
    refuses it (no resident), as before.

    **No database foreign key** (``db_constraint=False``, as ``wallet.ReleaseRecord``) and
    no index on ``client_id``: the row's ``client_id`` is the one the same statement has
    just authenticated (``oidc_client`` read by its unique ``client_id``), so the check
    could never fail, while it cost every token a lookup of the client and a ``FOR KEY
    SHARE`` lock of the client's row at commit — one row every concurrent cc request of a
    client shares (PostgreSQL's multixacts). Clients are never deleted by the platform
    (deactivated); an administrator's deletion still removes the client's tokens through
    Django's ``on_delete`` (a sequential scan, once). Measured in ``bench/README.md``
    (fourth round): the cc statement's PostgreSQL CPU at 16 and 64 connections.

    A DPoP-bound client token (RFC 9449 §5, the reference path) stays a :class:`Token` row,
    with its key's thumbprint. Rows stored before are moved here by migration
    ``0011_client_tokens``.

    It answers Authlib's :class:`~authlib.oauth2.rfc6749.TokenMixin` and the attributes
    :class:`Token`'s readers use, so a reader needs no second code path."""

    access_token = models.CharField(
        max_length=64, primary_key=True, help_text="SHA-256 (hex) of the access token (never the token itself)"
    )
    client = models.ForeignKey(Client, on_delete=models.CASCADE, db_constraint=False, db_index=False)
    scope = models.TextField(blank=True)
    issued_at = models.IntegerField(help_text="Unix seconds")
    expires_in = models.IntegerField(help_text="Seconds")
    revoked_at = models.DateTimeField(null=True, blank=True)

    # Token's attributes a client's own token never has.
    resident = resident_id = None
    authorization_code = authorization_code_id = None
    session = session_id = None
    refresh_token = refresh_expires_at = None
    rotated_at = rotated_from_id = None
    dpop_jkt = ""
    token_type = "Bearer"
    claims: list = []

    class Meta:
        verbose_name = _("client access token")
        verbose_name_plural = _("client access tokens")

    def get_user(self):
        return None

    def get_client(self):
        return self.client

    def revoke(self):
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            ClientToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=self.revoked_at)


class UsedClientAssertion(models.Model):
    """``jti`` of client assertions already accepted (RFC 7523 §3 item 7: single use)."""

    jti = models.CharField(max_length=200, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("used client assertion")
        verbose_name_plural = _("used client assertions")


class UsedDPoPProof(models.Model):
    """``jti`` of DPoP proofs already accepted (RFC 9449 §11.1: replay), kept until the
    proof's ``iat`` is out of the accepted window."""

    jti = models.CharField(max_length=200, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("used DPoP proof")
        verbose_name_plural = _("used DPoP proofs")


class PushedAuthorizationRequest(models.Model):
    """A pushed authorization request (RFC 9126 §2): the validated parameters behind a
    one-time, short-lived ``request_uri`` bound to the client that pushed them."""

    request_uri = models.CharField(max_length=200, unique=True)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="pushed_requests")
    params = models.JSONField(help_text="The authorization request's parameters (name → value)")
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("pushed authorization request")
        verbose_name_plural = _("pushed authorization requests")


class PairwiseSubject(models.Model):
    """The stable ``sub`` a resident has at one sector (OIDC Core §8.1, pairwise).

    Random rather than derived, so it reveals nothing and cannot be linked across sectors.
    """

    # No index of its own: the unique (resident, sector) below serves every lookup by resident.
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="pairwise_subjects", db_index=False)
    sector = models.CharField(max_length=200)
    sub = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("pairwise subject identifier")
        verbose_name_plural = _("pairwise subject identifiers")
        constraints = [models.UniqueConstraint(fields=["resident", "sector"], name="one_sub_per_sector")]


def release_copies(client: Client, resident, code: AuthorizationCode | None, *, sub: str | None = None) -> dict:
    """The values a new :class:`Token` of ``resident`` at ``client`` (from the authorization
    code ``code``, or ``None``) copies for its releases (issue 15, fifth round): ``sub`` (the
    pairwise one at the client's sector, OIDC Core §8.1: ``sub`` when the caller has it, else
    the one already on record, "" when there is none yet), ``approval_id`` (the code's),
    ``requester_id``, ``requester_name_en``, ``requester_name_zh`` (the client's, as the
    resident approved them). At most one read (the pairwise ``sub``, when not given)."""
    if sub is None:
        sub = (
            PairwiseSubject.objects.filter(resident=resident, sector=client.sector)
            .values_list("sub", flat=True)
            .first()
        )
    return {
        "sub": sub or "",
        "approval_id": code.approval_id if code is not None else None,
        # A federated client's token carries no copy: its releases take the reference path,
        # which records them across the boundary (issue 23; .fastrelease falls through).
        "requester_id": "" if federated.is_federated(client.client_id) else client.client_id,
        "requester_name_en": client.name_en,
        "requester_name_zh": client.name_zh,
    }
