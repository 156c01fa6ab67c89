"""OpenID Connect domain logic: pairwise subjects, what a request asks for, login sessions,
releases through userinfo and form data, discovery metadata.

Sources: OpenID Connect Core 1.0 (§5.4 scopes, §5.5 ``claims`` parameter, §8.1 pairwise
subjects), OpenID Connect Discovery 1.0 §3, RFC 6749 §4.1.2 (code reuse revokes tokens).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from tungban.core import rawsql
from tungban.core.documents import Document
from tungban.core.errors import DomainError
from tungban.identity import eme
from tungban.identity import services as identity
from tungban.identity.models import Resident, Tier
from tungban.wallet import services as wallet
from tungban.wallet.models import ApprovalRequest

from . import client_secrets, errors, federated, rows, stepup
from . import scopes as scope_registry
from .constants import (
    ACR_BASIC,
    ACR_PLUS,
    ACR_VALUES,
    AMR_DEVICE_KEY,
    AMR_MFA,
    AMR_USER_PRESENCE,
    CLIENT_ASSERTION_SIGNING_ALGS,
    EME_SCOPES,
    FORMFILL_KIND,
    LOGIN_KIND,
    OFFLINE_ACCESS_SCOPE,
    UI_LOCALES,
)
from .models import (  # noqa: F401 - access_token_digest is part of this module's interface
    AuthorizationCode,
    Client,
    ClientToken,
    LoginSession,
    PairwiseSubject,
    PushedAuthorizationRequest,
    Token,
    UsedClientAssertion,
    UsedDPoPProof,
    access_token_digest,
)
from .validators import check_client_metadata, check_sector_identifier, public_jwks_only  # noqa: F401 - interface

#: Every bearer access token as one relation for another app's raw read (e.g. the exchange's
#: data user, ``exchange.hotsql``): ``oidc_token`` (a login's tokens, DPoP-bound ones) and
#: ``oidc_clienttoken`` (a client's own, :class:`.models.ClientToken`), with the columns
#: ``access_token`` (the digest, :func:`access_token_digest`), ``client_id``, ``resident_id``
#: (NULL for a client's own), ``issued_at``, ``expires_in`` (Unix seconds, seconds),
#: ``revoked_at``, ``scope``, ``dpop_jkt`` (empty when not bound). Use it as ``FROM
#: {BEARER_TOKENS_SQL} t … WHERE t.access_token = %s``: PostgreSQL pushes the condition into
#: both arms (each its unique index), SQLite likewise (issue 15, fourth round).
BEARER_TOKENS_SQL = (
    "(SELECT access_token, client_id, resident_id, issued_at, expires_in, revoked_at, scope, dpop_jkt "
    "FROM oidc_token UNION ALL "
    "SELECT access_token, client_id, NULL, issued_at, expires_in, revoked_at, scope, '' FROM oidc_clienttoken)"
)


def pairwise_sub(resident: Resident, client: Client) -> str:
    """The resident's stable, unlinkable ``sub`` at the client's sector (created on first use)."""
    return sector_sub(resident, client.sector)


def is_client_sector(sector: str) -> bool:
    """Whether ``sector`` is the pairwise sector (OIDC Core §8.1, :attr:`.models.Client.sector`)
    of a registered client: the grouping sector an administrator gave it
    (``sector_identifier``) or its own ``client:<pk>``; e.g. for a department's mini-program to
    share its web service's ``sub`` (issue 16 security review L3)."""
    from .models import Client
    from .validators import OWN_SECTOR_PREFIX

    value = (sector or "").strip()
    if not value:
        return False
    if value.startswith(OWN_SECTOR_PREFIX):
        pk = value[len(OWN_SECTOR_PREFIX) :]
        return pk.isdigit() and Client.objects.filter(pk=int(pk), sector_identifier="").exists()
    return Client.objects.filter(sector_identifier=value).exists()


