"""Fixtures for the signing tests: a plus-tier resident with the CLI app bound, and a
service allowed to sign."""

import pytest
import requests

from tungban.testing.factories import bind_cli, make_client, make_resident

SIGNING_SCOPES = ["openid", "profile", "signing"]


@pytest.fixture
def signer_app(issuer, officer, tmp_path):
    resident = make_resident(officer)
    return resident, bind_cli(issuer, resident, tmp_path / "app")


@pytest.fixture
def signing_client(db):
    client, secret = make_client("signer-svc", "https://sign.example/cb", allowed_scopes=SIGNING_SCOPES)
    return client, secret


def client_token(base_url: str, client_id: str, secret: str, scope: str = "signing") -> str:
    resp = requests.post(
        f"{base_url}/oidc/token", data={"grant_type": "client_credentials", "scope": scope}, auth=(client_id, secret)
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]
