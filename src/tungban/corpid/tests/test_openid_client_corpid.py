"""Issue 19, acceptance 3: a stock OpenID Connect client library the platform does not use —
openid-client (npm, OpenID Certified; pinned in ``tungban/oidc/tests/independent/``, the same
lockfile as issue 13's FAPI test) — completes a corporate login (``openid corpid``, the
``claims`` parameter naming the service), validates the ID token against the JWKS and reads the
organisation's ``authority`` claim from it and from userinfo; once the mandate is revoked, its
next userinfo call is refused (401 ``invalid_token``). Node.js >= 20 and npm are required."""

from __future__ import annotations

import re

import pytest
import requests

from tungban.corpid import services
from tungban.oidc.tests.test_openid_client_fapi import INDEPENDENT, NodeRP
from tungban.testing import npm
from tungban.testing.factories import PIN, make_client

from .conftest import TAI_MAN_BRN, offer

pytestmark = [pytest.mark.live_http, pytest.mark.django_db(transaction=True)]
RP = "https://biz.example/cb"


@pytest.fixture(scope="session")
def corpid_script(request, tmp_path_factory):
    return npm.pinned_script(
        request,
        tmp_path_factory,
        INDEPENDENT,
        "corpid_login.mjs",
        name="openid-client",
        installed="openid-client",
        purpose="Issue 19 acceptance 3 (openid-client)",
    )


def test_openid_client_reads_the_organisation_claims(issuer, director, employee, app_of, corpid_script):
    services.bootstrap(director, TAI_MAN_BRN)
    mandate = offer(director, employee, services_=("biz",), actions=("view", "apply"))
    app = app_of(employee)
    app.accept(services.ask_holder(employee, mandate.public_id)["approval_id"])
    _, secret = make_client("biz", RP, allowed_scopes=["openid", "corpid"])
    rp = NodeRP(corpid_script)
    try:
        rp.send({"issuer": issuer, "client_id": "biz", "client_secret": secret, "redirect_uri": RP, "service": "biz"})
        url = rp.receive()["authorization_url"]
        browser = requests.Session()  # the resident's browser
        page = browser.get(url)
        assert page.status_code == 200, page.text[:500]
        rid = re.search(r"/app/approve/([0-9a-f-]{36})", page.text).group(1)
        app.app.decide(rid, PIN, "approve")  # the only company offered is chosen, and signed
        back = browser.get(f"{issuer}/oidc/authorize/{rid}/complete", allow_redirects=False)
        assert back.status_code == 302 and back.headers["Location"].startswith(RP)
        rp.send({"callback": back.headers["Location"]})
        out = rp.receive()
        services.revoke(director, TAI_MAN_BRN, mandate.public_id)
        rp.send({"again": True})
        after = rp.receive()
    finally:
        rp.close()
    authority = out["id_token_claims"]["authority"]
    assert authority["applies_to"]["registration_number"] == TAI_MAN_BRN
    assert (
        authority["applies_to"]["organization_sub"] and TAI_MAN_BRN not in authority["applies_to"]["organization_sub"]
    )
    assert authority["permission"][0]["role"] == "user"
    assert authority["permission"][0]["function"] == ["view", "apply"]
    assert authority["permission"][0]["audience"] == ["biz"]
    assert authority["mandate_id"] == str(mandate.public_id)
    assert out["userinfo"]["authority"] == authority and out["userinfo"]["sub"] == out["id_token_claims"]["sub"]
    assert after.get("refused", {}).get("status") == 401, after
    assert after["refused"]["error"] == "invalid_token"  # from the WWW-Authenticate challenge
