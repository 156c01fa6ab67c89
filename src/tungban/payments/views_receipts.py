"""Downloading a signed e-receipt or credit note through its link (``/pay/receipts/<id>/<token>.pdf``).

A link is made for the resident whose payment it is, where the platform already knows who
they are — the app's panel (device-authenticated) and the portal's pages (logged in) — and
carries a token (Django's :mod:`django.core.signing`, salted, time-stamped) that is valid
for ``TUNGBAN_RECEIPT_LINK_SECONDS``: the link works in any browser the resident opens it in
(the app hands it to the phone's browser), for that receipt only, for a short while.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tungban.core import ratelimit
from tungban.core.errors import DomainError

from . import receipts


@require_GET
@ratelimit.limit_failures("payments_receipt", methods=("GET",))
def download(request, receipt_id, token):
    try:
        linked = signing.loads(token, salt=receipts.LINK_SALT, max_age=settings.TUNGBAN_RECEIPT_LINK_SECONDS)
    except signing.SignatureExpired:
        return render(request, "payments/receipt_link.html", {"expired": True}, status=410)
    except signing.BadSignature:
        return render(request, "payments/receipt_link.html", {"expired": False}, status=404)
    if linked != str(receipt_id):
        return render(request, "payments/receipt_link.html", {"expired": False}, status=404)
    try:
        receipt = receipts.get_receipt(receipt_id)
        data, name = receipts.pdf_of(receipt)
    except DomainError as exc:
        return render(request, "payments/receipt_link.html", {"message": exc.message}, status=exc.status)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
