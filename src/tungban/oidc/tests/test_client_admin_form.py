"""Issue 16 (staff16) item 4: administrators register a service's redirect URIs one per line
(each checked) and choose its scopes as checkboxes from the scope registry (``oidc/scopes.py``),
instead of typing JSON."""

from __future__ import annotations

import re

import pytest

from tungban.oidc import scopes
from tungban.oidc.models import Client
from tungban.testing.factories import login_staff, make_client, staff_user


@pytest.fixture
def admin_client(client, db):
    login_staff(client, staff_user("admin"))
    client.cookies["tungban_language"] = "en"
    return client


def _form(**over):
    data = {
        "client_id": "svc-form",
        "name_en": "Form service",
        "name_zh": "表格服務",
        "logo_url": "",
        "redirect_uris": "https://svc.example/cb\r\nhttps://svc.example/cb2",
        "post_logout_redirect_uris": "https://svc.example/bye",
        "allowed_scopes": ["openid", "profile"],
        "token_endpoint_auth_method": "none",
        "jwks": "{}",
        "sector_identifier": "",
        "signing_callback_uri": "",
        "signing_max_auth_age": "",
        "is_active": "on",
    }
    data.update(over)
    return data


def test_the_add_page_has_a_textarea_and_scope_checkboxes(admin_client):
    html = admin_client.get("/admin/oidc/client/add/").content.decode()
    assert re.search(r'<textarea[^>]*name="redirect_uris"', html)
    assert re.search(r'<textarea[^>]*name="post_logout_redirect_uris"', html)
    boxes = set(re.findall(r'<input type="checkbox" name="allowed_scopes" value="([^"]+)"', html))
    assert boxes == set(scopes.supported())
    assert "One per line" in html


def test_uris_one_per_line_and_checked_scopes_are_saved_as_lists(admin_client):
    resp = admin_client.post("/admin/oidc/client/add/", _form())
    assert resp.status_code == 302, resp.content.decode()[:3000]
    client = Client.objects.get(client_id="svc-form")
    assert client.redirect_uris == ["https://svc.example/cb", "https://svc.example/cb2"]
    assert client.post_logout_redirect_uris == ["https://svc.example/bye"]
    assert client.allowed_scopes == ["openid", "profile"]


def test_a_bad_uri_is_named_on_its_field(admin_client):
    resp = admin_client.post("/admin/oidc/client/add/", _form(redirect_uris="https://ok.example/cb\nnot a url"))
    html = resp.content.decode()
    assert resp.status_code == 200 and not Client.objects.filter(client_id="svc-form").exists()
    assert "not a url" in html and re.search(r'id="id_redirect_uris_error"', html)


def test_the_change_page_shows_the_uris_one_per_line(admin_client):
    client, _secret = make_client("svc-edit", "https://edit.example/cb")
    html = admin_client.get(f"/admin/oidc/client/{client.pk}/change/").content.decode()
    area = re.search(r'<textarea[^>]*name="redirect_uris"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    assert area.strip() == "https://edit.example/cb"
    assert re.search(r'value="openid"[^>]*checked', html)


def test_the_form_labels_are_in_chinese(admin_client):
    admin_client.cookies["tungban_language"] = "zh-hant"
    html = admin_client.get("/admin/oidc/client/add/").content.decode()
    for english in ("Client id", "Token endpoint auth method", "Is active"):
        assert english not in html, english
    assert "每行一個" in html
