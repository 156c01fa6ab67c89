"""The committees' page forms (issue 20, part E). Reasons are not required by the forms: the
services refuse a decision without reasons in both languages (``reasons_required``) with one
message, whichever is missing."""

from __future__ import annotations

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .constants import InterestNature, Outcome, Severity
from .models import BRN


def _lang_zh() -> bool:
    return (get_language() or "en").startswith("zh")


class ScoreForm(forms.Form):
    """One whole-number score 0–10 per criterion (seed 000 §13 (a)–(d)) and a comment."""

    def __init__(self, *args, criteria=(), initial_scores=None, **kwargs):
        super().__init__(*args, **kwargs)
        zh = _lang_zh()
        for c in criteria:
            self.fields[f"c_{c.code}"] = forms.IntegerField(
                label=f"({c.code}) {c.name_zh if zh else c.name_en}",
                min_value=0,
                max_value=10,
                initial=(initial_scores or {}).get(c.code),
                help_text=_("A whole number from 0 to 10."),
            )
        self.fields["comment"] = forms.CharField(
            label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3})
        )
        self.criteria = list(criteria)


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Decision"), choices=Outcome.choices, widget=forms.RadioSelect)
    reasons_en = forms.CharField(
        label=_("Reasons in English"), required=False, widget=forms.Textarea(attrs={"rows": 3, "lang": "en"})
    )
    reasons_zh = forms.CharField(
        label=_("Reasons in Chinese"), required=False, widget=forms.Textarea(attrs={"rows": 3, "lang": "zh-Hant"})
    )


class DismissForm(forms.Form):
    reasons_en = forms.CharField(
        label=_("Reasons in English"), required=False, widget=forms.Textarea(attrs={"rows": 2, "lang": "en"})
    )
    reasons_zh = forms.CharField(
        label=_("Reasons in Chinese"), required=False, widget=forms.Textarea(attrs={"rows": 2, "lang": "zh-Hant"})
    )


class DeclarationForm(forms.Form):
    """A declaration of interest about an organisation, standing or for one meeting."""

    organisation_brn = forms.CharField(label=_("Organisation's BR number"), max_length=8, validators=[BRN])
    organisation_name = forms.CharField(label=_("Organisation"), max_length=200, required=False)
    nature = forms.ChoiceField(label=_("Nature of the interest"), choices=InterestNature.choices)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.REAL)
    meeting = forms.ChoiceField(label=_("For"), required=False)
    details = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, meetings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting"].choices = [("", _("Every meeting (standing declaration)"))] + [
            (str(m.pk), f"{m.batch_label} ({m.held_on:%Y-%m-%d})") for m in meetings
        ]


class ItemDeclarationForm(forms.Form):
    """A declaration of interest in one agenda item, made at the meeting."""

    nature = forms.ChoiceField(label=_("Nature of the interest"), choices=InterestNature.choices)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.REAL)
    details = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MeetingForm(forms.Form):
    """A meeting the chair or the secretary plans for a batch (seed 000 §15: batches)."""

    batch_label = forms.CharField(label=_("Batch"), max_length=60)
    held_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    quorum = forms.IntegerField(label=_("Quorum"), min_value=1, max_value=50, initial=3)
