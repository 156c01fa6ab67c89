"""Forms officers fill in at a registration counter."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from tungban.core.errors import DomainError
from tungban.identity import errors as identity_errors
from tungban.identity import hkid as hkid_mod
from tungban.identity import services as identity
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
    # No default: the officer must choose (issue 16, staff16 item 6).
    gender = forms.ChoiceField(label=_("Gender"), choices=[("", _("Choose…")), *Gender.choices])
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

    #: Text fields checked with :func:`tungban.identity.services.clean_text` (characters, length).
    TEXT_FIELDS = (
        "family_name_en",
        "given_name_en",
        "name_zh",
        "residential_address",
        "phone",
        "email",
        "guardian_name",
        "guardian_relationship",
    )

    def clean(self):
        """Every rule the registration service applies, each error on its field, all in one
        round (issue 16, staff16 item 6): the HKID number (format, check digit, already
        registered), the text fields, and the age rules (under 11; 11-17 need a guardian)."""
        data = super().clean()
        if "hkid" in data:
            try:
                identity.get_by_hkid(data["hkid"])
            except DomainError as exc:
                if exc.code != "no_account":  # a malformed number or a wrong check digit
                    self.add_error("hkid", str(exc.message))
            else:
                self.add_error("hkid", str(identity_errors.HkidTaken().message))
        for name in self.TEXT_FIELDS:
            if data.get(name):
                try:
                    data[name] = identity.clean_text(data[name], name)
                except DomainError as exc:
                    self.add_error(name, str(exc.message))
        if data.get("guardian_hkid"):
            try:
                hkid_mod.normalize(data["guardian_hkid"])
            except DomainError as exc:
                self.add_error("guardian_hkid", str(exc.message))
        if data.get("date_of_birth"):
            guardian = identity.Guardian(
                data.get("guardian_name", ""), data.get("guardian_hkid", ""), data.get("guardian_relationship", "")
            )
            try:
                identity.check_age(data["date_of_birth"], guardian)
            except DomainError as exc:
                field = exc.field if exc.field in self.fields else "date_of_birth"
                self.add_error(field, str(exc.message))
        return data


class SearchForm(forms.Form):
    hkid = forms.CharField(label=_("HKID number"), max_length=12)


class StatusForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class SuspendForm(forms.Form):
    """Suspending an account (issue 16, staff16 item 2): a reason is required (it is recorded
    in the account's history and shown as the status reason)."""

    reason = forms.CharField(
        label=_("Reason for suspending"),
        max_length=200,
        help_text=_('Recorded in the account\'s history, e.g. "HKID card reported stolen".'),
        error_messages={"required": _("Give the reason for suspending the account.")},
    )


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
    document_reference = forms.CharField(
        label=_("Last 4 characters of the document number"),
        max_length=40,
        help_text=_(
            "Type the last 4 letters or digits, or the whole number as printed: brackets and spaces "
            "are ignored. For K987654(5) enter 6545."
        ),
    )
    checked = forms.BooleanField(
        label=_("I have checked this document in person: it is the resident's and matches the person")
    )

    def clean_document_reference(self) -> str:
        """The last 4 letters or digits of the number as typed, upper case: an HKID card's
        ``K987654(5)`` or ``813(7)`` is accepted as printed, brackets and spaces ignored
        (issue 16, polish16 item 3). Any other character, or fewer than 4, is an error."""
        typed = self.cleaned_data["document_reference"]
        kept = re.sub(r"[\s()（）]", "", typed)
        if len(kept) < 4 or not re.fullmatch(r"[A-Za-z0-9]+", kept):
            raise forms.ValidationError(_("Enter the last 4 letters or digits of the document number."))
        return kept[-4:].upper()
