"""The OpenID provider's side of cross-boundary login (issue 23). Part fop.

Automatic registration (OpenID Federation 1.0 draft 45 §12.1): an authorization request whose
``client_id`` is an entity identifier resolves the RP's trust chain (:func:`.chain.resolve`,
the cross-boundary trust mark required), identifies the partner platform the chain passes
through (:class:`~tungban.federation.models.Partner`: no partner, no legal basis, nothing
crosses), writes the ``oidc`` client row from the resolved metadata, and opens the app approval
with the cross-boundary consent (binding, the exact claims that cross, the legal basis).
Every release to the client (the ID token, UserInfo) is recorded with its legal basis
(:class:`~tungban.federation.models.CrossBoundaryRelease`) in the release's transaction.

Registered with :mod:`tungban.oidc.federated` by :class:`tungban.federation.apps.FederationConfig`.

Minimisation (design study §1(b), PDPO DPP1(1)(c)): by default only the ID token's standard
claims cross — the pairwise ``sub`` (OIDC Core §8.1: an identifier for this service only) and
the assurance level (``acr``); no name, no HKID, nothing else from e-ME. The names (``profile``)
cross only when the service asks for ``profile`` and its resolved metadata's ``scope`` allows
it (the anchor's metadata policy: ``scope`` ``subset_of ["openid", "profile"]``).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tungban.core.errors import DomainError
from tungban.oidc import errors as oidc_errors
from tungban.oidc import federated
from tungban.oidc import services as oidc
from tungban.oidc.models import Client
from tungban.wallet.models import ReleaseRecord

from .. import errors
from ..constants import CROSS_BOUNDARY_TRUST_MARK_PATH, FEDERATION_ENTITY, OPENID_RELYING_PARTY
from ..models import Binding, CrossBoundaryRelease, Partner, RegisteredClient, TrustAnchor
from . import chain

#: The bind name of the cross-boundary consent in the app approval (``context["binds"]``;
#: registered optional for the ``login`` kind by ``tungban.oidc``).
BIND = "cross_boundary"
#: Scopes a federation RP may be granted (issue 23: the anchor's policy allows no more).
ALLOWED_SCOPES = ("openid", "profile")
#: Claims every login to a partner's service releases (the ID token's): never asked, always shown.
BASE_CLAIMS = ("sub", "acr")
#: Refusals after which the client row is deactivated (its tokens revoked, ``Client.save``):
#: only a definite answer that the RP is out — its superior's fetch endpoint says
#: ``not_found`` (:class:`errors.MemberRemoved`) or its trust mark's signed status is
#: ``revoked`` (:class:`errors.TrustMarkRevoked`). Anything an unauthenticated request could
#: cause or forge (a 429, an outage, a redirect, a bad request object, a broken statement)
#: refuses this request and changes nothing for the registered client (review of issue 23).
_DEACTIVATING = (errors.MembershipEnded,)


def source() -> federated.ClientSource:
    """The client source :mod:`tungban.oidc.federated` calls."""
    return federated.ClientSource(register=register, consent=consent, released=released)


def register(client_id: str, *, params: dict, endpoint: str) -> Client:
    """Register (or refresh) the federation RP ``client_id`` (§12.1 automatic registration).

    ``endpoint`` is ``"authorize"`` (``params``: the authorization request's parameters; a
    signed request object ``request`` is required, or a ``request_uri`` from the PAR endpoint,
    which registered the client a moment ago) or ``"par"`` (the caller checked that the client
    authenticates with ``private_key_jwt``). The request object's signature is verified by
    ``tungban.oidc`` with the keys written here, from the RP's resolved metadata.

    :returns: the ``oidc`` client row (``client_id`` = the entity identifier; ``redirect_uris``
        and ``jwks`` from the metadata; ``private_key_jwt``; scopes the metadata's ``scope`` ∩
        :data:`ALLOWED_SCOPES`; names from ``client_name`` / ``organization_name``; its own
        pairwise sector).
    :raises DomainError: ``unsigned_request``; from :func:`.chain.resolve`
        ``invalid_trust_chain``, ``invalid_trust_anchor``, ``invalid_metadata``,
        ``invalid_trust_mark``, ``federation_unreachable``; ``unknown_partner`` (the chain passes
        through no partner platform); ``invalid_metadata`` (no ``redirect_uris`` or ``jwks``,
        not ``private_key_jwt``, an identifier too long). Nothing is written then; an earlier
        registration of ``client_id`` is deactivated only on a definite answer that it is out
        (:data:`_DEACTIVATING`)."""
    if endpoint == "authorize" and "request" not in params:
        if "request_uri" in params and RegisteredClient.objects.filter(client__client_id=client_id).exists():
            return Client.objects.get(client_id=client_id)  # pushed: registered by the PAR endpoint
        raise errors.UnsignedRequest()
    try:
        return _register(client_id)
    except _DEACTIVATING:
        for client in Client.objects.filter(client_id=client_id, is_active=True, federation__isnull=False):
            client.is_active = False
            client.save()  # revokes its tokens (Client.save)
        raise


def _required_marks() -> list[str]:
    anchors = list(TrustAnchor.objects.filter(is_active=True).values_list("entity_id", flat=True))
    return [trust_mark_type(anchors[0])] if len(anchors) == 1 else []


def trust_mark_type(anchor: str) -> str:
    """The cross-boundary service trust mark type of ``anchor`` (issue 23)."""
    return f"{anchor.rstrip('/')}/{CROSS_BOUNDARY_TRUST_MARK_PATH}"


def _register(client_id: str) -> Client:
    if len(client_id) > Client._meta.get_field("client_id").max_length:
        raise errors.InvalidMetadata(_("The service's entity identifier is too long."))
    trust_chain = chain.resolve(client_id, entity_type=OPENID_RELYING_PARTY, required_trust_marks=_required_marks())
    wanted = trust_mark_type(trust_chain.anchor)
    if not any(wanted in (mark.get("trust_mark_type"), mark.get("id")) for mark in trust_chain.trust_marks):
        raise errors.InvalidTrustMark()
    partner = _partner(trust_chain.path)
    metadata = trust_chain.metadata.get(OPENID_RELYING_PARTY) or {}
    redirect_uris = metadata.get("redirect_uris")
    jwks = metadata.get("jwks")
    if not isinstance(redirect_uris, list) or not redirect_uris or not (jwks or {}).get("keys"):
        raise errors.InvalidMetadata(_("The service's metadata must give redirect_uris and jwks."))
    if metadata.get("token_endpoint_auth_method", "private_key_jwt") != "private_key_jwt":
        raise errors.InvalidMetadata(_("The service must authenticate with private_key_jwt."))
    scope = metadata.get("scope", "openid")
    asked = scope.split() if isinstance(scope, str) else list(scope or [])
    scopes = [s for s in ALLOWED_SCOPES if s in asked] or ["openid"]
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    organisation = trust_chain.metadata.get(FEDERATION_ENTITY) or {}
    name_en = str(metadata.get("client_name") or organisation.get("organization_name") or client_id)[:200]
    name_zh = str(
        metadata.get("client_name#zh-Hant")
        or metadata.get("client_name#zh-HK")
        or organisation.get("organization_name#zh-Hant")
        or name_en
    )[:200]
    try:
        oidc.check_client_metadata(redirect_uris, [], scopes, supported_scopes=ALLOWED_SCOPES, fapi=False)
        public = oidc.public_jwks_only(jwks)
    except Exception as exc:  # the oidc app's DomainError (invalid_redirect_uri, …) or a malformed JWKS
        raise errors.InvalidMetadata(
            getattr(exc, "message", None) or _("The service's metadata is not valid.")
        ) from None
    now = timezone.now()
    with transaction.atomic():
        client, _created = Client.objects.update_or_create(
            client_id=client_id,
            defaults={
                "name_en": name_en,
                "name_zh": name_zh,
                "logo_url": str(metadata.get("logo_uri") or "")[:200]
                if str(metadata.get("logo_uri") or "").startswith("https://")
                else "",
                "redirect_uris": redirect_uris,
                "post_logout_redirect_uris": [],
                "allowed_scopes": scopes,
                "token_endpoint_auth_method": "private_key_jwt",
                "client_secret_hash": "",
                "jwks": public,
                "sector_identifier": "",  # its own pairwise sector (Client.sector: client:<pk>)
                "required_acr": "",
                "fapi": False,
                "is_active": True,
            },
        )
        RegisteredClient.objects.update_or_create(
            client=client,
            defaults={
                "partner": partner,
                "anchor": trust_chain.anchor,
                "trust_chain_expires_at": dt.datetime.fromtimestamp(trust_chain.expires_at, tz=dt.UTC),
                "resolved_at": now,
            },
        )
    return client


def _current(client: Client, registered: RegisteredClient) -> RegisteredClient:
    """``registered`` if its recorded trust chain is still valid, else the registration after
    resolving the chain again (:func:`_register`: the client row and record updated).

    Called only for federated clients (:func:`released`), so ordinary clients' token and
    UserInfo requests do no more work. The resolution runs in the release's transaction (at
    most once per chain lifetime per client; bounded by :mod:`.chain`'s fetch budget).

    :raises DomainError: ``invalid_token`` (401) when the chain no longer resolves (any reason:
        a passing failure refuses this release too, and the next request tries again)."""
    if registered.trust_chain_expires_at > timezone.now():
        return registered
    try:
        with transaction.atomic():
            _register(client.client_id)
    except DomainError as exc:
        raise oidc_errors.InvalidToken(
            _("This service's federation membership could not be confirmed (%(code)s).") % {"code": exc.code}
        ) from None
    return RegisteredClient.objects.select_related("partner").get(client=client)


def _partner(path) -> Partner:
    """The partner platform whose entity the chain passes through (not the leaf itself).
    :raises DomainError: ``unknown_partner``."""
    partner = Partner.objects.filter(entity_id__in=list(path)[1:], is_active=True).first()
    if partner is None:
        raise errors.UnknownPartner()
    return partner


def _crossing_claims(requested_claims: list[dict]) -> list[str]:
    return [*BASE_CLAIMS, *(c["name"] for c in requested_claims)]


def _claim_words(names: list[str], language: str) -> str:
    from tungban.identity import eme

    with translation.override(language):
        words = [_("an identifier for this service only"), _("your identity assurance level")]
        words += [eme.label(name) for name in names if name not in BASE_CLAIMS]
        return ("、" if language.startswith("zh") else "; ").join(str(w) for w in words)


def _line(label: str, value_en: str, value_zh: str) -> dict:
    with translation.override("en"):
        en = _(label)
    with translation.override("zh-hant"):
        zh = _(label)
    return {"label": {"en": en, "zh": zh}, "value": {"en": value_en, "zh": value_zh}, "bind": BIND}


def consent(client: Client, requested_claims: list[dict]) -> tuple[dict, list]:
    """The cross-boundary consent of a login to the federation RP ``client``: ``(binds,
    details)`` for the app approval. ``binds[BIND]`` is what the device's signature repeats:
    ``{"partner", "service", "claims", "filing_reference"}``; ``details`` the lines the app
    shows (both languages, each tagged ``"bind": BIND``, left out for a resident whose live
    binding already covers the claims: :func:`tungban.federation.services.bindings.waiver`)."""
    registered = RegisteredClient.objects.select_related("partner").get(client=client)
    partner = registered.partner
    claims = _crossing_claims(requested_claims)
    binds = {
        BIND: {
            "partner": partner.entity_id,
            "service": client.client_id,
            "claims": claims,
            "filing_reference": partner.filing_reference,
        }
    }
    with translation.override("en"):
        bind_en = _(
            "Approving binds your tungban account to %(partner)s, so that you can use its services across the "
            "boundary. You can remove the binding in the app at any time."
        ) % {"partner": partner.name_en}
    with translation.override("zh-hant"):
        bind_zh = _(
            "Approving binds your tungban account to %(partner)s, so that you can use its services across the "
            "boundary. You can remove the binding in the app at any time."
        ) % {"partner": partner.name_zh}
    details = [
        # Labels are msgids translated in _line (gettext_noop style: marked for extraction here).
        _line("Partner platform", partner.name_en, partner.name_zh),
        _line("Bind your account", bind_en, bind_zh),
        _line("What crosses the boundary", _claim_words(claims, "en"), _claim_words(claims, "zh-hant")),
        _line("Legal basis", partner.legal_basis_en, partner.legal_basis_zh),
        _line("Filing reference", partner.filing_reference, partner.filing_reference),
    ]
    return binds, details


def released(client: Client, resident, *, claims: list[str], kind: str, approval=None, record=None, acr: str = ""):
    """Record a release of ``claims`` of ``resident`` to the federation RP ``client``: a
    :class:`CrossBoundaryRelease` with the partner's legal basis and filing reference and the
    wallet's release record (``record``, written by ``tungban.oidc`` for UserInfo; else written
    here), its requester named with the filing reference so the app's history shows the basis.
    Call inside the release's transaction.

    Once the recorded trust chain has expired (``RegisteredClient.trust_chain_expires_at``), the
    chain is resolved again first and the registration updated (:func:`_current`), so a
    revocation in the federation reaches tokens already issued (review of issue 23).

    :raises DomainError: ``invalid_token`` (401): no live binding with the partner (removed),
        a claim beyond the binding's, or the expired chain no longer resolves — nothing is
        released then.
    """
    registered = RegisteredClient.objects.select_related("partner").filter(client=client).first()
    if registered is None:
        raise oidc_errors.InvalidToken(_("This service is not a registered federation member."))
    registered = _current(client, registered)
    partner = registered.partner
    binding = Binding.objects.filter(resident=resident, partner=partner, removed_at__isnull=True).first()
    if binding is None:
        raise oidc_errors.InvalidToken(errors.BindingRemoved().message)
    beyond = [c for c in claims if c not in BASE_CLAIMS and c not in binding.claims]
    if beyond:
        raise oidc_errors.InvalidToken(
            _("The binding does not cover these claims: %(claims)s") % {"claims": ", ".join(beyond)}
        )
    name_en = f"{client.name_en} (cross-boundary, {partner.filing_reference})"[:200]
    name_zh = f"{client.name_zh}（跨境，備案編號 {partner.filing_reference}）"[:200]
    if record is None:
        record = ReleaseRecord.objects.create(
            resident=resident,
            requester_id=client.client_id,
            requester_name_en=name_en,
            requester_name_zh=name_zh,
            kind=kind,
            claims=list(claims),
            approval=approval,
        )
    else:
        ReleaseRecord.objects.filter(pk=record.pk).update(requester_name_en=name_en, requester_name_zh=name_zh)
    CrossBoundaryRelease.objects.create(
        binding=binding,
        recipient=client.client_id,
        recipient_name_en=client.name_en,
        recipient_name_zh=client.name_zh,
        claims=list(claims),
        acr=acr,
        legal_basis=f"{partner.legal_basis_en}\n{partner.legal_basis_zh}",
        filing_reference=partner.filing_reference,
        release=record,
    )
    return record
