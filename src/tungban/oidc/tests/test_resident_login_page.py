"""What a resident sees of the platform's sign-in pages (issue 16, res16 items 1 and 2).

Item 1: the sign-in page is phone-first ("Open the app" first on a narrow or touch screen,
the QR code behind a disclosure), keeps the QR code and the number on screen at 200% zoom,
announces the countdown only at meaningful moments, and offers "More time" before the
request expires (WCAG 2.2.1 Timing Adjustable), which extends the request on the server
within ``TUNGBAN_APPROVAL_MAX_LIFETIME``.

Item 2: every OAuth / OpenID Connect error these pages can show is plain text in the page's
language with what to do next; the protocol's code only in small print.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import expect

from tungban.testing.browser import TIMEOUT
from tungban.testing.factories import authorize_params, make_client, pkce, start_authorization
from tungban.wallet.models import ApprovalRequest, RequestStatus

RP = "https://rp-res.example/cb"
SHOTS = Path(os.environ.get("TUNGBAN_E2E_SHOTS", "/tmp/res16-shots"))


def _params(client_id="svc-res", **extra):
    _, challenge = pkce()
    return authorize_params(client_id, RP, challenge, scope="openid profile", **extra)


def _post(browser, issuer, url):
    """POST as the sign-in page's script does (its CSRF token in ``X-CSRFToken``)."""
    token = browser.cookies.get("csrftoken") or next(v for k, v in browser.cookies.items() if "csrf" in k)
    return browser.post(url, headers={"X-CSRFToken": token, "Origin": issuer, "Referer": issuer + "/"})


# --- item 1: more time (server) ------------------------------------------------------------


@pytest.mark.django_db
def test_more_time_extends_the_request_within_the_cap(issuer, settings):
    settings.TUNGBAN_APPROVAL_TTL = 120
    settings.TUNGBAN_APPROVAL_MAX_LIFETIME = 300
    make_client("svc-res", RP)
    browser = requests.Session()
    rid = start_authorization(browser, issuer, _params())
    approval = ApprovalRequest.objects.get(pk=rid)
    first = approval.expires_at
    extend = f"{issuer}/oidc/authorize/{rid}/extend"

    answer = _post(browser, issuer, extend)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    approval.refresh_from_db()
    assert approval.expires_at > first
    assert 110 <= body["expires_in"] <= 120  # a fresh TTL from now
    assert body["can_extend"] is True

    # Four minutes and ten seconds later, "More time" reaches the cap.
    now = timezone.now()
    ApprovalRequest.objects.filter(pk=rid).update(
        created_at=now - dt.timedelta(seconds=250), expires_at=now + dt.timedelta(seconds=10)
    )
    body = _post(browser, issuer, extend).json()
    approval.refresh_from_db()
    # Never beyond the cap from the request's creation (documented TUNGBAN_APPROVAL_MAX_LIFETIME).
    assert approval.expires_at <= approval.created_at + dt.timedelta(seconds=300)
    assert approval.expires_at >= approval.created_at + dt.timedelta(seconds=299)
    assert body["can_extend"] is False

    # Another browser (no binding cookie) cannot extend someone's request.
    other = requests.Session()
    other.cookies.set("csrftoken", browser.cookies.get("csrftoken") or "")
    assert _post(other, issuer, extend).status_code in (403, 404)
    other.cookies.update({k: v for k, v in browser.cookies.items() if "csrf" in k})
    assert _post(other, issuer, extend).status_code == 404


@pytest.mark.django_db
def test_more_time_refused_once_expired_or_answered(issuer, settings):
    make_client("svc-res", RP)
    browser = requests.Session()
    rid = start_authorization(browser, issuer, _params())
    ApprovalRequest.objects.filter(pk=rid).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    answer = _post(browser, issuer, f"{issuer}/oidc/authorize/{rid}/extend")
    assert answer.status_code == 410
    assert answer.json()["error"] == "request_expired"
    rid = start_authorization(browser, issuer, _params())
    ApprovalRequest.objects.filter(pk=rid).update(status=RequestStatus.DECLINED)
    answer = _post(browser, issuer, f"{issuer}/oidc/authorize/{rid}/extend")
    assert answer.status_code == 409


# --- item 1: the page in Chromium ----------------------------------------------------------


@pytest.fixture
def browser(e2e_browser):
    return e2e_browser


def _open(browser, issuer, lang="en", **context):
    make_client("svc-res", RP, name_en="Harbour Library", name_zh="海港圖書館")
    ctx = browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", **context)
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    page.goto(f"{issuer}/oidc/authorize?{requests.compat.urlencode(_params(ui_locales=lang))}")
    page.wait_for_selector(".qr svg", state="attached")
    return page


