"""The resident's 1823 cases in the app (issue 22; seed 002 ITIB211: 1823 in the residents' app,
"方便市民查詢及提交個案"): the personal assistant panel's card ``hotline.cases`` (registered with
:mod:`tungban.wallet.cards` in ``HotlineConfig.ready``) and the device API
``/api/v1/hotline/app/cases`` (:mod:`.api_app`) both read :func:`summaries`.

Open cases first (newest first), then closed ones (newest closure first); each links to its
page on the platform (``/1823/cases/<reference>/``)."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .constants import CaseState
from .models import Case
from .services import cases

#: At most this many items on the panel card (the API lists all).
CARD_ITEMS = 8


def _zh() -> bool:
    return not (get_language() or "en").startswith("en")


def _pick(en: str, zh: str) -> str:
    return (zh or en) if _zh() else (en or zh)


def summary(case: Case, now: dt.datetime | None = None) -> dict:
    """One case as the app shows it::

    {"reference", "service_code", "service_name", "kind", "state", "state_label",
     "status": "open" | "closed", "department": name or "", "submitted_at", "reply_due",
     "close_due" (dates or None; open cases only), "closed_at", "closure_reply" (closed
     cases), "can_reopen": bool, "reopen_until", "url": the case's page (a path)}"""
    now = now or timezone.now()
    closed = case.state == CaseState.CLOSED
    return {
        "reference": case.reference,
        "service_code": case.case_type_id,
        "service_name": _pick(case.case_type.name_en, case.case_type.name_zh),
        "kind": case.kind,
        "state": case.state,
        "state_label": str(case.get_state_display()),
        "status": case.open311_status,
        "department": _pick(case.department.name_en, case.department.name_zh) if case.department else "",
        "submitted_at": case.submitted_at,
        "reply_due": None if closed else case.reply_due,
        "close_due": None if closed else case.close_due,
        "closed_at": case.closed_at if closed else None,
        "closure_reply": case.closure_reply if closed else "",
        "can_reopen": bool(closed and case.reopen_until and case.reopen_until > now),
        "reopen_until": case.reopen_until if closed else None,
        "url": reverse("hotline:case", args=[case.reference]),
    }


def summaries(resident) -> list[dict]:
    """The resident's cases (:func:`summary`): open ones first, newest first within each."""
    now = timezone.now()
    found = [summary(c, now) for c in cases.cases_of(resident)]
    found.sort(key=lambda s: s["status"] == "closed")  # stable: newest first within each
    return found


def _value(s: dict) -> str:
    if s["status"] == "closed":
        return _("Closed on %(date)s: read the department's reply") % {"date": s["closed_at"].date().isoformat()}
    if s["close_due"]:
        return _("%(state)s; closure pledged by %(date)s") % {
            "state": s["state_label"],
            "date": s["close_due"].isoformat(),
        }
    return s["state_label"]


def cases_card(resident) -> dict:
    """The panel card: ``ok`` with one item per case (at most :data:`CARD_ITEMS`; label: the
    matter and reference; value: its status; ``href``: its page), else ``empty``."""
    found = summaries(resident)
    if not found:
        return {"state": "empty", "message": _("You have no 1823 cases.")}
    return {
        "state": "ok",
        "items": [
            {"label": f"{s['service_name']} ({s['reference']})", "value": _value(s), "href": s["url"]}
            for s in found[:CARD_ITEMS]
        ],
        "sources": [{"department": "1823", "product": _("Your 1823 cases"), "fetched_at": timezone.now().isoformat()}],
    }
