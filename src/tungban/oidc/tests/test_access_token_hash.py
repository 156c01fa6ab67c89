"""Issue 13 item 10 (access tokens): access tokens are stored as their SHA-256, like refresh
tokens, and looked up by it; a data migration hashes the ones stored before."""

import hashlib
import importlib
import pkgutil
import time

import pytest
import requests
from django.apps import apps

from tungban.oidc.models import ClientToken, Token
from tungban.testing.factories import bind_cli, login, make_client, userinfo

pytestmark = pytest.mark.django_db
RP = "https://rp-a.example/cb"


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_access_tokens_are_stored_only_as_hashes(issuer, resident, app_home):
    _, secret = make_client("svc-a", RP)
    app = bind_cli(issuer, resident, app_home)
    tokens = login(issuer, app, "svc-a", secret, RP)
    access = tokens["access_token"]
    assert not Token.objects.filter(access_token=access).exists()  # never in clear
    row = Token.objects.get(access_token=_sha256(access))
    assert access not in str(list(Token.objects.values_list()))
    assert userinfo(issuer, access).status_code == 200  # looked up by its hash
    assert userinfo(issuer, row.access_token).status_code == 401  # the stored value is no token
    revoked = requests.post(f"{issuer}/oidc/revoke", data={"token": access}, auth=("svc-a", secret))
    assert revoked.status_code == 200 and userinfo(issuer, access).status_code == 401
    assert Token.objects.get(pk=row.pk).revoked_at is not None


def test_client_credentials_tokens_are_hashed_too(issuer):
    _, secret = make_client("svc-a", RP, allowed_scopes=["openid", "signing"])
    resp = requests.post(
        f"{issuer}/oidc/token", data={"grant_type": "client_credentials", "scope": "signing"}, auth=("svc-a", secret)
    )
    access = resp.json()["access_token"]
    # A client's own token is a row of the lean table (issue 15, fourth round).
    assert ClientToken.objects.filter(access_token=_sha256(access)).exists()
    assert not ClientToken.objects.filter(access_token=access).exists()
    status = requests.get(f"{issuer}/api/v1/signing/requests/nope", headers={"Authorization": f"Bearer {access}"})
    assert status.status_code == 404  # authenticated (by hash), then no such request


def test_migration_hashes_tokens_stored_in_clear(db):
    client, _ = make_client("svc-a", RP)
    now = int(time.time())
    clear = ["clear-token-1", "clear-token-2"]
    for value in clear:
        Token.objects.create(access_token=value, client=client, scope="openid", issued_at=now, expires_in=600)

    import tungban.oidc.migrations as package

    [name] = [m.name for m in pkgutil.iter_modules(package.__path__) if m.name.endswith("_hash_access_tokens")]
    importlib.import_module(f"tungban.oidc.migrations.{name}").hash_access_tokens(apps, None)

    stored = set(Token.objects.values_list("access_token", flat=True))
    assert stored == {_sha256(v) for v in clear}
