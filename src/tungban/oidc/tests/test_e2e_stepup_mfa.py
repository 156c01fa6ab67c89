"""Step-up to two factors end to end (issue 16 item 3; RFC 9470): a token from a login
approved with the device key only (the CLI app) is refused by an API that needs
``urn:tungban:acr:plus:mfa`` with ``WWW-Authenticate: Bearer
error="insufficient_user_authentication", acr_values="…"``; the service's new authorization
request with those ``acr_values``, approved in the web app with its passkey (a CDP virtual
authenticator with user verification in headless Chromium), gets an ID token whose ``acr``
is that level and an access token that passes."""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.test import RequestFactory

from tungban.core.errors import DomainError
from tungban.oidc import services as oidc
from tungban.oidc.constants import ACR_PLUS_MFA
from tungban.oidc.resource import ScopedBearer
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, approval_url, bind_web_app, decide_in_app
from tungban.testing.factories import bind_cli, jwt_claims, login, make_resident, pkce
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def _bearer(token: str):
    return RequestFactory().get("/api/v1/anything", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_step_up_to_two_factors_with_the_web_apps_passkey(issuer, officer, e2e_browser, tmp_path):
    redirect_uri = f"{issuer}/callback"
    client, secret = oidc.register_client(
        client_id="e2e-stepup", name_en="Harbour Library", name_zh="海港圖書館", redirect_uris=[redirect_uri]
    )
    guard = ScopedBearer("openid", acr_values=[ACR_PLUS_MFA])  # an API that needs two factors

    # A login approved in the CLI app (device key only) is too weak for it.
    cli_resident = make_resident(officer)
    cli = bind_cli(issuer, cli_resident, tmp_path / "cli")
    weak = login(issuer, cli, client.client_id, secret, redirect_uri)["access_token"]
    with pytest.raises(DomainError) as err:
        guard(_bearer(weak))
    assert err.value.code == "insufficient_user_authentication"
    assert f'acr_values="{ACR_PLUS_MFA}"' in err.value.details["www_authenticate"]

    # The service asks again with acr_values; the resident approves in the web app (passkey).
    resident = make_resident(officer)
    context = e2e_browser.new_context(locale="en-GB", viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    try:
        phone = context.new_page()
        add_virtual_authenticator(context, phone)
        bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))
        verifier, challenge = pkce()
        params = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid profile",
            "state": "st-" + os.urandom(6).hex(),
            "nonce": "n-" + os.urandom(6).hex(),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "acr_values": ACR_PLUS_MFA,
        }
        desktop = context.new_page()
        desktop.set_viewport_size({"width": 1280, "height": 900})
        desktop.goto(f"{issuer}/oidc/authorize?{urlencode(params)}")
        desktop.wait_for_selector("#open-app")
        assert "Approved" in decide_in_app(phone, approval_url(desktop))
        desktop.wait_for_url(re.compile(r"/callback\?.*code="), timeout=TIMEOUT)
        code = parse_qs(urlsplit(desktop.url).query)["code"][0]
    finally:
        context.close()
    token = requests.post(
        f"{issuer}/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        auth=(client.client_id, secret),
        timeout=30,
    )
    assert token.status_code == 200, token.text
    claims = jwt_claims(token.json()["id_token"])
    assert claims["acr"] == ACR_PLUS_MFA and claims["amr"] == ["swk", "user", "mfa"]
    assert guard(_bearer(token.json()["access_token"])).resident_id == resident.pk