def _box(page, selector):
    return page.locator(selector).bounding_box()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_phone_sees_open_the_app_first_and_the_qr_behind_a_disclosure(issuer, browser):
    page = _open(browser, issuer, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "login-phone-390.png"), full_page=True)
    # The button is first and on the first screen; the QR code is folded away.
    expect(page.locator("#open-app")).to_be_visible(timeout=TIMEOUT)
    button = _box(page, "#open-app")
    assert button["y"] + button["height"] <= 844
    assert page.locator("#qr-details").count() == 1
    assert page.evaluate("document.getElementById('qr-details').open") is False
    expect(page.locator(".qr svg")).to_be_hidden(timeout=TIMEOUT)
    assert button["y"] < _box(page, "#qr-details summary")["y"]
    # The number the app asks for stays outside the disclosure.
    expect(page.locator("#user-code")).to_be_visible(timeout=TIMEOUT)
    page.click("#qr-details summary")
    expect(page.locator(".qr svg")).to_be_visible(timeout=TIMEOUT)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_desktop_shows_the_qr_first_and_at_200_percent_zoom_keeps_it_on_screen(issuer, browser):
    wide = _open(browser, issuer, viewport={"width": 1280, "height": 800})
    assert wide.evaluate("document.getElementById('qr-details').open") is True
    assert _box(wide, ".qr svg")["y"] < _box(wide, "#open-app")["y"]
    # 1280×800 at 200% zoom is a 640×400 CSS-pixel viewport.
    page = _open(browser, issuer, viewport={"width": 640, "height": 400})
    page.screenshot(path=str(SHOTS / "login-zoom200.png"))
    start = int(page.text_content("#countdown"))
    page.wait_for_function(f"() => +document.getElementById('countdown').textContent <= {start - 2}")
    for selector in (".qr svg", "#user-code"):
        box = _box(page, selector)
        assert box["y"] >= 0 and box["y"] + box["height"] <= 400, (selector, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= 640, (selector, box)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_countdown_is_announced_at_milestones_not_every_second(issuer, browser, settings):
    settings.TUNGBAN_APPROVAL_TTL = 120
    page = _open(browser, issuer, viewport={"width": 1280, "height": 800})
    # The visible countdown is not in a live region; the live region changes only at milestones.
    assert page.evaluate("!document.getElementById('countdown').closest('[aria-live]:not([aria-live=off])')")
    page.evaluate(
        """() => { window.__announced = 0; const live = document.getElementById('timer-announce');
             new MutationObserver(() => { window.__announced += 1; })
               .observe(live, { childList: true, characterData: true, subtree: true }); }"""
    )
    start = int(page.text_content("#countdown"))
    page.wait_for_function(f"() => +document.getElementById('countdown').textContent <= {start - 3}")
    assert page.evaluate("window.__announced") == 0
    assert page.get_attribute("#timer-announce", "aria-live") == "polite"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_more_time_is_offered_before_expiry_and_extends_the_request(issuer, browser, settings):
    settings.TUNGBAN_APPROVAL_TTL = 25  # within the 30-second warning from the start
    page = _open(browser, issuer, viewport={"width": 1280, "height": 800})
    page.wait_for_selector("#more-time:visible")
    assert "25 seconds" in page.text_content("#timer-announce") or "seconds" in page.text_content("#timer-announce")
    rid = page.get_attribute("#open-app", "href").rsplit("/", 1)[1]
    before = ApprovalRequest.objects.get(pk=rid).expires_at
    page.click("#more-time")
    expect(page.locator("#timer-announce")).to_contain_text("You have more time")
    assert ApprovalRequest.objects.get(pk=rid).expires_at > before
    assert "more time" in page.text_content("#timer-announce").lower()


# --- item 2: errors in plain words ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_invalid_client_error_page_is_plain_words_in_the_page_language(client, lang):
    client.cookies["django_language"] = lang
    response = client.get(
        "/oidc/authorize", {"client_id": "nobody", "response_type": "code", "scope": "openid"}, secure=True
    )
    assert response.status_code == 400
    html = response.content.decode()
    message = re.search(r'id="result-message"[^>]*>(.*?)</p>', html, re.S).group(1)
    # No library text (Authlib's English descriptions) in the message, the code in small print.
    assert "client" not in message.lower() or lang == "en"
    assert "invalid_client" not in message
    assert re.search(r'<small[^>]*id="error-code"[^>]*>.*invalid_client', html, re.S)
    if lang == "zh-hant":
        assert re.search(r"[\u4e00-\u9fff]", message)
        assert not re.search(r"[A-Za-z]{4,}", message.replace("tungban", ""))
    assert "What you can do" in html or "你可以" in html


@pytest.mark.parametrize(
    "code",
    [
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_response_type",
        "invalid_scope",
        "access_denied",
        "server_error",
        "temporarily_unavailable",
        "login_required",
        "consent_required",
        "interaction_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "registration_not_supported",
        "account_selection_required",
        "unmet_authentication_requirements",
        "invalid_redirect_uri",
        "something_new",
    ],
)
def test_every_protocol_error_has_bilingual_plain_words(code):
    from django.utils import translation

    from tungban.oidc import plainwords

    with translation.override("en"):
        en = {k: str(v) for k, v in plainwords.plain(code).items()}
    with translation.override("zh-hant"):
        zh = {k: str(v) for k, v in plainwords.plain(code).items()}
    for words in (en, zh):
        assert words["title"] and words["message"] and words["next"]
        assert code not in words["message"] and code not in words["title"]
    assert re.search(r"[\u4e00-\u9fff]", zh["message"] + zh["next"])
    assert en["message"] != zh["message"]


# --- item 5: the + tier explained where a basic account meets it --------------------------


@pytest.mark.django_db
def test_basic_account_refused_by_a_plus_service_is_told_how_to_upgrade(issuer, officer, tmp_path):
    from tungban.identity.models import Resident
    from tungban.testing.factories import PIN, bind_cli, complete_authorization, make_resident

    make_client("svc-res", RP)
    basic = make_resident(officer)
    Resident.objects.filter(pk=basic.pk).update(tier="basic")
    app = bind_cli(issuer, basic, tmp_path / "basic")
    browser = requests.Session()
    browser.headers["Accept-Language"] = "en"
    rid = start_authorization(browser, issuer, _params(acr_values="urn:tungban:acr:plus"))
    app.decide(rid, PIN, "approve")
    page = complete_authorization(browser, issuer, rid).text
    assert "A tungban+ account is needed" in page
    next_step = re.search(r'id="result-next"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "registration counter" in next_step and "identity card" in next_step and "free" in next_step
