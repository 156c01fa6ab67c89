"""The authorization page rendered once per shape and filled per request
(:mod:`tungban.oidc.pages`, issue 15 acceptance 2) is byte for byte Django's render of
``oidc/authorize.html``: every language, kind, logo or none, claims essential or not, and
values that need escaping."""

import itertools
from types import SimpleNamespace
from unittest import mock

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.cookie import CookieStorage
from django.shortcuts import render
from django.test import RequestFactory
from django.utils import translation

from tungban.oidc import pages

HOSTILE = '<b>"Tom\'s" & Jerry</b> 通辦 \x01'
TOKEN = "tok<&>" + "x" * 58


def _request(query="client_id=a&scope=openid+profile&state=%3Cx%3E&redirect_uri=https%3A%2F%2Frp.example%2Fcb"):
    request = RequestFactory().get("/oidc/authorize?" + query, secure=True)
    request._messages = CookieStorage(request)
    return request


def _both(language, kind, logo, claims, name=HOSTILE):
    client = SimpleNamespace(name_en=name, name_zh=name + " 中", logo_url=logo)
    approval = SimpleNamespace(kind=kind, user_code="07")
    args = {
        "client": client,
        "approval": approval,
        "claims": claims,
        "app_url": "https://id.example/app/approve/1?a=1&b=<2>",
        "status_url": "/oidc/authorize/1/status",
        "complete_url": "/oidc/authorize/1/complete",
    }
    with (
        translation.override(language),
        mock.patch("django.template.context_processors.get_token", return_value=TOKEN),
        mock.patch.object(pages, "get_token", return_value=TOKEN),
    ):
        fast = pages.authorize_page(_request(), **args).content.decode()
        from django.conf import settings

        reference = render(_request(), pages.TEMPLATE, {**args, "ttl": settings.TUNGBAN_APPROVAL_TTL}).content.decode()
    return fast, reference


CLAIMS = [
    [],
    [{"name": "name", "label": "Name", "essential": False}],
    [
        {"name": "name", "label": HOSTILE, "essential": True},
        {"name": "hkid", "label": translation.gettext_lazy("Your HKID number"), "essential": False},
        {"name": "x", "label": "<i>x</i>", "essential": True},
    ],
]


@pytest.mark.parametrize(
    ("language", "kind", "logo", "claims"),
    list(
        itertools.product(["en", "zh-hant"], ["login", "formfill"], ["", "https://rp.example/logo.png?a=1&b=2"], CLAIMS)
    ),
)
def test_the_filled_page_is_djangos_render(language, kind, logo, claims):
    fast, reference = _both(language, kind, logo, claims)
    assert fast == reference
    assert "\x00" not in fast and "&lt;b&gt;" in fast and TOKEN not in fast  # escaped like Django


def test_a_page_with_messages_is_rendered_by_django():
    request = _request()
    request._messages.add(constants.INFO, "Hello <there>")
    client = SimpleNamespace(name_en="A", name_zh="甲", logo_url="")
    page = pages.authorize_page(
        request,
        client=client,
        approval=SimpleNamespace(kind="login", user_code="12"),
        claims=[],
        app_url="u",
        status_url="s",
        complete_url="c",
    ).content.decode()
    assert "Hello &lt;there&gt;" in page and 'class="messages"' in page
    assert request._messages.used  # shown, so used up as Django's render does
