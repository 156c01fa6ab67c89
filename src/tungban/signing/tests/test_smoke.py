import base64
import hashlib

import requests

from tungban.testing.factories import PIN, login

from .conftest import client_token


def test_anonymous_hash_signing(signer_app, signing_client, issuer):
    resident, app = signer_app
    client, secret = signing_client
    token = client_token(issuer, client.client_id, secret)
    digest = hashlib.sha256(b"hello").hexdigest()
    r = requests.post(f"{issuer}/api/v1/signing/requests", json={"documents": [{"name": "a.txt", "sha256": digest}]}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "pending"
    app.decide(body["approval_uri"], PIN, "approve")
    r = requests.get(f"{issuer}/api/v1/signing/requests/{body['id']}", headers={"Authorization": f"Bearer {token}"})
    assert r.json()["status"] == "signed", r.text
    assert base64.b64decode(r.json()["documents"][0]["signature"])[:1] == b"\x30"
