"""The counter's personal-code check (個人碼, issue 16): an officer scans or pastes the QR a
resident shows in the app; the page checks it as this counter's verifier
(``TUNGBAN_COUNTER_VERIFIER``) against the platform's published keys only, as any verifier
would offline (:func:`tungban.credentials.services.verify_personal_code`), with a replay
cache. Nothing about the resident is stored or logged."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from django_permissions_policy.decorators import permissions_policy_override

from tungban.credentials import services as credentials
from tungban.credentials.services import personal_code as pc
from tungban.keys import services as keys

from .views import counter_role


class PersonalCodeForm(forms.Form):
    credential = forms.CharField(
        label=_("The personal code (scan it, or paste its text)"),
        max_length=8192,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono", "spellcheck": "false", "autocomplete": "off"}),
        error_messages={"required": _("Scan the resident's personal code or paste its text.")},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "%s")  # the ids verify.js (the QR scanner) fills
        super().__init__(*args, **kwargs)


def counter_claims(claims: dict) -> list[dict]:
    """The claims shown to the officer, as :func:`pc.shown_claims` (``[{"name", "label",
    "value"}]``) but with the tier labelled "Account level": "(no photo)" is the app's hint to
    the resident, jargon at the counter (issue 16, polish16 item 10)."""
    return [{**c, "label": str(_("Account level"))} if c["name"] == "tier" else c for c in pc.shown_claims(claims)]


@counter_role
@require_http_methods(["GET", "POST"])
@permissions_policy_override({**settings.PERMISSIONS_POLICY, "camera": "self"})  # the QR scanner
def personal_code(request):
    verifier = settings.TUNGBAN_COUNTER_VERIFIER
    form = PersonalCodeForm(request.POST if request.method == "POST" else None)
    context: dict = {"form": form, "verifier_name": pc.verifier_name(verifier), "max_age": pc.max_age()}
    status = 200
    if form.is_bound:
        if form.is_valid():
            check = credentials.verify_personal_code(
                form.cleaned_data["credential"], keys.public_jwks(), verifier, seen=credentials.replay_cache()
            )
            context["check"] = check
            context["claims"] = counter_claims(check.claims)
            context["form"] = PersonalCodeForm(None)
        else:
            status = 400
    response = render(request, "counter/personal_code.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response
