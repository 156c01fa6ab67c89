"""Per-request receivers of Django's ``request_finished`` that do nothing for this
deployment, disconnected at start-up (issue 15: the handler's cost in front of the hot views).

Django connects :func:`django.core.cache.close_caches` to ``request_finished``: after every
request it walks the initialised caches and calls their ``close()``. Only backends that hold
a connection of their own override it (memcached, redis); for every other backend
:meth:`BaseCache.close` does nothing. :func:`disconnect_needless` removes the receiver when
no backend in ``settings.CACHES`` overrides ``close`` (decided from the classes, once, when the
apps are ready), and keeps it otherwise, or when a backend cannot be imported.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache.backends.base import BaseCache
from django.utils.module_loading import import_string


def caches_need_closing(caches: dict | None = None) -> bool:
    """Whether any backend of ``caches`` (default ``settings.CACHES``: alias → dict with
    ``BACKEND``) has a ``close`` other than :meth:`BaseCache.close` (a no-op); ``True`` for a
    backend that cannot be imported (Django's receiver is then kept)."""
    for options in (settings.CACHES if caches is None else caches).values():
        try:
            backend = import_string(options["BACKEND"])
        except (ImportError, KeyError):
            return True
        if getattr(backend, "close", None) is not BaseCache.close:
            return True
    return False


def disconnect_needless() -> None:
    """Disconnect ``close_caches`` from ``request_finished`` when no cache needs closing
    (module docstring). Called from :meth:`tungban.core.apps.CoreConfig.ready`."""
    from django.core.cache import close_caches
    from django.core.signals import request_finished

    if not caches_need_closing():
        request_finished.disconnect(close_caches)
