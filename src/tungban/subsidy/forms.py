"""Forms of the AI Subsidy Scheme (issue 20).

:class:`AwardTermsForm` is the terms the committee approves (part A; the committee's decision
page shows it for the kind ``subsidy.application``): the months and nodes, the price per
node-month, the rate as a percentage, the exceptional case and its reasons, the conditions.
Its ``initial`` may be a terms dict (:func:`tungban.subsidy.services.awards.terms_to_dict`, the
secretariat's recommendation); :meth:`AwardTermsForm.terms` gives the dict back.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .services.awards import AwardTerms, terms_to_dict

LINE = re.compile(r"^\s*(\d{4})-(\d{2})\s*[:=]?\s*(\d+)\s*$")


def schedule_text(schedule: dict) -> str:
    """``{"2025-01-01": 8, ...}`` (or dates) as the form's lines ``2025-01 8``."""
    rows = []
    for month, nodes in sorted((str(m)[:7], n) for m, n in schedule.items()):
        rows.append(f"{month} {int(nodes)}")
    return "\n".join(rows)


class AwardTermsForm(forms.Form):
    """The committee's terms for an award (seed 000 §13: amount, duration and conditions; rate
    up to 70%, 90% in an exceptional case with reasons)."""

    schedule = forms.CharField(
        label=_("Nodes by month"),
        help_text=_("One month per line: the month (YYYY-MM) and the number of nodes, e.g. 2025-01 8."),
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    price = forms.DecimalField(
        label=_("Price per node-month (HK$)"), min_value=Decimal("0.01"), max_digits=14, decimal_places=2
    )
    rate_percent = forms.DecimalField(
        label=_("Subsidy rate (%)"),
        help_text=_("At most 70 per cent; up to 90 per cent in an exceptional case, with its reasons."),
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        max_digits=5,
        decimal_places=1,
    )
    exceptional = forms.BooleanField(label=_("Exceptional case"), required=False)
    exceptional_reason_en = forms.CharField(
        label=_("Reason for the exceptional rate in English"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    exceptional_reason_zh = forms.CharField(
        label=_("Reason for the exceptional rate in Chinese"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    conditions_en = forms.CharField(
        label=_("Conditions in English"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    conditions_zh = forms.CharField(
        label=_("Conditions in Chinese"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, data=None, *args, initial=None, **kwargs):
        if initial and "schedule" in initial and not isinstance(initial["schedule"], str):
            initial = dict(initial)
            initial["schedule"] = schedule_text(initial["schedule"])
            if initial.get("rate") not in (None, ""):
                initial["rate_percent"] = (Decimal(str(initial["rate"])) * 100).quantize(Decimal("0.1"))
        super().__init__(data, *args, initial=initial, **kwargs)

    def clean_schedule(self) -> dict[dt.date, int]:
        out: dict[dt.date, int] = {}
        for raw in self.cleaned_data["schedule"].splitlines():
            if not raw.strip():
                continue
            m = LINE.match(raw)
            if not m or not 1 <= int(m.group(2)) <= 12:
                raise forms.ValidationError(_("Write each line as the month and the nodes, e.g. 2025-01 8."))
            month = dt.date(int(m.group(1)), int(m.group(2)), 1)
            if month in out:
                raise forms.ValidationError(_("Each month may appear once."))
            out[month] = int(m.group(3))
            if out[month] > MAX_NODES:  # a readable number (the services refuse beyond capacity)
                raise forms.ValidationError(_("Enter whole numbers of nodes."))
        if not out:
            raise forms.ValidationError(_("Give at least one month."))
        return out

    def award_terms(self) -> AwardTerms:
        """The cleaned form as :class:`AwardTerms` (call after ``is_valid()``)."""
        d = self.cleaned_data
        return AwardTerms(
            schedule=d["schedule"],
            price=d["price"],
            rate=(d["rate_percent"] / 100).quantize(Decimal("0.001")),
            exceptional=d["exceptional"],
            exceptional_reason_en=d["exceptional_reason_en"].strip(),
            exceptional_reason_zh=d["exceptional_reason_zh"].strip(),
            conditions_en=d["conditions_en"].strip(),
            conditions_zh=d["conditions_zh"].strip(),
        )

    def terms(self) -> dict:
        """The JSON-safe terms dict (:func:`~tungban.subsidy.services.awards.terms_to_dict`)."""
        return terms_to_dict(self.award_terms())


# tmoney: the secretariat's recommendation form (review: unreadable numbers gave a 500)
#: The most nodes a month of a recommendation may name (far above any class's capacity: the
#: services refuse beyond capacity with their own message; this only keeps numbers readable).
MAX_NODES = 100_000


class RecommendationForm(forms.Form):
    """The secretariat's recommendation (seed 000 §13, §14: the price, the subsidy level and the
    conditions recommended to the committee): a whole number of nodes per month requested
    (fields ``nodes-YYYY-MM``, 0 or empty: not that month), the negotiated price per node-month
    in HK$ to the cent, the rate as a percentage (0–100, two decimals), the exceptional case and
    its reasons, conditions and reasons in both languages. Django's number fields refuse
    ``NaN``, ``Infinity``, ``sNaN``, exponents beyond ``max_digits``, negatives and empties with
    a message in the page's language; the subsidy rules are the services'
    (:func:`tungban.subsidy.services.intake.recommend`)."""

    price = forms.DecimalField(
        label=_("Negotiated price per node-month (HK$)"), min_value=Decimal("0.01"), max_digits=14, decimal_places=2
    )
    rate = forms.DecimalField(
        label=_("Subsidy rate (%)"), min_value=Decimal("0"), max_value=Decimal("100"), max_digits=4, decimal_places=1
    )  # the award keeps the rate to 0.1% (rules.quantize_rate), so the form takes no finer one
    exceptional = forms.BooleanField(required=False)
    exceptional_reason_en = forms.CharField(required=False)
    exceptional_reason_zh = forms.CharField(required=False)
    conditions_en = forms.CharField(required=False)
    conditions_zh = forms.CharField(required=False)
    reasons_en = forms.CharField(required=False)
    reasons_zh = forms.CharField(required=False)

    def __init__(self, data, *, months: list[dt.date]):
        super().__init__(data)
        self.months = sorted(months)
        for month in self.months:
            self.fields[f"nodes-{month:%Y-%m}"] = forms.IntegerField(
                label=f"{month:%Y-%m}",
                required=False,
                min_value=0,
                max_value=MAX_NODES,
                error_messages={"invalid": _("Enter whole numbers of nodes.")},
            )

    def schedule(self) -> dict[dt.date, int]:
        """Month → nodes of the months given (above 0); call after ``is_valid()``."""
        out = {}
        for month in self.months:
            nodes = self.cleaned_data.get(f"nodes-{month:%Y-%m}")
            if nodes:
                out[month] = nodes
        return out

    def problem(self) -> str:
        """The first refusal, as one sentence for the page: ``<field's label>: <message>``."""
        for name, errs in self.errors.items():
            label = self.fields[name].label if name in self.fields else ""
            return f"{label}: {errs[0]}" if label else str(errs[0])
        return ""
