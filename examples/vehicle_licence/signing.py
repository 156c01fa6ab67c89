"""A small client of tungban's signing API (``/api/v1/signing``) for online services.

With the resident's access token from a login whose scope included ``signing`` ("signing
after login"), or with the service's own ``client_credentials`` token (anonymous signing:
whoever approves in the app signs), a service submits PDFs and then polls the request
until it is ``signed``, ``declined``, ``expired`` or ``failed``. Errors are the platform's
JSON ``{"error", "message", "field"}``, raised here as :class:`SigningError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from typing import Any

import requests

SIGNING_SCOPE = "signing"
FINAL_STATUSES = ("signed", "declined", "expired", "failed")


class SigningError(Exception):
    """The platform refused a call or could not be reached.

    ``code`` is the platform's ``error`` (e.g. ``plus_required``, ``invalid_token``,
    ``insufficient_user_authentication``) or ``unreachable`` / ``bad_response``;
    ``status`` the HTTP status (0 when there was no answer).
    """

    def __init__(self, code: str, message: str = "", status: int = 0, details: dict | None = None):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}


def _json(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _raise_for(resp: requests.Response) -> None:
    if resp.ok:
        return
    body = _json(resp)
    body = body if isinstance(body, dict) else {}
    code = body.get("error") or f"http_{resp.status_code}"
    if isinstance(code, dict):  # defensive: never trust the shape of an error body
        code = f"http_{resp.status_code}"
    raise SigningError(
        str(code),
        str(body.get("message") or body.get("error_description") or ""),
        resp.status_code,
        body.get("details") if isinstance(body.get("details"), dict) else None,
    )


class SigningClient:
    """``create`` and ``get`` signing requests at ``endpoint`` (``{issuer}/api/v1/signing``)."""

    def __init__(self, endpoint: str, timeout: float = 10):
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, token: str, **kw) -> dict:
        try:
            resp = requests.request(
                method,
                self.endpoint + path,
                timeout=self.timeout,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                **kw,
            )
        except requests.RequestException as exc:
            raise SigningError("unreachable", str(exc)) from None
        _raise_for(resp)
        body = _json(resp)
        if not isinstance(body, dict) or not body.get("id") or not body.get("status"):
            raise SigningError("bad_response", "not a signing request", resp.status_code)
        return body

    def create(self, token: str, pdfs: list[tuple[str, bytes]], reason: str = "") -> dict:
        """Ask for ``pdfs`` (``[(name, bytes)]``) to be signed; returns the new request
        (``id``, ``status`` ``pending``, ``approval_uri``, ``expires_at``, ``documents``)."""
        documents = [{"name": name, "pdf": base64.b64encode(data).decode()} for name, data in pdfs]
        return self._call("POST", "/requests", token, json={"documents": documents, "reason": reason})

    def get(self, token: str, request_id: str) -> dict:
        """The request's status; once ``signed``, ``documents[i].signed_pdf`` and ``signer``."""
        return self._call("GET", f"/requests/{request_id}", token)


def service_token(token_endpoint: str, client_id: str, client_secret: str, timeout: float = 10) -> dict:
    """The service's own token (RFC 6749 §4.4, ``client_secret_basic``) with the ``signing``
    scope, for anonymous signing. Returns ``{"access_token", "expires_at"}``."""
    try:
        resp = requests.post(
            token_endpoint,
            data={"grant_type": "client_credentials", "scope": SIGNING_SCOPE},
            auth=(client_id, client_secret),
            timeout=timeout,
            headers={"Accept": "application/json"},
        )
    except requests.RequestException as exc:
        raise SigningError("unreachable", str(exc)) from None
    _raise_for(resp)
    body = _json(resp)
    if not isinstance(body, dict) or not body.get("access_token"):
        raise SigningError("bad_response", "no access token", resp.status_code)
    if SIGNING_SCOPE not in str(body.get("scope", SIGNING_SCOPE)).split():
        raise SigningError("signing_not_allowed", "the token has no signing scope", resp.status_code)
    expires_in = body.get("expires_in")
    lifetime = expires_in if isinstance(expires_in, (int, float)) else 300
    return {"access_token": body["access_token"], "expires_at": time.time() + lifetime}


def signed_document(result: dict, original: bytes) -> bytes:
    """The signed PDF of a ``signed`` result, checked against the PDF the service sent.

    tungban signs with an incremental update, so the signed file starts with the original
    bytes and the platform reports the original's SHA-256: both are checked, so a service
    never accepts a different document. (A full check of the signature itself is done by a
    PDF validator, e.g. pyHanko, against the tungban root certificate.)

    :raises SigningError: ``result_missing`` (purged or absent), ``document_mismatch``.
    """
    docs = result.get("documents") or []
    encoded = docs[0].get("signed_pdf") if docs and isinstance(docs[0], dict) else None
    if not encoded:
        raise SigningError("result_missing", "no signed PDF in the result")
    try:
        signed = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SigningError("bad_response", "signed_pdf is not base64") from None
    if (
        docs[0].get("sha256") != hashlib.sha256(original).hexdigest()
        or not signed.startswith(original)
        or len(signed) <= len(original)
    ):
        raise SigningError("document_mismatch", "the signed PDF is not an update of the declaration")
    return signed
