"""The web app shell (``/app/``): an installable PWA; all logic runs against the wallet API."""

import json

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET


@require_GET
def app_shell(request, approval_id=None):
    return render(request, "wallet/app.html", {"approval_id": approval_id or "", "issuer": settings.TUNGBAN_ISSUER})


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
    """Caches the app shell for offline start; API calls always go to the network."""
    js = (
        "const C='tungban-app-v1';"
        f"const SHELL=['/app/','{static('wallet/app.js')}','{static('core/site.css')}','{static('wallet/app.css')}'];"
        "self.addEventListener('install',e=>e.waitUntil(caches.open(C).then(c=>c.addAll(SHELL)).then(()=>self.skipWaiting())));"
        "self.addEventListener('activate',e=>e.waitUntil(self.clients.claim()));"
        "self.addEventListener('fetch',e=>{const u=new URL(e.request.url);"
        "if(e.request.method!=='GET'||u.pathname.startsWith('/api/')){return;}"
        "e.respondWith(fetch(e.request).catch(()=>caches.match(e.request).then(r=>r||caches.match('/app/'))));});"
    )
    response = HttpResponse(js, content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/app/"
    return response
