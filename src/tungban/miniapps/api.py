"""The mini-program API (``/api/v1/miniapps/``), called by the resident's app with its device
key (``Authorization: Device <JWS>``), never by a mini-app (a mini-app has no network: it asks
the app over its MessageChannel port, and the app calls here)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import get_language
from ninja import Field, Router, Schema

from tungban.core.api import error_responses
from tungban.wallet.auth import device_auth

from . import permissions, services

router = Router(tags=["miniapps"])
ERRORS = error_responses(400, 401, 403, 404, 409)


class PermissionOut(Schema):
    id: str = Field(description="e.g. profile.name, payment.request")
    label: str = Field(description="What the resident is asked, in the request's language")
    detail: str = Field(description="What the mini-program receives")
    available: bool = Field(description="False: can be granted, but its calls answer action_not_available")
    granted: bool
    granted_at: dt.datetime | None = None


class MiniAppOut(Schema):
    id: str
    name: str = Field(description="In the request's language")
    description: str
    publisher: str = Field(description="The publishing department, in the request's language")
    version: str
    sha256: str = Field(description="Content hash of the current bundle (in its address)")
    entry_url: str
    permissions: list[PermissionOut]


class LaunchOut(Schema):
    entry_url: str
    sub: str = Field(description="The resident's pairwise id at this mini-program's sector")
    launch_token: str = Field(
        description="JWS (ES256, typ miniapp-launch+jwt): iss, aud miniapp:<id>, sub, iat, exp, version"
    )


class GrantOut(Schema):
    permission: str
    granted: bool
    granted_at: dt.datetime | None = None


def _pick(en: str, zh: str) -> str:
    return en if (get_language() or "").startswith("en") else (zh or en)


def _out(app, resident) -> dict:
    grants = {g.permission: g.granted_at for g in app.grants.filter(resident=resident, revoked_at__isnull=True)}
    perms = []
    for pid in app.current.permissions:
        p = permissions.get(pid)
        perms.append(
            {
                "id": pid,
                "label": str(p.label),
                "detail": str(p.detail),
                "available": p.available,
                "granted": pid in grants,
                "granted_at": grants.get(pid),
            }
        )
    return {
        "id": app.id,
        "name": _pick(app.name_en, app.name_zh),
        "description": _pick(app.description_en, app.description_zh),
        "publisher": _pick(app.publisher_name_en, app.publisher_name_zh),
        "version": app.current.version,
        "sha256": app.current.sha256,
        "entry_url": services.entry_url(app),
        "permissions": perms,
    }


@router.get(
    "/", response={200: list[MiniAppOut], **ERRORS}, auth=device_auth, summary="(device) Published mini-programs"
)
def list_miniapps(request):
    return [_out(app, request.auth.resident) for app in services.published()]


@router.get(
    "/{miniapp_id}", response={200: MiniAppOut, **ERRORS}, auth=device_auth, summary="(device) One mini-program"
)
def get_miniapp(request, miniapp_id: str):
    return _out(services.get_published(miniapp_id), request.auth.resident)


@router.get(
    "/{miniapp_id}/launch",
    response={200: LaunchOut, **ERRORS},
    auth=device_auth,
    summary="(device) Entry page and signed launch context (pairwise sub) for a mini-program",
)
def launch(request, miniapp_id: str):
    return services.launch(request.auth.resident, miniapp_id)


@router.put(
    "/{miniapp_id}/grants/{permission}",
    response={200: GrantOut, **ERRORS},
    auth=device_auth,
    summary="(device) Grant a mini-program a permission it declares (idempotent)",
)
def put_grant(request, miniapp_id: str, permission: str):
    g = services.grant(request.auth.resident, miniapp_id, permission)
    return {"permission": g.permission, "granted": True, "granted_at": g.granted_at}


@router.delete(
    "/{miniapp_id}/grants/{permission}",
    response={200: GrantOut, **ERRORS},
    auth=device_auth,
    summary="(device) Revoke a permission (later calls are refused)",
)
def delete_grant(request, miniapp_id: str, permission: str):
    services.revoke(request.auth.resident, miniapp_id, permission)
    return {"permission": permission, "granted": False, "granted_at": None}


@router.get(
    "/{miniapp_id}/data/{permission}",
    response={200: dict, **ERRORS},
    auth=device_auth,
    summary="(device) Carry out a granted permission for the mini-program (recorded in the history)",
)
def data(request, miniapp_id: str, permission: str):
    return services.call(request.auth.resident, miniapp_id, permission)
