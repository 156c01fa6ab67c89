"""Content-Security-Policy (Django's ``ContentSecurityPolicyMiddleware``, ``SECURE_CSP``): every
page carries the policy; no template has inline script, an event-handler attribute or inline
style, so the policy needs no ``'unsafe-inline'``; in Chromium the pages load with no violation
and an inline style is really refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2]  # src/tungban

PAGES = [
    "/",
    "/app/",
    "/api/v1/docs",
    "/admin/login/",
    "/app/approve/00000000-0000-4000-8000-000000000000",
    "/verify/",
    "/signing/verify",
]


def _directives(header: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in header.split(";")) if d}


@pytest.mark.django_db
@pytest.mark.parametrize("path", [*PAGES, "/app/sw.js", "/oidc/authorize"])
def test_pages_are_served_with_a_strict_policy(client, path):
    resp = client.get(path)
    assert resp.status_code in (200, 400), (path, resp.status_code)
    policy = _directives(resp["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]
    assert "'unsafe-inline'" not in " ".join(sum(policy.values(), []))


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*\btype=\"application/(?:ld\+)?json\")[^>]*>", re.I)
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I | re.S)
STYLE_ATTR = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I | re.S)
STYLE_ELEMENT = re.compile(r"<style\b", re.I)


def test_the_scanner_finds_what_it_looks_for():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>") and INLINE_SCRIPT.search("<script defer>")
    assert not INLINE_SCRIPT.search('<script src="/static/x.js" defer></script>')
    assert HANDLER.search('<button type="button" onclick="go()">') and not HANDLER.search('<form action="/x">')
    assert STYLE_ATTR.search('<div class="a" style="color:red">') and not STYLE_ATTR.search('<link rel="stylesheet">')
    assert STYLE_ELEMENT.search("<style>p{}</style>")


def test_no_template_has_inline_script_handlers_or_style():
    found = []
    templates = sorted(SRC.rglob("templates/**/*.html"))
    assert SRC / "wallet/templates/wallet/app.html" in templates and len(templates) >= 20
    for path in templates:
        text = path.read_text(encoding="utf-8")
        for name, pattern in (
            ("inline <script>", INLINE_SCRIPT),
            ("on*= handler", HANDLER),
            ("style= attribute", STYLE_ATTR),
            ("<style> element", STYLE_ELEMENT),
        ):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(SRC)}:{line}: {name}")
    assert not found, "\n".join(found)


# --- In Chromium --------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_pages_load_in_chromium_with_no_violation(issuer, e2e_browser, _no_csp_violations):
    """The autouse ``_no_csp_violations`` (tungban/conftest.py) fails the test on any violation."""
    context = e2e_browser.new_context(locale="en-GB")
    page = context.new_page()
    for path in PAGES:
        page.goto(issuer + path)
        page.wait_for_load_state("load")
    page.goto(issuer + "/app/")
    page.wait_for_selector("#screen-bind:not([hidden])")  # the modules ran
    context.close()
    assert _no_csp_violations == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_chromium_refuses_an_inline_style_and_reports_it(issuer, _e2e_chromium):
    """The policy is enforced, and a violation shows in the console the way the e2e watcher
    (``_no_csp_violations``) recognises it. The module's browser without ``e2e_browser``, so the
    watcher is off: this test wants a violation."""
    page = _e2e_chromium.new_page()
    try:
        page.goto(issuer + "/app/")
        page.wait_for_selector("#screen-bind:not([hidden])")
        with page.expect_console_message(lambda m: "Content Security Policy" in m.text) as message:
            page.evaluate(
                """document.body.insertAdjacentHTML('beforeend', '<p id="injected" style="color: rgb(255, 0, 0)">x</p>')"""
            )
        assert "style-src" in message.value.text
        assert page.evaluate("getComputedStyle(document.getElementById('injected')).color") != "rgb(255, 0, 0)"
    finally:
        page.context.close()
