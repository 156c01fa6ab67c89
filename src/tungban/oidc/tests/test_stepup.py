"""The authentication a service requires, per service, and step-up for any API (issue 16
item 3; anchor study §2.6 and §4(f) F2/F3):

* a client's registration states the level it requires (``required_acr``, one of
  ``acr_values_supported``), settable by the administrator and in :func:`register_client`;
* the authorization endpoint enforces it (a request's ``acr_values`` may ask for more, never
  less) and the ID token's ``acr`` is a value the login satisfied;
* any API protected by the platform's access tokens answers RFC 9470 step-up: 401 with
  ``WWW-Authenticate: Bearer error="insufficient_user_authentication", acr_values="…"``
  (and/or ``max_age``) when the token's login is too weak, and a new login with those
  ``acr_values`` gets a token that passes;
* ``amr`` (RFC 8176) of a CLI login says what the platform saw: the device key (``swk``).
"""

import json
import time

import pytest
import requests
from django.test import RequestFactory

from tungban.core.errors import DomainError
from tungban.identity.models import Resident
from tungban.oidc import services, stepup
from tungban.oidc.constants import ACR_BASIC, ACR_MFA, ACR_PLUS, ACR_PLUS_MFA
from tungban.oidc.models import AuthorizationCode, Client, LoginSession, Token
from tungban.oidc.resource import ScopedBearer
from tungban.testing.factories import (
    PIN,
    authorize_params,
    bind_cli,
    complete_authorization,
    jwt_claims,
    login,
    make_client,
    pkce,
    start_authorization_with_code,
)
from tungban.wallet.models import ApprovalRequest

pytestmark = pytest.mark.django_db
RP = "https://rp-a.example/cb"
SIGNING_SCOPES = ["openid", "profile", "signing"]


def _attempt(issuer, app, client_id="svc-a", **extra):
    browser = requests.Session()
    _, challenge = pkce()
    rid, code = start_authorization_with_code(browser, issuer, authorize_params(client_id, RP, challenge, **extra))
    app.decide(rid, PIN, "approve", code=code)
    return complete_authorization(browser, issuer, rid)


@pytest.fixture
def basic_app(issuer, resident, tmp_path):
    Resident.objects.filter(pk=resident.pk).update(tier="basic")
    return bind_cli(issuer, resident, tmp_path / "app")


# --- Per-service required authentication -----------------------------------------------------------


def test_the_required_acr_is_part_of_the_clients_registration(db):
    client, _ = make_client("svc-a", RP, required_acr=ACR_PLUS)
    assert Client.objects.get(pk=client.pk).required_acr == ACR_PLUS
    with pytest.raises(DomainError) as err:
        make_client("svc-b", "https://rp-b.example/cb", required_acr="urn:other:loa:2")
    assert err.value.code == "invalid_client_metadata" and err.value.field == "required_acr"


def test_discovery_lists_every_level(issuer):
    meta = requests.get(f"{issuer}/.well-known/openid-configuration").json()
    assert meta["acr_values_supported"] == [ACR_BASIC, ACR_PLUS, ACR_MFA, ACR_PLUS_MFA]


def test_the_authorization_endpoint_enforces_the_clients_required_acr(issuer, basic_app):
    make_client("svc-a", RP, required_acr=ACR_PLUS)
    refused = _attempt(issuer, basic_app)  # no acr_values: the registration still applies
    assert refused.status_code == 200 and "error=access_denied" in refused.text
    # A request cannot ask for less than the service's registration.
    lowered = _attempt(issuer, basic_app, acr_values=ACR_BASIC)
    assert lowered.status_code == 200 and "error=access_denied" in lowered.text
    assert not AuthorizationCode.objects.exists()


def test_a_service_requiring_two_factors_refuses_a_login_with_the_device_key_only(issuer, resident, app_home):
    make_client("svc-a", RP, required_acr=ACR_MFA)
    app = bind_cli(issuer, resident, app_home)  # the CLI app: device key only
    refused = _attempt(issuer, app)
    assert refused.status_code == 200 and "error=access_denied" in refused.text


def test_the_id_tokens_acr_is_a_value_the_login_satisfied(issuer, resident, app_home):
    _, secret = make_client("svc-a", RP, required_acr=ACR_BASIC)
    app = bind_cli(issuer, resident, app_home)
    claims = jwt_claims(login(issuer, app, "svc-a", secret, RP)["id_token"])
    assert claims["acr"] == ACR_PLUS and claims["amr"] == ["swk"]  # no request: the account's level
    asked = jwt_claims(login(issuer, app, "svc-a", secret, RP, acr_values=f"{ACR_PLUS_MFA} {ACR_BASIC}")["id_token"])
    assert asked["acr"] == ACR_BASIC  # the first requested level this login satisfied
    # A web-app approval (passkey with user verification) satisfies the two-factor levels.
    web = ApprovalRequest(resident=resident, user_verification="passkey", context={"acr": [ACR_PLUS_MFA]})
    assert services.acr_for_login(web) == ACR_PLUS_MFA
    assert services.acr_for_login(ApprovalRequest(resident=resident, user_verification="none", context={})) == ACR_PLUS


