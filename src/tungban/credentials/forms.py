"""Forms of the officers' credential pages and the 認證易 verify page (see :mod:`.pages`).

The issue form is built from the credential type: one field ``claim_<name>`` per input claim
(:func:`.services.input_claims`), its widget chosen from the claim's JSON Schema. Values stay
strings: :func:`.services.prepare_claims` coerces and checks them, so every rule (schema, age,
HKID) is enforced in one place and reported as a :class:`~tungban.core.errors.DomainError`.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from . import services

CLAIM_PREFIX = "claim_"
#: Largest CSV accepted by the bulk page (tens of thousands of rows fit easily).
MAX_BULK_FILE_BYTES = 32 * 1024 * 1024


def claim_labels(display: dict | None, language: str | None = None) -> dict[str, str]:
    """``{claim name: label}`` from a type's display template, in ``language`` (default: the active one)."""
    zh = (language or get_language() or "").startswith("zh")
    return {
        c["name"]: (c.get("label_zh") if zh else c.get("label_en")) or c["name"]
        for c in (display or {}).get("claims", [])
    }


def _claim_field(name: str, spec: dict, label: str, required: bool) -> forms.Field:
    """A form field for one claim of a JSON Schema (values are kept as strings)."""
    attrs: dict = {}
    help_text = spec.get("description", "")
    if "enum" in spec:
        choices = [(str(v), str(v)) for v in spec["enum"]]
        if not required:
            choices = [("", _("(not given)")), *choices]
        else:
            choices = [("", _("Choose…")), *choices]
        return forms.ChoiceField(label=label, choices=choices, required=required, help_text=help_text)
    kind = spec.get("type")
    if kind == "boolean":
        choices = [("", _("Choose…") if required else _("(not given)")), ("true", _("Yes")), ("false", _("No"))]
        return forms.ChoiceField(label=label, choices=choices, required=required, help_text=help_text)
    if spec.get("format") == "date":
        return forms.CharField(
            label=label, required=required, help_text=help_text, widget=forms.DateInput(attrs={"type": "date"})
        )
    if kind in ("integer", "number"):
        if "minimum" in spec:
            attrs["min"] = spec["minimum"]
        if "maximum" in spec:
            attrs["max"] = spec["maximum"]
        attrs["step"] = "1" if kind == "integer" else "any"
        attrs["inputmode"] = "numeric" if kind == "integer" else "decimal"
        return forms.CharField(
            label=label, required=required, help_text=help_text, widget=forms.NumberInput(attrs=attrs)
        )
    if spec.get("pattern"):
        attrs["pattern"] = spec["pattern"].removeprefix("^").removesuffix("$")
        attrs["autocapitalize"] = "characters"
        attrs["spellcheck"] = "false"
    if spec.get("format") == "email":
        return forms.CharField(
            label=label, required=required, help_text=help_text, widget=forms.EmailInput(attrs=attrs)
        )
    max_length = spec.get("maxLength")
    if max_length and max_length > 200:
        return forms.CharField(
            label=label,
            required=required,
            help_text=help_text,
            max_length=max_length,
            widget=forms.Textarea(attrs={"rows": 3, **attrs}),
        )
    return forms.CharField(
        label=label, required=required, help_text=help_text, max_length=max_length, widget=forms.TextInput(attrs=attrs)
    )


class IssueForm(forms.Form):
    """One credential of ``ctype``: the holder's HKID number and the type's input claims."""

    hkid = forms.CharField(
        label=_("Holder's HKID number"),
        max_length=14,
        help_text=_("e.g. A123456(3)"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )

    def __init__(self, ctype, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ctype = ctype
        labels = claim_labels(ctype.display)
        required = set(ctype.schema.get("required", []))
        props = ctype.schema.get("properties", {})
        for name in services.input_claims(ctype):
            self.fields[CLAIM_PREFIX + name] = _claim_field(
                name, props.get(name, {}), labels.get(name, name), name in required
            )

    def claim_inputs(self) -> dict[str, str]:
        """``{claim name: value}`` of the claims filled in (empty ones left out)."""
        return {
            name.removeprefix(CLAIM_PREFIX): (value or "").strip()
            for name, value in self.cleaned_data.items()
            if name.startswith(CLAIM_PREFIX) and (value or "").strip()
        }

    def field_for(self, domain_field: str | None) -> str | None:
        """The form field a :class:`DomainError`'s ``field`` names (``hkid`` or a claim), if any."""
        if domain_field == "hkid":
            return "hkid"
        if domain_field and CLAIM_PREFIX + domain_field in self.fields:
            return CLAIM_PREFIX + domain_field
        return None


class BulkForm(forms.Form):
    """A CSV file of holders and claims."""

    file = forms.FileField(
        label=_("CSV file (UTF-8)"),
        help_text=_("One row per credential; the first row names the columns."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    issue_valid_rows = forms.BooleanField(
        label=_("Issue the valid rows and skip the invalid ones"),
        required=False,
        help_text=_("Unticked, nothing is issued when any row is invalid."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BULK_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is too large (at most %(mb)d MB).") % {"mb": MAX_BULK_FILE_BYTES // (1024 * 1024)},
                code="file_too_large",
            )
        return upload


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("HKID number or credential id"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class StatusForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=200, required=False, help_text=_("Recorded in the status history.")
    )


class StatusChangeForm(forms.Form):
    """Suspending or revoking a credential (issue 16, staff16 item 2): a reason is required
    for both, and revoking (final) needs the box ticked. Reinstating needs neither."""

    reason = forms.CharField(
        label=_("Reason"), max_length=200, required=False, help_text=_("Recorded in the status history.")
    )
    confirm = forms.BooleanField(
        label=_("I understand: revocation is final, this credential can never be valid again"), required=False
    )

    def __init__(self, *args, status: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.status = status
        if status in services.REASON_REQUIRED:
            self.fields["reason"].required = True
            self.fields["reason"].error_messages["required"] = _(
                "Give the reason for suspending or revoking the credential."
            )
        if status == "revoked":
            self.fields["confirm"].required = True
            self.fields["confirm"].error_messages["required"] = _("Tick the box to confirm: revocation is final.")
        else:
            del self.fields["confirm"]


class VerifyForm(forms.Form):
    credential = forms.CharField(
        label=_("Paste the certificate's text or its link"),
        help_text=_(
            "The text starts with “ey”; a link ends with “/verify/#vc=…”. You can also scan the QR code on a printed certificate or in the holder's app."
        ),
        max_length=70_000,
        widget=forms.Textarea(
            attrs={
                "id": "credential",
                "rows": 5,
                "spellcheck": "false",
                "autocomplete": "off",
                "autocapitalize": "none",
            }
        ),
    )
