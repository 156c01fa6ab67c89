"""Forms of the reconciliation pages (bilingual labels; errors in the officer's language)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .models_recon import ExceptionKind, ExceptionState


class UploadForm(forms.Form):
    statement = forms.FileField(
        label=_("Bank statement file"),
        help_text=_("An ISO 20022 camt.053 statement or camt.054 notification, as the bank sent it (XML)."),
    )


class DayForm(forms.Form):
    date = forms.DateField(label=_("Business day"), widget=forms.DateInput({"type": "date"}))


class QueueFilter(forms.Form):
    state = forms.ChoiceField(label=_("State"), required=False, choices=[("", _("Any state")), *ExceptionState.choices])
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("Any kind")), *ExceptionKind.choices])
    date = forms.DateField(label=_("Business day"), required=False, widget=forms.DateInput({"type": "date"}))


class MatchForm(forms.Form):
    reference = forms.CharField(
        label=_("Bill reference of the payment"),
        max_length=40,
        required=False,
        help_text=_("As printed on the bill or shown with the QR code, e.g. TB12 3456 7890 1234."),
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False, widget=forms.Textarea({"rows": 2}))


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount to refund (HK$)"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2, required=False
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False, widget=forms.Textarea({"rows": 2}))


class WriteOffForm(forms.Form):
    note = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea({"rows": 2}))


class DeclineForm(forms.Form):
    """Turning a proposal or a held file down: the reason is required."""

    reason = forms.CharField(label=_("Why"), max_length=500, widget=forms.Textarea({"rows": 2}))
