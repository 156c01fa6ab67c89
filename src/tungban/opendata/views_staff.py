"""The data officers' desk and the Departmental Data Officer's approvals under
``/staff/data/`` (issue 21, part opages).

Staff logged in with their second factor (:mod:`tungban.counter.staffauth`) who have a role
for a data provider (:class:`~tungban.opendata.models.DataOfficer`): a data officer prepares
datasets, uploads CSV files (new resources and new versions) and submits them; the
provider's Departmental Data Officer (部門數據主任, seed 002 ITIB156) approves them or returns
them with reasons in both languages. Staff without a role get a 403 page; a dataset of
another provider is refused (403) by the services' role check. Every change is a POST
through :mod:`tungban.opendata.services`; a refusal is shown on the form in the user's
language and nothing is stored.
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tungban.core.errors import DomainError, Forbidden, NotFound

from . import errors
from .constants import DatasetState, Role, SubmissionState
from .forms_staff import DatasetForm, HarvestForm, ResourceForm, ReturnForm, SubmitForm, VersionForm
from .models import DataOfficer, Dataset, Resource, Submission
from .services import desk, harvest, publishing
from .views import pick, zh

#: What each :class:`~.models.DatasetEvent` action is called in the history.
EVENT_LABELS = {
    "created": _lazy("Created as a draft"),
    "submitted": _lazy("Submitted for approval"),
    "approved": _lazy("Approved and published"),
    "returned": _lazy("Returned"),
    "withdrawn": _lazy("Withdrawn"),
    "harvest_registered": _lazy("Harvest source registered"),
    "harvested": _lazy("New harvested version published"),
}


def data_staff(view):
    """Staff verified by their second factor with a role for at least one data provider
    (``request.organizations``); others go to the staff login page or get a 403 page."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        request.organizations = publishing.organizations_of(user)
        if not request.organizations:
            return _refused(request, _("You are not a data officer of any data provider. Ask an administrator."))
        request.ddo_of = set(
            DataOfficer.objects.filter(user=user, role=Role.DDO).values_list("organization__name", flat=True)
        )
        try:
            return view(request, *args, **kwargs)
        except Forbidden as exc:
            return _refused(request, str(exc.message))
        except NotFound as exc:
            return _refused(request, str(exc.message), status=404)

    return wrapped


def _refused(request, message, status=403):
    return render(request, "opendata/staff/refused.html", {"message": message}, status=status)


def _dataset(request, name: str) -> Dataset:
    """A dataset of one of the user's providers. :raises NotFound: ``unknown_dataset``;
    :raises Forbidden: ``not_data_officer``."""
    ds = Dataset.objects.select_related("organization").filter(name=name).first()
    if ds is None:
        raise errors.UnknownDataset(name=name)
    publishing.role_of(request.user, ds.organization)
    return ds


def _put_error(form, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))


@data_staff
@require_GET
def home(request):
    datasets = (
        Dataset.objects.filter(organization__in=request.organizations)
        .select_related("organization")
        .annotate(pending=Exists(Submission.objects.filter(dataset=OuterRef("pk"), state=SubmissionState.PENDING)))
        .order_by("organization__name", "name")
    )
    rows = [
        {
            "ds": ds,
            "title": pick(ds, "title"),
            "organization": pick(ds.organization, "title"),
            "state": DatasetState(ds.state).label,
        }
        for ds in datasets
    ]
    return render(request, "opendata/staff/home.html", {"rows": rows, "nav": "home"})


@data_staff
@require_http_methods(["GET", "POST"])
def new_dataset(request):
    form = DatasetForm(request.POST or None, organizations=request.organizations, language_zh=zh())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ds = publishing.create_dataset(
                request.user,
                data["organization"],
                name=data["name"].strip(),
                title_en=data["title_en"],
                title_zh=data["title_zh"],
                notes_en=data["notes_en"],
                notes_zh=data["notes_zh"],
                groups=data["groups"],
                tags=form.tag_list(),
                license_id=data["license_id"],
                update_frequency=data["update_frequency"],
                maintainer_email=data["maintainer_email"],
            )
        except DomainError as exc:
            _put_error(form, exc)
        else:
            messages.success(request, _("The dataset was created as a draft. Add a resource, then submit it."))
            return redirect("opendata_staff:dataset", name=ds.name)
    status = 400 if request.method == "POST" else 200
    return render(request, "opendata/staff/new.html", {"form": form, "nav": "new"}, status=status)


