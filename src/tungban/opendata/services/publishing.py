"""Datasets, resources and their publication (issue 21): a data officer of a provider
prepares a dataset and submits it; the provider's Departmental Data Officer (部門數據主任,
seed 002 ITIB156) approves — the dataset and its pending versions become public — or returns
it with reasons in both languages. Every write is one transaction; a refusal stores nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import errors
from ..constants import DatasetState, Format, Licence, Role, SubmissionState, UpdateFrequency, VersionState
from ..models import (
    NAME,
    DataOfficer,
    Dataset,
    DatasetEvent,
    Group,
    HarvestSource,
    Organization,
    Resource,
    ResourceVersion,
    Submission,
    Tag,
)


def _actor(user) -> str:
    return str(getattr(user, "username", "") or getattr(user, "pk", "") or "system")


def organization(name_or_org: Organization | str) -> Organization:
    """The provider named ``name`` (or the row itself). :raises NotFound: ``unknown_organization``."""
    if isinstance(name_or_org, Organization):
        return name_or_org
    org = Organization.objects.filter(name=name_or_org).first()
    if org is None:
        raise errors.UnknownOrganization(name=name_or_org)
    return org


def role_of(user, org: Organization | str, *, ddo: bool = False) -> DataOfficer:
    """``user``'s role for ``org`` (an active staff member's :class:`DataOfficer` row).

    :raises Forbidden: ``not_data_officer`` (no role), ``not_ddo`` (``ddo`` and the role is a
        data officer's)."""
    org = organization(org)
    role = None
    if user is not None and user.is_active and user.is_staff:
        role = DataOfficer.objects.filter(user=user, organization=org).first()
    if role is None:
        raise errors.NotDataOfficer(organization=org.name)
    if ddo and role.role != Role.DDO:
        raise errors.NotDDO(organization=org.name)
    return role


def organizations_of(user) -> list[Organization]:
    """The providers ``user`` has a role for."""
    if user is None or not user.is_active or not user.is_staff:
        return []
    return list(Organization.objects.filter(officers__user=user).order_by("name"))


def _choice(value: str, choices, field_name: str) -> str:
    if value not in choices.values:
        raise errors.InvalidChoice(value=value, field_name=field_name, field=field_name)
    return value


def _tags(names: Iterable[str]) -> list[str]:
    """The distinct, stripped keywords of ``names``. :raises DomainError: ``tag_too_long``
    (over 100 characters: refused, never cut)."""
    clean = sorted({n.strip() for n in names if n and n.strip()})
    for n in clean:
        if len(n) > 100:
            raise errors.TagTooLong(tag=n[:20] + "…")
    return clean


def create_dataset(
    user,
    org: Organization | str,
    *,
    name: str,
    title_en: str,
    title_zh: str,
    notes_en: str = "",
    notes_zh: str = "",
    groups: Iterable[str] = (),
    tags: Iterable[str] = (),
    license_id: str = Licence.DATA_GOV_HK,
    update_frequency: str = UpdateFrequency.IRREGULAR,
    maintainer_email: str = "",
    high_value: bool = False,
) -> Dataset:
    """A new draft dataset of ``org``, by one of its data officers (a Departmental Data Officer
    is also one). ``groups``: category names; ``tags``: free keywords.

    :raises Forbidden: ``not_data_officer``.
    :raises DomainError: ``invalid_name`` (CKAN's name rule), ``title_required``,
        ``invalid_choice`` (licence, frequency), ``unknown_group``, ``tag_too_long``;
        ``name_taken`` (409)."""
    org = organization(org)
    role_of(user, org)
    try:
        NAME(name)
    except Exception:
        raise errors.InvalidName() from None
    if not title_en.strip() or not title_zh.strip():
        raise errors.TitleRequired()
    _choice(license_id, Licence, "license_id")
    _choice(update_frequency, UpdateFrequency, "update_frequency")
    tag_names = _tags(tags)
    group_rows = []
    for g in groups:
        row = Group.objects.filter(name=g).first()
        if row is None:
            raise errors.UnknownGroup(name=g, field="groups")
        group_rows.append(row)
    now = timezone.now()
    try:
        with transaction.atomic():
            ds = Dataset.objects.create(
                name=name,
                title_en=title_en.strip(),
                title_zh=title_zh.strip(),
                notes_en=notes_en.strip(),
                notes_zh=notes_zh.strip(),
                organization=org,
                license_id=license_id,
                update_frequency=update_frequency,
                maintainer_email=maintainer_email,
                high_value=high_value,
                metadata_modified=now,
            )
            ds.groups.set(group_rows)
            ds.tags.set([Tag.objects.get_or_create(name=n)[0] for n in tag_names])
            DatasetEvent.objects.create(dataset=ds, actor=_actor(user), action="created")
    except IntegrityError:
        raise errors.NameTaken(name=name) from None
    return ds


def dataset(name_or_id: str, *, public: bool = True) -> Dataset:
    """The dataset named ``name_or_id`` (its name or its UUID, as CKAN's ``id``); ``public``:
    only a published one. :raises NotFound: ``unknown_dataset``."""
    qs = Dataset.objects.select_related("organization")
    if public:
        qs = qs.filter(state=DatasetState.ACTIVE)
    ds = qs.filter(name=name_or_id).first()
    if ds is None:
        try:
            ds = qs.filter(id=name_or_id).first()
        except Exception:  # not a UUID
            ds = None
    if ds is None:
        raise errors.UnknownDataset(name=name_or_id)
    return ds


def add_resource(
    user,
    ds: Dataset,
    *,
    name_en: str,
    name_zh: str,
    filename: str,
    format: str = Format.CSV,
    description_en: str = "",
    description_zh: str = "",
    table_schema: dict | None = None,
    api_url: str = "",
) -> Resource:
    """A new resource of ``ds`` (its file comes as versions: :func:`.versions.add_version`).

    :raises Forbidden: ``not_data_officer``. :raises DomainError: ``title_required``,
        ``invalid_choice`` (format), ``invalid_table_schema`` (:func:`.tabular.check_schema`)."""
    from .. import tabular

    role_of(user, ds.organization)
    if table_schema is not None:
        tabular.check_schema(table_schema)
    if ds.state == DatasetState.DELETED:
        raise errors.DatasetWithdrawn()
    if not name_en.strip() or not name_zh.strip():
        raise errors.TitleRequired(field="name_en")
    _choice(format, Format, "format")
    position = ds.resources.count()
    return Resource.objects.create(
        dataset=ds,
        name_en=name_en.strip(),
        name_zh=name_zh.strip(),
        description_en=description_en,
        description_zh=description_zh,
        format=format,
        filename=filename,
        position=position,
        table_schema=table_schema,
        api_url=api_url,
    )


def submit(user, ds: Dataset, *, note: str = "") -> Submission:
    """Ask the Departmental Data Officer to publish ``ds`` or its changes: the resource versions
    still pending join the request.

    :raises Forbidden: ``not_data_officer``. :raises Conflict: ``already_pending``,
        ``nothing_to_publish`` (no resource with a file or API address), ``dataset_withdrawn``."""
    role_of(user, ds.organization)
    with transaction.atomic():
        ds = Dataset.objects.select_for_update().get(pk=ds.pk)
        if ds.state == DatasetState.DELETED:
            raise errors.DatasetWithdrawn()
        if ds.submissions.filter(state=SubmissionState.PENDING).exists():
            raise errors.AlreadyPending()
        resources = list(ds.resources.all())
        pending = ResourceVersion.objects.filter(
            resource__dataset=ds, state=VersionState.PENDING, submission__isnull=True
        )
        has_content = any(r.api_url or r.current_id for r in resources) or pending.exists()
        if not has_content:
            raise errors.NothingToPublish()
        sub = Submission.objects.create(dataset=ds, submitted_by=user, note=note)
        pending.update(submission=sub)
        DatasetEvent.objects.create(dataset=ds, actor=_actor(user), action="submitted")
    return sub


def pending_for(user) -> list[Submission]:
    """The publication requests waiting for ``user`` as a Departmental Data Officer."""
    orgs = DataOfficer.objects.filter(user=user, role=Role.DDO).values("organization")
    return list(
        Submission.objects.filter(state=SubmissionState.PENDING, dataset__organization__in=orgs)
        .select_related("dataset", "dataset__organization", "submitted_by")
        .order_by("submitted_at")
    )


def _decidable(user, submission_id: int) -> Submission:
    sub = Submission.objects.select_for_update().filter(pk=submission_id).first()
    if sub is None:
        raise errors.UnknownSubmission()
    ds = Dataset.objects.select_related("organization").select_for_update().get(pk=sub.dataset_id)
    role_of(user, ds.organization, ddo=True)
    if sub.submitted_by_id == user.pk:
        raise errors.OwnSubmission()
    if sub.state != SubmissionState.PENDING:
        raise errors.NotPending()
    return sub


def publish_version(version, *, now=None) -> None:
    """Make ``version`` (a :class:`ResourceVersion` in the caller's transaction) public and its
    resource's current version when it is the newest published one; the dataset's
    ``metadata_modified`` moves on. Used by approval and by harvests of approved sources."""
    now = now or timezone.now()
    version.state = VersionState.PUBLISHED
    version.published_at = now
    version.save(update_fields=["state", "published_at"])
    resource = Resource.objects.select_for_update().get(pk=version.resource_id)
    current = resource.current
    if current is None or (version.captured_at, version.pk) >= (current.captured_at, current.pk):
        resource.current = version
    resource.last_modified = now
    resource.save(update_fields=["current", "last_modified"])
    Dataset.objects.filter(pk=resource.dataset_id).update(metadata_modified=now)


def approve(user, submission_id: int) -> Submission:
    """The Departmental Data Officer approves: the dataset becomes (or stays) public, the
    request's versions are published (each the current one of its resource if newest), the
    harvest sources registered before the request approved (the approval page lists them), and the search index updated — one transaction.

    :raises Forbidden: ``not_ddo``, ``not_data_officer``, ``own_submission``.
    :raises Conflict: ``not_pending``. :raises NotFound: ``unknown_submission``."""
    from . import search

    with transaction.atomic():
        sub = _decidable(user, submission_id)
        now = timezone.now()
        sub.approve()
        sub.decided_by = user
        sub.decided_at = now
        sub.save()
        for version in sub.versions.order_by("captured_at", "pk"):
            publish_version(version, now=now)
        ds = Dataset.objects.get(pk=sub.dataset_id)
        ds.state = DatasetState.ACTIVE
        ds.published_at = ds.published_at or now
        ds.metadata_modified = now
        ds.save(update_fields=["state", "published_at", "metadata_modified"])
        # Only the addresses the approver was shown: registered before the request was made
        # (a source registered or changed since waits for the next request).
        HarvestSource.objects.filter(resource__dataset=ds, registered_at__lte=sub.submitted_at).update(approved=True)
        DatasetEvent.objects.create(dataset=ds, actor=_actor(user), action="approved")
        search.reindex(ds)
    return sub


def reject(user, submission_id: int, *, reason_en: str, reason_zh: str) -> Submission:
    """The Departmental Data Officer returns the request with reasons in both languages; its
    versions are not published (kept as ``rejected``, never served).

    :raises DomainError: ``reason_required``; and as :func:`approve`."""
    if not (reason_en or "").strip() or not (reason_zh or "").strip():
        raise errors.ReasonRequired()
    with transaction.atomic():
        sub = _decidable(user, submission_id)
        sub.reject()
        sub.decided_by = user
        sub.decided_at = timezone.now()
        sub.reason_en, sub.reason_zh = reason_en.strip(), reason_zh.strip()
        sub.save()
        sub.versions.update(state=VersionState.REJECTED)
        DatasetEvent.objects.create(
            dataset_id=sub.dataset_id,
            actor=_actor(user),
            action="returned",
            reason_en=sub.reason_en,
            reason_zh=sub.reason_zh,
        )
    return sub


def withdraw(user, ds: Dataset, *, reason_en: str, reason_zh: str) -> Dataset:
    """The Departmental Data Officer withdraws a dataset from the catalogue (CKAN ``deleted``);
    its published versions stay in the historical archive.

    :raises Forbidden: ``not_ddo``. :raises DomainError: ``reason_required``."""
    from . import search

    role_of(user, ds.organization, ddo=True)
    if not (reason_en or "").strip() or not (reason_zh or "").strip():
        raise errors.ReasonRequired()
    with transaction.atomic():
        ds = Dataset.objects.select_for_update().get(pk=ds.pk)
        ds.state = DatasetState.DELETED
        ds.metadata_modified = timezone.now()
        ds.save(update_fields=["state", "metadata_modified"])
        DatasetEvent.objects.create(
            dataset=ds, actor=_actor(user), action="withdrawn", reason_en=reason_en, reason_zh=reason_zh
        )
        search.reindex(ds)
    return ds
