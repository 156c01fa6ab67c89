"""The client SDK with an injected HTTP session, and the in-process transport the protocol
tests rely on (:mod:`tungban.testing.http`): what it must keep of real HTTP — cookies,
redirects, CSRF, the Host the device proofs name, on_commit callbacks — and that it routes
only the origin it was given."""

from __future__ import annotations

import pytest
import requests
from django.db import transaction

from tungban.testing.factories import PIN, make_resident
from tungban.testing.http import TEST_ORIGIN, DjangoTestAdapter, InProcessSession, route_requests
from tungban.wallet import services as wallet
from tungban.wallet.cli import WalletClient as ReExported
from tungban.wallet.client import AppError, WalletClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(settings):
    settings.TUNGBAN_ISSUER = TEST_ORIGIN
    settings.ALLOWED_HOSTS = ["localhost"]
    return TEST_ORIGIN


def test_cli_module_re_exports_the_sdk():
    assert ReExported is WalletClient


def test_wallet_client_uses_the_injected_session(served, officer, tmp_path):
    """Binding and a device-authenticated call go through the given session only: with no
    routing in place, a default session could not reach this origin at all."""
    resident = make_resident(officer)
    session = InProcessSession(served)
    calls = []
    session.hooks["response"].append(lambda r, *a, **k: calls.append((r.request.method, r.url, r.status_code)))
    app = WalletClient(tmp_path / "app", served, session=session)
    app.bind(resident.hkid, wallet.issue_activation_code(resident), PIN)
    me = app.me(PIN)  # the device proof's htu names this origin, as the server sees it
    assert me["device_id"] == app.meta["device_id"]
    assert [c[0] for c in calls] == ["POST", "POST", "GET"]
    assert all(url.startswith(served + "/api/v1/wallet/") for _, url, _ in calls)
    with pytest.raises(AppError) as err:
        WalletClient(tmp_path / "other", served, session=session).bind(resident.hkid, "WRONG123", PIN)
    assert err.value.status == 403


def test_cookies_redirects_and_csrf_as_a_browser_meets_them(served):
    browser = InProcessSession(served)
    browser.headers["Accept-Language"] = "en"  # session headers reach Django
    # A redirect is followed by requests itself, through the adapter again.
    resp = browser.get(f"{served}/admin/")
    assert resp.status_code == 200 and resp.url.startswith(f"{served}/admin/login/")
    assert resp.history and resp.history[0].status_code == 302
    assert "csrftoken" in browser.cookies
    # CSRF is enforced: a form POST without the token is refused, with it accepted.
    refused = browser.post(f"{served}/admin/login/", data={"username": "x", "password": "y"})
    assert refused.status_code == 403
    ok = browser.post(
        f"{served}/admin/login/",
        data={"username": "x", "password": "y", "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
    )
    assert ok.status_code == 200 and "Please enter the correct" in ok.text


def test_on_commit_callbacks_run_when_the_request_ends(served, monkeypatch):
    ran = []

    def view(request):
        from django.http import JsonResponse

        with transaction.atomic():
            transaction.on_commit(lambda: ran.append("committed"))
        assert ran == []  # not before the response, as with a live server's commit
        return JsonResponse({"ok": True})

    from django.urls import path

    from tungban import urls

    monkeypatch.setattr(urls, "urlpatterns", [path("probe", view), *urls.urlpatterns])
    from django.urls import clear_url_caches

    clear_url_caches()
    try:
        assert InProcessSession(served).get(f"{served}/probe").json() == {"ok": True}
    finally:
        clear_url_caches()
    assert ran == ["committed"]


def test_route_requests_routes_only_its_origin(served):
    with route_requests(served) as adapter:
        assert isinstance(adapter, DjangoTestAdapter)
        assert requests.get(f"{served}/.well-known/openid-configuration").json()["issuer"] == served
        assert requests.Session().get_adapter("http://localhost:61001/") is not adapter
    assert requests.Session().get_adapter(served + "/") is not adapter
