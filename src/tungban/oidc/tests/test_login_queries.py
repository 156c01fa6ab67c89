"""Queries per step of a complete login (issue 15 acceptance 2): the authorization page, the
app's read of the request, its signed approval, the browser's completion. Each step was
several ORM queries; the limits are what the step needs (one indexed read or write per row
it touches, the session, the transaction's savepoints)."""

import pytest
from django.db import connection

from tungban.testing.login_steps import STEPS, LoginSteps, StepMeter, setup_login

pytestmark = pytest.mark.django_db

#: The most queries each step may make (BEGIN, COMMIT, savepoints and the session included).
#: Before issue 15: authorize 8, app_request 5, decision 13, complete 15; after its first
#: round authorize 7, app_request 3, decision 10, complete 10. The authorization page: the client
#: with the nonce replay check, the approval request (no server-side session: the browser's
#: binding is a cookie). The app's calls: one read of device, resident and request, then the
#: proof's jti; the decision's jti and writes in one transaction (BEGIN, jti, request, device,
#: COMMIT; on PostgreSQL the three writes are one statement: 4 in all). The completion: the
#: approval with its resident, the client with the nonce check; BEGIN, the approval marked used
#: (one UPDATE, not read again), the login session, the code, COMMIT. On PostgreSQL the login
#: session and the code are one statement (a data-modifying WITH; issue 15 second round): 6.
#: Third round: the completion marks the approval used in the statement that writes the login
#: session and the code (a wallet guard in the data-modifying WITH, one statement in autocommit:
#: no BEGIN/COMMIT): the approval with its resident, the client with the nonce check, that
#: statement — 3 on PostgreSQL; elsewhere the UPDATE and the two INSERTs in one transaction.
LIMITS = {"authorize": 2, "app_request": 2, "decision": 6, "complete": 5}
LIMITS_POSTGRESQL = {**LIMITS, "complete": 3}


@pytest.fixture
def steps():
    client_id, secret, devices = setup_login()
    meter = StepMeter()
    return LoginSteps(client_id, secret, devices[0], measure=meter), meter


def test_a_login_completes_and_each_step_stays_within_its_queries(steps):
    driver, meter = steps
    driver.login()  # the first login warms caches (client, keys); the second is measured
    meter.queries = {s: [] for s in STEPS}
    info = driver.login()
    assert info["sub"]
    counts = {s: len(meter.queries[s][0]) for s in STEPS}
    print(counts)
    limits = LIMITS_POSTGRESQL if connection.vendor == "postgresql" else LIMITS
    for step, limit in limits.items():
        assert counts[step] <= limit, (step, counts[step], meter.queries[step][0])


def test_the_nonce_replay_check_is_an_index_lookup():
    """The authorization page and the completion ask whether a code of the client already
    used the nonce (OIDC Core §15.5.2): with a code per login, that table grows without end."""
    from tungban.oidc.models import AuthorizationCode

    indexed = [list(i.fields) for i in AuthorizationCode._meta.indexes]
    assert ["client", "nonce"] in indexed


