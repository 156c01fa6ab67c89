"""Forms of the payments staff pages: refunds and the payment counter (bilingual labels,
errors in the officer's language)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

_MONEY = re.compile(r"^\s*(HK\$)?\s*[0-9][0-9,]*(\.[0-9]{1,2})?\s*$", re.IGNORECASE)


def cents_of(text: str) -> int | None:
    """``"1,234.5"`` / ``"HK$12"`` → cents; ``None`` when it is not an amount of HK dollars."""
    if not _MONEY.match(text or ""):
        return None
    try:
        value = Decimal(re.sub(r"(?i)HK\$|,|\s", "", text))
    except InvalidOperation:
        return None
    return int(value * 100)


class MoneyField(forms.CharField):
    """An amount in HK dollars (up to two decimals), cleaned to HK cents."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})

    def clean(self, value):
        text = super().clean(value)
        cents = cents_of(text)
        if cents is None:
            raise forms.ValidationError(_("Write an amount in Hong Kong dollars, e.g. 120 or 120.50."))
        if cents <= 0:
            raise forms.ValidationError(_("The amount must be more than zero."))
        return cents


class RefundRequestForm(forms.Form):
    amount = MoneyField(label=_("Amount to refund (HK$)"))
    reason_en = forms.CharField(label=_("Reason in English"), widget=forms.Textarea({"rows": 2}), max_length=500)
    reason_zh = forms.CharField(label=_("Reason in Chinese"), widget=forms.Textarea({"rows": 2}), max_length=500)


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Why is it not approved?"), widget=forms.Textarea({"rows": 2}), max_length=500)


class LookupForm(forms.Form):
    reference = forms.CharField(label=_("Bill reference"), max_length=40)


class CheckForm(forms.Form):
    payload = forms.CharField(
        label=_("QR code content"),
        help_text=_("Scan the code with the counter's scanner into this box, or paste its text."),
        widget=forms.Textarea({"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
        max_length=2000,
    )


class KioskForm(forms.Form):
    reference = forms.CharField(
        label=_("Bill reference"),
        help_text=_("As printed on your bill or payment notice, e.g. TB12 3456 7890 1234."),
        max_length=40,
        widget=forms.TextInput({"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )
