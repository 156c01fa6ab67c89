"""Forms of the scheme's reports (issue 20, part F): Cyberport's parts of the annual report,
a grantee's progress report and Cyberport's review of it."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class AnnualTextsForm(forms.Form):
    """Cyberport's own parts of the annual report (seed 000 §21: security audit; seed 002
    ITIB197: next year's work plan and latest budget)."""

    security_audit_en = forms.CharField(
        label=_("Security audit status in English"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    security_audit_zh = forms.CharField(
        label=_("Security audit status in Chinese"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    work_plan_en = forms.CharField(
        label=_("Next year's work plan in English"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    work_plan_zh = forms.CharField(
        label=_("Next year's work plan in Chinese"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    next_year_budget = forms.DecimalField(
        label=_("Next year's budget (HK$)"), required=False, min_value=0, max_digits=14, decimal_places=2
    )


class ProgressReportForm(forms.Form):
    """A grantee's progress report (seed 000 §21; the counts are seed 000 §18's KPIs)."""

    progress = forms.CharField(label=_("Progress in the period"), widget=forms.Textarea(attrs={"rows": 5}))
    papers = forms.IntegerField(label=_("Papers"), min_value=0, initial=0)
    models_released = forms.IntegerField(label=_("AI models"), min_value=0, initial=0)
    datasets = forms.IntegerField(label=_("Datasets"), min_value=0, initial=0)
    outputs = forms.CharField(
        label=_("Outputs (titles, DOIs or links)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    talents = forms.IntegerField(label=_("Talents and professionals involved"), min_value=0, initial=0)
    landed_firms = forms.IntegerField(label=_("Mainland or overseas firms and teams landed"), min_value=0, initial=0)


class ReviewForm(forms.Form):
    """Cyberport's review of a progress report: accept, or return with a comment."""

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("accept", _("Accept")), ("return", _("Return for more information"))],
    )
    review_comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
