"""The app's cross-boundary bindings (issue 23): ``/api/v1/federation/app/…`` (device calls).
Part fop. Errors have the platform's shape (:class:`tungban.core.api.ErrorOut`)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["federation"])
