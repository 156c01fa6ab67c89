"""Serving mini-program bundles: ``/miniapps/<id>/<sha256>/<path>``.

Each file carries :data:`~.constants.BUNDLE_CSP` (itself ``sandbox allow-scripts``, no
network, framed by the platform's pages only), ``X-Content-Type-Options: nosniff`` and, its
address naming its content, ``Cache-Control: immutable``.
"""

from django.http import Http404, HttpResponse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET

from . import services
from .constants import BUNDLE_CSP


@require_GET
@xframe_options_sameorigin
@csp_override(BUNDLE_CSP)
def bundle_file(request, miniapp_id: str, sha256: str, path: str):
    found = services.bundle_file(miniapp_id, sha256, path)
    if found is None:
        raise Http404
    body, media_type = found
    response = HttpResponse(body, content_type=media_type)
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
