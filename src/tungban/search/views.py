"""The public search page ``/search/`` and the best-bets page for search editors
``/staff/search/best-bets/`` (issue 22). Thin: :mod:`tungban.search.services` does the work."""

from __future__ import annotations

import functools
import math
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tungban.core.errors import DomainError

from . import editors, services
from .models import BestBet
from .sources import KINDS, label

PER_PAGE = 10
MAX_PAGE = 100


def _language() -> str:
    return "zh-hant" if (translation.get_language() or "en").startswith("zh") else "en"


@require_GET
def search_page(request):
    """The query box; with ``q``: results with facets (kind, department; checkboxes in the same
    GET form, no JavaScript), best bets marked, each result's actions, "Showing results for …",
    pages, and an empty state that offers the assistant and 1823. Bad input: the error in the
    page's language, status 400."""
    language = _language()
    asked = "q" in request.GET
    q = request.GET.get("q", "")
    kinds = [k for k in request.GET.getlist("kind") if k]
    departments = [d for d in request.GET.getlist("department") if d]
    context = {"q": q, "asked": asked, "kinds": kinds, "departments": departments}
    if not asked:
        return render(request, "search/search.html", context)
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        page = 0
    try:
        if not 1 <= page <= MAX_PAGE:
            from . import errors

            raise errors.BadPage()
        results = services.query(
            q, kinds=kinds, departments=departments, language=language, rows=PER_PAGE, start=(page - 1) * PER_PAGE
        )
    except DomainError as exc:
        context["error"] = str(exc.message)
        context["error_field"] = exc.field
        return render(request, "search/search.html", context, status=400)
    pages = max(1, math.ceil(results.count / PER_PAGE))

    def link(**changes) -> str:
        params = {"q": q, "kind": kinds, "department": departments, "page": page, **changes}
        if params["page"] == 1:
            params.pop("page")
        return f"{request.path}?{urlencode(params, doseq=True)}"

    kind_facet = [
        {"value": v, "label": lbl, "count": n, "checked": v in kinds, "id": f"kind-{v}"}
        for v, lbl, n in results.facets["kind"]
    ]
    department_facet = [
        {"value": v, "label": lbl, "count": n, "checked": v in departments, "id": f"department-{i}"}
        for i, (v, lbl, n) in enumerate(results.facets["department"])
    ]
    context.update(
        {
            "results": results,
            "hits": [{"hit": h, "kind_label": label(h.kind, language)} for h in results.hits],
            "kind_facet": kind_facet,
            "department_facet": department_facet,
            "filtered": bool(kinds or departments),
            "page": page,
            "pages": pages,
            "previous": link(page=page - 1) if page > 1 else "",
            "next": link(page=page + 1) if page < min(pages, MAX_PAGE) else "",
            "corrected_link": f"{request.path}?{urlencode({'q': results.corrected})}" if results.corrected else "",
            "first": (page - 1) * PER_PAGE + 1,
        }
    )
    return render(request, "search/search.html", context)


# --- staff: best bets --------------------------------------------------------------------------


def search_editor(view):
    """Staff verified by their second factor who are search editors; others go to the staff
    login page or get a 403 page."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not editors.is_editor(user):
            return render(
                request,
                "search/staff/refused.html",
                {"message": _("Only search editors may set best bets. Ask an administrator.")},
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapped


@require_http_methods(["GET", "POST"])
@search_editor
def best_bets(request):
    """The best bets by query, and a form to add one (query, kind, reference, position)."""
    form = {"query": "", "kind": "service", "ref": "", "position": "1"}
    error = None
    status = 200
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in form}
        try:
            editors.add(
                request.user,
                query=form["query"],
                kind=form["kind"],
                ref=form["ref"],
                position=form["position"],
            )
        except DomainError as exc:
            error, status = exc, 400
        else:
            messages.success(request, _("Best bet added."))
            return redirect("search_staff:best-bets")
    bets = BestBet.objects.select_related("document", "created_by").order_by("query", "position", "id")
    language = _language()
    kinds = [(k, label(k, language)) for k in KINDS]
    return render(
        request,
        "search/staff/best_bets.html",
        {"bets": bets, "form": form, "error": error, "kinds": kinds},
        status=status,
    )


@require_POST
@search_editor
def remove_best_bet(request, pk: int):
    """Remove best bet ``pk`` (404 page for an unknown one)."""
    try:
        editors.remove(request.user, pk)
    except DomainError as exc:
        return render(request, "search/staff/refused.html", {"message": str(exc.message)}, status=exc.status)
    messages.success(request, _("Best bet removed."))
    return redirect("search_staff:best-bets")
