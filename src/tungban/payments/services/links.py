"""Where the department API's resources live (``_links`` of its answers and webhook bodies),
apart from :mod:`.resources` so that the webhooks (which :mod:`tungban.payments.refunds` calls)
need not import the refund figures that the resources read."""

from __future__ import annotations

from django.conf import settings

#: The department API's prefix.
API = "/api/v1/payments"


def _link(path: str, method: str = "GET") -> dict:
    return {"href": settings.TUNGBAN_ISSUER.rstrip("/") + path, "method": method}
