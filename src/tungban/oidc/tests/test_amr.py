"""``amr`` (RFC 8176) says only what happened (issue 13 item 9): a CLI app proves possession
of its software key and nothing else the platform can see (its PIN unlocks the key file on
the resident's computer), so its logins claim ``swk`` only; the web app's passkey with user
verification (PIN or biometric on the authenticator, WebAuthn UV flag checked) adds ``user``
and ``mfa``. The web app's case runs for real in ``wallet/tests/test_e2e_webapp.py``."""

import pytest

from tungban.oidc import services
from tungban.testing.factories import bind_cli, jwt_claims, login, make_client
from tungban.wallet.models import ApprovalRequest, Device

pytestmark = pytest.mark.django_db
RP = "https://rp-a.example/cb"


def test_cli_login_claims_the_software_key_only(issuer, resident, app_home):
    _, secret = make_client("svc-a", RP)
    app = bind_cli(issuer, resident, app_home)
    device = Device.objects.get(pk=app.meta["device_id"])
    assert device.verifies_user is False  # the binding recorded: no user verification
    tokens = login(issuer, app, "svc-a", secret, RP)
    claims = jwt_claims(tokens["id_token"])
    assert claims["amr"] == ["swk"]
    approval = ApprovalRequest.objects.get(kind="login")
    assert approval.user_verification == "none"


def test_amr_follows_what_the_approval_verified():
    assert services.amr_for(ApprovalRequest(user_verification="passkey")) == ["swk", "user", "mfa"]
    assert services.amr_for(ApprovalRequest(user_verification="none")) == ["swk"]
    # Approvals recorded before this fix said "pin" for the CLI: the platform never saw a PIN.
    assert services.amr_for(ApprovalRequest(user_verification="pin")) == ["swk"]
    assert services.amr_for(None) == []
