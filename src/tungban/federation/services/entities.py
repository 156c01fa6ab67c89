"""Hosted entities, their keys and the statements they sign (OpenID Federation 1.0, draft 45).
Part fcore.

* Keys: ES256 on P-256 (``cryptography``), the private key sealed at rest
  (:mod:`tungban.keys.sealing`); ``kid`` is the JWK thumbprint (RFC 7638). Federation entity
  keys sign statements and trust marks, protocol keys (services only) sign request objects
  and client assertions (§1.2). Rollover (:func:`rotate_key`): the retired key stays in the
  published JWK Set for the longest statement lifetime (entity configuration, subordinate
  statement or trust mark, whichever is longest), so that every statement it signed can still
  be verified until it expires (§11.1).
* Statements: entity configurations (§3.1.1), subordinate statements (§3.1.2, served by the
  fetch endpoint §8.1), signed with joserfc (``typ`` ``entity-statement+jwt``).
* Enrolment of subordinates with their keys pinned (the JWK Set received out of band, its
  thumbprints compared by telephone or letter: docs/integrators.md §18), revocation (the
  subordinate statement is no longer served: effective at every chain's next resolution),
  pinned trust anchors (§1.2) and partner platforms (the legal basis of transfers).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from joserfc.jws import extract_compact

from tungban.keys import sealing

from .. import errors
from ..constants import (
    ALGORITHM,
    CROSS_BOUNDARY_TRUST_MARK_PATH,
    ENTITY_CONFIGURATION_LIFETIME,
    ENTITY_STATEMENT_TYP,
    FEDERATION_ENTITY,
    OPENID_PROVIDER,
    OPENID_RELYING_PARTY,
    SUBORDINATE_STATEMENT_LIFETIME,
    TRUST_MARK_LIFETIME,
    KeyUse,
    Role,
)
from ..models import Entity, EntityKey, Partner, Subordinate, TrustAnchor, TrustMarkType

#: Where hosted services live under the platform's address (issue 23 topology).
SERVICE_PATH_PREFIX = "federation/services/"


# --- lifetimes ----------------------------------------------------------------------------------


def entity_lifetime() -> int:
    """Seconds an entity configuration is valid (``TUNGBAN_FEDERATION_ENTITY_LIFETIME``)."""
    return int(getattr(settings, "TUNGBAN_FEDERATION_ENTITY_LIFETIME", ENTITY_CONFIGURATION_LIFETIME))


def statement_lifetime() -> int:
    """Seconds a subordinate statement is valid (``TUNGBAN_FEDERATION_STATEMENT_LIFETIME``)."""
    return int(getattr(settings, "TUNGBAN_FEDERATION_STATEMENT_LIFETIME", SUBORDINATE_STATEMENT_LIFETIME))


def trust_mark_lifetime() -> int:
    """Seconds a trust mark is valid (``TUNGBAN_FEDERATION_TRUST_MARK_LIFETIME``)."""
    return int(getattr(settings, "TUNGBAN_FEDERATION_TRUST_MARK_LIFETIME", TRUST_MARK_LIFETIME))


def retirement_seconds() -> int:
    """How long a retired key stays published: the longest statement lifetime (seconds)."""
    return max(entity_lifetime(), statement_lifetime(), trust_mark_lifetime())


# --- entities -----------------------------------------------------------------------------------


def root() -> Entity | None:
    """The instance's root entity (``path`` ""): the trust anchor or the platform; None before
    ``tungban federation_init``."""
    return Entity.objects.filter(path="").first()


def by_entity_id(entity_id: str) -> Entity | None:
    """The active hosted entity whose identifier is ``entity_id`` (trailing "/" ignored), or None."""
    base = settings.TUNGBAN_ISSUER.rstrip("/")
    wanted = (entity_id or "").rstrip("/")
    if wanted == base:
        path = ""
    elif wanted.startswith(base + "/"):
        path = wanted[len(base) + 1 :]
    else:
        return None
    return Entity.objects.filter(path=path, is_active=True).first()


def service(slug: str) -> Entity | None:
    """The active hosted service at ``federation/services/<slug>``, or None."""
    return Entity.objects.filter(path=SERVICE_PATH_PREFIX + slug, role=Role.SERVICE, is_active=True).first()


def _new_key(entity: Entity, use: str) -> EntityKey:
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = ECKey.import_key(private.public_key())
    kid = jwk.thumbprint()
    public = {**jwk.as_dict(private=False), "kid": kid, "alg": ALGORITHM, "use": "sig"}
    return EntityKey.objects.create(
        entity=entity, use=use, kid=kid, private_key=sealing.seal(private), public_jwk=public
    )


@transaction.atomic
def ensure_entity(
    *,
    path: str,
    role: str,
    name_en: str,
    name_zh: str,
    organization_en: str = "",
    organization_zh: str = "",
    department: str = "",
    authority_hints: Iterable[str] = (),
    metadata: dict | None = None,
    required_acr: str = "",
) -> Entity:
    """The hosted entity at ``path`` ("" for the root; ``federation/services/<slug>`` for a
    service), created or updated with these values (idempotent). It gets a federation key if it
    has none, and a service a protocol key. A path entity of this instance is enrolled as a
    subordinate of the root (its keys are local, nothing to pin) and its ``authority_hints``
    default to the root's identifier.

    :raises errors.InvalidRequest: ``role`` is not a :class:`~..constants.Role`, or a path
        entity is created before the root.
    """
    if role not in Role.values:
        raise errors.InvalidRequest(f"unknown role {role!r}")
    path = path.strip("/")
    top = None
    hints = list(authority_hints)
    if path:
        top = root()
        if top is None:
            raise errors.InvalidRequest("create the root entity first (tungban federation_init)")
        hints = hints or [top.entity_id]
    values = {
        "role": role,
        "name_en": name_en,
        "name_zh": name_zh,
        "organization_en": organization_en,
        "organization_zh": organization_zh,
        "department": department,
        "authority_hints": hints,
        "required_acr": required_acr,
        "is_active": True,
    }
    if metadata is not None:
        values["metadata"] = metadata
    entity, _ = Entity.objects.update_or_create(path=path, defaults=values)
    if not entity.keys.filter(use=KeyUse.FEDERATION, retired_at__isnull=True).exists():
        _new_key(entity, KeyUse.FEDERATION)
    if role == Role.SERVICE and not entity.keys.filter(use=KeyUse.PROTOCOL, retired_at__isnull=True).exists():
        _new_key(entity, KeyUse.PROTOCOL)
    if top is not None:
        types = [FEDERATION_ENTITY, OPENID_RELYING_PARTY] if role == Role.SERVICE else [FEDERATION_ENTITY]
        existing = Subordinate.objects.filter(superior=top, entity_id=entity.entity_id).first()
        enrol(
            top,
            entity_id=entity.entity_id,
            jwks=federation_jwks(entity),
            entity_types=types,
            name_en=name_en,
            name_zh=name_zh,
            metadata_policy=existing.metadata_policy if existing else None,
            metadata=existing.metadata if existing else None,
            constraints=existing.constraints if existing else None,
            enrolled_by="ensure_entity",
        )
    return entity


def _published_keys(entity: Entity, use: str) -> list[EntityKey]:
    cutoff = timezone.now() - dt.timedelta(seconds=retirement_seconds())
    return [
        k
        for k in entity.keys.filter(use=use).order_by("-created_at", "-id")
        if k.retired_at is None or k.retired_at > cutoff
    ]


def federation_jwks(entity: Entity) -> dict:
    """The entity's published federation keys as a public JWK Set ``{"keys": [...]}``: the
    current key and keys retired less than :func:`retirement_seconds` ago."""
    return {"keys": [dict(k.public_jwk) for k in _published_keys(entity, KeyUse.FEDERATION)]}


def protocol_jwks(entity: Entity) -> dict:
    """The entity's published protocol keys (a service's ``openid_relying_party`` ``jwks``)."""
    return {"keys": [dict(k.public_jwk) for k in _published_keys(entity, KeyUse.PROTOCOL)]}


def _current(entity: Entity, use: str) -> EntityKey:
    key = entity.keys.filter(use=use, retired_at__isnull=True).order_by("-created_at", "-id").first()
    if key is None:
        raise errors.EntityNotFound(f"{entity.entity_id} has no {use} key")
    return key


def _private(key: EntityKey) -> ECKey:
    jwk = ECKey.import_key(sealing.unseal(key.private_key))
    jwk.ensure_kid()
    return ECKey.import_key(jwk.as_dict(private=True), {"kid": key.kid, "alg": ALGORITHM, "use": "sig"})


def protocol_key(entity: Entity) -> ECKey:
    """The service's current private protocol key (joserfc ``ECKey``, ``kid`` set): it signs
    request objects and ``private_key_jwt`` client assertions.

    :raises errors.EntityNotFound: the entity has no protocol key (it is not a service)."""
    return _private(_current(entity, KeyUse.PROTOCOL))


@transaction.atomic
def rotate_key(entity: Entity, use: str = KeyUse.FEDERATION) -> EntityKey:
    """Key rollover (§11.1): a new current key of ``use``; the previous one is retired and stays
    published for :func:`retirement_seconds`. A path entity's pinned keys at the root are
    updated (for a remote superior the operator sends the new JWK Set out of band)."""
    entity.keys.filter(use=use, retired_at__isnull=True).update(retired_at=timezone.now())
    key = _new_key(entity, use)
    if entity.path and use == KeyUse.FEDERATION and (top := root()) is not None:
        Subordinate.objects.filter(superior=top, entity_id=entity.entity_id).update(jwks=federation_jwks(entity))
    return key


def sign(entity: Entity, claims: dict, *, typ: str) -> str:
    """``claims`` as a compact JWS (ES256) with header ``typ`` and the ``kid`` of the entity's
    current federation key (§3: entity statements, §7 trust marks, §8 signed responses).

    :raises errors.EntityNotFound: the entity has no federation key."""
    key = _current(entity, KeyUse.FEDERATION)
    header = {"alg": ALGORITHM, "typ": typ, "kid": key.kid}
    return jwt.encode(header, claims, _private(key), algorithms=[ALGORITHM])


# --- statements ---------------------------------------------------------------------------------


def endpoints(entity: Entity) -> dict:
    """The federation endpoints the root entity publishes in its ``federation_entity`` metadata
    (§5.1.1); empty for a path entity (a leaf)."""
    if entity.path:
        return {}
    base = entity.entity_id
    out = {
        "federation_fetch_endpoint": f"{base}/federation/fetch",
        "federation_list_endpoint": f"{base}/federation/list",
        "federation_resolve_endpoint": f"{base}/federation/resolve",
        "federation_trust_mark_status_endpoint": f"{base}/federation/trust_mark_status",
    }
    if entity.role == Role.ANCHOR or entity.trust_mark_types.exists():
        out["federation_trust_mark_endpoint"] = f"{base}/federation/trust_mark"
    return out


def metadata_of(entity: Entity) -> dict:
    """The entity's metadata as published in its entity configuration (§5):
    ``federation_entity`` (``organization_name``, endpoints), the platform's ``openid_provider``
    (the OIDC discovery document, ``jwks`` inline, automatic registration), a service's
    ``openid_relying_party`` (its declared metadata, protocol ``jwks``, ``private_key_jwt``,
    automatic registration)."""
    declared = dict(entity.metadata or {})
    fed = {
        "organization_name": entity.organization_en or entity.name_en,
        **endpoints(entity),
        **declared.pop(FEDERATION_ENTITY, {}),
    }
    out = {FEDERATION_ENTITY: fed}
    if entity.role == Role.PLATFORM and not entity.path:
        from tungban.keys import services as keys
        from tungban.oidc import services as oidc

        op = {
            **oidc.discovery(),
            "jwks": keys.public_jwks(),
            "client_registration_types_supported": ["automatic"],
            "request_object_signing_alg_values_supported": [ALGORITHM],
            **declared.pop(OPENID_PROVIDER, {}),
        }
        op.pop("jwks_uri", None)
        out[OPENID_PROVIDER] = op
    if entity.role == Role.SERVICE:
        rp = {
            "client_name": entity.name_en,
            "client_registration_types": ["automatic"],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "scope": "openid",
            **declared.pop(OPENID_RELYING_PARTY, {}),
            "jwks": protocol_jwks(entity),
            "token_endpoint_auth_method": "private_key_jwt",
        }
        out[OPENID_RELYING_PARTY] = rp
    out.update(declared)
    return out


def entity_configuration(entity: Entity, *, now: int | None = None) -> str:
    """The entity's entity configuration (§3.1.1): ``iss`` = ``sub`` = its identifier, ``iat``,
    ``exp`` (``iat`` + its lifetime), ``jwks`` (federation keys), ``authority_hints`` (not for
    a trust anchor), ``metadata`` (:func:`metadata_of`), ``trust_marks`` received, and for a
    trust anchor ``trust_mark_issuers`` (its trust mark types, itself the issuer). Signed with
    ``typ`` ``entity-statement+jwt``."""
    iat = int(now if now is not None else time.time())
    lifetime = min(entity.lifetime or entity_lifetime(), entity_lifetime())
    claims = {
        "iss": entity.entity_id,
        "sub": entity.entity_id,
        "iat": iat,
        "exp": iat + lifetime,
        "jwks": federation_jwks(entity),
        "metadata": metadata_of(entity),
    }
    if entity.role != Role.ANCHOR and entity.authority_hints:
        claims["authority_hints"] = list(entity.authority_hints)
    if entity.trust_marks:
        claims["trust_marks"] = [
            {"trust_mark_type": m["trust_mark_type"], "id": m["trust_mark_type"], "trust_mark": m["trust_mark"]}
            for m in entity.trust_marks
        ]
    if entity.role == Role.ANCHOR:
        claims["trust_mark_issuers"] = {
            t.trust_mark_type: [entity.entity_id] for t in entity.trust_mark_types.order_by("trust_mark_type")
        }
    return sign(entity, claims, typ=ENTITY_STATEMENT_TYP)


def subordinate_statement(superior: Entity, entity_id: str, *, now: int | None = None) -> str:
    """What ``superior`` says about ``entity_id`` (§3.1.2; the fetch endpoint's answer, §8.1.2):
    ``iss`` the superior, ``sub`` the subordinate, ``iat``/``exp``, the pinned ``jwks``,
    ``metadata_policy``, ``metadata``, ``constraints`` when set, ``source_endpoint``.

    :raises errors.InvalidSubject: ``entity_id`` is the superior itself (§8.1.1).
    :raises errors.EntityNotFound: not a subordinate, or revoked (revocation, issue 23)."""
    if (entity_id or "").rstrip("/") == superior.entity_id:
        raise errors.InvalidSubject("the fetch endpoint does not answer for the issuer itself")
    sub = Subordinate.objects.filter(
        superior=superior, entity_id=entity_id.rstrip("/"), revoked_at__isnull=True
    ).first()
    if sub is None:
        raise errors.EntityNotFound(f"{entity_id} is not a subordinate of {superior.entity_id}")
    iat = int(now if now is not None else time.time())
    lifetime = min(sub.lifetime or statement_lifetime(), statement_lifetime())
    claims = {
        "iss": superior.entity_id,
        "sub": sub.entity_id,
        "iat": iat,
        "exp": iat + lifetime,
        "jwks": sub.jwks,
        "source_endpoint": endpoints(superior).get("federation_fetch_endpoint", ""),
    }
    if sub.metadata_policy:
        claims["metadata_policy"] = sub.metadata_policy
    if sub.metadata:
        claims["metadata"] = sub.metadata
    if sub.constraints:
        claims["constraints"] = sub.constraints
    if not claims["source_endpoint"]:
        del claims["source_endpoint"]
    return sign(superior, claims, typ=ENTITY_STATEMENT_TYP)


def list_subordinates(superior: Entity, *, entity_type: str | None = None) -> list[str]:
    """Identifiers of the superior's live (not revoked) subordinates (§8.2), of ``entity_type``
    if given."""
    rows = Subordinate.objects.filter(superior=superior, revoked_at__isnull=True).order_by("entity_id")
    return [s.entity_id for s in rows if not entity_type or entity_type in (s.entity_types or [])]


def unverified_claims(token: str) -> dict:
    """The payload of a compact JWS as a dict, signature not checked (to find out who signed it
    before verifying it).

    :raises ValueError: not a compact JWS with a JSON object payload."""
    try:
        payload = json.loads(extract_compact(token.encode()).payload)
    except Exception as e:
        raise ValueError(f"not a JWT: {e}") from None
    if not isinstance(payload, dict):
        raise ValueError("the JWT's payload is not a JSON object")
    return payload


def unverified_header(token: str) -> dict:
    """The protected header of a compact JWS (signature not checked).

    :raises ValueError: not a compact JWS."""
    try:
        return dict(extract_compact(token.encode()).protected)
    except Exception as e:
        raise ValueError(f"not a JWT: {e}") from None


# --- enrolment, anchors, partners ---------------------------------------------------------------


def _check_jwks(jwks) -> dict:
    try:
        keyset = KeySet.import_key_set(jwks)
    except Exception as e:  # joserfc raises several types for a malformed set
        raise errors.InvalidRequest(f"the JWK Set is malformed: {e}") from None
    if not keyset.keys:
        raise errors.InvalidRequest("the JWK Set has no keys")
    out = {"keys": []}
    for key in keyset.keys:
        if key.is_private:
            raise errors.InvalidRequest("the JWK Set holds a private key: send only the public keys")
        out["keys"].append(key.as_dict(private=False))
    return out


def _check_entity_id(entity_id: str) -> str:
    entity_id = (entity_id or "").strip().rstrip("/")
    if not entity_id.startswith(("https://", "http://")) or "#" in entity_id or "?" in entity_id:
        raise errors.InvalidRequest(f"an entity identifier is an http(s) URL without query or fragment: {entity_id!r}")
    return entity_id


@transaction.atomic
def enrol(
    superior: Entity,
    *,
    entity_id: str,
    jwks: dict,
    entity_types: Iterable[str],
    name_en: str,
    name_zh: str,
    metadata_policy: dict | None = None,
    metadata: dict | None = None,
    constraints: dict | None = None,
    enrolled_by: str = "",
) -> Subordinate:
    """Enrol (or update) ``entity_id`` as a subordinate of ``superior`` with its federation keys
    pinned (``jwks``, public JWK Set received out of band) and the superior's
    ``metadata_policy`` (§6.1), ``metadata`` and ``constraints`` (§6.2). Upsert; re-enrolling
    a revoked subordinate clears the revocation.

    :raises errors.InvalidRequest: a malformed identifier or JWK Set, a private key in it."""
    entity_id = _check_entity_id(entity_id)
    sub, _ = Subordinate.objects.update_or_create(
        superior=superior,
        entity_id=entity_id,
        defaults={
            "name_en": name_en,
            "name_zh": name_zh,
            "entity_types": list(entity_types),
            "jwks": _check_jwks(jwks),
            "metadata_policy": metadata_policy or {},
            "metadata": metadata or {},
            "constraints": constraints or {},
            "enrolled_by": enrolled_by,
            "revoked_at": None,
            "revoked_reason": "",
        },
    )
    return sub


@transaction.atomic
def revoke(superior: Entity, entity_id: str, *, reason: str) -> Subordinate:
    """Revoke a subordinate: the fetch endpoint answers ``not_found`` for it from now on, so every
    chain through it fails at its next resolution (issue 23).

    :raises errors.EntityNotFound: not a subordinate of ``superior``."""
    sub = (
        Subordinate.objects.select_for_update()
        .filter(superior=superior, entity_id=(entity_id or "").rstrip("/"))
        .first()
    )
    if sub is None:
        raise errors.EntityNotFound(f"{entity_id} is not a subordinate of {superior.entity_id}")
    sub.revoked_at = timezone.now()
    sub.revoked_reason = reason
    sub.save(update_fields=["revoked_at", "revoked_reason"])
    return sub


@transaction.atomic
def pin_anchor(entity_id: str, jwks: dict, *, name_en: str, name_zh: str) -> TrustAnchor:
    """Accept chains to the trust anchor ``entity_id`` verified with ``jwks`` (its federation keys,
    pinned out of band, §1.2, §10.1). Upsert.

    :raises errors.InvalidRequest: a malformed identifier or JWK Set."""
    entity_id = _check_entity_id(entity_id)
    anchor, _ = TrustAnchor.objects.update_or_create(
        entity_id=entity_id,
        defaults={"jwks": _check_jwks(jwks), "name_en": name_en, "name_zh": name_zh, "is_active": True},
    )
    return anchor


@transaction.atomic
def add_partner(
    *,
    entity_id: str,
    name_en: str,
    name_zh: str,
    jurisdiction: str,
    legal_basis_en: str,
    legal_basis_zh: str,
    filing_reference: str,
    acr_map: dict | None = None,
) -> Partner:
    """Record (or update) a partner platform with the legal basis for personal data sent to its
    services (the GBA standard contract's filing reference, seeds 001 ¶7, 004). Upsert.

    :raises errors.InvalidRequest: a malformed identifier, or no legal basis or filing reference."""
    entity_id = _check_entity_id(entity_id)
    if not (legal_basis_en.strip() and legal_basis_zh.strip() and filing_reference.strip()):
        raise errors.InvalidRequest("a partner needs its legal basis in both languages and the filing reference")
    partner, _ = Partner.objects.update_or_create(
        entity_id=entity_id,
        defaults={
            "name_en": name_en,
            "name_zh": name_zh,
            "jurisdiction": jurisdiction,
            "legal_basis_en": legal_basis_en,
            "legal_basis_zh": legal_basis_zh,
            "filing_reference": filing_reference,
            "acr_map": acr_map or {},
            "is_active": True,
        },
    )
    return partner


@transaction.atomic
def receive_trust_mark(entity: Entity, token: str) -> dict:
    """Store a trust mark issued to ``entity`` (published in its entity configuration's
    ``trust_marks``, §3.1.1), replacing any of the same type. The JWT's claims are read without
    verification here: a resolver verifies it (§7.3); ``sub`` must be the entity.

    :returns: the stored entry ``{"trust_mark_type", "trust_mark"}``.
    :raises errors.InvalidRequest: not a JWT, no type, or another subject."""
    try:
        claims = unverified_claims(token.strip())
    except ValueError:
        raise errors.InvalidRequest("the trust mark is not a JWT") from None
    mark_type = claims.get("trust_mark_type") or claims.get("id")
    if not isinstance(mark_type, str) or not mark_type:
        raise errors.InvalidRequest("the trust mark has no trust_mark_type")
    if claims.get("sub") != entity.entity_id:
        raise errors.InvalidRequest(f"the trust mark is for {claims.get('sub')!r}, not {entity.entity_id}")
    entry = {"trust_mark_type": mark_type, "trust_mark": token.strip()}
    marks = [m for m in (entity.trust_marks or []) if m.get("trust_mark_type") != mark_type]
    entity.trust_marks = [*marks, entry]
    entity.save(update_fields=["trust_marks"])
    return entry


def cross_boundary_trust_mark_type(anchor_id: str) -> str:
    """The cross-boundary service trust mark type of the anchor ``anchor_id`` (issue 23)."""
    return f"{anchor_id.rstrip('/')}/{CROSS_BOUNDARY_TRUST_MARK_PATH}"


def trust_mark_type(trust_mark_type_id: str) -> TrustMarkType | None:
    """The trust mark type this instance issues with that identifier, or None."""
    return TrustMarkType.objects.select_related("issuer").filter(trust_mark_type=trust_mark_type_id).first()