def sector_sub(resident: Resident, sector: str) -> str:
    """The resident's pairwise identifier at ``sector`` (OIDC Core §8.1): random, created on
    first use, the same for every later call; e.g. a data provider's sector at the exchange
    gateway."""
    found = PairwiseSubject.objects.filter(resident=resident, sector=sector).values_list("sub", flat=True).first()
    if found:
        return found
    try:
        with transaction.atomic():
            return PairwiseSubject.objects.create(resident=resident, sector=sector, sub=secrets.token_urlsafe(24)).sub
    except IntegrityError:  # another worker created it at the same moment
        return PairwiseSubject.objects.get(resident=resident, sector=sector).sub


def resident_for_sub(client: Client, sub: str) -> Resident | None:
    """The resident whose pairwise ``sub`` at the client's sector is ``sub``, or None."""
    found = (
        PairwiseSubject.objects.select_related("resident").filter(sector=client.sector, sub=str(sub or "")[:64]).first()
    )
    return found.resident if found else None


def first_party_login(client_id: str, sub: str) -> tuple[Resident | None, int | None]:
    """For the platform's own relying parties only (``TUNGBAN_FIRST_PARTY_CLIENTS``, e.g. the
    e-services portal, which must issue e-licences into the resident's app): the resident
    whose pairwise ``sub`` at that client's sector is ``sub``, and the id of the newest
    release of e-ME data to that client (the login's userinfo answer), or ``(None, None)``.
    Another client's ``sub`` is never resolved here (pairwise subjects stay opaque to RPs)."""
    if client_id not in settings.TUNGBAN_FIRST_PARTY_CLIENTS:
        return None, None
    client = Client.objects.filter(client_id=client_id, is_active=True).first()
    resident = resident_for_sub(client, sub) if client else None
    if resident is None:
        return None, None
    release = wallet.latest_release(resident, requester_id=client_id)
    return resident, (release.pk if release else None)


def acr_for(resident: Resident) -> str:
    """The account's level: tungban+ accounts ``urn:tungban:acr:plus``, others basic (the
    ``acr`` of a login that required nothing; see :func:`acr_for_login`)."""
    return ACR_PLUS if resident.tier == Tier.PLUS else ACR_BASIC


def check_required_acr(value: str | None) -> str:
    """A client's ``required_acr`` as stored: ``""`` for none (or the basic level, which every
    login reaches), else one of :data:`ACR_VALUES`. :raises DomainError:
    ``invalid_client_metadata`` (``field="required_acr"``)."""
    value = (value or "").strip()
    if value in ("", ACR_BASIC):
        return ""
    if value not in ACR_VALUES:
        raise errors.InvalidClientMetadata(
            _("Unknown login level: use one of %(levels)s.") % {"levels": ", ".join(ACR_VALUES)},
            field="required_acr",
        )
    return value


def _login_facts(approval: ApprovalRequest) -> tuple[bool, bool]:
    """``(plus, mfa)`` of an approved login: the account's tier and whether ``amr`` has ``mfa``."""
    return approval.resident.tier == Tier.PLUS, AMR_MFA in amr_for(approval)


def acr_for_login(approval: ApprovalRequest) -> str:
    """The ID token's ``acr`` (OIDC Core §2) for an approved login: the first level of the
    request's ``context["acr"]`` (the effective required levels, :func:`open_authorization`)
    that the login satisfied, else the account's level (:func:`acr_for`). Issue 16 item 3."""
    plus, mfa = _login_facts(approval)
    return stepup.chosen_acr(plus=plus, mfa=mfa, required=(approval.context or {}).get("acr") or [])


def amr_for(approval: ApprovalRequest | None) -> list[str]:
    """``amr`` values (RFC 8176 §2) of what the approval proved, nothing more (issue 13 item 9):
    the device key's signature (``swk``), and when a passkey assertion with user verification
    was checked (``user_verification == "passkey"``: the web app) the user's verification on
    the authenticator (``user``; PIN or biometric, which the platform cannot tell apart) —
    two factors, hence ``mfa``. A CLI approval is ``["swk"]``: its PIN never reaches us."""
    if approval is None:
        return []
    if approval.user_verification == "passkey":
        return [AMR_DEVICE_KEY, AMR_USER_PRESENCE, AMR_MFA]
    return [AMR_DEVICE_KEY]


