"""The app shows the PDF it is asked to sign (issue 16, res16 item 4): the platform renders
the submitted PDF's pages (poppler's ``pdftoppm`` in the isolated child processes of
:mod:`tungban.signing.isolation`) and serves them only to a device of the request's resident."""

from __future__ import annotations

import base64

import pytest
import requests
from fpdf import FPDF

from tungban.testing.factories import PIN, bind_cli, login, make_resident

from .conftest import client_token
from .test_signing_api import SCOPE, digest_doc, post

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n"


def two_pages() -> bytes:
    doc = FPDF()
    for text in ("Page one", "Page two"):
        doc.add_page()
        doc.set_font("helvetica", size=14)
        doc.cell(0, 10, text)
    return bytes(doc.output())


def _page_path(approval_id, index, page):
    return f"/api/v1/signing/app/requests/{approval_id}/documents/{index}/pages/{page}"


def test_the_residents_app_gets_each_page_as_png(issuer, signer_app, signing_client):
    resident, app = signer_app
    client, secret = signing_client
    token = login(issuer, app, client.client_id, secret, client.redirect_uris[0], scope=SCOPE)["access_token"]
    created = post(
        issuer, token, {"documents": [{"name": "d.pdf", "pdf": base64.b64encode(two_pages()).decode()}]}
    ).json()
    approval_id = created["approval_uri"].rsplit("/", 1)[1]
    key = app.load_key(PIN)
    first, media = app._download("GET", _page_path(approval_id, 0, 1), key)
    assert media == "image/png" and first.startswith(PNG)
    second, _ = app._download("GET", _page_path(approval_id, 0, 2), key)
    assert second.startswith(PNG) and second != first
    resp = requests.get(
        issuer + _page_path(approval_id, 0, 1),
        headers={"Authorization": "Device " + app._proof(key, "GET", issuer + _page_path(approval_id, 0, 1))},
    )
    assert resp.headers["X-Page-Count"] == "2"
    assert "no-store" in resp.headers["Cache-Control"]
    with pytest.raises(Exception) as missing:
        app._download("GET", _page_path(approval_id, 0, 3), key)
    assert getattr(missing.value, "code", None) == "no_such_page"


def test_another_residents_device_gets_nothing(issuer, signer_app, signing_client, officer, tmp_path):
    resident, app = signer_app
    client, secret = signing_client
    token = login(issuer, app, client.client_id, secret, client.redirect_uris[0], scope=SCOPE)["access_token"]
    created = post(
        issuer, token, {"documents": [{"name": "d.pdf", "pdf": base64.b64encode(two_pages()).decode()}]}
    ).json()
    approval_id = created["approval_uri"].rsplit("/", 1)[1]
    other = bind_cli(issuer, make_resident(officer), tmp_path / "other")
    with pytest.raises(Exception) as refused:
        other._download("GET", _page_path(approval_id, 0, 1), other.load_key(PIN))
    assert getattr(refused.value, "code", None) == "no_request"


def test_a_digest_only_request_has_no_pages(issuer, signer_app, signing_client):
    resident, app = signer_app
    client, secret = signing_client
    token = client_token(issuer, client.client_id, secret)
    created = post(issuer, token, {"documents": [digest_doc()]}).json()
    approval_id = created["approval_uri"].rsplit("/", 1)[1]
    with pytest.raises(Exception) as refused:
        app._download("GET", _page_path(approval_id, 0, 1), app.load_key(PIN))
    assert getattr(refused.value, "code", None) == "no_preview"


def test_page_renders_are_rate_limited_per_device(issuer, signer_app, signing_client, settings, officer, tmp_path):
    """Issue 16 security review M6: every render runs poppler in the child pool the public
    signature check shares, so one device may not render without limit (``signing_pages``,
    per device; 429 ``rate_limited`` with ``Retry-After``); another device is not affected."""
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "signing_pages": "3/h"}
    resident, app = signer_app
    client, secret = signing_client
    token = login(issuer, app, client.client_id, secret, client.redirect_uris[0], scope=SCOPE)["access_token"]
    created = post(
        issuer, token, {"documents": [{"name": "d.pdf", "pdf": base64.b64encode(two_pages()).decode()}]}
    ).json()
    approval_id = created["approval_uri"].rsplit("/", 1)[1]
    key = app.load_key(PIN)
    for _ in range(3):
        assert app._download("GET", _page_path(approval_id, 0, 1), key)[1] == "image/png"
    url = issuer + _page_path(approval_id, 0, 1)
    resp = requests.get(url, headers={"Authorization": "Device " + app._proof(key, "GET", url)})
    assert resp.status_code == 429, resp.content
    assert resp.json()["error"] == "rate_limited" and int(resp.headers["Retry-After"]) > 0
    other = bind_cli(issuer, make_resident(officer), tmp_path / "other")
    with pytest.raises(Exception) as refused:  # another device still reaches the checks (not the limit)
        other._download("GET", _page_path(approval_id, 0, 1), other.load_key(PIN))
    assert getattr(refused.value, "code", None) == "no_request"
