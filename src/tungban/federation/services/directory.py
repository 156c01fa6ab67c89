"""What the pages of cross-boundary login show (part frp): hosted services with their trust
marks, the partner platforms, the partner platforms' services (from their federation list
endpoint, §8.2, each resolved and its cross-boundary trust mark verified, §10), and a
completed login — as plain dicts in the request's language.

Nothing is cached: the partner directory is fetched at each view of ``/cross-boundary/``
(a partner that cannot be reached is shown as such).
"""

from __future__ import annotations

import json
import logging

import requests
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from joserfc import jws
from joserfc.errors import JoseError

from tungban.core import netguard
from tungban.core.errors import DomainError
from tungban.oidc.constants import ACR_BASIC, ACR_MFA, ACR_PLUS, ACR_PLUS_MFA

from ..constants import CROSS_BOUNDARY_TRUST_MARK_PATH, FEDERATION_ENTITY, OPENID_RELYING_PARTY, Role
from ..models import Entity, Partner, RemoteLogin, TrustAnchor

log = logging.getLogger(__name__)

#: The levels in words (oidc's ``acr`` values, :mod:`tungban.oidc.constants`).
ACR_LABELS = {
    ACR_BASIC: _("Basic: an account in the app"),
    ACR_PLUS: _("Plus: identity checked in person"),
    ACR_MFA: _("Basic, confirmed with two factors"),
    ACR_PLUS_MFA: _("Plus, confirmed with two factors"),
}
#: The most entities listed per partner (a page, not a crawl).
MAX_LISTED = 20
#: The largest list endpoint answer read (bytes).
MAX_LIST_BYTES = 256 * 1024


def _zh() -> bool:
    return (translation.get_language() or "").lower().startswith("zh")


def _pick(en: str, zh: str) -> str:
    return (zh or en) if _zh() else (en or zh)


def acr_label(acr: str) -> str:
    return str(ACR_LABELS.get(acr, acr))


def trust_mark_claims(token: str) -> dict:
    """The claims of a trust mark JWT, unverified (for display of the marks this instance's own
    entities received; a partner's are verified by :func:`.chain.resolve`). ``{}`` if malformed."""
    try:
        return json.loads(jws.extract_compact(token.encode()).payload)
    except (JoseError, ValueError, TypeError, AttributeError):
        return {}


def _mark_card(claims: dict) -> dict:
    return {
        "type": claims.get("trust_mark_type") or claims.get("id") or "",
        "issuer": claims.get("iss", ""),
        "department": _pick(claims.get("department_en", ""), claims.get("department_zh", "")),
        "cross_boundary": str(claims.get("trust_mark_type") or claims.get("id") or "").endswith(
            CROSS_BOUNDARY_TRUST_MARK_PATH
        ),
    }


def hosted_services() -> list[Entity]:
    """This instance's active hosted services (relying parties), by path."""
    return list(Entity.objects.filter(role=Role.SERVICE, is_active=True).order_by("path"))


def service_card(service: Entity) -> dict:
    """A hosted service for a page: names, organisation, department, the lowest level it
    accepts, its trust marks, its page's URL."""
    marks = []
    for entry in service.trust_marks or []:
        token = entry.get("trust_mark") if isinstance(entry, dict) else entry
        claims = trust_mark_claims(token or "")
        if claims:
            marks.append(_mark_card(claims))
    return {
        "slug": service.path.rsplit("/", 1)[-1],
        "entity_id": service.entity_id,
        "name": _pick(service.name_en, service.name_zh),
        "organization": _pick(service.organization_en, service.organization_zh),
        "department": service.department,
        "required_acr": service.required_acr,
        "required_acr_label": acr_label(service.required_acr) if service.required_acr else "",
        "trust_marks": marks,
        "url": f"/{service.path}/",
    }


def partner_cards() -> list[dict]:
    """The active partner platforms: the providers a hosted service offers to log in with."""
    return [
        {"entity_id": p.entity_id, "name": _pick(p.name_en, p.name_zh), "jurisdiction": p.jurisdiction}
        for p in Partner.objects.filter(is_active=True).order_by("name_en")
    ]


