"""Forms of the data officers' desk (issue 21, part opages). They only shape the input: the
rules are the services' (:mod:`.services.publishing`, :mod:`.services.desk`), whose refusals
the views put on the form's field in the user's language."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .constants import Licence, UpdateFrequency
from .models import Group


class DatasetForm(forms.Form):
    organization = forms.ChoiceField(label=_("Data provider"))
    name = forms.CharField(
        label=_("Name in the address"),
        max_length=100,
        help_text=_("2 to 100 characters: lowercase letters a–z, digits, “-” and “_”; e.g. traffic-counts."),
    )
    title_en = forms.CharField(label=_("Title in English"), max_length=300)
    title_zh = forms.CharField(label=_("Title in Chinese"), max_length=200)
    notes_en = forms.CharField(
        label=_("Description in English"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    notes_zh = forms.CharField(
        label=_("Description in Chinese"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    groups = forms.MultipleChoiceField(label=_("Categories"), widget=forms.CheckboxSelectMultiple, required=False)
    tags = forms.CharField(
        label=_("Tags"), required=False, max_length=500, help_text=_("Separate tags with commas, e.g. traffic, 交通.")
    )
    license_id = forms.ChoiceField(label=_("Licence"), choices=Licence.choices, initial=Licence.DATA_GOV_HK)
    update_frequency = forms.ChoiceField(
        label=_("Update frequency"), choices=UpdateFrequency.choices, initial=UpdateFrequency.IRREGULAR
    )
    maintainer_email = forms.EmailField(label=_("Contact e-mail"), required=False)

    def __init__(self, *args, organizations=(), language_zh=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].choices = [
            (o.name, o.title_zh if language_zh else o.title_en) for o in organizations
        ]
        self.fields["groups"].choices = [
            (g.name, g.title_zh if language_zh else g.title_en) for g in Group.objects.order_by("position", "name")
        ]

    def tag_list(self) -> list[str]:
        raw = self.cleaned_data.get("tags", "").replace("，", ",").replace("、", ",")
        return [t.strip() for t in raw.split(",") if t.strip()]


class ResourceForm(forms.Form):
    name_en = forms.CharField(label=_("Resource name in English"), max_length=300)
    name_zh = forms.CharField(label=_("Resource name in Chinese"), max_length=200)
    file = forms.FileField(label=_("CSV file (UTF-8, with a header row)"))
    schema = forms.FileField(
        label=_("Table Schema (JSON, optional)"),
        required=False,
        help_text=_("Without one, every column is described as text (string); upload a Table Schema to give types."),
    )


class VersionForm(forms.Form):
    file = forms.FileField(label=_("New CSV file"))


class HarvestForm(forms.Form):
    url = forms.URLField(label=_("Address to harvest the file from"), max_length=1000, assume_scheme="https")
    interval_minutes = forms.IntegerField(
        label=_("Every how many minutes"), min_value=1, max_value=366 * 24 * 60, initial=1440
    )


class SubmitForm(forms.Form):
    note = forms.CharField(
        label=_("Note to the Departmental Data Officer"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReturnForm(forms.Form):
    reason_en = forms.CharField(label=_("Reason in English"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    reason_zh = forms.CharField(label=_("Reason in Chinese"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
