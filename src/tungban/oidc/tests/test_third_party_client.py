"""Acceptance 3: an OIDC client library the platform does not use (pyoidc, ``oic``)
completes code + PKCE, validates the ID token against the JWKS and reads userinfo."""

from urllib.parse import urlsplit

import pytest
import requests
from oic import rndstr
from oic.oic import Client as OicClient
from oic.oic.message import AuthorizationResponse, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from tungban.testing.factories import PIN, bind_cli, make_client

# The OpenID Provider's real-HTTP smoke test: an independent client library over a live server.
pytestmark = [pytest.mark.live_http, pytest.mark.django_db(transaction=True)]


def _oic_login(issuer, app, client_id, secret, redirect_uri):
    rp = OicClient(client_authn_method=CLIENT_AUTHN_METHOD)
    rp.provider_config(issuer)
    rp.store_registration_info(
        RegistrationResponse(client_id=client_id, client_secret=secret, redirect_uris=[redirect_uri])
    )
    state, nonce = rndstr(), rndstr()
    args = {
        "client_id": client_id,
        "response_type": "code",
        "scope": ["openid", "profile", "hkid"],
        "nonce": nonce,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    pkce_args, verifier = rp.add_code_challenge()
    args.update(pkce_args)
    assert args["code_challenge_method"] == "S256"
    url = rp.construct_AuthorizationRequest(request_args=args).request(rp.authorization_endpoint)

    browser = requests.Session()  # the resident's browser
    page = browser.get(url)
    assert page.status_code == 200
    import re

    rid = re.search(r"/app/approve/([0-9a-f-]{36})", page.text).group(1)
    app.decide(rid, PIN, "approve")
    back = browser.get(f"{issuer}/oidc/authorize/{rid}/complete", allow_redirects=False)
    aresp = rp.parse_response(
        AuthorizationResponse, info=urlsplit(back.headers["Location"]).query, sformat="urlencoded"
    )
    assert aresp["state"] == state

    tokens = rp.do_access_token_request(
        state=state,
        request_args={"code": aresp["code"], "redirect_uri": redirect_uri, "code_verifier": verifier},
        authn_method="client_secret_basic",
    )
    id_token = tokens["id_token"]  # pyoidc verified its ES256 signature with the JWKS
    assert id_token["nonce"] == nonce and id_token["iss"] == issuer and client_id in id_token["aud"]
    info = rp.do_user_info_request(state=state, method="GET")  # bearer in the Authorization header
    assert info["sub"] == id_token["sub"]
    return id_token, info


def test_pyoidc_client_completes_flow_and_subs_are_pairwise(issuer, resident, app_home):
    app = bind_cli(issuer, resident, app_home)
    _, secret_a = make_client("lib-a", "https://a.example/cb")
    _, secret_b = make_client("lib-b", "https://b.example/cb")
    id_a, info_a = _oic_login(issuer, app, "lib-a", secret_a, "https://a.example/cb")
    id_b, info_b = _oic_login(issuer, app, "lib-b", secret_b, "https://b.example/cb")
    assert info_a["hkid"] == resident.hkid_display and info_a["name"] == "Tai Man CHAN"
    assert id_a["sub"] != id_b["sub"]
    assert id_a["acr"] == "urn:tungban:acr:plus"
