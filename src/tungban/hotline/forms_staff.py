"""Forms of the 1823 desk (labels translated; errors in the officer's language)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tungban.eservices.models import Department

from .services import kpi

_TEXT = {"rows": 4, "maxlength": 5000}


class TextForm(forms.Form):
    """A reply, a closing reply, a note or a reason (1–5,000 characters, checked by the services)."""

    text = forms.CharField(label=_("Text"), widget=forms.Textarea(_TEXT), required=False)


class CloseForm(forms.Form):
    text = forms.CharField(label=_("Reply to the person"), widget=forms.Textarea(_TEXT), required=False)
    closed_at = forms.DateTimeField(
        label=_("Closed at (leave empty for now)"),
        required=False,
        widget=forms.DateTimeInput({"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )


def _department_choices():
    from django.utils.translation import get_language

    zh = (get_language() or "").startswith("zh")
    return [("", "—")] + [(d.code, f"{d.code} {d.name_zh if zh else d.name_en}") for d in Department.objects.all()]


class TransferForm(forms.Form):
    department = forms.ChoiceField(label=_("To the department"), required=False)
    text = forms.CharField(label=_("Reason"), widget=forms.Textarea(_TEXT), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = _department_choices()


class LeadForm(forms.Form):
    department = forms.ChoiceField(label=_("Lead department"), required=False)
    decided_by = forms.CharField(
        label=_("Decided by"),
        required=False,
        max_length=200,
        help_text=_("Who decided, e.g. “Deputy Chief Secretary for Administration, meeting of 3 March 2026”."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = _department_choices()


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput({"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput({"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("The end of the period is before its start."))
        elif start and end and (end - start).days >= kpi.MAX_DAYS:
            self.add_error("end", _("The period can be at most %(days)s days.") % {"days": kpi.MAX_DAYS})
        return data
