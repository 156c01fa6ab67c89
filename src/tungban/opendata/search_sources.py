"""The open-data catalogue's documents in the one search (issue 22): every published
(``active``) dataset as a ``dataset`` document (title, description, provider, tags and
categories as keywords), with "Download" to its first resource's current file (else its page).
Registered in :class:`~tungban.opendata.apps.OpendataConfig.ready`; kept in step by
:func:`tungban.opendata.services.search.reindex` (publish, withdraw, usage report), which calls
:func:`sync`."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import reverse

from tungban.search import services as search
from tungban.search.sources import Document, register

from .constants import DatasetState
from .models import Dataset

KIND = "dataset"


def document_of(
    *,
    name: str,
    title_en: str,
    title_zh: str,
    notes_en: str = "",
    notes_zh: str = "",
    provider_code: str = "",
    provider_en: str = "",
    provider_zh: str = "",
    keywords: str = "",
    download_url: str = "",
    popularity: int = 0,
) -> Document:
    """The search document of one dataset (``name`` its CKAN name); ``download_url`` its first
    resource's current file, else the dataset's page is the download action's target."""
    page = reverse("opendata:dataset", args=[name])
    return Document(
        kind=KIND,
        ref=name,
        title_en=title_en,
        title_zh=title_zh,
        text_en=notes_en,
        text_zh=notes_zh,
        department=provider_code,
        department_en=provider_en,
        department_zh=provider_zh,
        url=page,
        actions=(
            {"kind": "download", "url": download_url or page, "label_en": "Download", "label_zh": "下載"},
            {"kind": "read", "url": page, "label_en": "About the data", "label_zh": "數據詳情"},
        ),
        keywords=keywords,
        popularity=popularity,
    )


def _document(ds: Dataset) -> Document:
    org = ds.organization
    first = next((r for r in sorted(ds.resources.all(), key=lambda r: r.position) if r.current_id), None)
    download = reverse("opendata_files:current", args=[first.pk, first.filename]) if first else ""
    keywords = " ".join([*(t.name for t in ds.tags.all()), *(f"{g.title_en} {g.title_zh}" for g in ds.groups.all())])
    return document_of(
        name=ds.name,
        title_en=ds.title_en,
        title_zh=ds.title_zh,
        notes_en=ds.notes_en,
        notes_zh=ds.notes_zh,
        provider_code=org.department_code or org.name,
        provider_en=org.title_en,
        provider_zh=org.title_zh,
        keywords=keywords,
        download_url=download,
    )


def documents() -> Iterator[Document]:
    """Every active dataset's document."""
    qs = (
        Dataset.objects.filter(state=DatasetState.ACTIVE)
        .select_related("organization")
        .prefetch_related("tags", "groups", "resources")
        .order_by("name")
    )
    for ds in qs.iterator(chunk_size=500):
        yield _document(ds)


def sync(ds: Dataset) -> None:
    """Index ``ds`` if it is active, else take it out of the search (caller's transaction)."""
    if ds.state == DatasetState.ACTIVE:
        ds = (
            Dataset.objects.select_related("organization").prefetch_related("tags", "groups", "resources").get(pk=ds.pk)
        )
        search.index([_document(ds)])
    else:
        search.remove(KIND, ds.name)


def register_source() -> None:
    register(KIND, label_en="Open data", label_zh="開放數據", documents=documents)
