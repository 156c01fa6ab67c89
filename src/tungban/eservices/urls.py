"""The resident's e-services pages, under ``/services/`` (the public catalogue pages are
es-cat's, in their own module, under the same prefix)."""

from django.urls import path, register_converter

from . import views


class ReferenceConverter:
    regex = r"[A-Za-z]{2,10}-[0-9A-Za-z]{4}-[0-9A-Za-z]{5}"

    def to_python(self, value):
        return value.upper()

    def to_url(self, value):
        return value


register_converter(ReferenceConverter, "ref")

app_name = "eservices"

urlpatterns = [
    path("login", views.login_start, name="login"),
    path("login/callback", views.login_callback, name="login-callback"),
    path("logout", views.logout, name="logout"),
    path("my/", views.mine, name="mine"),
    path("my/<ref:reference>/", views.status, name="status"),
    path("my/<ref:reference>/page/<slug:page_id>", views.page, name="page"),
    path("my/<ref:reference>/check", views.check, name="check"),
    path("my/<ref:reference>/respond", views.respond, name="respond"),
    path("my/<ref:reference>/state", views.state, name="state"),
    path("my/<ref:reference>/pay/renew", views.renew_payment, name="renew-payment"),
    path("my/<ref:reference>/withdraw", views.withdraw, name="withdraw"),
    path("my/<ref:reference>/licence.pdf", views.licence_pdf, name="licence-pdf"),
    path("my/<ref:reference>/sign", views.sign, name="sign"),
    path("my/<ref:reference>/document/<int:document_id>", views.document, name="document"),
    path("my/<ref:reference>/data/<str:product>", views.ask_consent, name="ask-consent"),
    path("my/<ref:reference>/consent/<uuid:consent_id>", views.consent, name="consent"),
    path("<slug:slug>/apply", views.apply, name="apply"),
]
