"""Issue 13 item 22: the demo registers the demo bank as a FAPI 2.0 client and writes its
private key under var/ (never committed), beside the demo's other credentials."""

import json
import stat

import pytest
from joserfc.jwk import ECKey

from tungban.oidc.models import Client
from tungban.setup import demo

pytestmark = pytest.mark.django_db


def test_demo_registers_fapi_bank_with_key_in_var(tmp_path):
    demo.seed(var_dir=tmp_path)
    client = Client.objects.get(client_id="demo-bank")
    assert client.fapi and client.token_endpoint_auth_method == "private_key_jwt" and not client.client_secret_hash
    assert "offline_access" in client.allowed_scopes
    written = json.loads((tmp_path / "demo-bank-fapi.json").read_text())
    private = ECKey.import_key(written["private_jwk"])
    from_pem = ECKey.import_key((tmp_path / "demo-bank-fapi-key.pem").read_text())
    assert private.thumbprint() == from_pem.thumbprint() == ECKey.import_key(client.jwks["keys"][0]).thumbprint()
    assert "d" not in client.jwks["keys"][0]
    for name in ("demo-bank-fapi.json", "demo-bank-fapi-key.pem"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
