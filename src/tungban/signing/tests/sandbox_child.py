"""Functions the sandbox tests run in a verifier process (module-level, so they pickle by
reference)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def environment() -> tuple[dict, bytes]:
    """The child's ``os.environ`` and the environment it was started with (``/proc/self/environ``)."""
    return dict(os.environ), Path("/proc/self/environ").read_bytes()


def secret_settings(names: tuple[str, ...]) -> dict:
    """The child's values of the settings ``names`` (``None``: not set or refused)."""
    from django.conf import settings

    values = {}
    for name in names:
        try:
            values[name] = getattr(settings, name)
        except Exception:
            values[name] = None
    return values


def raw_database() -> tuple:
    """A query on the driver's own connection, past Django's execute wrappers (the review's
    reproduction)."""
    from django.db import connection

    connection.ensure_connection()
    cursor = connection.connection.cursor()
    cursor.execute("SELECT 1")
    return ("a raw driver query ran in the child", connection.settings_dict.get("NAME"))


def allocate(size: int) -> int:
    """Allocate ``size`` bytes (zeroed lazily: nothing is touched if the kernel gives them)."""
    return len(bytes(size))


def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def parents_main_imported() -> bool:
    """Whether the parent's ``__main__`` script was run again in the child (as ``__mp_main__``;
    else that is the child's own ``-c`` command, with no file)."""
    import sys

    return getattr(sys.modules.get("__mp_main__"), "__file__", None) is not None
