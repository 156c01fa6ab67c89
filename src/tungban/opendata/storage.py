"""The content-addressed store of resource versions (issue 21): every file is kept once,
named by the SHA-256 of its bytes, under ``TUNGBAN_OPENDATA_FILES/ab/cd/<sha256>``.

A file is written before the row that names it (to a temporary name, fsynced, then renamed:
a reader never sees half a file), so a rolled-back transaction leaves at most an unnamed
file, never a row without its bytes. Files are never changed or deleted while a published
version names them. With several web servers the directory is shared storage (NFS, or an
object store mounted the same way; docs/operations.md).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from django.conf import settings


def root() -> Path:
    return Path(settings.TUNGBAN_OPENDATA_FILES)


def path_of(sha256: str) -> Path:
    """Where the file with digest ``sha256`` (64 lowercase hex digits) is kept."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256 digest")
    return root() / sha256[:2] / sha256[2:4] / sha256


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(data: bytes) -> str:
    """Keep ``data``; returns its SHA-256 (hex). Idempotent: the same bytes are kept once."""
    sha = digest(data)
    target = path_of(sha)
    if target.exists():
        return sha
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sha


def read(sha256: str) -> bytes:
    """The bytes of ``sha256``. :raises FileNotFoundError: not kept here."""
    return path_of(sha256).read_bytes()


def exists(sha256: str) -> bool:
    return path_of(sha256).exists()
