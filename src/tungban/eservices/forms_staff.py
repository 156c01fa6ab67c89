"""Forms of the officers' pages (bilingual labels; errors in the officer's language)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import State
from .services import workbench

STATE_CHOICES = [("", _("Any state"))] + [(s.value, s.label) for s in State if s not in (State.DRAFT, State.EXPIRED)]


class SearchForm(forms.Form):
    reference = forms.CharField(label=_("Reference"), required=False, max_length=24)
    service = forms.ChoiceField(label=_("Service"), required=False)
    state = forms.ChoiceField(label=_("State"), required=False, choices=STATE_CHOICES)
    submitted_from = forms.DateField(
        label=_("Submitted from"), required=False, widget=forms.DateInput({"type": "date"})
    )
    submitted_to = forms.DateField(label=_("Submitted to"), required=False, widget=forms.DateInput({"type": "date"}))

    def __init__(self, *args, services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [("", _("Any service"))] + [(s.slug, s.label) for s in services]

    def clean(self):
        data = super().clean()
        lo, hi = data.get("submitted_from"), data.get("submitted_to")
        if lo and hi and lo > hi:
            self.add_error("submitted_to", _("The end of the range is before its start."))
        return data


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput({"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput({"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", _("The end of the range is before its start."))
        return data


class BilingualForm(forms.Form):
    """A request for information (``message``) or a decision's reasons (``reason``)."""

    text_en = forms.CharField(label=_("In English"), widget=forms.Textarea({"rows": 3}), required=False)
    text_zh = forms.CharField(label=_("In Chinese"), widget=forms.Textarea({"rows": 3}), required=False)


class BulkForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), choices=list(workbench.BULK_ACTIONS.items()))
    assignee = forms.ChoiceField(label=_("Assign to"), required=False)
    text_en = forms.CharField(
        label=_("Message or reason in English"), widget=forms.Textarea({"rows": 2}), required=False
    )
    text_zh = forms.CharField(
        label=_("Message or reason in Chinese"), widget=forms.Textarea({"rows": 2}), required=False
    )

    def __init__(self, *args, officers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", _("Myself"))] + [(u.username, u.username) for u in officers]
