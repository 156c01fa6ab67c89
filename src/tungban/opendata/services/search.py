"""The catalogue's search tokens (issue 21). :func:`reindex` rebuilds a dataset's
``search_text``: its titles, descriptions, tags, provider and categories in both languages,
English lower-cased, Chinese as single characters and bigrams."""

from __future__ import annotations

import re

from ..models import Dataset

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    """Search tokens of ``text``: lower-cased Latin words and digits; each run of Chinese
    characters as its characters and its bigrams."""
    text = text.lower()
    out = _WORD.findall(text)
    for run in _CJK.findall(text):
        out.extend(run)
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def document(ds: Dataset) -> str:
    parts = [ds.name, ds.title_en, ds.title_zh, ds.notes_en, ds.notes_zh]
    parts += [t.name for t in ds.tags.all()]
    parts += [ds.organization.title_en, ds.organization.title_zh]
    for g in ds.groups.all():
        parts += [g.title_en, g.title_zh]
    for r in ds.resources.all():
        parts += [r.name_en, r.name_zh]
    return " ".join(tokens(" ".join(parts)))


def reindex(ds: Dataset) -> None:
    """Rebuild ``ds.search_text`` (in the caller's transaction)."""
    Dataset.objects.filter(pk=ds.pk).update(search_text=document(ds))