def _dataset_page(
    request, ds: Dataset, *, resource_form=None, version_forms=None, harvest_forms=None, submit_form=None, status=200
):
    resources = []
    for r in ds.resources.select_related("current", "harvest_source").order_by("position", "created"):
        source = getattr(r, "harvest_source", None)
        initial = {"url": source.url, "interval_minutes": source.interval_minutes} if source else None
        resources.append(
            {
                "r": r,
                "name": pick(r, "name"),
                "versions": list(r.versions.order_by("-captured_at", "-pk")),
                "form": (version_forms or {}).get(r.pk) or VersionForm(prefix=f"v{r.position}"),
                "source": source,
                "harvest_form": (harvest_forms or {}).get(r.pk)
                or HarvestForm(prefix=f"h{r.position}", initial=initial),
            }
        )
    submissions = list(ds.submissions.select_related("submitted_by", "decided_by").order_by("-submitted_at"))
    pending = next((s for s in submissions if s.state == SubmissionState.PENDING), None)
    context = {
        "ds": ds,
        "title": pick(ds, "title"),
        "organization": pick(ds.organization, "title"),
        "state": DatasetState(ds.state).label,
        "resources": resources,
        "resource_form": resource_form or ResourceForm(prefix="res"),
        "submit_form": submit_form or SubmitForm(prefix="sub"),
        "submissions": [
            {"s": s, "state": SubmissionState(s.state).label, "reason": s.reason_zh if zh() else s.reason_en}
            for s in submissions
        ],
        "pending": pending,
        "events": [
            {"e": e, "label": EVENT_LABELS.get(e.action, e.action), "reason": e.reason_zh if zh() else e.reason_en}
            for e in ds.events.order_by("-at", "-id")
        ],
        "nav": "home",
    }
    return render(request, "opendata/staff/dataset.html", context, status=status)


@data_staff
@require_GET
def dataset(request, name: str):
    return _dataset_page(request, _dataset(request, name))


@data_staff
@require_POST
def add_resource(request, name: str):
    ds = _dataset(request, name)
    form = ResourceForm(request.POST, request.FILES, prefix="res")
    if form.is_valid():
        upload = form.cleaned_data["file"]
        schema = form.cleaned_data.get("schema")
        try:
            desk.upload_resource(
                request.user,
                ds,
                name_en=form.cleaned_data["name_en"],
                name_zh=form.cleaned_data["name_zh"],
                filename=upload.name,
                data=upload.read(),
                schema_bytes=schema.read() if schema else None,
            )
        except DomainError as exc:
            _put_error(form, exc)
        else:
            messages.success(request, _("The resource was added. Submit the dataset for approval to publish it."))
            return redirect("opendata_staff:dataset", name=ds.name)
    return _dataset_page(request, ds, resource_form=form, status=400)


@data_staff
@require_POST
def add_version(request, name: str, resource_id):
    ds = _dataset(request, name)
    resource = Resource.objects.filter(pk=resource_id, dataset=ds).first()
    if resource is None:
        raise errors.UnknownResource(id=resource_id)
    form = VersionForm(request.POST, request.FILES, prefix=f"v{resource.position}")
    if form.is_valid():
        try:
            desk.upload_version(request.user, resource, form.cleaned_data["file"].read())
        except DomainError as exc:
            _put_error(form, exc)
        else:
            messages.success(request, _("The new version was stored. Submit the dataset for approval to publish it."))
            return redirect("opendata_staff:dataset", name=ds.name)
    return _dataset_page(request, ds, version_forms={resource.pk: form}, status=400)


@data_staff
@require_POST
def register_harvest(request, name: str, resource_id):
    """Register (or change) the address a resource's file is harvested from
    (:func:`.services.harvest.register_source`); approved with the dataset's next request."""
    ds = _dataset(request, name)
    resource = Resource.objects.filter(pk=resource_id, dataset=ds).first()
    if resource is None:
        raise errors.UnknownResource(id=resource_id)
    form = HarvestForm(request.POST, prefix=f"h{resource.position}")
    if form.is_valid():
        try:
            harvest.register_source(
                request.user, resource, form.cleaned_data["url"], form.cleaned_data["interval_minutes"]
            )
        except DomainError as exc:
            _put_error(form, exc)
        else:
            messages.success(
                request, _("The harvest source was registered. Submit the dataset for approval to start it.")
            )
            return redirect("opendata_staff:dataset", name=ds.name)
    return _dataset_page(request, ds, harvest_forms={resource.pk: form}, status=400)


