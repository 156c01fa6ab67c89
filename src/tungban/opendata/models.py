"""The open-data catalogue (issue 21) in CKAN's terms: organizations (the data providers:
bureaux, departments, public bodies), groups (the 19 categories), tags, datasets (CKAN's
*packages*), resources and their immutable, content-addressed versions (the historical
archive); publication requests approved by the Departmental Data Officer; harvest sources;
the departmental data catalogue; usage counts.

Open data is not personal data: nothing here is encrypted. A departmental catalogue entry
may *describe* personal data (``personal_data``) but never holds it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from .constants import (
    Classification,
    DatasetState,
    DataType,
    Disposition,
    Format,
    Licence,
    OrganizationKind,
    Role,
    SubmissionState,
    UpdateFrequency,
    UsageKind,
    VersionSource,
    VersionState,
)

#: CKAN's name rule: 2–100 lowercase alphanumeric characters, ``-`` and ``_``.
NAME = RegexValidator(
    r"^[a-z0-9_-]{2,100}$",
    _("A name has 2 to 100 characters: lowercase letters a–z, digits, “-” and “_”."),
)
SHA256 = RegexValidator(r"^[0-9a-f]{64}$", _("A SHA-256 digest is 64 lowercase hexadecimal digits."))


class Organization(models.Model):
    """A data provider (CKAN *organization*): ``name`` e.g. ``hk-td``. ``department_code``
    names the e-services department it is (a plain code, blank for a public body or company)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=100, unique=True, validators=[NAME])
    title_en = models.CharField(_("name in English"), max_length=200)
    title_zh = models.CharField(_("name in Chinese"), max_length=100)
    description_en = models.TextField(_("description in English"), blank=True)
    description_zh = models.TextField(_("description in Chinese"), blank=True)
    kind = models.CharField(
        _("kind"), max_length=20, choices=OrganizationKind.choices, default=OrganizationKind.GOVERNMENT
    )
    department_code = models.CharField(_("department code"), max_length=10, blank=True)
    website = models.URLField(_("website"), blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("data provider")
        verbose_name_plural = _("data providers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Group(models.Model):
    """A category (CKAN *group*; data.gov.hk's 19 categories, e.g. ``transport``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=100, unique=True, validators=[NAME])
    title_en = models.CharField(_("name in English"), max_length=200)
    title_zh = models.CharField(_("name in Chinese"), max_length=100)
    description_en = models.TextField(_("description in English"), blank=True)
    description_zh = models.TextField(_("description in Chinese"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A free keyword (CKAN *tag*), in either language."""

    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DataOfficer(models.Model):
    """A staff user's role for one organization's data (:class:`~.constants.Role`)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_roles", verbose_name=_("user")
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="officers", verbose_name=_("data provider")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.DATA_OFFICER)

    class Meta:
        verbose_name = _("data officer")
        verbose_name_plural = _("data officers")
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="opendata_one_role_per_org")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization_id} ({self.role})"


class Dataset(models.Model):
    """A dataset (CKAN *package*): bilingual title and description, its provider, categories,
    tags, licence and update frequency. ``metadata_modified`` changes with every published
    change (its value is part of the dataset's ETag). ``search_text`` holds the tokens the
    catalogue search matches (both languages, Chinese split into words and bigrams,
    Simplified converted to Traditional; :mod:`tungban.opendata.services.search`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=100, unique=True, validators=[NAME])
    title_en = models.CharField(_("title in English"), max_length=300)
    title_zh = models.CharField(_("title in Chinese"), max_length=200)
    notes_en = models.TextField(_("description in English"), blank=True)
    notes_zh = models.TextField(_("description in Chinese"), blank=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="datasets", verbose_name=_("data provider")
    )
    groups = models.ManyToManyField(Group, related_name="datasets", blank=True, verbose_name=_("categories"))
    tags = models.ManyToManyField(Tag, related_name="datasets", blank=True, verbose_name=_("tags"))
    license_id = models.CharField(_("licence"), max_length=20, choices=Licence.choices, default=Licence.DATA_GOV_HK)
    update_frequency = models.CharField(
        _("update frequency"), max_length=20, choices=UpdateFrequency.choices, default=UpdateFrequency.IRREGULAR
    )
    maintainer_email = models.EmailField(_("contact e-mail"), blank=True)
    high_value = models.BooleanField(_("high-value dataset"), default=False)
    state = models.CharField(_("state"), max_length=10, choices=DatasetState.choices, default=DatasetState.DRAFT)
    metadata_created = models.DateTimeField(_("created"), auto_now_add=True)
    metadata_modified = models.DateTimeField(_("modified"))
    published_at = models.DateTimeField(_("first published"), null=True, blank=True)
    search_text = models.TextField(_("search tokens"), blank=True, editable=False)

    class Meta:
        verbose_name = _("dataset")
        verbose_name_plural = _("datasets")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["state", "organization"], name="opendata_ds_state_org"),
            # The catalogue search (part oapi): the active set as a covering index (SQLite
            # reads it instead of the wide rows), and the "newest first" listing.
            models.Index(fields=["state", "id"], name="opendata_ds_state_id"),
            models.Index(fields=["state", "-metadata_modified"], name="opendata_ds_state_modified"),
        ]

    def __str__(self) -> str:
        return self.name


class Resource(models.Model):
    """A file or API of a dataset (CKAN *resource*). Its content lives in
    :class:`ResourceVersion` rows; ``current`` is the newest published one. ``table_schema``
    is its Frictionless Table Schema (the data dictionary) when it is tabular; a tabular
    resource is stored as CSV and served as CSV, JSON and XML."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="resources", verbose_name=_("dataset"))
    name_en = models.CharField(_("name in English"), max_length=300)
    name_zh = models.CharField(_("name in Chinese"), max_length=200)
    description_en = models.TextField(_("description in English"), blank=True)
    description_zh = models.TextField(_("description in Chinese"), blank=True)
    format = models.CharField(_("format"), max_length=10, choices=Format.choices, default=Format.CSV)
    filename = models.CharField(_("file name"), max_length=200)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    table_schema = models.JSONField(_("Table Schema"), null=True, blank=True)
    api_url = models.URLField(_("API address"), blank=True)
    current = models.ForeignKey(
        "ResourceVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("current version"),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    last_modified = models.DateTimeField(_("last modified"), null=True, blank=True)

    class Meta:
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        ordering = ["dataset", "position", "created"]

    def __str__(self) -> str:
        return f"{self.dataset_id}/{self.filename}"

    @property
    def tabular(self) -> bool:
        return self.format == Format.CSV and bool(self.table_schema)


class Submission(ConcurrentTransitionMixin, models.Model):
    """A request to publish a dataset or changes to it (its metadata as submitted, the
    pending versions that point at it), decided by the organization's Departmental Data
    Officer (seed 002 ITIB156). ``state`` changes only through the transitions below, called
    by :mod:`tungban.opendata.services`."""

    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="submissions", verbose_name=_("dataset")
    )
    state = FSMField(_("state"), default=SubmissionState.PENDING, choices=SubmissionState.choices, protected=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("submitted by")
    )
    submitted_at = models.DateTimeField(_("submitted"), auto_now_add=True)
    note = models.TextField(_("note to the approver"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    reason_en = models.TextField(_("reason in English"), blank=True)
    reason_zh = models.TextField(_("reason in Chinese"), blank=True)

    class Meta:
        verbose_name = _("publication request")
        verbose_name_plural = _("publication requests")
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset"], condition=models.Q(state="pending"), name="opendata_one_pending_submission"
            )
        ]

    @transition(field=state, source=SubmissionState.PENDING, target=SubmissionState.APPROVED)
    def approve(self):
        pass

    @transition(field=state, source=SubmissionState.PENDING, target=SubmissionState.REJECTED)
    def reject(self):
        pass

    @transition(field=state, source=SubmissionState.PENDING, target=SubmissionState.WITHDRAWN)
    def withdraw(self):
        pass


class ResourceVersion(models.Model):
    """One version of a resource's file: immutable, named by the SHA-256 of its bytes, which
    are kept in the content-addressed store (:mod:`tungban.opendata.storage`). Published
    versions are never changed or deleted: their URLs answer with the same bytes and strong
    ETag for ever (the historical archive). ``captured_at`` is when the content was taken
    (uploaded or harvested); ``published_at`` when it became public."""

    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, related_name="versions", verbose_name=_("resource")
    )
    sha256 = models.CharField(_("SHA-256"), max_length=64, validators=[SHA256])
    size = models.PositiveBigIntegerField(_("size in bytes"))
    media_type = models.CharField(_("media type"), max_length=100)
    state = models.CharField(_("state"), max_length=10, choices=VersionState.choices, default=VersionState.PENDING)
    source = models.CharField(_("source"), max_length=10, choices=VersionSource.choices, default=VersionSource.UPLOAD)
    submission = models.ForeignKey(
        Submission,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="versions",
        verbose_name=_("publication request"),
    )
    captured_at = models.DateTimeField(_("captured"))
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    #: The Table Schema the file was checked against (the resource's when it was added): the
    #: version's data dictionary in the archive (``get-data-dictionary``); None if not tabular.
    table_schema = models.JSONField(_("Table Schema"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )

    class Meta:
        verbose_name = _("resource version")
        verbose_name_plural = _("resource versions")
        ordering = ["resource", "-captured_at"]
        constraints = [models.UniqueConstraint(fields=["resource", "sha256"], name="opendata_one_version_per_content")]
        indexes = [models.Index(fields=["resource", "state", "published_at"], name="opendata_rv_archive")]

    def __str__(self) -> str:
        return f"{self.resource_id}@{self.sha256[:12]}"


class DatasetEvent(models.Model):
    """What happened to a dataset and who did it (submitted, approved, returned, published a
    harvested version, withdrawn), with the reason in both languages where one is given."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="events", verbose_name=_("dataset"))
    at = models.DateTimeField(_("when"), auto_now_add=True)
    actor = models.CharField(_("who"), max_length=150)
    action = models.CharField(_("action"), max_length=30)
    reason_en = models.TextField(_("reason in English"), blank=True)
    reason_zh = models.TextField(_("reason in Chinese"), blank=True)

    class Meta:
        verbose_name = _("dataset event")
        verbose_name_plural = _("dataset events")
        ordering = ["dataset", "at", "id"]


class HarvestSource(models.Model):
    """A URL a resource is harvested from, polled every ``interval_minutes`` by a background
    task; a new version is stored when the content changes (SHA-256), nothing when it is
    unchanged, and the failure recorded when the source is down. ``approved`` once the
    Departmental Data Officer approved a publication request submitted after the address was
    registered (``registered_at``; the approval page shows it): only then are its new versions
    published without a further approval."""

    resource = models.OneToOneField(
        Resource, on_delete=models.CASCADE, related_name="harvest_source", verbose_name=_("resource")
    )
    url = models.URLField(_("address"), max_length=1000)
    interval_minutes = models.PositiveIntegerField(_("interval in minutes"), default=1440)
    approved = models.BooleanField(_("approved"), default=False)
    registered_at = models.DateTimeField(_("address registered"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    last_status = models.CharField(_("last result"), max_length=20, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    etag = models.CharField(_("last ETag"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("harvest source")
        verbose_name_plural = _("harvest sources")


class CatalogueEntry(models.Model):
    """One data set a department holds, open or not, in its departmental data catalogue
    (部門數據目錄: 數據種類、範疇、屬性 — type, scope, attributes; seed 002 ITIB156/183):
    ``attributes`` is a list of ``{"name", "type", "description_en", "description_zh"}``.
    ``disposition`` says what the department does with it; ``dataset`` the open dataset it
    became, ``product_id`` the consented-exchange data product it is offered as."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="catalogue", verbose_name=_("department")
    )
    title_en = models.CharField(_("title in English"), max_length=300)
    title_zh = models.CharField(_("title in Chinese"), max_length=200)
    data_type = models.CharField(_("type"), max_length=20, choices=DataType.choices)
    scope_en = models.TextField(_("scope in English"))
    scope_zh = models.TextField(_("scope in Chinese"))
    attributes = models.JSONField(_("attributes"), default=list)
    classification = models.CharField(
        _("classification"), max_length=20, choices=Classification.choices, default=Classification.UNCLASSIFIED
    )
    personal_data = models.BooleanField(_("contains personal data"), default=False)
    owner = models.CharField(_("owner (division or section)"), max_length=200)
    update_frequency = models.CharField(
        _("update frequency"), max_length=20, choices=UpdateFrequency.choices, default=UpdateFrequency.IRREGULAR
    )
    sharing_conditions_en = models.TextField(_("sharing conditions in English"), blank=True)
    sharing_conditions_zh = models.TextField(_("sharing conditions in Chinese"), blank=True)
    disposition = models.CharField(
        _("disposition"), max_length=20, choices=Disposition.choices, default=Disposition.CATALOGUED
    )
    dataset = models.OneToOneField(
        Dataset,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="catalogue_entry",
        verbose_name=_("open dataset"),
    )
    product_id = models.CharField(_("data product"), max_length=100, blank=True)
    ddo_approved_at = models.DateTimeField(_("approved by the Departmental Data Officer"), null=True, blank=True)
    ddo_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    #: ``attributes`` as the editor's text (one ``name | type | description_en | description_zh``
    #: a line), kept for searching them in both languages on every database.
    attributes_text = models.TextField(_("attributes as text"), blank=True, editable=False)
    #: Why the data set stays internal (disposition ``internal``), in both languages.
    reason_en = models.TextField(_("reason in English"), blank=True)
    reason_zh = models.TextField(_("reason in Chinese"), blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    modified = models.DateTimeField(_("modified"), auto_now=True)

    class Meta:
        verbose_name = _("catalogue entry")
        verbose_name_plural = _("catalogue entries")
        ordering = ["organization", "title_en"]


class UsageCount(models.Model):
    """How often a dataset (and one of its resources, or none for the dataset's own page and
    API calls) was used on one day, by kind. Incremented with an upsert per use; published
    monthly as an open dataset (:mod:`tungban.opendata.services.usage`)."""

    day = models.DateField(_("day"))
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+", verbose_name=_("dataset"))
    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("resource")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=UsageKind.choices)
    count = models.PositiveBigIntegerField(_("count"), default=0)

    class Meta:
        verbose_name = _("usage count")
        verbose_name_plural = _("usage counts")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "dataset", "resource", "kind"],
                condition=models.Q(resource__isnull=False),
                name="opendata_one_usage_row",
            ),
            models.UniqueConstraint(
                fields=["day", "dataset", "kind"],
                condition=models.Q(resource__isnull=True),
                name="opendata_one_dataset_usage_row",
            ),
        ]
