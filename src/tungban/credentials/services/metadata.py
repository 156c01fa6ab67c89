"""Public identifiers and metadata of issuers and credential types: the URLs that appear in
credentials (``iss``, ``vct``, status list ``uri``), the verifier audience, the issuers'
published keys (RFC 7517 JWKS), JWT VC Issuer Metadata (SD-JWT VC §5), SD-JWT VC Type
Metadata (draft-ietf-oauth-sd-jwt-vc §6) and ``did:web`` documents (W3C did:web §3.2, DID
Core §5). Reads only; no private key is read or created here (see :mod:`.issuer_keys`).
"""

from __future__ import annotations

from django.conf import settings

from ..models import CredentialType, Issuer, IssuerKey, StatusList


def issuer_url(issuer: Issuer | str) -> str:
    """The issuer identifier (``iss``): ``{TUNGBAN_ISSUER}/issuers/{id}``."""
    return f"{settings.TUNGBAN_ISSUER}/issuers/{getattr(issuer, 'id', issuer)}"


def vct_url(ctype: CredentialType | str) -> str:
    """The credential type identifier (``vct``), resolving to its SD-JWT VC Type Metadata."""
    return f"{settings.TUNGBAN_ISSUER}/credentials/types/{getattr(ctype, 'id', ctype)}"


def status_list_url(status_list: StatusList) -> str:
    return f"{settings.TUNGBAN_ISSUER}/credentials/status/{status_list.issuer_id}/{status_list.number}"


def verifier_audience() -> str:
    """The ``aud`` the holder's app puts in a key-binding JWT for an in-person presentation
    checked with 認證易 (``{TUNGBAN_ISSUER}/verify``)."""
    return f"{settings.TUNGBAN_ISSUER}/verify"


def issuer_jwks(issuer: Issuer) -> dict:
    """The issuer's public keys (RFC 7517 JWKS), active and retired; no private key is read."""
    return published_jwks(issuer.id)


def published_jwks(issuer_id: str) -> dict:
    """The public keys of ``issuer_id`` as stored (no private key is read, none created)."""
    return {
        "keys": list(
            IssuerKey.objects.filter(issuer_id=issuer_id)
            .order_by("-created_at", "-id")
            .values_list("public_jwk", flat=True)
        )
    }


def issuer_metadata(issuer: Issuer) -> dict:
    """JWT VC Issuer Metadata (SD-JWT VC §5), served at
    ``/.well-known/jwt-vc-issuer/issuers/{id}``: ``{"issuer", "jwks", "name_en", "name_zh"}``."""
    return {
        "issuer": issuer_url(issuer),
        "jwks": issuer_jwks(issuer),
        "name_en": issuer.name_en,
        "name_zh": issuer.name_zh,
    }


def did_web(issuer: Issuer) -> str:
    """The issuer's ``did:web`` identifier (W3C did:web method §3.2: host, port encoded, path)."""
    host = settings.TUNGBAN_ISSUER.split("://", 1)[1].replace(":", "%3A").replace("/", ":")
    return f"did:web:{host}:issuers:{issuer.id}"


def did_document(issuer: Issuer) -> dict:
    """A DID document (W3C DID Core §5) for :func:`did_web`, listing the issuer's keys as
    ``JsonWebKey`` verification methods; served at ``/issuers/{id}/did.json``."""
    did = did_web(issuer)
    methods = [
        {"id": f"{did}#{k['kid']}", "type": "JsonWebKey", "controller": did, "publicKeyJwk": k}
        for k in issuer_jwks(issuer)["keys"]
    ]
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/jwk/v1"],
        "id": did,
        "alsoKnownAs": [issuer_url(issuer)],
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }


def type_metadata(ctype: CredentialType) -> dict:
    """SD-JWT VC Type Metadata (draft-ietf-oauth-sd-jwt-vc §6) of ``ctype``: names and
    rendering in English and Traditional Chinese, per-claim labels, and the JSON Schema."""
    display = ctype.display or {}
    colours = {
        k: v for k, v in (("background_color", display.get("background")), ("text_color", display.get("text"))) if v
    }
    rendering = {"rendering": {"simple": colours}} if colours else {}
    return {
        "vct": vct_url(ctype),
        "name": ctype.name_en,
        "description": ctype.description_en,
        "display": [
            {"lang": "en", "name": ctype.name_en, "description": ctype.description_en, **rendering},
            {"lang": "zh-Hant", "name": ctype.name_zh, "description": ctype.description_zh, **rendering},
        ],
        "claims": [
            {
                "path": [c["name"]],
                "sd": "always",
                "display": [{"lang": "en", "label": c["label_en"]}, {"lang": "zh-Hant", "label": c["label_zh"]}],
            }
            for c in display.get("claims", [])
        ],
        "schema": ctype.schema,
        "issuer": issuer_url(ctype.issuer_id),
        "validity_days": ctype.validity_days,
    }