@data_staff
@require_POST
def submit(request, name: str):
    ds = _dataset(request, name)
    form = SubmitForm(request.POST, prefix="sub")
    if form.is_valid():
        try:
            publishing.submit(request.user, ds, note=form.cleaned_data["note"])
        except DomainError as exc:
            _put_error(form, exc)
        else:
            messages.success(request, _("Submitted to the Departmental Data Officer for approval."))
            return redirect("opendata_staff:dataset", name=ds.name)
    return _dataset_page(request, ds, submit_form=form, status=409 if form.errors else 400)


def _ddo_only(request):
    if not request.ddo_of:
        raise errors.NotDDO(organization="、".join(o.name for o in request.organizations))


@data_staff
@require_GET
def approvals(request):
    _ddo_only(request)
    rows = [
        {
            "s": s,
            "title": pick(s.dataset, "title"),
            "organization": pick(s.dataset.organization, "title"),
            "versions": s.versions.count(),
        }
        for s in publishing.pending_for(request.user)
    ]
    return render(request, "opendata/staff/approvals.html", {"rows": rows, "nav": "approvals"})


def _submission(request, pk: int) -> Submission:
    sub = Submission.objects.select_related("dataset", "dataset__organization", "submitted_by").filter(pk=pk).first()
    if sub is None:
        raise errors.UnknownSubmission()
    publishing.role_of(request.user, sub.dataset.organization, ddo=True)
    return sub


def _approval_page(request, sub: Submission, *, return_form=None, error: str = "", status=200):
    ds = sub.dataset
    versions = []
    for v in sub.versions.select_related("resource").order_by("resource__position", "captured_at"):
        versions.append(
            {
                "v": v,
                "resource": pick(v.resource, "name"),
                "previous": v.resource.current,
                "preview": desk.preview(v) if v.resource.format == "CSV" else None,
            }
        )
    context = {
        "sub": sub,
        "ds": ds,
        "title": pick(ds, "title"),
        "title_other": ds.title_en if zh() else ds.title_zh,
        "notes": pick(ds, "notes"),
        "organization": pick(ds.organization, "title"),
        "groups": [pick(g, "title") for g in ds.groups.all()],
        "tags": [t.name for t in ds.tags.all()],
        "state": SubmissionState(sub.state).label,
        "first": ds.state != DatasetState.ACTIVE,
        "versions": versions,
        "sources": harvest.sources_for_approval(sub),
        "return_form": return_form or ReturnForm(prefix="ret"),
        "own": sub.submitted_by_id == request.user.pk,
        "pending": sub.state == SubmissionState.PENDING,
        "error": error,
        "nav": "approvals",
    }
    return render(request, "opendata/staff/approval.html", context, status=status)


@data_staff
@require_GET
def approval(request, pk: int):
    return _approval_page(request, _submission(request, pk))


@data_staff
@require_POST
def approve(request, pk: int):
    sub = _submission(request, pk)
    try:
        publishing.approve(request.user, sub.pk)
    except (Forbidden, NotFound):
        raise
    except DomainError as exc:
        sub.refresh_from_db()
        return _approval_page(request, sub, error=str(exc.message), status=exc.status)
    messages.success(request, _("Approved: the dataset and its new versions are published."))
    return redirect("opendata_staff:approvals")


@data_staff
@require_POST
def return_submission(request, pk: int):
    sub = _submission(request, pk)
    form = ReturnForm(request.POST, prefix="ret")
    if form.is_valid():
        try:
            publishing.reject(
                request.user,
                sub.pk,
                reason_en=form.cleaned_data["reason_en"],
                reason_zh=form.cleaned_data["reason_zh"],
            )
        except (Forbidden, NotFound):
            raise
        except DomainError as exc:
            sub.refresh_from_db()
            if exc.field in form.fields:
                _put_error(form, exc)
                return _approval_page(request, sub, return_form=form, status=exc.status)
            return _approval_page(request, sub, return_form=form, error=str(exc.message), status=exc.status)
        messages.success(request, _("Returned to the data officer with your reasons."))
        return redirect("opendata_staff:approvals")
    return _approval_page(request, sub, return_form=form, status=400)