def login_card(login: RemoteLogin) -> dict:
    """What a hosted service received from a login: the pairwise identifier, the level, the
    partner it came from, anything else that crossed."""
    from .rp import received_claims

    partner = Partner.objects.filter(entity_id=login.provider).first()
    return {
        "subject": login.subject,
        "acr": login.acr,
        "acr_label": acr_label(login.acr),
        "partner": _pick(partner.name_en, partner.name_zh) if partner else login.provider,
        "completed_at": login.completed_at,
        "claims": received_claims(login),
    }


def _required_marks() -> list[str]:
    return [
        f"{a.entity_id.rstrip('/')}/{CROSS_BOUNDARY_TRUST_MARK_PATH}"
        for a in TrustAnchor.objects.filter(is_active=True)
    ]


def _listed_services(platform: str) -> list | None:
    """The partner platform's subordinates of type ``openid_relying_party`` from its list
    endpoint (§8.2), named in its entity configuration (verified with its own keys,
    :func:`.chain.fetch_entity_configuration`); ``None`` if it cannot be had. The same guard as
    the chain's fetches (:func:`tungban.core.netguard.guard`): no private address unless
    ``TUNGBAN_FEDERATION_ALLOW_PRIVATE``, a short timeout, no redirect, at most :data:`MAX_LIST_BYTES`."""
    from . import chain

    try:
        configuration = chain.fetch_entity_configuration(platform)
        url = configuration["metadata"][FEDERATION_ENTITY]["federation_list_endpoint"]
        timeout = float(getattr(settings, "TUNGBAN_FEDERATION_FETCH_TIMEOUT", 5))
        session = netguard.guard(
            requests.Session(),
            allow_private=bool(getattr(settings, "TUNGBAN_FEDERATION_ALLOW_PRIVATE", False)),
            max_bytes=MAX_LIST_BYTES,
            deadline=timeout * 2,
        )
        with session:
            resp = session.get(url, params={"entity_type": OPENID_RELYING_PARTY}, timeout=(timeout, timeout))
        if resp.status_code != 200:
            return None
        body = resp.content
        listed = json.loads(body)
    except (DomainError, requests.RequestException, KeyError, TypeError, ValueError) as exc:
        log.info("the partner %s lists no services here: %s", platform, exc)
        return None
    return listed if isinstance(listed, list) else None


def partner_directory() -> list[dict]:
    """Each active partner with the services it lists (§8.2 ``entity_type`` =
    ``openid_relying_party``) whose chain resolves here with a cross-boundary trust mark:
    ``[{"name", "entity_id", "reachable", "services": [{"name", "url", "trust_marks", …}]}]``."""
    from . import chain

    out = []
    for partner in Partner.objects.filter(is_active=True).order_by("name_en"):
        entry = {"name": _pick(partner.name_en, partner.name_zh), "entity_id": partner.entity_id, "reachable": True}
        entry["services"] = services = []
        listed = _listed_services(partner.entity_id)
        if not isinstance(listed, list):
            entry["reachable"] = False
            out.append(entry)
            continue
        for entity_id in [e for e in listed if isinstance(e, str)][:MAX_LISTED]:
            try:
                trust = chain.resolve(
                    entity_id, entity_type=OPENID_RELYING_PARTY, required_trust_marks=_required_marks()
                )
            except DomainError as exc:
                log.info("partner service %s not listed: %s", entity_id, exc.code)
                continue
            rp_meta = (trust.metadata or {}).get(OPENID_RELYING_PARTY, {})
            fed = (trust.metadata or {}).get("federation_entity", {})
            services.append(
                {
                    "entity_id": entity_id,
                    "name": rp_meta.get("client_name#zh-Hant" if _zh() else "client_name")
                    or rp_meta.get("client_name")
                    or fed.get("organization_name")
                    or entity_id,
                    "url": f"{entity_id}/",
                    "trust_marks": [_mark_card(m) for m in trust.trust_marks],
                }
            )
        out.append(entry)
    return out
