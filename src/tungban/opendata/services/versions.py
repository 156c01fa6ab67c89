"""Resource versions (issue 21): each file a data officer uploads (or a harvest fetches) is
kept once in the content-addressed store (:mod:`tungban.opendata.storage`) and recorded as a
:class:`~tungban.opendata.models.ResourceVersion` — pending until its publication request is
approved. The same bytes twice for one resource are one version (idempotent).

Upload checks (:func:`add_version`): the size limit ``TUNGBAN_OPENDATA_MAX_UPLOAD``; a
tabular resource's file (CSV with a Table Schema) must be UTF-8 CSV that passes its schema
(:mod:`tungban.opendata.tabular`); its ``row_count`` and the schema are recorded on the
version. A refusal stores no row (the bytes may stay in the store: content-addressed, they
name nothing until a row does)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from .. import errors, storage, tabular
from ..constants import MEDIA_TYPES, DatasetState, VersionSource, VersionState
from ..models import Resource, ResourceVersion
from .publishing import role_of


def check_size(data: bytes) -> None:
    """:raises DomainError: ``empty_file``, ``file_too_large`` (413; over
    ``TUNGBAN_OPENDATA_MAX_UPLOAD`` bytes)."""
    if not data:
        raise errors.EmptyFile()
    limit = settings.TUNGBAN_OPENDATA_MAX_UPLOAD
    if len(data) > limit:
        raise errors.FileTooLarge(limit=filesizeformat(limit))


def add_version(
    user,
    resource: Resource,
    data: bytes,
    *,
    source: str = VersionSource.UPLOAD,
    captured_at: dt.datetime | None = None,
) -> ResourceVersion:
    """Keep ``data`` as a new pending version of ``resource`` (or return the version that
    already holds these bytes). ``user`` None: the platform (a harvest).

    A tabular resource's file is validated against the resource's Table Schema first
    (:func:`tabular.validate`); the version records the schema and the number of data rows.

    :raises Forbidden: ``not_data_officer`` (a user without a role for the provider).
    :raises DomainError: as :func:`check_size`; ``dataset_withdrawn``;
        ``table_schema_failure`` (the first errors, row and field, in the message; all in
        ``details.errors``)."""
    if user is not None:
        role_of(user, resource.dataset.organization)
    if resource.dataset.state == DatasetState.DELETED:
        raise errors.DatasetWithdrawn()
    check_size(data)
    schema = resource.table_schema if resource.tabular else None
    row_count = tabular.validate(data, schema).row_count if schema else None
    sha = storage.put(data)  # before the row: a row never names missing bytes
    with transaction.atomic():
        existing = ResourceVersion.objects.filter(resource=resource, sha256=sha).first()
        if existing is not None:
            return existing
        return ResourceVersion.objects.create(
            resource=resource,
            sha256=sha,
            size=len(data),
            media_type=MEDIA_TYPES.get(resource.format, "application/octet-stream"),
            state=VersionState.PENDING,
            source=source,
            captured_at=captured_at or timezone.now(),
            uploaded_by=user,
            row_count=row_count,
            table_schema=schema,
        )


def published_versions(resource: Resource):
    """``resource``'s published versions, newest first."""
    return resource.versions.filter(state=VersionState.PUBLISHED).order_by("-captured_at", "-pk")


def set_table_schema(user, resource: Resource, schema: dict | None) -> Resource:
    """Change ``resource``'s Table Schema (data dictionary), by a data officer of its provider;
    None: not tabular. Versions already added keep the schema they were checked against; the
    next file is checked against this one.

    :raises Forbidden: ``not_data_officer``. :raises DomainError: ``invalid_table_schema``
        (:func:`tabular.check_schema`), ``dataset_withdrawn``."""
    role_of(user, resource.dataset.organization)
    if resource.dataset.state == DatasetState.DELETED:
        raise errors.DatasetWithdrawn()
    if schema is not None:
        tabular.check_schema(schema)
    resource.table_schema = schema
    resource.save(update_fields=["table_schema"])
    return resource
