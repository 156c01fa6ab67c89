"""The OpenID Provider's precomputed documents (issue 15), answered through
:mod:`tungban.core.hotpaths` (registered in :class:`tungban.oidc.apps.OidcConfig`) and by the
URL conf's views alike, and before Django by :mod:`tungban.core.front` (the same answers,
from :func:`.services.discovery_document` and :func:`tungban.keys.services.served_jwks`). Kept apart from :mod:`.views` so that registering them imports no
protocol server (the signing app's verifier children set Django up with a few settings only)."""

from __future__ import annotations

from tungban.core import documents
from tungban.keys import services as keys

from . import services

# Why discovery may be kept for the life of a process: its bytes are a pure function of
# TUNGBAN_ISSUER (a setting: fixed once the worker started; a deployment that changes it
# restarts the workers) and of the scope registry's fingerprint (filled by the apps' ready(),
# before the first request, from the code: the same in every worker of one release). Nothing in
# it comes from the database, so no worker can disagree with another
# (:func:`.services.discovery_document`, which also keys it by both, so a test that overrides the
# issuer still gets that issuer's document).

#: The JWKS's ``Cache-Control`` (here and in :mod:`tungban.core.front`'s registration).
JWKS_CACHE_CONTROL = "public, max-age=300"


def discovery(request):
    """OpenID Provider Metadata (OIDC Discovery 1.0 §4), precomputed
    (:func:`.services.discovery_document`; no query), with a strong ETag and CORS."""
    return documents.respond(request, services.discovery_document())


def jwks(request):
    """The JWKS (RFC 7517 §5), precomputed per key-ring version
    (:func:`tungban.keys.services.published_jwks`; one query), with a strong ETag and CORS,
    cacheable for five minutes."""
    return documents.respond(request, keys.published_jwks(), cache_control=JWKS_CACHE_CONTROL)
