"""The mini-program platform: publishing bundles, launching, the resident's grants, data calls.

Threat model (anchor study §2.5, §4(e) E4–E7): a mini-app is a department's code running
inside the resident's app. It runs in an ``<iframe sandbox="allow-scripts">`` (an opaque
origin: no cookies, storage or DOM of the app; no top navigation, forms or pop-ups) and its
files carry :data:`~.constants.BUNDLE_CSP` (no network at all). The only way out is the
MessageChannel port the app hands it; behind the port the app calls this module's API with
its device key, and the platform enforces the grants here, whatever the app's script does.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from pathlib import Path, PurePosixPath

import jsonschema
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tungban.identity.models import Resident
from tungban.keys import services as keys
from tungban.oidc import services as oidc
from tungban.wallet import services as wallet

from . import errors, permissions
from .constants import (
    LAUNCH_TTL,
    LAUNCH_TYP,
    MAX_BUNDLE_BYTES,
    MAX_FILES,
    MEDIA_TYPES,
    RELEASE_KIND,
    REQUESTER_PREFIX,
)
from .models import Grant, MiniApp, MiniAppVersion
from .sectors import check_sector  # noqa: F401 - part of this module's interface

#: The bundle manifest (``manifest.json``; W3C MiniApp Manifest-like: id, version, names,
#: publisher, entry page, the permissions it may ask for).
MANIFEST_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["id", "version", "name_en", "name_zh", "publisher", "entry", "permissions"],
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,39}$"},
        "version": {"type": "string", "pattern": "^[0-9A-Za-z.+-]{1,40}$"},
        "name_en": {"type": "string", "minLength": 1, "maxLength": 100},
        "name_zh": {"type": "string", "minLength": 1, "maxLength": 100},
        "description_en": {"type": "string", "maxLength": 300},
        "description_zh": {"type": "string", "maxLength": 300},
        "publisher": {
            "type": "object",
            "required": ["id", "name_en", "name_zh"],
            "properties": {
                "id": {"type": "string", "pattern": "^[a-z0-9-]{1,40}$"},
                "name_en": {"type": "string", "minLength": 1, "maxLength": 200},
                "name_zh": {"type": "string", "minLength": 1, "maxLength": 200},
            },
        },
        "entry": {"type": "string", "pattern": r"^[A-Za-z0-9_-]+\.html$"},
        "permissions": {"type": "array", "items": {"enum": sorted(permissions.PERMISSIONS)}, "uniqueItems": True},
    },
}


def bundle_digest(files: dict[str, bytes]) -> str:
    """SHA-256 (hex) of the canonical JSON ``[[path, sha256(file)], …]`` sorted by path: the
    content hash in a version's address."""
    listing = [[p, hashlib.sha256(files[p]).hexdigest()] for p in sorted(files)]
    return hashlib.sha256(json.dumps(listing, separators=(",", ":")).encode()).hexdigest()


def _check_path(path: str) -> None:
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise errors.BadBundle(reason=f"file name {path!r}")
    if PurePosixPath(path).suffix not in MEDIA_TYPES:
        raise errors.BadBundle(reason=f"file type of {path!r} (allowed: {', '.join(sorted(MEDIA_TYPES))})")