def _authorize(driver):
    """The browser's authorization page of a fresh login: ``(browser, approval id, response)``."""
    import re

    browser = driver.clients[0]
    browser.cookies.clear()
    params = {
        "response_type": "code",
        "client_id": driver.client_id,
        "redirect_uri": "https://rp.example/cb",
        "scope": "openid profile",
        "state": "s",
        "nonce": "n-" + re.sub(r"\W", "", str(id(driver))),
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    page = browser.get("/oidc/authorize", params, secure=True)
    assert page.status_code == 200
    rid = re.search(r"/app/approve/([0-9a-f-]{36})", page.content.decode()).group(1)
    return browser, rid, page


def test_the_authorization_page_keeps_no_server_side_session(steps, settings):
    """The browser's binding to its approval request is a cookie of its own (issue 15: a
    database session was a read and a write per login): ``HttpOnly``, ``SameSite=Lax``,
    path ``/``, ``Secure`` (and the ``__Host-`` prefix: no subdomain can set it) on HTTPS."""
    from django.contrib.sessions.models import Session

    from tungban.oidc import binding

    driver, _ = steps
    before = Session.objects.count()
    browser, rid, page = _authorize(driver)
    assert Session.objects.count() == before
    assert settings.SESSION_COOKIE_NAME not in page.cookies
    name = binding.cookie_name()
    assert name == ("__Host-tungban_authz" if settings.SESSION_COOKIE_SECURE else "tungban_authz")
    cookie = page.cookies[name]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert bool(cookie["secure"]) == settings.SESSION_COOKIE_SECURE
    assert rid in cookie.value
    assert browser.get(f"/oidc/authorize/{rid}/status", secure=True).json() == {"status": "pending"}


def test_only_the_browser_holding_the_binding_cookie_sees_the_request(steps):
    """Another browser, a wrong secret or a garbled cookie: the status poll and the completion
    answer 404 (not found), never a 500, and the approval stays pending."""
    from django.test import Client

    from tungban.oidc import binding

    driver, _ = steps
    browser, rid, _page = _authorize(driver)
    name = binding.cookie_name()
    good = browser.cookies[name].value
    for value in (None, good.replace(good.split(":")[1][:24], "x" * 24), "garbage", ":::..", rid + ":"):
        other = Client()
        if value is not None:
            other.cookies[name] = value
        assert other.get(f"/oidc/authorize/{rid}/status", secure=True).status_code == 404, value
        assert other.get(f"/oidc/authorize/{rid}/complete", secure=True).status_code == 404, value
    assert browser.get(f"/oidc/authorize/{rid}/status", secure=True).json() == {"status": "pending"}


def test_the_binding_cookie_keeps_the_last_five_requests(steps):
    """A browser that opens many sign-ins keeps the latest five (as the session did)."""
    from tungban.oidc import binding

    driver, _ = steps
    browser, first, _ = _authorize(driver)
    rids = [first]
    for _ in range(6):
        page = browser.get("/oidc/authorize?" + _page_query(driver), secure=True)
        import re

        rids.append(re.search(r"/app/approve/([0-9a-f-]{36})", page.content.decode()).group(1))
    kept = binding.pending_from(browser.cookies[binding.cookie_name()].value)
    assert list(kept) == rids[-5:]
    assert browser.get(f"/oidc/authorize/{rids[0]}/status", secure=True).status_code == 404
    assert browser.get(f"/oidc/authorize/{rids[-1]}/status", secure=True).status_code == 200


def _page_query(driver):
    from urllib.parse import urlencode

    return urlencode(
        {
            "response_type": "code",
            "client_id": driver.client_id,
            "redirect_uri": "https://rp.example/cb",
            "scope": "openid",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
    )


def test_logout_forgets_the_pending_requests(steps):
    """RP-initiated logout (confirmed by the resident) clears the binding cookie."""
    from tungban.oidc import binding

    driver, _ = steps
    browser, rid, _ = _authorize(driver)
    done = browser.post("/oidc/logout", {"confirm": "yes"}, secure=True)
    assert done.status_code in (200, 302)
    assert done.cookies[binding.cookie_name()]["max-age"] == 0
    assert browser.get(f"/oidc/authorize/{rid}/status", secure=True).status_code == 404


def test_the_completion_validates_the_authorization_request_once(steps, monkeypatch):
    """The completion asks Authlib for the grant (``get_consent_grant``, which validates the
    replayed request: client, redirect URI, scope, PKCE, nonce) and then for the redirect
    with the code (``create_authorization_response``, which validated the same grant again):
    once is enough (issue 15: the browser's completion). The code still comes back, bound to
    the client, its redirect URI and its PKCE challenge."""
    from authlib.oauth2.rfc6749.grants import authorization_code

    from tungban.oidc.models import AuthorizationCode

    driver, _meter = steps
    driver.login()  # warm
    validated = []
    real = authorization_code.validate_code_authorization_request

    def counting(grant):
        validated.append(grant.request.payload.client_id)
        return real(grant)

    monkeypatch.setattr(authorization_code, "validate_code_authorization_request", counting)
    steps_seen = []
    original = driver.measure

    def watch(step):
        steps_seen.append((step, len(validated)))
        return original(step)

    driver.measure = watch
    info = driver.login()
    assert info["sub"]
    before = dict(steps_seen)
    after_complete = before["token"]  # validations counted when the token step starts
    assert after_complete - before["complete"] == 1, steps_seen
    code = AuthorizationCode.objects.latest("id")
    assert code.used_at is not None and code.redirect_uri == "https://rp.example/cb" and code.code_challenge
    assert code.session is not None and code.session.resident_id == code.resident_id


@pytest.mark.parametrize("meanwhile", ["completed", "expired"])
def test_a_completion_that_loses_the_race_writes_nothing(steps, monkeypatch, meanwhile):
    """The approval is marked used in the statement that writes the login session and its
    code (issue 15, third round): when it changed between the completion's read and that
    statement (another tab completed it, or its grace ran out), the statement writes nothing
    and the page says what happened — as when the UPDATE ran on its own."""
    import datetime as dt
    import re

    from tungban.oidc import views
    from tungban.oidc.models import AuthorizationCode, LoginSession
    from tungban.wallet import services as wallet
    from tungban.wallet.models import ApprovalRequest

    driver, _meter = steps
    driver.login()
    real = wallet.get_request_to_complete

    def read_then_change(approval_id):
        read = real(approval_id)
        if meanwhile == "completed":
            wallet.complete(approval_id)
        else:
            past = wallet._now() - dt.timedelta(seconds=wallet.COMPLETION_GRACE + 5)
            ApprovalRequest.objects.filter(pk=approval_id).update(expires_at=past)
        return read

    monkeypatch.setattr(views.wallet, "get_request_to_complete", read_then_change)
    codes, sessions = AuthorizationCode.objects.count(), LoginSession.objects.count()
    with pytest.raises(AssertionError):
        driver.login()  # the completion step is refused
    assert (AuthorizationCode.objects.count(), LoginSession.objects.count()) == (codes, sessions)
    approval = ApprovalRequest.objects.latest("created_at")
    browser = driver.clients[0]
    monkeypatch.setattr(views.wallet, "get_request_to_complete", real)
    page = browser.get(f"/oidc/authorize/{approval.pk}/complete", secure=True, HTTP_ACCEPT_LANGUAGE="en")
    text = re.sub(r"\s+", " ", page.content.decode())
    if meanwhile == "completed":
        assert page.status_code == 200 and "already" in text, text[:500]
    else:
        assert page.status_code == 200 and "expired" in text, text[:500]
        assert ApprovalRequest.objects.get(pk=approval.pk).status == "approved"


# --- The authorization page and the completion before the page middleware (issue 15, third round)


@pytest.fixture
def page_middleware_calls(monkeypatch):
    """How many requests went through the page middleware (the session middleware's
    ``process_request``, which every page request of the full stack runs)."""
    from django.contrib.sessions.middleware import SessionMiddleware

    calls = []
    real = SessionMiddleware.process_request

    def counting(self, request):
        calls.append(request.path)
        return real(self, request)

    monkeypatch.setattr(SessionMiddleware, "process_request", counting)
    return calls


def test_the_login_pages_skip_the_page_middleware(steps, page_middleware_calls):
    """A browser without a session or messages cookie (every login's) gets the authorization
    page and the completion before the page middleware (sessions, authentication, OTP,
    messages, axes): what they need of it (language, CSRF cookie, security headers) is done
    by the hot path (:mod:`tungban.core.hotpaths`, ``page=True``)."""
    driver, _meter = steps
    assert driver.login()["sub"]
    assert page_middleware_calls == []


def test_a_browser_with_a_session_goes_the_full_way(steps, page_middleware_calls, settings):
    """A session (a signed-in staff member, the web app) or messages to show: the full stack."""
    driver, _meter = steps
    browser = driver.clients[0]
    browser.cookies.clear()
    browser.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32
    page = browser.get("/oidc/authorize?" + _page_query(driver), secure=True)
    assert page.status_code == 200
    assert page_middleware_calls == ["/oidc/authorize"]


def _masked(response) -> tuple:
    """A response with its per-request values (CSRF token, approval id, user code, cookie
    values and expiry dates, the code) masked: status, headers, cookies' attributes, body."""
    import re

    body = response.content.decode()
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", body)
    body = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "ID", body)
    body = re.sub(r'id="user-code" translate="no">\d+<', "CODE", body)
    headers = {
        k: ("…" if k.lower() == "expires" else v) for k, v in response.headers.items() if k.lower() != "location"
    }
    location = re.sub(r"code=[^&]+", "code=C", response.headers.get("Location", ""))
    cookies = {  # an expiry is a date: seconds apart between two runs
        name: {k: ("…" if k == "expires" else v) for k, v in morsel.items() if v}
        for name, morsel in response.cookies.items()
    }
    return response.status_code, headers, location, cookies, body


@pytest.mark.parametrize(
    "ask",
    [
        {"HTTP_ACCEPT_LANGUAGE": "en"},
        {"HTTP_ACCEPT_LANGUAGE": "zh-HK,zh;q=0.9"},
        {"ui_locales": "en"},
        {"cookie": "en"},
        {"unknown_client": True},
    ],
    ids=["accept-en", "accept-zh", "ui_locales", "language-cookie", "error-page"],
)
def test_the_hot_login_pages_answer_as_the_full_stack(steps, monkeypatch, settings, ask):
    """Status, headers (language, Vary, CSP, caching, X-Frame-Options, Permissions-Policy),
    cookies (the CSRF cookie, the binding cookie) and the page, per-request values aside:
    the same with the hot path and without it (the URL conf's view behind every middleware)."""
    import re
    from urllib.parse import urlencode

    from tungban.core import hotpaths

    driver, _meter = steps
    browser = driver.clients[0]

    def visit():
        browser.cookies.clear()
        if "cookie" in ask:
            browser.cookies[settings.LANGUAGE_COOKIE_NAME] = ask["cookie"]
        params = {
            "response_type": "code",
            "client_id": "nobody" if ask.get("unknown_client") else driver.client_id,
            "redirect_uri": "https://rp.example/cb",
            "scope": "openid profile",
            "state": "s",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
        if "ui_locales" in ask:
            params["ui_locales"] = ask["ui_locales"]
        headers = {k: v for k, v in ask.items() if k.startswith("HTTP_")}
        page = browser.get("/oidc/authorize?" + urlencode(params), secure=True, **headers)
        found = re.search(r"/app/approve/([0-9a-f-]{36})", page.content.decode())
        pages = [page]
        if found:
            rid = found.group(1)
            pages.append(browser.get(f"/oidc/authorize/{rid}/complete", secure=True, **headers))  # pending
            pages.append(browser.get(f"/oidc/authorize/{rid}x/complete", secure=True, **headers))  # no such path
            browser.cookies.clear()
            pages.append(browser.get(f"/oidc/authorize/{rid}/complete", secure=True, **headers))  # not bound
        return [_masked(p) for p in pages]

    hot = visit()
    saved_routes, saved_patterns = dict(hotpaths._routes), {m: dict(p) for m, p in hotpaths._patterns.items()}
    for key in [k for k in hotpaths._routes if k[1].startswith("/oidc/authorize")]:
        del hotpaths._routes[key]
    for routes in hotpaths._patterns.values():
        for key in [k for k in routes if k[0].startswith("/oidc/authorize")]:
            del routes[key]
    try:
        full = visit()
    finally:
        hotpaths._routes.clear()
        hotpaths._routes.update(saved_routes)
        hotpaths._patterns.clear()
        hotpaths._patterns.update(saved_patterns)
    assert len(hot) == len(full)
    for h, f in zip(hot, full, strict=True):
        assert h[:4] == f[:4]
        assert h[4] == f[4]


def test_an_unexpected_error_on_a_hot_login_page_is_the_full_stacks_page(steps, monkeypatch):
    """A bug behind the authorization page is Django's 500 page (``handler500``), not the
    API's JSON 500, with the hot path as without it; and logged as the full stack logs it."""
    from django.test import Client

    from tungban.core import hotpaths
    from tungban.oidc import services

    driver, _meter = steps

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(services, "open_authorization", broken)
    browser = Client(raise_request_exception=False)
    hot = browser.get("/oidc/authorize?" + _page_query(driver), secure=True)
    monkeypatch.delitem(hotpaths._routes, ("GET", "/oidc/authorize"))
    full = browser.get("/oidc/authorize?" + _page_query(driver), secure=True)
    assert hot.status_code == full.status_code == 500
    assert hot["Content-Type"] == full["Content-Type"] and hot["Content-Type"].startswith("text/html")
    assert hot.content == full.content
