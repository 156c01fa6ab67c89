"""The web app shell (``/app/``): an installable PWA; all logic runs against the wallet API."""

import json

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tungban.identity import eme

from .services import kind_labels, kind_questions


@require_GET
def app_shell(request, approval_id=None):
    """The app's one page: every screen (``wallet/screens/_*.html``) and the strings its
    modules show, with the claim and approval-kind labels from their one source each."""
    context = {
        "approval_id": approval_id or "",
        "issuer": settings.TUNGBAN_ISSUER,
        "kind_labels": kind_labels(),
        "kind_questions": kind_questions(),
        "claim_labels": {name: claim.label for name, claim in eme.CLAIMS.items()},
    }
    return render(request, "wallet/app.html", context)


@require_GET
def manifest(request):
    data = {
        "name": _("tungban app"),
        "short_name": "通辦",
        "start_url": "/app/",
        "scope": "/app/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5d4b",
        "icons": [
            {"src": static("wallet/icon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any maskable"}
        ],
    }
    return HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/manifest+json")


@require_GET
def service_worker(request):
    """The service worker (``wallet/sw.js``): caches the app shell, every module file included,
    for an offline start; API calls always go to the network."""
    response = render(request, "wallet/sw.js", content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/app/"
    return response
