"""Helpers for end-to-end tests in headless Chromium (Playwright, sync API).

Reusable by any E2E test of the platform::

    from tungban.testing.browser import launch_browser, add_virtual_authenticator, bind_web_app

    with playwright_session() as pw:
        browser = launch_browser(pw)
        context = browser.new_context(locale="en-GB")
        phone = context.new_page()
        add_virtual_authenticator(context, phone)
        bind_web_app(phone, base_url, resident.hkid, code)

The browser is the system's Chromium (``/usr/bin/chromium``, or ``$TUNGBAN_E2E_CHROMIUM``);
Playwright's own browser downloads are never used. WebAuthn needs the page's host to be the
relying-party id, so serve the platform as ``http://localhost:<port>`` (the ``live_issuer``
fixture in ``tungban/conftest.py`` does that for ``live_server``).
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

CHROMIUM = os.environ.get("TUNGBAN_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Timeout (ms) for waiting on app screens; passkey and signing steps are quick in Chromium.
TIMEOUT = 15_000


def chromium_available() -> bool:
    return Path(CHROMIUM).exists()


@contextlib.contextmanager
def playwright_session():
    """``sync_playwright()`` that keeps Django's ORM usable in the test thread.

    Playwright's sync API runs an asyncio loop in this thread. Django then (1) refuses ORM
    calls (``SynchronousOnlyOperation``) and (2) hands the test a *new* database connection,
    because connections are per async context. With the in-memory SQLite test database
    the live server shares the test's original connection; a second connection to the
    shared cache makes concurrent requests fail with "database table is locked". So this
    allows sync ORM calls and reinstalls the original connections inside the session.
    """
    from django.db import connections
    from playwright.sync_api import sync_playwright

    saved = {alias: connections[alias] for alias in connections}
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            for alias, conn in saved.items():
                connections[alias] = conn
            yield pw
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def launch_browser(playwright):
    """Launch the system Chromium headless (no Playwright browser download)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def add_virtual_authenticator(context, page) -> tuple:
    """Give ``page`` a platform authenticator with user verification (a phone's fingerprint
    reader): CDP ``WebAuthn.addVirtualAuthenticator``. Returns ``(cdp_session, authenticator_id)``.

    The authenticator belongs to this page (tab) only; open the app's pages in the same page,
    or copy the passkeys with :func:`copy_passkeys`.
    """
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    result = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, result["authenticatorId"]


def copy_passkeys(source: tuple, target: tuple) -> int:
    """Copy the passkeys of one virtual authenticator to another (e.g. to approve in a popup
    opened by "Open the app"). Arguments are results of :func:`add_virtual_authenticator`."""
    src_cdp, src_id = source
    dst_cdp, dst_id = target
    credentials = src_cdp.send("WebAuthn.getCredentials", {"authenticatorId": src_id})["credentials"]
    for cred in credentials:
        dst_cdp.send("WebAuthn.addCredential", {"authenticatorId": dst_id, "credential": cred})
    return len(credentials)


def bind_web_app(page, base_url: str, hkid: str, code: str) -> None:
    """Bind the web app in ``page`` through its UI (HKID + activation code, then the passkey).

    ``page`` needs a virtual authenticator (:func:`add_virtual_authenticator`). Returns when
    the home screen shows the bound account; raises with the app's error message otherwise.
    """
    page.goto(f"{base_url}/app/")
    page.wait_for_selector("#screen-bind:not([hidden])", timeout=TIMEOUT)
    page.fill("#bind-hkid", hkid)
    page.fill("#bind-code", code)
    page.click("#bind-submit")
    page.wait_for_function(
        "() => !document.getElementById('screen-home').hidden || document.getElementById('alert').textContent.trim()",
        timeout=TIMEOUT,
    )
    alert = page.text_content("#alert").strip()
    if alert:
        raise AssertionError(f"binding the web app failed: {alert}")
    page.wait_for_selector("#profile dd[data-field=hkid]:not(:empty)", timeout=TIMEOUT)


def approval_url(authorize_page) -> str:
    """The app link ("Open the app" / QR code) shown on the platform's authorization page."""
    href = authorize_page.get_attribute("#open-app", "href")
    assert href and re.search(r"/app/approve/[0-9a-f-]{36}$", href), href
    return href


def code_shown(authorize_page) -> str:
    """The number the platform's authorization page shows for the app (``#user-code``)."""
    code = authorize_page.text_content("#user-code").strip()
    assert re.fullmatch(r"[0-9]{2}", code), code
    return code


def decide_in_app(
    page, url: str, decision: str = "approve", untick: list[str] | tuple = (), code: str | None = None
) -> str:
    """Open an approval link in the bound app, untick ``untick`` claims, approve or decline.
    A request from a sign-in page asks for its number: ``code`` (:func:`code_shown`), else the
    one that page shows, read from the database. Returns the result heading the app shows."""
    page.bring_to_front()  # a background tab gets throttled animation frames: slow clicks
    page.goto(url)
    page.wait_for_selector("#screen-approve:not([hidden])", timeout=TIMEOUT)
    for name in untick:
        page.uncheck(f'input[name=claim][value="{name}"]')
    if decision == "approve" and page.is_visible("#code-set"):
        from tungban.testing.factories import code_on_screen

        page.fill("#approve-code", code or code_on_screen({"id": url.rstrip("/").rsplit("/", 1)[1]}))
    page.click("#approve-button" if decision == "approve" else "#decline-button")
    page.wait_for_selector("#result:not([hidden])", timeout=TIMEOUT)
    return page.text_content("#result-heading").strip()


@contextlib.contextmanager
def sample_service(issuer: str, client_id: str, scopes: list[str] | None = None, *, cdeg: bool = False, **config):
    """Run the vehicle-licence sample service on a free loopback port, registered as the
    client ``client_id`` (e-ME scopes unless ``scopes``); yields its base URL.

    ``cdeg=True`` also makes the service the Transport Department's data user of the
    exchange gateway (organisation ``td``): the client gets a fresh P-256 key (its public
    half registered as the client's JWKS, for ``private_key_jwt``) and the service the
    private half (``VL_CDEG_PRIVATE_JWK``), so its form offers the address from the Water
    Supplies Department. Register the data products (``catalogue.register_bundled``) yourself.
    """
    import socket
    import threading

    from werkzeug.serving import make_server

    from examples.vehicle_licence import create_app
    from tungban.oidc import services as oidc

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    private_jwk, extra = None, {}
    if cdeg:
        from joserfc.jwk import ECKey

        key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
        private_jwk = key.as_dict(private=True)
        extra["jwks"] = {"keys": [key.as_dict(private=False)]}
    client, secret = oidc.register_client(
        client_id=client_id,
        name_en="Vehicle Licence Renewal",
        name_zh="車輛牌照續期",
        redirect_uris=[f"{base}/callback"],
        post_logout_redirect_uris=[f"{base}/"],
        allowed_scopes=scopes,
        **extra,
    )
    if cdeg:
        from tungban.exchange import services as exchange

        exchange.register_organisation(id="td", name_en="Transport Department", name_zh="運輸署", client=client)
        config.setdefault("VL_CDEG_PRIVATE_JWK", private_jwk)
    app = create_app(
        {
            "VL_ISSUER": issuer,
            "VL_CLIENT_ID": client.client_id,
            "VL_CLIENT_SECRET": secret,
            "VL_BASE_URL": base,
            **config,
        }
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield base
    finally:
        server.shutdown()
