"""The registry of subject kinds: what an agenda item can be about (issue 20, part E).

Another app registers each kind once, in its ``AppConfig.ready()``, so every process has the
same registry from its code (nothing in it changes at run time)::

    committees.subjects.register(
        "subsidy.application",
        describe=describe,   # (subject_id: str, lang: str) -> dict
        validate=validate,   # (subject_id, outcome, terms: dict) -> None, raises DomainError
        decided=decided,     # (subject_id, outcome, terms, reasons_en, reasons_zh, decided_at, actor) -> None
        terms_form=AwardTermsForm,  # a Django form class for approving, or None
        app="subsidy",
    )

``describe`` answers ``{"title", "summary", "link", "organisation_brns": [str],
"organisation_names": [str], "proposed_terms": dict | None}``; ``lang`` is Django's language
code, ``"en"`` or ``"zh-hant"``. ``decided`` is called inside the decision's transaction:
whatever it raises undoes the decision; ``actor`` is the Django user who recorded it.

``terms_form`` is shown to the chair or the secretary beside the decision (prefix ``terms``,
``initial`` = ``proposed_terms``) and validated only when approving; the terms passed to
``validate`` and ``decided`` are the form's ``terms()`` when it defines one, else its
``cleaned_data`` made JSON-safe (dates ISO, Decimals as strings). A rejection or deferral
passes ``{}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import errors

#: Keys ``describe`` must answer.
DESCRIPTION_KEYS = ("title", "summary", "link", "organisation_brns", "organisation_names", "proposed_terms")


@dataclass(frozen=True)
class SubjectKind:
    kind: str
    describe: Callable[[str, str], dict]
    validate: Callable[..., None]
    decided: Callable[..., None]
    terms_form: type | None
    app: str

    def description(self, subject_id: str, lang: str) -> dict:
        """``describe(subject_id, lang)`` checked for its keys; BRNs as a list of strings.

        :raises DomainError: ``subject_description`` when the kind's answer lacks a key."""
        d = self.describe(subject_id, lang)
        missing = [k for k in DESCRIPTION_KEYS if k not in d]
        if missing:
            raise errors.SubjectDescription(kind=self.kind, keys=", ".join(missing))
        d["organisation_brns"] = [str(b) for b in d["organisation_brns"]]
        return d


_KINDS: dict[str, SubjectKind] = {}


def register(kind: str, *, describe, validate, decided, terms_form=None, app: str) -> SubjectKind:
    """Register ``kind`` (``"<app>.<name>"``). Registering the same kind again with other
    hooks raises ``ValueError`` (two apps claiming one kind is a programming error)."""
    entry = SubjectKind(kind, describe, validate, decided, terms_form, app)
    existing = _KINDS.get(kind)
    if existing is not None and existing != entry:
        raise ValueError(f"subject kind {kind!r} is already registered by {existing.app}")
    _KINDS[kind] = entry
    return entry


def unregister(kind: str) -> None:
    """Remove ``kind`` (tests that register their own kind remove it afterwards)."""
    _KINDS.pop(kind, None)


def get(kind: str) -> SubjectKind:
    """The registered kind.

    :raises DomainError: ``unknown_subject_kind`` (404)."""
    try:
        return _KINDS[kind]
    except KeyError:
        raise errors.UnknownSubjectKind(kind=kind) from None


def kinds() -> list[str]:
    return sorted(_KINDS)


# tcommittee: pages another app offers the committees' members (read-only), linked from the nav
_PAGES: dict[str, object] = {}


def register_page(url_name: str, label) -> None:
    """Link the page ``url_name`` (a URL name without arguments) from the committees' navigation
    with ``label`` (a lazy translation), e.g. the scheme's grants in progress. Registered once in
    ``AppConfig.ready()``, like the kinds."""
    _PAGES[url_name] = label


def pages() -> list[tuple[str, object]]:
    """The registered pages, ``[(url_name, label)]`` in registration order."""
    return list(_PAGES.items())
