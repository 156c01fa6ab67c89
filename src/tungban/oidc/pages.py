"""The authorization page, rendered once per shape and filled per request (issue 15
acceptance 2: Django's template engine was a third of the page's CPU).

:func:`authorize_page` renders ``oidc/authorize.html`` (and ``core/base.html``) through
Django once for each *shape* — the language, the request's kind (``login``/``formfill``),
whether the service has a logo, how many claims are asked and which are essential, the
approval's time to live — with a marker in place of every per-request value, and keeps the
result split at the markers. Each request joins the pieces with its own values, escaped as
Django's autoescape does (:func:`django.utils.html.conditional_escape`). Everything the
template translates, the static files' URLs and the structure come from that one render, so
the page stays the template's: ``test_authorize_page`` checks, for many shapes and hostile
values, that the result is byte for byte Django's render.

The kept renders depend only on the template files, the translation catalogues and the
shape: immutable for the process (no state two workers could disagree on). A page with
messages to show (``django.contrib.messages``) is rendered by Django as before.
"""

from __future__ import annotations

import functools
import re

from django.conf import settings
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import get_template
from django.utils import translation
from django.utils.html import conditional_escape

TEMPLATE = "oidc/authorize.html"
_MARK = re.compile(r"\x00(\w+)\x00")


def _mark(name: str) -> str:
    return f"\x00{name}\x00"


class _Marked:
    """What the template reads of ``request`` while a shape is rendered."""

    def get_full_path(self):
        return _mark("full_path")


class _Client:
    def __init__(self, has_logo: bool):
        self.logo_url = _mark("logo_url") if has_logo else ""
        self.name_en = _mark("name_en")
        self.name_zh = _mark("name_zh")


class _Approval:
    def __init__(self, kind: str):
        self.kind = kind
        self.user_code = _mark("user_code")


@functools.lru_cache(maxsize=256)
def _pieces(language: str, kind: str, has_logo: bool, essentials: tuple[bool, ...], ttl: int) -> tuple[str, ...]:
    """The page of one shape, split at its markers: literal text at even indexes, marker
    names at odd ones."""
    context = {
        "request": _Marked(),
        "csrf_token": _mark("csrf_token"),
        "messages": (),
        "client": _Client(has_logo),
        "approval": _Approval(kind),
        "claims": [{"label": _mark(f"claim{i}"), "essential": e} for i, e in enumerate(essentials)],
        "app_url": _mark("app_url"),
        "status_url": _mark("status_url"),
        "complete_url": _mark("complete_url"),
        "ttl": ttl,
    }
    with translation.override(language):
        html = get_template(TEMPLATE).render(context)
    return tuple(_MARK.split(html))


def authorize_page(request, *, client, approval, claims: list[dict], app_url, status_url, complete_url):
    """The authorization page's response (200, HTML), the one ``render(request,
    "oidc/authorize.html", {...})`` gives for the same context (``claims``:
    ``[{"label", "essential", ...}]``). Sets the CSRF cookie as the template's
    ``{% csrf_token %}`` does."""
    ttl = settings.TUNGBAN_APPROVAL_TTL
    context = {
        "client": client,
        "approval": approval,
        "claims": claims,
        "app_url": app_url,
        "status_url": status_url,
        "complete_url": complete_url,
        "ttl": ttl,
    }
    if get_messages(request):  # a shape of its own: Django renders it
        return render(request, TEMPLATE, context)
    pieces = _pieces(
        translation.get_language(),
        approval.kind,
        bool(client.logo_url),
        tuple(bool(c.get("essential")) for c in claims),
        ttl,
    )
    values = {
        "full_path": request.get_full_path(),
        "csrf_token": get_token(request),
        "logo_url": client.logo_url,
        "name_en": client.name_en,
        "name_zh": client.name_zh,
        "user_code": approval.user_code,
        "app_url": app_url,
        "status_url": status_url,
        "complete_url": complete_url,
    }
    for i, claim in enumerate(claims):
        values[f"claim{i}"] = claim["label"]
    out = []
    for i, piece in enumerate(pieces):
        out.append(piece if i % 2 == 0 else conditional_escape(values[piece]))
    return HttpResponse("".join(out))
