"""How CorpID writes its facts for people, in the active language: dates, company names, a
mandate's actions and services (used by the pages, the app's card and the approval's lines)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .constants import Action


def zh() -> bool:
    return not (get_language() or "en").startswith("en")


def date_text(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if zh() else d.strftime("%-d %b %Y")


def name_of(org) -> str:
    return (org.name_zh or org.name_en) if zh() else org.name_en


def actions_text(actions: list[str]) -> str:
    return ("、" if zh() else ", ").join(str(Action(a).label) for a in actions if a in Action.values)


def services_text(mandate) -> str:
    return _("all services") if "*" in mandate.services else ", ".join(mandate.services)


def dates_text(mandate) -> str:
    return _("%(start)s to %(end)s") % {"start": date_text(mandate.valid_from), "end": date_text(mandate.valid_until)}
