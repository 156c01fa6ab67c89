"""System checks of the transparency log's settings (``manage.py check``, run at start-up)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


def merge_delay(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """``ledger.W001`` when ``TUNGBAN_LOG_MERGE_DELAY`` is not longer than
    ``TUNGBAN_PURGE_INTERVAL`` (seconds): a leaf queued at a quiet time waits for the worker's
    scheduled head, so its promise (a signed ``merge_by``, RFC 9162 §4.8's maximum merge delay)
    would be broken before the schedule comes round (issue 15, third round's review)."""
    delay = getattr(settings, "TUNGBAN_LOG_MERGE_DELAY", None)
    interval = getattr(settings, "TUNGBAN_PURGE_INTERVAL", None)
    if delay is None or interval is None or delay > interval:
        return []
    return [
        checks.Warning(
            f"TUNGBAN_LOG_MERGE_DELAY ({delay} s) is not longer than TUNGBAN_PURGE_INTERVAL ({interval} s): "
            "exchange log promises can be broken at quiet times.",
            hint="Set TUNGBAN_LOG_MERGE_DELAY to at least twice TUNGBAN_PURGE_INTERVAL.",
            id="ledger.W001",
        )
    ]