def requested_claims(scope: str, claims_param: str | None) -> list[dict]:
    """The e-ME fields an authorization request asks for.

    Registered scopes name fields (:func:`.scopes.claims_for`); the OIDC ``claims`` parameter
    (Core §5.5) may mark some ``essential`` — those the resident cannot untick. Claims
    named in ``claims`` but outside the granted scopes are ignored.

    :returns: ``[{"name": str, "essential": bool}]`` in catalogue order.
    :raises DomainError: ``invalid_claims`` when ``claims`` is not a JSON object.
    """
    asked = set((scope or "").split())
    names = scope_registry.claims_for(asked)
    parsed = _claims_request(claims_param)
    essential = {
        name
        for member in ("userinfo", "id_token")
        for name, spec in (parsed.get(member) or {}).items()
        if name in names and isinstance(spec, dict) and spec.get("essential")
    } | scope_registry.essential_claims(asked)
    return [{"name": n, "essential": n in essential} for n in names]


def _claims_request(claims_param: str | None) -> dict:
    """The parsed ``claims`` parameter (OIDC Core §5.5); ``{}`` when absent.

    :raises DomainError: ``invalid_claims`` when it is not a JSON object.
    """
    if not claims_param:
        return {}
    try:
        parsed = json.loads(claims_param)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or any(not isinstance(parsed.get(m) or {}, dict) for m in ("userinfo", "id_token")):
        raise errors.InvalidClaims()
    return parsed


def required_acr(claims_param: str | None) -> list[str]:
    """ACR values the ``claims`` parameter marks essential for the ID token (OIDC Core
    §5.5.1.1), e.g. ``["urn:tungban:acr:plus"]``; empty when none is required.

    :raises DomainError: ``invalid_claims`` (see :func:`requested_claims`).
    """
    spec = (_claims_request(claims_param).get("id_token") or {}).get("acr") or {}
    if not isinstance(spec, dict) or not spec.get("essential"):
        return []
    values = spec.get("values") or ([spec["value"]] if spec.get("value") else [])
    return [v for v in values if isinstance(v, str)]


def requested_acr_values(acr_values: str | None) -> list[str]:
    """The known levels in an ``acr_values`` request parameter (OIDC Core §3.1.2.1: space
    separated, in order of preference), e.g. ``["urn:tungban:acr:plus"]``; unknown values are
    ignored. As national eID providers do, the platform reads them as the levels the service
    accepts: a login whose account reaches none of them is refused (``access_denied``)."""
    return [v for v in (acr_values or "").split() if v in ACR_VALUES]


def acr_satisfied(approval: ApprovalRequest) -> bool:
    """Whether an approved login reaches one of the levels its request requires
    (``context["acr"]``; :mod:`.stepup` compares them: plus satisfies basic, two factors
    are ``mfa`` in ``amr``)."""
    plus, mfa = _login_facts(approval)
    return stepup.login_satisfies(plus=plus, mfa=mfa, required=(approval.context or {}).get("acr") or [])


def only_second_factor_missing(approval: ApprovalRequest) -> bool:
    """Whether the login's account level is enough and only the second factor is missing
    (so the resident is told to confirm with a passkey, not to upgrade at a counter)."""
    plus, _mfa = _login_facts(approval)
    return stepup.login_satisfies(plus=plus, mfa=True, required=(approval.context or {}).get("acr") or [])


