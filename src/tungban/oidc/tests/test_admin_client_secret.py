"""Issue 13 item 20: an administrator who creates a confidential client in the Django admin
sees its secret once, right after saving; only its digest is stored
(:mod:`tungban.oidc.client_secrets`)."""

import json
import re

import pytest
import requests
from django.contrib.messages import get_messages

from tungban.oidc import client_secrets
from tungban.oidc.models import Client
from tungban.testing.factories import login_staff, staff_user

pytestmark = pytest.mark.django_db
ADD_URL = "/admin/oidc/client/add/"


@pytest.fixture
def admin_client(client):
    return login_staff(client, staff_user("admin"))  # the admin asks for a second factor


def _form(client_id, method="client_secret_basic", **extra):
    return {
        "client_id": client_id,
        "name_en": "Demo bank",
        "name_zh": "示範銀行",
        "logo_url": "",
        "redirect_uris": "https://bank.example/cb",  # one per line (issue 16, staff16 item 4)
        "post_logout_redirect_uris": "",
        "allowed_scopes": ["openid", "profile"],  # checkboxes
        "token_endpoint_auth_method": method,
        "jwks": json.dumps({}),
        "sector_identifier": "",
        "signing_callback_uri": "",
        "signing_max_auth_age": "",
        "is_active": "on",
        **extra,
    }


def _secret_shown(response, client_id) -> str | None:
    """The secret in the admin's message about ``client_id`` (43 URL-safe characters), if any."""
    for message in get_messages(response.wsgi_request):
        found = re.search(r"[A-Za-z0-9_-]{43}$", str(message))
        if client_id in str(message) and found:
            return found.group(0)
    return None


def test_creating_a_confidential_client_shows_its_secret_once(admin_client, issuer):
    response = admin_client.post(ADD_URL, _form("bank"), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    client = Client.objects.get(client_id="bank")
    secret = _secret_shown(response, "bank")
    assert secret and len(secret) >= 43 and secret in page
    assert client.client_secret_hash == client_secrets.digest(secret) and secret not in client.client_secret_hash
    token = requests.post(f"{issuer}/oidc/token", data={"grant_type": "client_credentials"}, auth=("bank", secret))
    assert token.status_code == 200, token.text
    # shown once: not on the next page, nor when the client is edited and saved again
    assert secret not in admin_client.get("/admin/oidc/client/").content.decode()
    edited = admin_client.post(
        f"/admin/oidc/client/{client.pk}/change/", _form("bank", name_en="Demo bank 2"), follow=True
    )
    assert secret not in edited.content.decode() and _secret_shown(edited, "bank") is None
    assert Client.objects.get(pk=client.pk).client_secret_hash == client.client_secret_hash


def test_a_public_client_gets_no_secret(admin_client):
    response = admin_client.post(ADD_URL, _form("spa", method="none"), follow=True)
    assert response.status_code == 200 and _secret_shown(response, "spa") is None
    assert Client.objects.get(client_id="spa").client_secret_hash == ""


def test_a_public_client_made_confidential_gets_a_secret_then(admin_client):
    admin_client.post(ADD_URL, _form("spa", method="none"))
    client = Client.objects.get(client_id="spa")
    response = admin_client.post(
        f"/admin/oidc/client/{client.pk}/change/", _form("spa", method="client_secret_post"), follow=True
    )
    secret = _secret_shown(response, "spa")
    assert secret and Client.objects.get(pk=client.pk).client_secret_hash == client_secrets.digest(secret)


def test_the_message_is_translated(admin_client):
    response = admin_client.post(ADD_URL, _form("bank"), follow=True, HTTP_ACCEPT_LANGUAGE="zh-HK")
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("bank" in t and "密鑰" in t for t in texts), texts
    assert _secret_shown(response, "bank")
