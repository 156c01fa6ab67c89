"""What the one search indexes, and who provides it (issue 22, agreed interface).

The apps that own content (e-services, open data, the 1823 FAQ) describe each thing a resident
may look for as a :class:`Document` and register a source of them with :func:`register` in
their ``AppConfig.ready``; the search imports none of them (floor 6). When their content
changes they call :func:`tungban.search.services.index` / :func:`~tungban.search.services.remove`
in their own transaction; :func:`tungban.search.services.reindex` rebuilds a kind from its
source (``tungban search_reindex``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

#: The kinds of document, in the order the page's facet lists them.
KINDS = ("service", "form", "field_help", "faq", "dataset")
#: The kinds of action a result offers.
ACTION_KINDS = ("apply", "pay", "ask", "download", "read")


@dataclass(frozen=True)
class Document:
    """One thing a resident may look for.

    ``kind``: one of :data:`KINDS`; ``ref``: its stable id within the kind (a slug, at most 200
    characters); ``title_*`` and ``text_*``: what is matched and quoted (a summary, an FAQ's
    answer, a field's help) in English and Traditional Chinese; ``department``: the department's
    code or ``""``, with its names; ``url``: the site path of the thing; ``actions``: ``{"kind":
    one of ACTION_KINDS, "url", "label_en", "label_zh"}`` each; ``keywords``: more words it should
    be found by (not shown); ``popularity``: a count of uses (≥ 0), a small ranking boost."""

    kind: str
    ref: str
    title_en: str
    title_zh: str
    text_en: str = ""
    text_zh: str = ""
    department: str = ""
    department_en: str = ""
    department_zh: str = ""
    url: str = ""
    actions: tuple[dict, ...] = field(default_factory=tuple)
    keywords: str = ""
    popularity: int = 0


@dataclass(frozen=True)
class Source:
    """A registered kind: its names for the facet and the callable listing all its documents."""

    kind: str
    label_en: str
    label_zh: str
    documents: Callable[[], Iterable[Document]]


_SOURCES: dict[str, Source] = {}


def register(kind: str, *, label_en: str, label_zh: str, documents: Callable[[], Iterable[Document]]) -> None:
    """Register the source of ``kind`` (one of :data:`KINDS`); registering a kind again replaces
    it (``ready`` may run twice in tests). Process state here is code, the same in every worker.

    :raises ValueError: ``kind`` is not one of :data:`KINDS`."""
    if kind not in KINDS:
        raise ValueError(f"not a search document kind: {kind!r} (one of {', '.join(KINDS)})")
    _SOURCES[kind] = Source(kind, label_en, label_zh, documents)


def sources() -> dict[str, Source]:
    """The registered sources by kind, in :data:`KINDS` order."""
    return {k: _SOURCES[k] for k in KINDS if k in _SOURCES}


#: Facet names of the kinds whose owner has not registered (yet), e.g. in a test settings module.
DEFAULT_LABELS = {
    "service": ("Services", "服務"),
    "form": ("Forms", "表格"),
    "field_help": ("Form help", "填表說明"),
    "faq": ("Frequently asked questions", "常見問題"),
    "dataset": ("Open data", "開放數據"),
}


def label(kind: str, language: str) -> str:
    """The facet name of ``kind`` in ``language`` (``en`` or ``zh…``)."""
    src = _SOURCES.get(kind)
    en, zh = (src.label_en, src.label_zh) if src else DEFAULT_LABELS.get(kind, (kind, kind))
    return zh if language.startswith("zh") else en
