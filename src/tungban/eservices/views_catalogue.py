"""The public e-services catalogue (issue 17, "Catalogue"): ``/services/`` browses by
department and category, filters (fully electronic here, cross-boundary 跨境通辦, CorpID) and
searches by name in either language, a page at a time; ``/services/<slug>/`` shows one
service: pledge, fees, who can apply and how to log in, documents, channels, the
cross-boundary facet and "Apply online" where it works here. Thin: queries are in
:mod:`tungban.eservices.services.browse`."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tungban.core.errors import DomainError
from tungban.payments import services as payments

from .services import browse, fees

FLAGS = ("online", "cross_boundary", "corpid")


def _lang() -> str:
    return "zh" if (translation.get_language() or "").startswith("zh") else "en"


def _page_number(raw: str) -> int:
    try:
        return max(int(raw), 1)
    except ValueError:
        return 1


def _in_lang(obj, name: str, lang: str) -> str:
    return getattr(obj, f"{name}_{lang}") or getattr(obj, f"{name}_en")


def _card(service, lang: str) -> dict:
    return {
        "slug": service.slug,
        "name": _in_lang(service, "name", lang),
        "summary": _in_lang(service, "summary", lang),
        "department": _in_lang(service.department, "name", lang),
        "online": service.online and service.form_id is not None,
        "cross_boundary": service.cross_boundary,
        "corpid": service.corpid != "no",
    }


@require_GET
def catalogue(request):
    """The catalogue, filtered by the query string (``q``, ``department``, ``category``,
    ``online``, ``cross_boundary``, ``corpid`` = ``1``, ``page``); an unknown department or
    category, or a search that is too long, is said on the page (status 400)."""
    lang = _lang()
    params = request.GET
    asked = browse.Query(
        text=params.get("q", ""),
        department=params.get("department", ""),
        category=params.get("category", ""),
        online=params.get("online") == "1",
        cross_boundary=params.get("cross_boundary") == "1",
        corpid=params.get("corpid") == "1",
        page=_page_number(params.get("page", "1")),
    )
    error, status = None, 200
    try:
        query = browse.check(asked)
    except DomainError as exc:
        error, status = exc.message, 400
        query = browse.Query(page=1)
    results = browse.find(query)
    kept = {k: v for k, v in params.items() if k != "page" and v}

    def page_url(n: int) -> str:
        return f"{reverse('eservices_catalogue:catalogue')}?{urlencode({**kept, 'page': n})}"

    departments = browse.departments()
    categories = browse.categories()
    context = {
        "error": error,
        "query": query,
        "asked": asked,
        "results": results,
        "cards": [_card(s, lang) for s in results.services],
        "departments": [
            {**d, "name": d["name_zh"] if lang == "zh" else d["name_en"]} for d in departments if d["services"]
        ],
        "categories": [{**c, "label": c["label_zh"] if lang == "zh" else c["label_en"]} for c in categories],
        "previous_url": page_url(results.page - 1) if results.page > 1 else None,
        "next_url": page_url(results.page + 1) if results.page < results.pages else None,
        "filtered": any(kept.get(k) for k in ("q", "department", "category", *FLAGS)),
    }
    return render(request, "eservices/catalogue/list.html", context, status=status)


def _fee(row: dict, lang: str) -> dict:
    """A fee row (:func:`~.services.fees.fee_rows`) as the page shows it: ``amount`` is the
    amount (or "Free"), ``None`` when the schedule does not price it today."""
    cents = row["amount_cents"]
    amount = None if cents is None else (str(_("Free")) if cents == 0 else payments.hkd(cents))
    concessions = [
        f"{c.get(f'label_{lang}') or c['label_en']}: {payments.hkd(c['amount_cents'])}" for c in row["concessions"]
    ]
    return {
        "label": row.get(f"label_{lang}") or row["label_en"],
        "amount": amount,
        "illustrative": row["illustrative"],
        "concessions": concessions,
    }


@require_GET
def service(request, slug):
    """One service, or 404 (also for a withdrawn one)."""
    lang = _lang()
    try:
        svc, version = browse.service(slug)
    except DomainError:
        raise Http404 from None
    fee_rows = fees.fee_rows(svc)
    context = {
        "service": svc,
        "name": _in_lang(svc, "name", lang),
        "summary": _in_lang(svc, "summary", lang),
        "description": _in_lang(svc, "description", lang),
        "eligibility": _in_lang(svc, "eligibility", lang),
        "department": _in_lang(svc.department, "name", lang),
        "category": browse.category_label(svc.category, lang),
        "online_here": svc.online and version is not None,
        "fees": [_fee(row, lang) for row in fee_rows],
        "fees_due": any((row["amount_cents"] or 0) > 0 for row in fee_rows),
        "documents": [d.get(f"label_{lang}") or d["label_en"] for d in browse.documents(svc, version)],
        "channels": [browse.channel_label(c, lang) for c in svc.channels],
        "cities": [browse.city_label(c, lang) for c in svc.gba_cities],
        "version": version,
    }
    return render(request, "eservices/catalogue/service.html", context)
