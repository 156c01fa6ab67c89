"""The hot-path middleware (issue 15): registered views answer before the page middleware,
fall through when they return ``None``, and keep the host check, the size limit and the
JSON error answers of the full stack."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.http import JsonResponse
from django.test import override_settings

from tungban.core import hotpaths

PATH = "/oidc/jwks"  # a path the URL conf knows, so that falling through reaches a real view


@pytest.fixture
def route():
    saved = dict(hotpaths._routes)
    yield lambda view, **kw: hotpaths.register(PATH, view, **kw)
    hotpaths._routes.clear()
    hotpaths._routes.update(saved)


def test_registered_view_answers_without_the_page_middleware(client, route):
    seen = {}

    def view(request):
        seen["session"] = hasattr(request, "session")
        seen["user"] = hasattr(request, "user")
        return JsonResponse({"hot": True})

    route(view)
    response = client.get(PATH)
    assert response.json() == {"hot": True}
    assert seen == {"session": False, "user": False}
    assert response["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware still wraps it
    # the headers of the page middleware it skipped
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "camera=()" in response["Permissions-Policy"]
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_none_falls_through_to_the_url_conf(client, route):
    route(lambda request: None)
    response = client.get(PATH)
    assert response.status_code == 200
    assert "keys" in response.json()


@pytest.mark.django_db
def test_only_registered_methods(client, route):
    route(lambda request: JsonResponse({"hot": True}), methods=("POST",))
    assert "keys" in client.get(PATH).json()


@override_settings(ALLOWED_HOSTS=["tungban.example"])
def test_host_header_is_checked(client, route):
    route(lambda request: JsonResponse({"hot": True}))
    assert client.get(PATH, HTTP_HOST="evil.example").status_code == 400


@override_settings(TUNGBAN_MAX_REQUEST_BYTES=10, TUNGBAN_REQUEST_SIZE_LIMITS={})
def test_body_size_limit_applies(client, route):
    route(lambda request: JsonResponse({"hot": True}), methods=("POST",))
    response = client.post(PATH, data="x" * 100, content_type="text/plain")
    assert response.status_code == 413


def test_database_fault_is_a_retryable_503(client, route):
    def view(request):
        raise OperationalError("connection refused")

    route(view)
    response = client.get(PATH)
    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"


def test_api_language_is_active(client, route):
    from django.utils import translation

    route(lambda request: JsonResponse({"language": translation.get_language()}))
    assert client.get(PATH).json() == {"language": "en"}
    assert client.get(PATH, HTTP_ACCEPT_LANGUAGE="zh-HK").json() == {"language": "zh-hant"}


def test_the_hot_language_is_not_left_on_the_thread(client, route):
    from django.utils import translation

    route(lambda request: JsonResponse({"language": translation.get_language()}))
    with translation.override("en"):
        assert client.get(PATH, HTTP_ACCEPT_LANGUAGE="zh-HK").json() == {"language": "zh-hant"}
        assert translation.get_language() == "en"


def test_path_must_be_absolute():
    with pytest.raises(ValueError):
        hotpaths.register("oidc/jwks", lambda request: None)


# --- Paths with one id segment (issue 15: the app's approval calls carry the request's id) -----

ID_PATH = "/api/v1/wallet/requests/{id}/decision"


@pytest.fixture
def id_route():
    saved = dict(hotpaths._routes), {method: dict(routes) for method, routes in hotpaths._patterns.items()}
    yield lambda pattern, view, **kw: hotpaths.register(pattern, view, **kw)
    hotpaths._routes.clear()
    hotpaths._routes.update(saved[0])
    hotpaths._patterns.clear()
    hotpaths._patterns.update(saved[1])


def test_an_id_segment_is_passed_to_the_view(id_route):
    view = lambda request, id: JsonResponse({"id": id})  # noqa: E731
    id_route(ID_PATH, view, methods=("POST",))
    assert hotpaths.resolve("POST", "/api/v1/wallet/requests/abc-1/decision") == (view, {"id": "abc-1"})
    assert hotpaths.registered("POST", "/api/v1/wallet/requests/abc-1/decision") is view
    assert hotpaths.resolve("GET", "/api/v1/wallet/requests/abc-1/decision") is None  # another method
    for other in (
        "/api/v1/wallet/requests//decision",  # an empty id
        "/api/v1/wallet/requests/a/b/decision",  # two segments
        "/api/v1/wallet/requests/abc/decision/",
        "/api/v1/wallet/requests/abc",
        "/api/v1/wallet/requestsabc/decision",
    ):
        assert hotpaths.resolve("POST", other) is None, other


def test_an_id_at_the_end_and_exact_paths_first(id_route):
    by_id = lambda request, id: JsonResponse({"id": id})  # noqa: E731
    exact = lambda request: JsonResponse({"exact": True})  # noqa: E731
    id_route("/api/v1/wallet/requests/{id}", by_id)
    id_route("/api/v1/wallet/requests/pending", exact)
    assert hotpaths.resolve("GET", "/api/v1/wallet/requests/r1") == (by_id, {"id": "r1"})
    assert hotpaths.resolve("GET", "/api/v1/wallet/requests/pending") == (exact, {})
    assert hotpaths.resolve("GET", "/api/v1/wallet/requests/r1/decision") is None


@pytest.mark.django_db
def test_an_id_route_answers_and_falls_through(client, id_route):
    id_route("/oidc/{id}", lambda request, id: JsonResponse({"id": id}) if id != "jwks" else None)
    assert client.get("/oidc/anything").json() == {"id": "anything"}
    assert "keys" in client.get("/oidc/jwks").json()  # None: the URL conf's view


@pytest.mark.parametrize("pattern", ["/a/{id}/{id}", "/a/x{id}", "/a/{id}x/b", "/a/{name}", "a/{id}", "/a/{id}/b{"])
def test_only_one_whole_id_segment(pattern):
    with pytest.raises(ValueError):
        hotpaths.register(pattern, lambda request, id: None)