@transaction.atomic
def publish(files: dict[str, bytes], *, sector_identifier: str | None = None) -> MiniAppVersion:
    """Publish a bundle (``{path: bytes}`` with a ``manifest.json``) as the mini-app's current
    version; publishing the same content again is a no-op.

    :param sector_identifier: ``None`` keeps the mini-app's sector as it is (new: its own);
        ``""`` its own sector; a value shares the pairwise ids of that sector (e.g. the
        department's web service's client sector): see :attr:`MiniApp.sector` and
        :func:`check_sector`.
    :returns: the version (``sha256``: its content hash).
    :raises DomainError: ``bad_bundle`` (no or invalid manifest, entry page missing, a file
        name or type not allowed, more than :data:`MAX_FILES` files or
        :data:`MAX_BUNDLE_BYTES` bytes); ``invalid_miniapp_sector`` (:func:`check_sector`).
    """
    if "manifest.json" not in files:
        raise errors.BadBundle(reason="manifest.json missing")
    if len(files) > MAX_FILES or sum(len(b) for b in files.values()) > MAX_BUNDLE_BYTES:
        raise errors.BadBundle(reason=f"at most {MAX_FILES} files and {MAX_BUNDLE_BYTES} bytes")
    for path in files:
        _check_path(path)
    try:
        manifest = json.loads(files["manifest.json"])
        jsonschema.validate(manifest, MANIFEST_SCHEMA)
    except (ValueError, jsonschema.ValidationError) as exc:
        raise errors.BadBundle(reason=f"manifest.json: {getattr(exc, 'message', exc)}") from None
    if manifest["entry"] not in files:
        raise errors.BadBundle(reason=f"entry page {manifest['entry']!r} missing")
    if sector_identifier is not None:
        check_sector(manifest["id"], sector_identifier)
    pub = manifest["publisher"]
    app, _created = MiniApp.objects.update_or_create(
        id=manifest["id"],
        defaults={
            "name_en": manifest["name_en"],
            "name_zh": manifest["name_zh"],
            "description_en": manifest.get("description_en", ""),
            "description_zh": manifest.get("description_zh", ""),
            "publisher_id": pub["id"],
            "publisher_name_en": pub["name_en"],
            "publisher_name_zh": pub["name_zh"],
            **({} if sector_identifier is None else {"sector_identifier": sector_identifier}),
        },
    )
    digest = bundle_digest(files)
    version, _created = MiniAppVersion.objects.get_or_create(
        miniapp=app,
        sha256=digest,
        defaults={
            "version": manifest["version"],
            "manifest": manifest,
            "files": {p: base64.b64encode(b).decode() for p, b in files.items()},
            "size": sum(len(b) for b in files.values()),
        },
    )
    app.current = version
    app.save(update_fields=["current"])
    return version


def read_bundle(directory: Path) -> dict[str, bytes]:
    """The files under ``directory`` as ``{relative POSIX path: bytes}`` (for :func:`publish`)."""
    directory = Path(directory)
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not any(part.startswith((".", "__")) for part in p.relative_to(directory).parts)
    }


def published() -> list[MiniApp]:
    """Active mini-apps with a current version, by name."""
    return list(MiniApp.objects.filter(is_active=True, current__isnull=False).select_related("current").order_by("id"))


def get_published(miniapp_id: str) -> MiniApp:
    """:raises DomainError: ``no_miniapp`` (404)."""
    app = MiniApp.objects.filter(pk=miniapp_id, is_active=True, current__isnull=False).select_related("current").first()
    if app is None or app.current is None:
        raise errors.NoMiniApp()
    return app


def bundle_file(miniapp_id: str, sha256: str, path: str) -> tuple[bytes, str] | None:
    """A published file's bytes and media type, or None (any version of an active mini-app, so
    a page open during an upgrade still loads)."""
    version = MiniAppVersion.objects.filter(miniapp_id=miniapp_id, miniapp__is_active=True, sha256=sha256).first()
    if version is None or path not in version.files:
        return None
    return base64.b64decode(version.files[path]), MEDIA_TYPES[PurePosixPath(path).suffix]


def entry_url(app: MiniApp) -> str:
    """The path of the current version's entry page."""
    return f"/miniapps/{app.id}/{app.current.sha256}/{app.current.manifest['entry']}"


def _declared(app: MiniApp, permission_id: str) -> permissions.Permission:
    perm = permissions.get(permission_id)
    if perm is None or permission_id not in app.current.permissions:
        raise errors.UnknownPermission()
    return perm


def granted(resident: Resident, app: MiniApp) -> set[str]:
    """The permissions the resident currently grants ``app``."""
    return set(
        Grant.objects.filter(resident=resident, miniapp=app, revoked_at__isnull=True).values_list(
            "permission", flat=True
        )
    )