def test_the_cli_apps_amr_reports_the_device_key_only(issuer, resident, app_home):
    """Issue 16 item 3: the CLI app signs with its device key; its PIN unseals the key file on
    the resident's computer and never reaches the platform, so neither ``pin``, ``user`` nor
    ``mfa`` (RFC 8176 §2) is claimed — also after a refresh."""
    _, secret = make_client("svc-a", RP, allowed_scopes=["openid", "profile", "offline_access"])
    Client.objects.filter(client_id="svc-a").update(token_endpoint_auth_method="client_secret_basic")
    app = bind_cli(issuer, resident, app_home)
    tokens = login(issuer, app, "svc-a", secret, RP)
    assert jwt_claims(tokens["id_token"])["amr"] == ["swk"]
    assert ApprovalRequest.objects.get(kind="login").user_verification == "none"


# --- Step-up (RFC 9470) for any API ------------------------------------------------------------------


def _bearer_request(token: str):
    return RequestFactory().get("/api/v1/anything", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_any_api_answers_step_up_and_a_new_login_with_acr_values_passes(issuer, resident, basic_app):
    _, secret = make_client("svc-a", RP)
    weak = login(issuer, basic_app, "svc-a", secret, RP)["access_token"]
    # An API of the platform that needs a tungban+ account (any ninja API guarded by ScopedBearer).
    guard = ScopedBearer("openid", acr_values=[ACR_PLUS])
    with pytest.raises(DomainError) as err:
        guard(_bearer_request(weak))
    assert err.value.code == "insufficient_user_authentication" and err.value.status == 401
    challenge = err.value.details["www_authenticate"]
    assert challenge.startswith("Bearer ") and 'error="insufficient_user_authentication"' in challenge
    assert f'acr_values="{ACR_PLUS}"' in challenge
    assert err.value.details["acr_values"] == [ACR_PLUS]
    # The resident upgrades at a counter; the service logs them in again with acr_values.
    Resident.objects.filter(pk=resident.pk).update(tier="plus")
    strong = login(issuer, basic_app, "svc-a", secret, RP, acr_values=ACR_PLUS)["access_token"]
    assert guard(_bearer_request(strong)).client.client_id == "svc-a"


def test_max_age_step_up_for_any_api(issuer, resident, app_home):
    _, secret = make_client("svc-a", RP)
    app = bind_cli(issuer, resident, app_home)
    token = login(issuer, app, "svc-a", secret, RP)["access_token"]
    guard = ScopedBearer("openid", max_age=600)
    assert guard(_bearer_request(token))
    LoginSession.objects.update(auth_time=int(time.time()) - 601)
    with pytest.raises(DomainError) as err:
        guard(_bearer_request(token))
    assert err.value.details["max_age"] == 600
    assert "max_age=600" in err.value.details["www_authenticate"]


def test_a_service_whose_required_acr_was_raised_gets_step_up_on_its_old_tokens(issuer, resident, basic_app):
    """The administrator raised the service's level after the login: the token's login is
    now too weak for every API the service calls, e.g. signing (RFC 9470 §3)."""
    client, secret = make_client("svc-a", RP, allowed_scopes=SIGNING_SCOPES)
    token = login(issuer, basic_app, "svc-a", secret, RP, scope="openid profile signing")["access_token"]
    Client.objects.filter(pk=client.pk).update(required_acr=ACR_PLUS)
    answer = requests.post(
        f"{issuer}/api/v1/signing/requests",
        json={"documents": [{"name": "a.txt", "sha256": "ab" * 32}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "insufficient_user_authentication"
    assert f'acr_values="{ACR_PLUS}"' in answer.headers["WWW-Authenticate"]


def test_the_helper_is_the_one_signing_uses(issuer, resident, app_home):
    """Signing's maximum login age goes through :func:`stepup.require` (one helper)."""
    client, secret = make_client("svc-a", RP, allowed_scopes=SIGNING_SCOPES, signing_max_auth_age=300)
    app = bind_cli(issuer, resident, app_home)
    access = login(issuer, app, "svc-a", secret, RP, scope="openid profile signing")["access_token"]
    LoginSession.objects.update(auth_time=int(time.time()) - 301)
    token = Token.objects.select_related("client", "session", "authorization_code").get()
    with pytest.raises(DomainError) as err:
        stepup.require(token, max_age=300)
    assert err.value.code == "insufficient_user_authentication"
    answer = requests.post(
        f"{issuer}/api/v1/signing/requests",
        json={"documents": [{"name": "a.txt", "sha256": "ab" * 32}]},
        headers={"Authorization": f"Bearer {access}"},
    )
    assert answer.status_code == 401 and "max_age=300" in answer.headers["WWW-Authenticate"]
    assert json.loads(answer.text)["details"]["max_age"] == 300


def test_the_administrator_sets_the_required_level_in_the_admin(client):
    """The Django admin's client form offers the levels as a choice (no typing of URNs)."""
    from tungban.testing.factories import login_staff, staff_user

    admin = login_staff(client, staff_user("admin"))
    form = {
        "client_id": "lib",
        "name_en": "Harbour Library",
        "name_zh": "海港圖書館",
        "logo_url": "",
        "redirect_uris": RP,  # one per line (the admin's client form)
        "post_logout_redirect_uris": "",
        "allowed_scopes": ["openid", "profile"],  # checkboxes
        "token_endpoint_auth_method": "none",
        "jwks": json.dumps({}),
        "sector_identifier": "",
        "signing_callback_uri": "",
        "signing_max_auth_age": "",
        "required_acr": ACR_PLUS_MFA,
        "is_active": "on",
    }
    page = admin.get("/admin/oidc/client/add/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="required_acr"' in page and f'value="{ACR_PLUS_MFA}"' in page
    response = admin.post("/admin/oidc/client/add/", form, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert Client.objects.get(client_id="lib").required_acr == ACR_PLUS_MFA
