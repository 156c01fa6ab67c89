"""Owner-only permissions for the platform's generated state (issue 13 item 10).

The settings narrow the umask so new files are 0600 and directories 0700; this module
tightens what already exists (installations from before, files copied in).
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def tighten(path: Path) -> int:
    """Make ``path`` (a file, or a directory and everything under it) owner-only: files
    0600 (owner-executable ones 0700), directories 0700. Symbolic links and entries owned
    by another user are left alone.

    :returns: how many entries were changed."""
    changed = 0
    if not path.exists():
        return 0
    entries = [path] if path.is_file() else [path, *path.rglob("*")]
    uid = os.geteuid()
    for entry in entries:
        st = entry.lstat()
        if entry.is_symlink() or st.st_uid != uid or not st.st_mode & 0o077:
            continue
        mode = DIR_MODE if entry.is_dir() else (0o700 if st.st_mode & 0o100 else FILE_MODE)
        entry.chmod(mode)
        changed += 1
    return changed


def tighten_sqlite(name: str) -> None:
    """The SQLite database file and its ``-wal``/``-shm`` companions, owner-only."""
    if not name or str(name).startswith(":memory:") or "mode=memory" in str(name):
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        tighten(Path(f"{name}{suffix}"))