def grant(resident: Resident, miniapp_id: str, permission_id: str) -> Grant:
    """Grant a declared permission (idempotent: the live grant if there is one).

    :raises DomainError: ``no_miniapp``, ``unknown_permission`` (not in the manifest).
    """
    app = get_published(miniapp_id)
    _declared(app, permission_id)
    found = Grant.objects.filter(
        resident=resident, miniapp=app, permission=permission_id, revoked_at__isnull=True
    ).first()
    if found:
        return found
    try:
        with transaction.atomic():
            return Grant.objects.create(resident=resident, miniapp=app, permission=permission_id)
    except IntegrityError:  # a concurrent grant won
        return Grant.objects.get(resident=resident, miniapp=app, permission=permission_id, revoked_at__isnull=True)


def revoke(resident: Resident, miniapp_id: str, permission_id: str) -> int:
    """Revoke a grant; later calls are refused. Returns how many live grants ended (0 or 1).

    :raises DomainError: ``no_miniapp``.
    """
    app = get_published(miniapp_id)
    return Grant.objects.filter(
        resident=resident, miniapp=app, permission=permission_id, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())


def launch(resident: Resident, miniapp_id: str) -> dict:
    """What the app needs to start a mini-app: the entry page and a signed launch context.

    The launch context is a JWS (ES256, platform key, ``typ`` :data:`LAUNCH_TYP`) over
    ``{iss, aud: "miniapp:<id>", sub, iat, exp: iat + LAUNCH_TTL, version}``; ``sub`` is the
    resident's pairwise id at the mini-app's sector (:attr:`MiniApp.sector`). The department's
    server checks it against the platform's JWKS and ``exp`` (as Telegram Mini Apps'
    ``initData``), never trusting a ``sub`` the mini-app's script merely claims.

    :raises DomainError: ``no_miniapp``.
    """
    app = get_published(miniapp_id)
    sub = oidc.sector_sub(resident, app.sector)
    now = int(time.time())
    token = keys.sign_jwt(
        {
            "iss": settings.TUNGBAN_ISSUER,
            "aud": f"{REQUESTER_PREFIX}{app.id}",
            "sub": sub,
            "iat": now,
            "exp": now + LAUNCH_TTL,
            "version": app.current.sha256,
        },
        LAUNCH_TYP,
    )
    return {"entry_url": entry_url(app), "sub": sub, "launch_token": token}


def call(resident: Resident, miniapp_id: str, permission_id: str) -> dict:
    """Carry out a granted permission for the mini-app: the data it releases, recorded in the
    resident's history (a ``ReleaseRecord`` of kind ``miniapp`` naming the e-ME claims) once
    per launch session: the first release of these claims to this mini-app within
    :data:`~.constants.LAUNCH_TTL` seconds (a launch context's lifetime) is recorded, with its
    time; the same release again in that session adds no record (security review M5: a loop of
    bridge requests cannot flood the resident's history and its "Recent uses" card).

    :returns: the permission's data, e.g. ``{"name_en", "name_zh"}`` for ``profile.name``.
    :raises DomainError: ``no_miniapp``; ``unknown_permission`` (not declared);
        ``permission_not_granted`` (403: never granted, or revoked); ``action_not_available``
        (409: granted, but the platform cannot do it yet, e.g. ``payment.request``).
    """
    app = get_published(miniapp_id)
    perm = _declared(app, permission_id)
    with transaction.atomic():
        if not Grant.objects.filter(
            resident=resident, miniapp=app, permission=permission_id, revoked_at__isnull=True
        ).exists():
            raise errors.PermissionNotGranted()
        if not perm.available or perm.value is None:
            raise errors.ActionNotAvailable()
        data = perm.value(resident)
        wallet.record_release(
            resident,
            requester_id=f"{REQUESTER_PREFIX}{app.id}",
            requester_name_en=app.name_en,
            requester_name_zh=app.name_zh,
            kind=RELEASE_KIND,
            claims=list(perm.claims),
            once_since=timezone.now() - dt.timedelta(seconds=LAUNCH_TTL),
        )
    return data