def open_authorization(
    client: Client,
    scope: str,
    claims_param: str | None,
    query: str,
    browser_secret: str,
    origin: dict | None = None,
    acr_values: str | None = None,
) -> ApprovalRequest:
    """Open the app approval for a validated authorization request.

    ``kind`` is ``login`` when ``openid`` is in the scope, else ``formfill`` (anonymous
    form filling: data without a login). ``query`` is the original request, replayed when
    the browser completes; ``browser_secret`` binds completion to the starting browser.
    With ``offline_access`` (for a client allowed refresh tokens) the app is told how many
    days the service may stay signed in (OIDC Core §11: the resident consents to it).
    The page shows a number the resident types in the app, and the app shows ``origin``
    (``{"user_agent", "ip"}`` of this browser): see :func:`tungban.wallet.services.create_request`.
    The levels the login must reach (``context["acr"]``) are those the ``claims`` parameter
    marks essential (§5.5.1.1), else those of ``acr_values`` (:func:`requested_acr_values`),
    no lower than the client's ``required_acr`` (:func:`.stepup.effective`).
    A registered scope that prepares requests (:mod:`.scopes` ``prepare``, e.g. CorpID's
    ``corpid``) adds to the context, or refuses the request before anything is stored.

    :raises DomainError: ``invalid_claims``; a scope's refusal, ``invalid_scope`` or
        ``invalid_request`` (:data:`.errors.InvalidScopeRequest`,
        :data:`.errors.InvalidAuthorizationRequest`).
    """
    asked = set((scope or "").split())
    kind = LOGIN_KIND if "openid" in asked else FORMFILL_KIND
    prepared = {}
    for registered in scope_registry.preparers(asked):
        prepared.update(registered.prepare(client, asked, _claims_request(claims_param)))
    context = {
        **prepared,
        "query": query,
        "browser": browser_secret,
        # The client's registered level is a floor the request cannot lower (issue 16 item 3).
        "acr": stepup.effective(required_acr(claims_param) or requested_acr_values(acr_values), client.required_acr),
    }
    if (
        kind == LOGIN_KIND
        and OFFLINE_ACCESS_SCOPE in (scope or "").split()
        and client.check_grant_type("refresh_token")
    ):
        context["offline_access_days"] = max(
            1, -(-settings.TUNGBAN_REFRESH_TOKEN_TTL // 86400)
        )  # rounded up: never understate
    asked_claims = requested_claims(scope, claims_param)
    binds = None
    if federated.is_federated(client.client_id):
        # A federation's client (issue 23): the cross-boundary consent, bound to the decision.
        binds, details = federated.consent(client, asked_claims)
        if details:
            context["details"] = [*context.get("details", []), *details]
    return wallet.create_request(
        kind=kind,
        requester_id=client.client_id,
        requester_name_en=client.name_en,
        requester_name_zh=client.name_zh,
        requester_logo_url=client.logo_url,
        requested_claims=asked_claims,
        context=context,
        binds=binds,
        user_code=True,  # cross-device phishing: only the person at this page sees it (issue 13 item 6)
        origin=origin,
    )


def start_login_session(approval: ApprovalRequest, client: Client, *, deferred: bool = False) -> LoginSession | None:
    """Create the login session (``sid``) for an approved login; ``None`` for form filling.

    ``deferred``: not written yet — the authorization code's insert writes it with the code
    (:meth:`tungban.oidc.server.CodeGrant.save_authorization_code`, one statement on
    PostgreSQL: issue 15)."""
    if approval.kind != LOGIN_KIND:
        return None
    session = LoginSession(
        sid=secrets.token_urlsafe(24),
        resident=approval.resident,
        client=client,
        auth_time=int(approval.decided_at.timestamp()),
        acr=acr_for_login(approval),
    )
    return session if deferred else rawsql.insert(session)  # one INSERT without the ORM's compiler (issue 15)


def end_login_session(sid: str | None) -> None:
    """End a login session and revoke the access tokens issued in it."""
    if not sid:
        return
    with transaction.atomic():
        session = LoginSession.objects.select_for_update().filter(sid=sid, ended_at__isnull=True).first()
        if session:
            session.ended_at = timezone.now()
            session.save(update_fields=["ended_at"])
            Token.objects.filter(session=session, revoked_at__isnull=True).update(revoked_at=timezone.now())


def revoke_tokens_from_code(code: AuthorizationCode) -> int:
    """RFC 6749 §4.1.2: a reused code revokes every token issued from it. Returns how many.

    Takes the code's row lock first (:func:`.rows.lock_grant`, the order a rotation takes), so
    a refresh rotating a token of this grant at the same moment either commits before the
    ``UPDATE`` (which then sees and revokes its new token) or waits for it (review of issue
    15, F3: without the lock the new token could escape the ``UPDATE``'s snapshot)."""
    with transaction.atomic():
        rows.lock_grant(code.pk, None)
        return Token.objects.filter(authorization_code=code, revoked_at__isnull=True).update(revoked_at=timezone.now())


def refresh_token_digest(refresh_token: str) -> str:
    """How a refresh token is stored and looked up: its SHA-256, hex (64 characters)."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()


def lock_grant(token: Token) -> None:
    """Lock the rows a refresh-token rotation and a grant revocation must not interleave on:
    the grant's authorization code, then its login session (``SELECT … FOR UPDATE``, one
    statement: :func:`.rows.lock_grant`; on SQLite the write transaction already
    serialises). Call inside a transaction."""
    rows.lock_grant(token.authorization_code_id or None, token.session_id or None)


def revoke_grant(token: Token) -> int:
    """Revoke ``token`` and every token of the same grant (issued from the same
    authorization code, refreshed ones included). Used when a rotated refresh token is
    presented again (RFC 9700 §4.14.2) and when a refresh token is revoked (RFC 7009 §2.1).
    Waits for a rotation in progress (:func:`lock_grant`), so the token it is creating is
    revoked too. Returns how many tokens were revoked."""
    with transaction.atomic():
        lock_grant(token)
        if token.authorization_code_id is None:
            return Token.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        return Token.objects.filter(authorization_code_id=token.authorization_code_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )


def claims_within_scope(claims: list[str], scope: str) -> list[str]:
    """The claim names of ``claims`` (approved by the resident) that ``scope`` (a space-separated
    scope string) releases (:func:`.scopes.claims_for`), in ``claims``' order, e.g.
    ``["name", "hkid"]`` within ``"openid profile"`` → ``["name"]``.

    An access token's scope bounds what it reads (RFC 6749 §3.3, §6; OIDC Core §5.4): a
    refresh that narrows the scope narrows the token's claims too (issue 13 item 13).
    """
    allowed = set(scope_registry.claims_for(set((scope or "").split())))
    return [name for name in claims if name in allowed]


def release(token: Token, *, with_subject: bool) -> dict:
    """The approved e-ME claims of the token's resident that the token's scope covers
    (:func:`claims_within_scope`), recorded as a release; for a federated client
    (:mod:`.federated`, issue 23) exactly the recorded claims (no companion claims).

    :param with_subject: include the pairwise ``sub`` (userinfo) or not (anonymous form data).
    :raises DomainError: ``account_suspended`` (403); ``invalid_token`` (401) for a
        client's own token, which stands for no resident, or when a claim of the login can no
        longer be released (:func:`login_claims`: e.g. the mandate behind ``authority`` was
        revoked); nothing is released or recorded then.
    """
    resident = token.resident
    if resident is None:
        raise errors.InvalidToken(_("This token does not stand for a resident."))
    identity.require_active(resident)
    claims = claims_within_scope(token.claims, token.scope)
    approval = token.authorization_code.approval if token.authorization_code_id else None
    resolved = login_claims(claims, resident, token.client, approval)
    data = {**eme.values(resident, claims), **resolved}
    released = [name for name in claims if name in data]
    # The requester as the resident approved it and the ID token's sub, as the token carries
    # them since its issuance (.models.release_copies; issue 15, fifth round), so that this
    # path and fastrelease answer and record alike; a token issued before: the client's row.
    copied = bool(token.requester_id)
    client = token.client
    name_en = token.requester_name_en if copied else client.name_en
    name_zh = token.requester_name_zh if copied else client.name_zh
    note = scope_registry.describe(resolved) if resolved else None
    if note:  # e.g. the company the resident acted for, in "who used my data"
        name_en, name_zh = f"{name_en} ({note['en']})"[:200], f"{name_zh}（{note['zh']}）"[:200]
    kind = LOGIN_KIND if with_subject else FORMFILL_KIND
    crossing = federated.is_federated(client.client_id)
    if crossing:
        # A federation's client (issue 23): across the boundary goes what the consent named and
        # the release records, without the companions (``name`` → ``family_name``, ``given_name``).
        data = {name: value for name, value in data.items() if name in released}
    with transaction.atomic() if crossing else contextlib.nullcontext():
        record = wallet.record_release(
            resident,
            requester_id=token.requester_id if copied else client.client_id,
            requester_name_en=name_en,
            requester_name_zh=name_zh,
            kind=kind,
            claims=released,
            approval=approval,
        )
        if crossing:
            # A federation's client (issue 23): the cross-boundary release in the same transaction.
            crossed = (["sub"] if with_subject else []) + released
            acr = token.authorization_code.acr if token.authorization_code_id else ""
            federated.released(client, resident, claims=crossed, kind=kind, approval=approval, record=record, acr=acr)
    if with_subject:
        return {"sub": token.sub or pairwise_sub(resident, client), **data}
    return data


def login_claims(claims: list[str], resident: Resident, client: Client, approval: ApprovalRequest | None) -> dict:
    """The values of the claims among ``claims`` whose scope resolves them per login
    (:mod:`.scopes` ``resolve``; e.g. CorpID's ``authority``, from the company chosen in the
    app), judged again now; ``{}`` when there is none (no query).

    :raises DomainError: ``invalid_token`` (401), its description naming the hook's reason
        (e.g. ``mandate_revoked``): the claim can no longer be released.
    """
    out = {}
    for name in claims:
        resolve = scope_registry.resolver(name)
        if resolve is None:
            continue
        try:
            value = resolve(name, resident, client, dict(approval.context) if approval else {})
        except DomainError as exc:
            with translation.override("en"):
                reason = f"{exc.message} ({exc.code})"
            raise errors.InvalidToken(reason) from None
        if value is not None:
            out[name] = value
    return out


def discovery() -> dict:
    """OpenID Provider Metadata (OIDC Discovery 1.0 §3); scopes and claims from :mod:`.scopes`."""
    iss = settings.TUNGBAN_ISSUER
    return {
        "issuer": iss,
        "authorization_endpoint": f"{iss}/oidc/authorize",
        "token_endpoint": f"{iss}/oidc/token",
        "userinfo_endpoint": f"{iss}/oidc/userinfo",
        "jwks_uri": f"{iss}/oidc/jwks",
        "revocation_endpoint": f"{iss}/oidc/revoke",
        "end_session_endpoint": f"{iss}/oidc/logout",
        "tungban_formdata_endpoint": f"{iss}/oidc/formdata",
        "scopes_supported": scope_registry.supported(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
            "private_key_jwt",
        ],
        "token_endpoint_auth_signing_alg_values_supported": list(CLIENT_ASSERTION_SIGNING_ALGS),
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
            "private_key_jwt",
        ],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": scope_registry.claims_supported(),
        "claims_parameter_supported": True,
        # Signed request objects (RFC 9101) from services with registered keys; a request_uri
        # only from this server's PAR endpoint (nothing is fetched: OIDC Core §6.2).
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        "request_object_signing_alg_values_supported": ["ES256", "PS256"],
        "pushed_authorization_request_endpoint": f"{iss}/oidc/par",
        "require_pushed_authorization_requests": False,  # FAPI 2.0 clients must use it
        "dpop_signing_alg_values_supported": ["ES256", "PS256"],
        "prompt_values_supported": ["none", "login", "consent"],
        # Issued as ``acr``; ``acr_values`` names the levels a login must reach (see open_authorization).
        "acr_values_supported": list(ACR_VALUES),
        # ``ui_locales`` chooses the login pages' language (views.authorize); no claims_locales:
        # names come in both languages (``name``, ``name#zh-Hant``) whatever is asked.
        "ui_locales_supported": list(UI_LOCALES),
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": f"{iss}/docs/integrators",
        **scope_registry.metadata(),  # e.g. CorpID's authority_claims_supported
    }


_discovery_documents: dict[tuple, Document] = {}


def discovery_document() -> Document:
    """:func:`discovery` as response bytes with a strong ETag (issue 15), built once per
    content and kept in process memory; no query.

    Safe to keep because the document is a pure function of its key: ``TUNGBAN_ISSUER`` and
    the scope registry's :func:`~.scopes.fingerprint` (names and claims); everything else in
    it is a constant of the code. Both are the same in every worker of one deployment, and a
    deployment that changes them restarts the workers (settings) or changes the code (scopes);
    a test that overrides the issuer gets the document of that issuer. Nothing in it comes from
    the database."""
    key = (settings.TUNGBAN_ISSUER, scope_registry.fingerprint())
    document = _discovery_documents.get(key)
    if document is None:
        if len(_discovery_documents) >= 8:
            _discovery_documents.clear()
        document = _discovery_documents[key] = Document.of_json(discovery())
    return document


@transaction.atomic
def register_client(
    *,
    client_id: str,
    name_en: str,
    name_zh: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str] | None = None,
    allowed_scopes: list[str] | None = None,
    logo_url: str = "",
    public: bool = False,
    signing_callback_uri: str = "",
    signing_max_auth_age: int | None = None,
    jwks: dict | None = None,
    fapi: bool = False,
    required_acr: str = "",
    secret: str | None = None,
) -> tuple[Client, str | None]:
    """Register (or update) an online service as a client; returns ``(client, secret)``.

    A confidential client gets a new random secret, returned once and stored as its
    SHA-256 digest (:mod:`.client_secrets`).
    With ``jwks`` (public keys, RFC 7517 §5) it may also authenticate with
    ``private_key_jwt`` (RFC 7523), which the ``cdeg`` scope requires.
    Scopes default to the e-ME ones; the ``signing`` scope must be asked for.
    With ``fapi`` the client follows the FAPI 2.0 Security Profile (issue 13 item 21):
    ``private_key_jwt`` only (no secret is made, ``jwks`` is required), pushed authorization
    requests, DPoP-bound tokens.
    ``required_acr`` is the level every login to the service must reach (one of
    ``acr_values_supported``; ``""`` or ``urn:tungban:acr:basic``: any account), enforced at
    the authorization endpoint and by step-up at its APIs (:mod:`.stepup`, issue 16 item 3).
    ``secret``: the confidential client's secret, given instead of a new random one (the
    platform's own first-party clients derive theirs from ``SECRET_KEY``; issue 17).
    :raises DomainError: ``invalid_redirect_uri`` (must be absolute http(s), no fragment;
        https for a FAPI client), ``invalid_scope``, ``invalid_client_metadata`` (a
        ``client_id`` that is an http(s) URL: reserved for federation entities, :mod:`.federated`;
        a FAPI client without ``jwks``, an RSA key under 2048 bits; ``field="required_acr"``: an
        unknown level).
    """
    required_acr = check_required_acr(required_acr)
    if str(client_id).startswith(federated.PREFIXES):
        raise errors.InvalidClientMetadata(federated.RESERVED_MESSAGE, field="client_id")
    if fapi and not (jwks or {}).get("keys"):
        raise errors.InvalidClientMetadata(_("A FAPI 2.0 client needs public keys (JWKS) for private_key_jwt."))
    scopes = allowed_scopes or list(EME_SCOPES)
    check_client_metadata(
        redirect_uris, post_logout_redirect_uris or [], scopes, supported_scopes=scope_registry.supported(), fapi=fapi
    )
    secret = None if public or fapi else (secret or client_secrets.generate())
    client, _created = Client.objects.update_or_create(
        client_id=client_id,
        defaults={
            "name_en": name_en,
            "name_zh": name_zh,
            "redirect_uris": redirect_uris,
            "post_logout_redirect_uris": post_logout_redirect_uris or [],
            "allowed_scopes": scopes,
            "logo_url": logo_url,
            "token_endpoint_auth_method": "none" if public else "private_key_jwt" if fapi else "client_secret_basic",
            "fapi": fapi,
            "client_secret_hash": client_secrets.digest(secret) if secret else "",
            "signing_callback_uri": signing_callback_uri,
            "signing_max_auth_age": signing_max_auth_age,
            "required_acr": required_acr,
            "jwks": public_jwks_only(jwks) if jwks else {},
        },
    )
    return client, secret


def revoke_user_grants(resident: Resident) -> dict[str, int]:
    """End every grant of ``resident`` (issue 13 item 14: suspension ends tokens).

    Revokes all access tokens and the refresh tokens they carry (one row holds both), marks
    every unredeemed authorization code used (a later redemption is refused, and RFC 6749
    §4.1.2 reuse handling revokes anything issued from it), and ends the open login sessions.
    Reinstating the account later does not bring any of them back: the resident logs in again.
    Runs in one transaction.

    :returns: ``{"tokens": int, "codes": int, "sessions": int}`` — how many rows were ended.
    """
    now = timezone.now()
    with transaction.atomic():
        tokens = Token.objects.filter(resident=resident, revoked_at__isnull=True).update(revoked_at=now)
        codes = AuthorizationCode.objects.filter(resident=resident, used_at__isnull=True).update(used_at=now)
        sessions = LoginSession.objects.filter(resident=resident, ended_at__isnull=True).update(ended_at=now)
    return {"tokens": tokens, "codes": codes, "sessions": sessions}


# --- Retention (issue 14 item 7) ----------------------------------------------------------


def purge_expired(now: dt.datetime) -> dict[str, int]:
    """The OpenID Provider's expired protocol state (registered with
    :mod:`tungban.core.retention`); ``TUNGBAN_EXPIRED_RETENTION`` (seconds) is the margin:

    * tokens whose access token and refresh token (if any) both ended more than the margin
      ago, revoked or not (a rotated refresh token is kept until then, so that presenting it
      again still revokes its grant, RFC 9700 §4.14.2);
    * authorization codes older than ``TUNGBAN_CODE_TTL`` plus the margin that no remaining
      token came from (the code links the rows of one grant);
    * ``jti``s of client assertions (RFC 7523 §3) and DPoP proofs (RFC 9449 §11.1) and pushed
      authorization requests (RFC 9126) past their ``expires_at``.

    Login sessions and pairwise subjects are kept.

    :returns: ``{table: rows deleted}``.
    """
    margin = dt.timedelta(seconds=settings.TUNGBAN_EXPIRED_RETENTION)
    cutoff = int((now - margin).timestamp())
    tokens = (
        Token.objects.alias(access_end=F("issued_at") + F("expires_in"))
        .filter(access_end__lt=cutoff)
        .filter(Q(refresh_expires_at__isnull=True) | Q(refresh_expires_at__lt=cutoff))
        .delete()[1]
        .get(Token._meta.label, 0)
    )
    client_tokens = (
        ClientToken.objects.alias(access_end=F("issued_at") + F("expires_in"))
        .filter(access_end__lt=cutoff)
        .delete()[1]
        .get(ClientToken._meta.label, 0)
    )
    codes = (
        AuthorizationCode.objects.filter(
            created_at__lt=now - margin - dt.timedelta(seconds=settings.TUNGBAN_CODE_TTL), tokens__isnull=True
        )
        .delete()[1]
        .get(AuthorizationCode._meta.label, 0)
    )
    return {
        Token._meta.label: tokens,
        ClientToken._meta.label: client_tokens,
        AuthorizationCode._meta.label: codes,
        UsedClientAssertion._meta.label: UsedClientAssertion.objects.filter(expires_at__lt=now).delete()[0],
        UsedDPoPProof._meta.label: UsedDPoPProof.objects.filter(expires_at__lt=now).delete()[0],
        PushedAuthorizationRequest._meta.label: PushedAuthorizationRequest.objects.filter(expires_at__lt=now).delete()[
            0
        ],
    }
