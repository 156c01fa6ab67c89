"""Forms officers fill in at a registration counter."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tungban.identity.models import Gender
from tungban.signing.choices import OFFICER_REVOCATION_REASONS, REVOCATION_REASON_LABELS

from .models import IdentityDocument


class CounterRegistrationForm(forms.Form):
    """What an officer copies from the HKID card (checked in person) at a counter."""

    hkid = forms.CharField(label=_("HKID number"), max_length=12, help_text=_("e.g. A123456(3)"))
    family_name_en = forms.CharField(label=_("Surname (English)"), max_length=60)
    given_name_en = forms.CharField(label=_("Given name (English)"), max_length=80)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=20, required=False)
    date_of_birth = forms.DateField(label=_("Date of birth"), widget=forms.DateInput(attrs={"type": "date"}))
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices)
    residential_address = forms.CharField(
        label=_("Residential address"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    card_checked = forms.BooleanField(label=_("I have checked the HKID card in person and it matches this person"))
    guardian_name = forms.CharField(
        label=_("Parent or guardian's name (for ages 11-17)"), max_length=120, required=False
    )
    guardian_hkid = forms.CharField(label=_("Parent or guardian's HKID number"), max_length=12, required=False)
    guardian_relationship = forms.CharField(label=_("Relationship"), max_length=40, required=False)


class SearchForm(forms.Form):
    hkid = forms.CharField(label=_("HKID number"), max_length=12)


class StatusForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class RevokeCertificateForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Revocation reason"),
        choices=[(r, REVOCATION_REASON_LABELS[r]) for r in OFFICER_REVOCATION_REASONS],
    )
    confirm = forms.BooleanField(label=_("I confirm: revoke this certificate permanently"))


class RebindForm(forms.Form):
    """A re-binding request (issue 13 item 1): why, and the identity check made in person."""

    reason = forms.CharField(label=_("Reason for re-binding"), max_length=200)
    document_type = forms.ChoiceField(label=_("Identity document seen"), choices=[("", "—"), *IdentityDocument.choices])
    document_reference = forms.RegexField(
        label=_("Last 4 characters of the document number"),
        regex=r"^[A-Za-z0-9]{4}$",
        max_length=4,
        error_messages={"invalid": _("Enter the last 4 letters or digits of the document number.")},
    )
    checked = forms.BooleanField(
        label=_("I have checked this document in person: it is the resident's and matches the person")
    )
