"""Photos and documents sent with a case (issue 22): at most ``TUNGBAN_HOTLINE_MAX_ATTACHMENTS``
files of at most ``TUNGBAN_HOTLINE_MAX_ATTACHMENT_BYTES`` each (5 and 5 MiB by default), JPEG,
PNG or PDF judged from the bytes (:func:`tungban.eservices.services.attachments.sniff`,
puremagic — the e-services' rule), stored encrypted (:func:`tungban.core.fields.encrypt_bytes`,
AES-256-GCM under the field keys) in :func:`~tungban.hotline.models.attachment_storage`, never in
the database row.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile

from tungban.core import fields as crypto
from tungban.eservices.services.attachments import DEFAULT_ACCEPT, sniff

from .. import errors
from ..models import CaseAttachment, attachment_storage


@dataclass(frozen=True)
class Checked:
    """A file that passed :func:`check`: its name, plain bytes and content type."""

    name: str
    data: bytes
    content_type: str


def _human(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


def _name_and_reader(item):
    if isinstance(item, tuple | list) and len(item) == 2:
        name, data = item
        return str(name or "attachment"), len(data), (lambda: bytes(data))
    name = getattr(item, "name", "") or "attachment"
    size = getattr(item, "size", None)

    def read():
        if hasattr(item, "seek"):
            item.seek(0)
        return item.read()

    return str(name), size, read


def check(items) -> list[Checked]:
    """Check every file before anything is stored. ``items``: Django ``UploadedFile`` objects or
    ``(name, bytes)`` pairs. Returns them checked, in order.

    :raises DomainError: ``too_many_attachments``, ``attachment_empty``,
        ``attachment_too_large`` (413; judged from the upload's size before reading it),
        ``attachment_type`` (415)."""
    items = list(items or ())
    if len(items) > settings.TUNGBAN_HOTLINE_MAX_ATTACHMENTS:
        raise errors.TooManyAttachments(max=settings.TUNGBAN_HOTLINE_MAX_ATTACHMENTS)
    limit = settings.TUNGBAN_HOTLINE_MAX_ATTACHMENT_BYTES
    out = []
    for item in items:
        name, size, read = _name_and_reader(item)
        name = name.replace("\\", "/").rsplit("/", 1)[-1][-200:] or "attachment"
        if size is not None and size > limit:
            raise errors.AttachmentTooLarge(name=name, limit=_human(limit))
        data = read()
        if not data:
            raise errors.AttachmentEmpty(name=name)
        if len(data) > limit:
            raise errors.AttachmentTooLarge(name=name, limit=_human(limit))
        found = sniff(data)
        if found not in DEFAULT_ACCEPT:
            raise errors.AttachmentType(name=name)
        out.append(Checked(name, data, found))
    return out


def store(case, checked: Checked) -> CaseAttachment:
    """Write the file encrypted and create its row (inside the caller's transaction; a
    rolled-back row leaves an unreferenced file under a random name)."""
    stored = attachment_storage().save(
        f"{case.pk}/{secrets.token_hex(16)}", ContentFile(crypto.encrypt_bytes(checked.data))
    )
    return CaseAttachment.objects.create(
        case=case,
        filename=checked.name,
        content_type=checked.content_type,
        size=len(checked.data),
        sha256=hashlib.sha256(checked.data).hexdigest(),
        stored_name=stored,
    )


def read(attachment: CaseAttachment) -> bytes:
    """The plain bytes of ``attachment`` (checked against its SHA-256).

    :raises tungban.core.fields.UnreadableValue: altered or unreadable."""
    with attachment_storage().open(attachment.stored_name, "rb") as fh:
        data = crypto.decrypt_bytes(fh.read())
    if hashlib.sha256(data).hexdigest() != attachment.sha256:
        raise crypto.UnreadableValue("attachment digest mismatch")
    return data
