"""The window of a data user's ``request_id`` (issue 14 items 2 and 7).

Each exchange's ``request_id`` is stored once (:class:`~tungban.exchange.models.RequestNonce`)
so that the same id with another body is refused as a replay (``replayed_request``), and it is
the exchange's idempotency key (:mod:`tungban.core.idempotency`): within
``TUNGBAN_IDEMPOTENCY_TTL`` seconds (default 24 h) the same id and body answer the first
result. After that window the id is forgotten: :func:`purge_expired` (registered with
:mod:`tungban.core.retention`) deletes it. A request that carries its ``iat`` is accepted only
within ``TUNGBAN_CLOCK_SKEW`` seconds of the gateway's time, and the window is at least twice
that (settings), so such a request can never arrive again after its id was purged.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from .models import RequestNonce


def purge_expired(now: dt.datetime) -> dict[str, int]:
    """Delete the ``request_id``\\ s stored more than ``TUNGBAN_IDEMPOTENCY_TTL`` seconds before
    ``now``; returns ``{table: rows deleted}``."""
    cutoff = now - dt.timedelta(seconds=settings.TUNGBAN_IDEMPOTENCY_TTL)
    deleted, _rows = RequestNonce.objects.filter(created_at__lte=cutoff).delete()
    return {RequestNonce._meta.label: deleted}
