"""Public signing pages and files: CA certificates, CRLs (RFC 5280 §5; served as
``application/pkix-crl``, RFC 2585 §4.2) and the verification page."""

from cryptography.hazmat.primitives import serialization
from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from tungban.core import ratelimit
from tungban.core.errors import DomainError

from . import ca, document_status
from . import verify as verification

_CRL_ROLES = {name: role for role, name in ca.CRL_FILES.items()}
_CERT_ROLES = {name: role for role, name in ca.CERT_FILES.items()}


@require_GET
def crl(request, name):
    role = _CRL_ROLES.get(name)
    if role is None:
        raise Http404
    response = HttpResponse(ca.current_crl(role), content_type="application/pkix-crl")
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def ca_certificate(request, name):
    """DER certificate (``application/pkix-cert``); ``?format=pem`` for PEM."""
    role = _CERT_ROLES.get(name)
    if role is None:
        raise Http404
    cert = ca.certificate(role)
    if request.GET.get("format") == "pem":
        return HttpResponse(cert.public_bytes(serialization.Encoding.PEM), content_type="application/x-pem-file")
    response = HttpResponse(cert.public_bytes(serialization.Encoding.DER), content_type="application/pkix-cert")
    response["Cache-Control"] = "public, max-age=86400"
    return response


# --- Verification page -----------------------------------------------------------------------


class VerifyForm(forms.Form):
    """A signed PDF, or a document with its separate (detached) signature file."""

    file = forms.FileField(
        label=_("Signed PDF, or the document that was signed"),
        help_text=_("A PDF with its signature inside, or any file that has a separate signature file."),
    )
    signature = forms.FileField(
        label=_("Separate signature file (.p7s), if there is one"),
        help_text=_("Only when the signature came as its own file, for example declaration.pdf.p7s."),
        required=False,
        widget=forms.FileInput(attrs={"accept": ".p7s,.p7m,.pem,.sig,application/pkcs7-signature"}),
    )

    def _limited(self, name: str):
        upload = self.cleaned_data.get(name)
        if upload is not None:
            try:
                verification.check_size(upload.size, name)
            except DomainError as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from None
        return upload

    def clean_file(self):
        return self._limited("file")

    def clean_signature(self):
        return self._limited("signature")


@require_http_methods(["GET", "POST"])
@ratelimit.limit("verify")
def verify_page(request):
    """Public page: upload a signed PDF, or a document and its ``.p7s`` signature, and see
    whether the signature is valid (:func:`.verify.verify_upload`), and what the app that sealed
    it says of it since (:mod:`.document_status`: e.g. a void e-receipt). Nothing is stored."""
    report, status = None, 200
    if request.method == "POST":
        form = VerifyForm(request.POST, request.FILES)
        if form.is_valid():
            signature = form.cleaned_data.get("signature")
            try:
                report = verification.verify_upload(
                    form.cleaned_data["file"].read(), signature.read() if signature else None
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else "file", exc.message)
                status = exc.status
        else:
            too_large = any(e.code == "file_too_large" for errors in form.errors.as_data().values() for e in errors)
            status = 413 if too_large else 400
    else:
        form = VerifyForm()
    notes = document_status.status_of(report["document_sha256"]) if report else []
    context = {"form": form, "report": report, "notes": notes, "max_mb": verification.max_bytes() // (1024 * 1024)}
    response = render(request, "signing/verify.html", context, status=status)
    response["Cache-Control"] = "no-store"  # a report names the signer
    return response
