"""Demo data providers (WSD, IRD, CR) for tungban's Consented Data Exchange Gateway.

Stand-alone HTTP services that play other departments' systems; they do not import
``tungban``. See :mod:`examples.providers.app` for the adapter contract (RFC 7519 JWT /
RFC 7515 JWS bearer tokens with explicit typing per RFC 8725 §3.11),
:mod:`examples.providers.launch` to start one as a subprocess, and ``README.md``.
"""

from .app import DEPARTMENTS, app_from_env, create_app

__all__ = ["DEPARTMENTS", "app_from_env", "create_app"]
