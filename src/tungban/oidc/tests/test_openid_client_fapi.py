"""Issue 13, acceptance 2: openid-client (npm ``openid-client``, the OpenID Certified
relying-party library, which the platform does not use; pinned in ``independent/``) logs in
to the demo bank's FAPI 2.0 client — registered by the demo's own
:func:`tungban.setup.demo.register_fapi_bank`, key read from the file it writes — with PAR,
``private_key_jwt``, DPoP and a signed request object; checks ``iss`` in the authorization
response, reads userinfo with the DPoP-bound access token and refreshes it. The same access
token without its DPoP proof is refused.

The pinned packages are installed with ``npm ci --ignore-scripts`` into pytest's cache
directory (a temporary directory with ``-p no:cacheprovider``), reused while package.json,
the lockfile and Node's version are unchanged; node_modules is never committed. Node.js >= 20
and npm are required: without them the test fails, it does not skip.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from pathlib import Path

import pytest
import requests

from tungban.setup import demo
from tungban.testing import npm
from tungban.testing.factories import PIN, bind_cli

pytestmark = [pytest.mark.live_http, pytest.mark.django_db(transaction=True)]

INDEPENDENT = Path(__file__).with_name("independent")
SCRIPT = "fapi_login.mjs"
NODE_TIMEOUT = 90
#: Seconds the whole login may take before the child is killed (a loaded 2-core machine included).
LOGIN_DEADLINE = 300


@pytest.fixture(scope="session")
def openid_client_script(request, tmp_path_factory) -> Path:
    """The path of ``fapi_login.mjs`` in a directory where the pinned openid-client is installed."""
    return npm.pinned_script(
        request,
        tmp_path_factory,
        INDEPENDENT,
        SCRIPT,
        name="openid-client",
        installed="openid-client",
        purpose="Acceptance 2 (openid-client)",
    )


class NodeRP:
    """The openid-client relying party as a child process, one JSON line each way."""

    def __init__(self, script: Path):
        self.proc = subprocess.Popen(
            ["node", str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.watchdog = threading.Timer(LOGIN_DEADLINE, self.proc.kill)  # a hung child never hangs the suite
        self.watchdog.start()

    def send(self, obj: dict) -> None:
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()

    def receive(self) -> dict:
        line = self.proc.stdout.readline()  # the node side answers or exits; bounded by its own timeouts
        if not line:
            self.proc.wait(timeout=NODE_TIMEOUT)
            pytest.fail(f"openid-client exited: {self.proc.stderr.read()[-4000:]}")
        out = json.loads(line)
        assert "error" not in out, out
        return out

    def close(self):
        self.watchdog.cancel()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=NODE_TIMEOUT)


def test_openid_client_fapi_login(issuer, resident, app_home, tmp_path, openid_client_script):
    bank = demo.register_fapi_bank(tmp_path)
    assert json.loads((tmp_path / "demo-bank-fapi.json").read_text())["private_jwk"]["d"]
    app = bind_cli(issuer, resident, app_home)
    rp = NodeRP(openid_client_script)
    try:
        rp.send(
            {
                "issuer": issuer,
                "client_id": bank["client_id"],
                "redirect_uri": bank["redirect_uri"],
                "scope": "openid profile offline_access",
                "private_jwk": bank["private_jwk"],
            }
        )
        started = rp.receive()
        assert started["pushed_request"] is True  # the signed request object went to PAR
        url = started["authorization_url"]
        assert url.startswith(f"{issuer}/oidc/authorize?") and "request_uri=urn" in url
        browser = requests.Session()  # the resident's browser
        page = browser.get(url)
        assert page.status_code == 200, page.text[:500]
        rid = re.search(r"/app/approve/([0-9a-f-]{36})", page.text).group(1)
        app.decide(rid, PIN, "approve")
        back = browser.get(f"{issuer}/oidc/authorize/{rid}/complete", allow_redirects=False)
        assert back.status_code == 302 and back.headers["Location"].startswith(bank["redirect_uri"])
        rp.send({"callback": back.headers["Location"]})
        out = rp.receive()
    finally:
        rp.close()
    assert out["iss"] == issuer  # RFC 9207, also checked by openid-client itself
    assert out["token_type"].lower() == "dpop" and out["refreshed"]["token_type"].lower() == "dpop"
    assert out["userinfo"]["sub"] == out["sub"] and out["userinfo"]["name"] == "Tai Man CHAN"
    assert out["userinfo_after_refresh"]["sub"] == out["sub"]
    token = out["refreshed"]["access_token"]
    userinfo = f"{issuer}/oidc/userinfo"
    as_bearer = requests.get(userinfo, headers={"Authorization": f"Bearer {token}"})
    assert as_bearer.status_code == 401
    without_proof = requests.get(userinfo, headers={"Authorization": f"DPoP {token}"})
    assert (
        without_proof.status_code == 401 and 'error="invalid_dpop_proof"' in without_proof.headers["WWW-Authenticate"]
    )
