"""The departmental data catalogue's pages, under ``/staff/data/catalogue/`` (issue 21; seed 002
ITIB156): staff verified by their second factor (:mod:`tungban.counter.staffauth`) who are a
data officer or Departmental Data Officer of a provider (:class:`~.models.DataOfficer`).
Every such officer may search every department's entries and read them; only their own
department's officers change them, and only its Departmental Data Officer approves them.
Others get a 403 page. Every change is a POST through :mod:`.services.catalogue`; a refusal
shows its message in the page's language and stores nothing.
"""

from __future__ import annotations

import functools

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tungban.core.errors import DomainError, Forbidden, NotFound

from .constants import Classification, DataType, Disposition, UpdateFrequency
from .models import Group
from .services import catalogue, publishing


def _zh() -> bool:
    return (get_language() or "").startswith("zh")


def officer_required(view):
    """Staff verified by their second factor with a data role for at least one provider; others
    go to the staff login page, staff without a data role get a 403 page."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        request.data_orgs = publishing.organizations_of(user)
        if not request.data_orgs:
            return _forbidden(
                request, _("You are not a data officer of any department. Ask your Departmental Data Officer.")
            )
        return view(request, *args, **kwargs)

    return wrapped


def _forbidden(request, message, status=403):
    return render(request, "opendata/catalogue/forbidden.html", {"message": message}, status=status)


def _entry_or_error(request, pk):
    try:
        return catalogue.entry(pk), None
    except NotFound as exc:
        return None, _forbidden(request, exc.message, status=404)


class SearchForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=200)
    organization = forms.ChoiceField(label=gettext_lazy("Department"), required=False)
    disposition = forms.ChoiceField(
        label=gettext_lazy("Disposition"),
        required=False,
        choices=[("", gettext_lazy("Any")), *Disposition.choices],
    )
    data_type = forms.ChoiceField(
        label=gettext_lazy("Type"), required=False, choices=[("", gettext_lazy("Any")), *DataType.choices]
    )

    def __init__(self, *args, organizations=(), **kwargs):
        super().__init__(*args, **kwargs)
        zh = _zh()
        self.fields["organization"].choices = [("", _("Every department"))] + [
            (o.name, o.title_zh if zh else o.title_en) for o in organizations
        ]


class EntryForm(forms.Form):
    organization = forms.ChoiceField(label=gettext_lazy("Department"))
    title_en = forms.CharField(label=gettext_lazy("Title in English"), max_length=300)
    title_zh = forms.CharField(label=gettext_lazy("Title in Chinese"), max_length=200)
    data_type = forms.ChoiceField(label=gettext_lazy("Type of data"), choices=DataType.choices)
    scope_en = forms.CharField(label=gettext_lazy("Scope in English"), widget=forms.Textarea({"rows": 3}))
    scope_zh = forms.CharField(label=gettext_lazy("Scope in Chinese"), widget=forms.Textarea({"rows": 3}))
    attributes = forms.CharField(
        label=gettext_lazy("Attributes (fields)"),
        widget=forms.Textarea({"rows": 8, "spellcheck": "false"}),
        help_text=gettext_lazy(
            "One field a line: name | type | description in English | description in Chinese, e.g. "
            "“district | string | District | 地區”. Types: string, integer, number, boolean, date, "
            "datetime, time, year, yearmonth, duration, geopoint, geojson, object, array, any."
        ),
    )
    classification = forms.ChoiceField(label=gettext_lazy("Classification"), choices=Classification.choices)
    personal_data = forms.BooleanField(label=gettext_lazy("Contains personal data"), required=False)
    owner = forms.CharField(label=gettext_lazy("Owner (division or section)"), max_length=200)
    update_frequency = forms.ChoiceField(label=gettext_lazy("Update frequency"), choices=UpdateFrequency.choices)
    sharing_conditions_en = forms.CharField(
        label=gettext_lazy("Sharing conditions in English"), widget=forms.Textarea({"rows": 2}), required=False
    )
    sharing_conditions_zh = forms.CharField(
        label=gettext_lazy("Sharing conditions in Chinese"), widget=forms.Textarea({"rows": 2}), required=False
    )

    def __init__(self, *args, organizations=(), **kwargs):
        super().__init__(*args, **kwargs)
        zh = _zh()
        if organizations:
            self.fields["organization"].choices = [(o.name, o.title_zh if zh else o.title_en) for o in organizations]
        else:
            del self.fields["organization"]


class ProposeForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Dataset name (in its address)"),
        max_length=100,
        help_text=gettext_lazy("2 to 100 characters: lowercase letters a–z, digits, “-” and “_”."),
    )
    groups = forms.MultipleChoiceField(
        label=gettext_lazy("Categories"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zh = _zh()
        self.fields["groups"].choices = [(g.name, g.title_zh if zh else g.title_en) for g in Group.objects.all()]


class ExchangeForm(forms.Form):
    product_id = forms.ChoiceField(label=gettext_lazy("Data product of the consented data exchange"))

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        zh = _zh()
        self.fields["product_id"].choices = [(p.id, f"{p.name_zh if zh else p.name_en} ({p.id})") for p in products]


class InternalForm(forms.Form):
    reason_en = forms.CharField(label=gettext_lazy("Reason in English"), widget=forms.Textarea({"rows": 3}))
    reason_zh = forms.CharField(label=gettext_lazy("Reason in Chinese"), widget=forms.Textarea({"rows": 3}))


def _show_error(form, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))


@officer_required
@require_GET
def index(request):
    """Every department's entries, searched and filtered (GET ``q``, ``organization``,
    ``disposition``, ``data_type``), 50 a page."""
    from .models import Organization

    form = SearchForm(
        request.GET or None, organizations=Organization.objects.filter(catalogue__isnull=False).distinct()
    )
    found = catalogue.search()
    if form.is_valid():
        found = catalogue.search(
            form.cleaned_data["q"],
            organization=form.cleaned_data["organization"],
            disposition=form.cleaned_data["disposition"],
            data_type=form.cleaned_data["data_type"],
        )
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    labels = dict(Disposition.choices)
    zh = _zh()
    rows = [
        {
            "e": e,
            "title": e.title_zh if zh else e.title_en,
            "department": e.organization.title_zh if zh else e.organization.title_en,
            "state": labels.get(e.state, e.state),
            "sharing": e.sharing_conditions_zh if zh else e.sharing_conditions_en,
        }
        for e in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "opendata/catalogue/index.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "own": {o.pk for o in request.data_orgs},
            "zh": _zh(),
        },
    )


@officer_required
@require_http_methods(["GET", "POST"])
def new(request):
    form = EntryForm(request.POST or None, organizations=request.data_orgs)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        org = data.pop("organization")
        try:
            e = catalogue.create_entry(request.user, org, **data)
        except Forbidden as exc:
            return _forbidden(request, exc.message)
        except DomainError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, _("The entry is in your department's catalogue."))
            return redirect("opendata_catalogue:entry", pk=e.pk)
    return render(
        request, "opendata/catalogue/edit.html", {"form": form, "entry": None}, status=400 if form.errors else 200
    )


def _initial(e) -> dict:
    return {k: getattr(e, k) for k in catalogue.EDITABLE} | {"attributes": catalogue.format_attributes(e.attributes)}


@officer_required
@require_GET
def detail(request, pk):
    e, error = _entry_or_error(request, pk)
    if error:
        return error
    ctx = {
        "entry": e,
        "zh": _zh(),
        "can_edit": catalogue.can_edit(request.user, e),
        "is_ddo": catalogue.is_ddo(request.user, e.organization),
        "state_label": dict(Disposition.choices).get(e.state, e.state),
    }
    return render(request, "opendata/catalogue/entry.html", ctx)


def _own(view):
    """A page that changes an entry: 403 for an officer of another department."""

    @functools.wraps(view)
    def wrapped(request, pk, *args, **kwargs):
        e, error = _entry_or_error(request, pk)
        if error:
            return error
        if not catalogue.can_edit(request.user, e):
            return _forbidden(
                request,
                _("You are not a data officer of %(department)s: you may read its entries, not change them.")
                % {"department": e.organization.title_zh if _zh() else e.organization.title_en},
            )
        return view(request, e, *args, **kwargs)

    return officer_required(wrapped)


@_own
@require_http_methods(["GET", "POST"])
def edit(request, e):
    form = EntryForm(request.POST or None, initial=None if request.method == "POST" else _initial(e))
    if request.method == "POST" and form.is_valid():
        try:
            catalogue.update_entry(request.user, e, **form.cleaned_data)
        except DomainError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, _("The entry is saved. Your Departmental Data Officer approves it again."))
            return redirect("opendata_catalogue:entry", pk=e.pk)
    return render(
        request, "opendata/catalogue/edit.html", {"form": form, "entry": e}, status=400 if form.errors else 200
    )


@_own
@require_POST
def approve(request, e):
    try:
        catalogue.approve_entry(request.user, e)
    except Forbidden as exc:
        return _forbidden(request, exc.message)
    messages.success(request, _("You approved the entry."))
    return redirect("opendata_catalogue:entry", pk=e.pk)


def _action_page(request, e, form, template_action: str, status: int = 200):
    return render(
        request,
        "opendata/catalogue/action.html",
        {
            "entry": e,
            "form": form,
            "action": template_action,
            "zh": _zh(),
            "state_label": dict(Disposition.choices).get(e.state, e.state),
        },
        status=status,
    )


@_own
@require_http_methods(["GET", "POST"])
def propose(request, e):
    """Propose the entry as open data: a draft dataset linked to it (refused for personal or
    classified data)."""
    form = ProposeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ds = catalogue.propose_open(
                request.user, e, name=form.cleaned_data["name"], groups=form.cleaned_data["groups"]
            )
        except DomainError as exc:
            _show_error(form, exc)
        else:
            messages.success(
                request,
                _(
                    "The draft dataset “%(name)s” is made: add its files and submit it to your Departmental "
                    "Data Officer on the data officers' desk."
                )
                % {"name": ds.name},
            )
            return redirect("opendata_catalogue:entry", pk=e.pk)
    return _action_page(request, e, form, "propose", status=400 if form.errors else 200)


@_own
@require_http_methods(["GET", "POST"])
def offer(request, e):
    """Offer the entry through the consented data exchange as one of its data products."""
    products = catalogue.exchange_products(e.organization)
    form = ExchangeForm(request.POST or None, products=products)
    if request.method == "POST" and form.is_valid():
        try:
            catalogue.offer_exchange(request.user, e, form.cleaned_data["product_id"])
        except DomainError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, _("The data set is offered through the consented data exchange."))
            return redirect("opendata_catalogue:entry", pk=e.pk)
    return _action_page(request, e, form if products else None, "offer", status=400 if form.errors else 200)


@_own
@require_http_methods(["GET", "POST"])
def internal(request, e):
    """Keep the entry internal, with the reason in both languages."""
    form = InternalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            catalogue.keep_internal(request.user, e, **form.cleaned_data)
        except DomainError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, _("The data set is kept internal."))
            return redirect("opendata_catalogue:entry", pk=e.pk)
    return _action_page(request, e, form, "internal", status=400 if form.errors else 200)


@officer_required
@require_GET
def progress(request):
    """Every department's progress: entries, approved, by disposition, share opened, datasets
    published, pending approvals (seed 002 ITIB156: the DDO monitors progress)."""
    rows = catalogue.progress()
    totals = catalogue.Progress(organization=None, by_disposition=dict.fromkeys(Disposition.values, 0))
    for p in rows:
        totals.entries += p.entries
        totals.approved += p.approved
        totals.datasets_published += p.datasets_published
        totals.entries_pending += p.entries_pending
        totals.submissions_pending += p.submissions_pending
        for k, v in p.by_disposition.items():
            totals.by_disposition[k] += v
    dispositions = [(value, label) for value, label in Disposition.choices]
    table = [
        {
            "name": (p.organization.title_zh if _zh() else p.organization.title_en),
            "code": p.organization.name,
            "p": p,
            "by": [p.by_disposition.get(value, 0) for value, _label in dispositions],
            "share": None if p.open_share is None else round(100 * p.open_share),
        }
        for p in rows
    ]
    return render(
        request,
        "opendata/catalogue/progress.html",
        {
            "table": table,
            "totals": totals,
            "totals_by": [totals.by_disposition[v] for v, _label in dispositions],
            "totals_share": None if totals.open_share is None else round(100 * totals.open_share),
            "dispositions": dispositions,
            "chart_height": max(360, 28 * len(rows) + 120),
        },
    )


@officer_required
@require_GET
def progress_svg(request):
    """The progress dashboard's chart (entries by disposition per department) as SVG."""
    response = HttpResponse(catalogue.progress_svg(catalogue.progress(), zh=_zh()), content_type="image/svg+xml")
    response["X-Content-Type-Options"] = "nosniff"
    return response
