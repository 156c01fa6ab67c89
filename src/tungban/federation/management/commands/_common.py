"""Shared by the federation operators' commands (docs/integrators.md §18, docs/operations.md)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import CommandError
from joserfc.jwk import KeySet

from tungban.federation.services import entities


def read_json(path: str, what: str):
    """The JSON document in ``path``. :raises CommandError: unreadable or not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CommandError(f"{what} {path}: {e}") from None


def read_jwks(path: str) -> dict:
    """A JWK Set from ``path``: a bare ``{"keys": [...]}`` or the JSON ``federation_init`` and
    ``federation_service`` write (its ``jwks``)."""
    data = read_json(path, "JWK Set file")
    if isinstance(data, dict) and isinstance(data.get("jwks"), dict):
        data = data["jwks"]
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise CommandError(f"{path} holds no JWK Set")
    return data


def thumbprints(jwks: dict) -> list[str]:
    """RFC 7638 thumbprints of the keys, to read out over the telephone or print in a letter."""
    return [key.thumbprint() for key in KeySet.import_key_set(jwks).keys]


def entity_summary(entity) -> dict:
    jwks = entities.federation_jwks(entity)
    out = {"entity_id": entity.entity_id, "role": entity.role, "jwks": jwks, "thumbprints": thumbprints(jwks)}
    protocol = entities.protocol_jwks(entity)
    if protocol["keys"]:
        out["protocol_jwks"] = protocol
    return out


def emit(command, data: dict, json_out: str | None) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if json_out:
        Path(json_out).write_text(text + "\n", encoding="utf-8")
    command.stdout.write(text)


def root_or_fail():
    top = entities.root()
    if top is None:
        raise CommandError("this instance has no federation entity: run `tungban federation_init` first")
    return top
