"""Issue 13 item 14: suspending an account ends its grants, so tokens issued before the
suspension stay dead after reinstatement."""

import pytest
import requests

from tungban.counter import services
from tungban.identity import services as identity
from tungban.oidc.constants import OFFLINE_ACCESS_SCOPE
from tungban.oidc.models import AuthorizationCode, LoginSession
from tungban.testing.factories import DEFAULT_SCOPE, bind_cli, login, make_client, userinfo

pytestmark = pytest.mark.django_db
RP = "https://rp-a.example/cb"


def test_token_works_then_suspend_reinstate_and_it_is_refused(issuer, resident, officer, app_home):
    _, secret = make_client("svc-a", RP, allowed_scopes=["openid", "profile", OFFLINE_ACCESS_SCOPE])
    app = bind_cli(issuer, resident, app_home)
    tokens = login(issuer, app, "svc-a", secret, RP, scope=f"{DEFAULT_SCOPE} {OFFLINE_ACCESS_SCOPE}")
    assert userinfo(issuer, tokens["access_token"]).status_code == 200

    services.suspend_account(resident, actor=officer, reason="card reported stolen")
    identity.set_status(resident, "active", reason="owner came to the counter", actor=officer)

    assert userinfo(issuer, tokens["access_token"]).status_code == 401
    refreshed = requests.post(
        f"{issuer}/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=("svc-a", secret),
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert not AuthorizationCode.objects.filter(resident=resident, used_at__isnull=True).exists()
    assert not LoginSession.objects.filter(resident=resident, ended_at__isnull=True).exists()
