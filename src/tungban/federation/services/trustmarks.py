"""Trust marks (OpenID Federation 1.0 draft 45 §7) and their status (§8.6). Part fcore.

The trust anchor issues the cross-boundary service trust mark (跨境通辦服務, issue 23: "a
cross-boundary service of department X", the department in the claims) to the services the
partner platforms run; it lists itself in its entity configuration's ``trust_mark_issuers``
for the type. A trust mark is a JWT (``typ`` ``trust-mark+jwt``) with ``iss``, ``sub``,
``trust_mark_type`` (draft 45) and ``id`` (earlier drafts, read by the TypeScript verifier),
``iat``, ``exp``, ``jti``. Its status (``active``, ``revoked``, ``expired``, ``invalid``) is
served signed by the issuer's trust mark status endpoint (§8.6).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time

from django.db import transaction
from django.utils import timezone
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .. import errors
from ..constants import ALGORITHM, CLOCK_SKEW, CROSS_BOUNDARY_TRUST_MARK_PATH, TRUST_MARK_STATUS_TYP, TRUST_MARK_TYP
from ..models import Entity, TrustMark, TrustMarkType
from . import entities

ACTIVE, REVOKED, EXPIRED, INVALID = "active", "revoked", "expired", "invalid"


@transaction.atomic
def ensure_type(
    issuer: Entity, *, name_en: str, name_zh: str, path: str = CROSS_BOUNDARY_TRUST_MARK_PATH
) -> TrustMarkType:
    """The trust mark type ``{issuer}/{path}`` issued by ``issuer`` (created or renamed)."""
    mark_type, _ = TrustMarkType.objects.update_or_create(
        trust_mark_type=f"{issuer.entity_id}/{path.strip('/')}",
        defaults={"issuer": issuer, "name_en": name_en, "name_zh": name_zh},
    )
    return mark_type


@transaction.atomic
def issue(mark_type: TrustMarkType, subject: str, *, department_en: str, department_zh: str) -> tuple[TrustMark, str]:
    """Issue a trust mark of ``mark_type`` to the entity ``subject`` (§7.1): the row and the JWT
    (``typ`` ``trust-mark+jwt``, signed with the issuer's federation key; lifetime the type's,
    at most ``TUNGBAN_FEDERATION_TRUST_MARK_LIFETIME``).

    :raises errors.InvalidRequest: ``subject`` is not an entity identifier."""
    subject = entities._check_entity_id(subject)
    now = int(time.time())
    exp = now + min(mark_type.lifetime or entities.trust_mark_lifetime(), entities.trust_mark_lifetime())
    jti = secrets.token_urlsafe(18)
    mark = TrustMark.objects.create(
        type=mark_type,
        subject=subject,
        department_en=department_en,
        department_zh=department_zh,
        jti=jti,
        issued_at=dt.datetime.fromtimestamp(now, dt.UTC),
        expires_at=dt.datetime.fromtimestamp(exp, dt.UTC),
    )
    claims = {
        "iss": mark_type.issuer.entity_id,
        "sub": subject,
        "trust_mark_type": mark_type.trust_mark_type,
        "id": mark_type.trust_mark_type,
        "iat": now,
        "exp": exp,
        "jti": jti,
        "department_en": department_en,
        "department_zh": department_zh,
    }
    return mark, entities.sign(mark_type.issuer, claims, typ=TRUST_MARK_TYP)


@transaction.atomic
def revoke(mark: TrustMark, *, reason: str) -> TrustMark:
    """Revoke ``mark``: its status is ``revoked`` from now on (§8.6), so resolvers refuse it."""
    mark = TrustMark.objects.select_for_update().get(pk=mark.pk)
    if mark.revoked_at is None:
        mark.revoked_at = timezone.now()
        mark.revoked_reason = reason
        mark.save(update_fields=["revoked_at", "revoked_reason"])
    return mark


def _issued(token: str) -> TrustMark | None:
    """The trust mark this instance issued for ``token`` if its signature verifies with the
    issuer's federation keys, else None."""
    try:
        claims = entities.unverified_claims(token)
    except ValueError:
        return None
    mark = TrustMark.objects.select_related("type", "type__issuer").filter(jti=str(claims.get("jti", ""))).first()
    if mark is None:
        return None
    try:
        keys = KeySet.import_key_set(entities.federation_jwks(mark.type.issuer))
        verified = jwt.decode(token, keys, algorithms=[ALGORITHM])
    except (JoseError, ValueError):
        return None
    c = verified.claims
    if verified.header.get("typ") != TRUST_MARK_TYP or c.get("sub") != mark.subject:
        return None
    if c.get("iss") != mark.type.issuer.entity_id or c.get("trust_mark_type", c.get("id")) != mark.type.trust_mark_type:
        return None
    return mark


def status(token: str) -> str:
    """The issuer's view of a trust mark it issued (§8.6): ``active``, ``revoked``, ``expired``,
    or ``invalid`` (not issued here, or its signature or claims do not verify)."""
    mark = _issued(token)
    if mark is None:
        return INVALID
    if mark.revoked_at is not None:
        return REVOKED
    if mark.expires_at.timestamp() + CLOCK_SKEW < time.time():
        return EXPIRED
    return ACTIVE


def status_response(issuer: Entity, token: str) -> str:
    """The trust mark status endpoint's signed response (§8.6.2, draft 45): a JWT (``typ``
    ``trust-mark-status-response+jwt``) from ``issuer`` with ``iss``, ``iat``, ``trust_mark``
    and ``status``."""
    return entities.sign(
        issuer,
        {"iss": issuer.entity_id, "iat": int(time.time()), "trust_mark": token, "status": status(token)},
        typ=TRUST_MARK_STATUS_TYP,
    )


def current(mark_type: TrustMarkType, subject: str) -> TrustMark:
    """The newest trust mark of ``mark_type`` issued to ``subject`` that is neither revoked nor
    expired (§8.5, the trust mark endpoint).

    :raises errors.EntityNotFound: there is none."""
    mark = (
        TrustMark.objects.filter(
            type=mark_type, subject=subject.rstrip("/"), revoked_at__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-issued_at")
        .first()
    )
    if mark is None:
        raise errors.EntityNotFound(f"no active trust mark of {mark_type} for {subject}")
    return mark


def reissue(mark: TrustMark) -> str:
    """A JWT for the existing trust mark ``mark`` (same ``jti`` and times, §8.5)."""
    claims = {
        "iss": mark.type.issuer.entity_id,
        "sub": mark.subject,
        "trust_mark_type": mark.type.trust_mark_type,
        "id": mark.type.trust_mark_type,
        "iat": int(mark.issued_at.timestamp()),
        "exp": int(mark.expires_at.timestamp()),
        "jti": mark.jti,
        "department_en": mark.department_en,
        "department_zh": mark.department_zh,
    }
    return entities.sign(mark.type.issuer, claims, typ=TRUST_MARK_TYP)
