"""Documents residents upload: type from the bytes (puremagic), size limits, SHA-256, stored
encrypted (AES-256-GCM as :mod:`tungban.core.fields`) in :func:`~tungban.eservices.models.attachment_storage`,
never in the database row."""

from __future__ import annotations

import base64
import hashlib
import secrets

import puremagic
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _

from tungban.core import fields as crypto

from .. import errors
from ..models import Attachment, attachment_storage

#: Accepted when a file field names no ``accept`` list.
DEFAULT_ACCEPT = ("application/pdf", "image/jpeg", "image/png")
_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG", "image/heic": "HEIC"}


def sniff(data: bytes) -> str:
    """The MIME type of ``data`` from its magic numbers, or ``"application/octet-stream"``."""
    try:
        return puremagic.from_string(data, mime=True) or "application/octet-stream"
    except puremagic.PureError:
        return "application/octet-stream"


def _human_size(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


def upload_limit(spec: dict) -> int:
    """Bytes a ``file`` field accepts: its ``max_bytes``, at most ``TUNGBAN_ESERVICES_MAX_UPLOAD``."""
    return min(int(spec.get("max_bytes", settings.TUNGBAN_ESERVICES_MAX_UPLOAD)), settings.TUNGBAN_ESERVICES_MAX_UPLOAD)


def check_size(spec: dict, size: int) -> None:
    """Refuse an upload of ``size`` bytes before reading it. :raises DomainError: ``file_too_large``."""
    limit = upload_limit(spec)
    if size > limit:
        raise errors.FileTooLarge(limit=_human_size(limit))


def check_file(spec: dict, data: bytes) -> str:
    """Check ``data`` against a ``file`` field's ``accept`` and ``max_bytes`` (at most
    ``TUNGBAN_ESERVICES_MAX_UPLOAD``); returns its content type.

    :raises DomainError: ``file_empty``, ``file_too_large`` (413), ``file_type_refused`` (415).
    """
    limit = min(
        int(spec.get("max_bytes", settings.TUNGBAN_ESERVICES_MAX_UPLOAD)), settings.TUNGBAN_ESERVICES_MAX_UPLOAD
    )
    if not data:
        raise errors.FileEmpty()
    if len(data) > limit:
        raise errors.FileTooLarge(limit=_human_size(limit))
    found = sniff(data)
    accept = tuple(spec.get("accept") or DEFAULT_ACCEPT)
    if found not in accept:
        raise errors.FileTypeRefused(
            accepted=", ".join(_NAMES.get(a, a) for a in accept),
            found=_NAMES.get(found, str(_("not a recognised document"))),
        )
    return found


def store(application, field: str, filename: str, data: bytes, content_type: str, *, information_request=None):
    """Write ``data`` encrypted to the storage and create its :class:`Attachment` row (call
    inside the caller's transaction; a rolled-back row leaves an orphan file that
    :func:`tungban.eservices.services.lifecycle.expire_drafts` does not need: names are random)."""
    name = f"{application.pk}/{secrets.token_hex(16)}"
    sealed = crypto.encrypt(base64.b64encode(data).decode()).encode()
    stored = attachment_storage().save(name, ContentFile(sealed))
    return Attachment.objects.create(
        application=application,
        field=field,
        information_request=information_request,
        filename=(filename or "document")[-200:],
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        stored_name=stored,
    )


def read(attachment: Attachment) -> bytes:
    """The plain bytes of ``attachment`` (checked against its SHA-256)."""
    with attachment_storage().open(attachment.stored_name, "rb") as fh:
        data = base64.b64decode(crypto.decrypt(fh.read().decode()))
    if hashlib.sha256(data).hexdigest() != attachment.sha256:
        raise crypto.UnreadableValue("attachment digest mismatch")
    return data


def delete_files(attachments) -> None:
    storage = attachment_storage()
    for a in attachments:
        if storage.exists(a.stored_name):
            storage.delete(a.stored_name)
