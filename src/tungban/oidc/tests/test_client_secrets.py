"""Client secrets are stored as SHA-256 digests; older PBKDF2 hashes still work and are
replaced on first use (:mod:`tungban.oidc.client_secrets`)."""

import pytest
import requests
from django.contrib.auth.hashers import make_password

from tungban.oidc import client_secrets
from tungban.oidc.models import Client
from tungban.testing.factories import make_client

pytestmark = pytest.mark.django_db


def _client_credentials(issuer, client_id, secret):
    return requests.post(f"{issuer}/oidc/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))


def test_new_secret_stored_as_digest_and_accepted(issuer):
    client, secret = make_client("svc-a")
    assert client.client_secret_hash == client_secrets.digest(secret) and secret not in client.client_secret_hash
    assert _client_credentials(issuer, "svc-a", secret).status_code == 200
    wrong = _client_credentials(issuer, "svc-a", secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


@pytest.mark.production_hasher
def test_pbkdf2_hash_from_before_is_accepted_and_upgraded(issuer):
    make_client("svc-old")
    Client.objects.filter(client_id="svc-old").update(client_secret_hash=make_password("old-secret-value"))
    assert _client_credentials(issuer, "svc-old", "wrong").status_code == 401
    assert Client.objects.get(client_id="svc-old").client_secret_hash.startswith("pbkdf2_")  # not upgraded on failure
    assert _client_credentials(issuer, "svc-old", "old-secret-value").status_code == 200
    assert Client.objects.get(client_id="svc-old").client_secret_hash == client_secrets.digest("old-secret-value")
    assert _client_credentials(issuer, "svc-old", "old-secret-value").status_code == 200


def test_empty_stored_value_never_matches():
    assert client_secrets.matches("", "") == (False, False)
    assert client_secrets.matches("x", "") == (False, False)
