"""Issue 12, acceptance 3: a new domain registers an approval kind and a scope in its own
``AppConfig.ready()`` — no edit or migration of the wallet or the OpenID Provider — and a
login asking for its scope and an approval of its kind work end to end.

Over real HTTP, as the other protocol tests: the live server, the CLI app's client
(:class:`tungban.wallet.cli.WalletClient`) approving with its device key.
"""

from __future__ import annotations

import json

import pytest
import requests
from joserfc import jws

from tungban.identity.models import AuditEvent
from tungban.testing.factories import PIN, bind_cli, login, make_client, userinfo
from tungban.testing.sampledomain.apps import member_no
from tungban.testing.sampledomain.constants import MEMBER_NO_CLAIM, MEMBERSHIP_SCOPE, PLEDGE_KIND
from tungban.testing.sampledomain.services import ask_pledge, pledge_digest
from tungban.wallet.cli import AppError
from tungban.wallet.models import ApprovalRequest

pytestmark = pytest.mark.django_db(transaction=True)
RP = "https://sample.example/cb"
PLEDGE = "I will return the library's books by Friday."


@pytest.fixture
def app(issuer, resident, app_home):
    return bind_cli(issuer, resident, app_home)


def signed_decision(app, request_id: str, **members) -> dict:
    """Approve ``request_id`` with a payload the test writes itself: the protocol members from
    the request details plus ``members`` (e.g. a wrong bound value). Returns the API answer.

    :raises AppError: the server's refusal.
    """
    key = app.load_key(PIN)
    shown = app.show(request_id, PIN)
    payload = {
        "request_id": request_id,
        "requester": shown["requester"]["id"],
        "nonce": shown["nonce"],
        "decision": "approve",
        "claims": [],
        **members,
    }
    signature = jws.serialize_compact({"alg": "ES256", "kid": app.meta["device_id"]}, json.dumps(payload).encode(), key)
    return app._call("POST", f"/api/v1/wallet/requests/{request_id}/decision", {"signature": signature}, device_key=key)


def test_discovery_publishes_the_registered_scope_and_claim(issuer):
    meta = requests.get(f"{issuer}/.well-known/openid-configuration").json()
    assert MEMBERSHIP_SCOPE in meta["scopes_supported"]
    assert MEMBER_NO_CLAIM in meta["claims_supported"]
    # The platform's own still come from the registry too.
    assert {"openid", "profile", "signing", "cdeg", "credentials", "offline_access"} <= set(meta["scopes_supported"])


def test_login_with_the_registered_scope_releases_its_claim(issuer, app, resident):
    _client, secret = make_client("sample-svc", RP, allowed_scopes=["openid", "profile", MEMBERSHIP_SCOPE])
    tokens = login(issuer, app, "sample-svc", secret, RP, scope=f"openid {MEMBERSHIP_SCOPE}")

    approval = ApprovalRequest.objects.get(requester_id="sample-svc")
    assert approval.kind == "login" and approval.approved_claims == [MEMBER_NO_CLAIM]
    released = userinfo(issuer, tokens["access_token"])
    assert released.status_code == 200, released.text
    body = released.json()
    assert body[MEMBER_NO_CLAIM] == member_no(resident)
    assert "name" not in body  # profile was allowed but not asked for: nothing more is released


def test_the_app_shows_the_registered_claim_with_its_label_and_value(issuer, app, resident):
    from tungban.oidc import services as oidc

    client, _secret = make_client("sample-svc", RP, allowed_scopes=["openid", MEMBERSHIP_SCOPE])
    approval = oidc.open_authorization(client, f"openid {MEMBERSHIP_SCOPE}", None, "", "browser-secret")
    approval.resident = resident
    approval.save(update_fields=["resident"])

    shown = app.show(str(approval.id), PIN)
    assert shown["claims"] == [
        {
            "name": MEMBER_NO_CLAIM,
            "essential": False,
            "label": "Sample membership number",
            "value": member_no(resident),
        }
    ]


def test_an_approval_of_the_registered_kind_binds_its_value(issuer, app, resident):
    approval = ask_pledge(resident, PLEDGE)
    rid = str(approval.id)

    shown = app.show(rid, PIN)
    assert shown["kind"] == PLEDGE_KIND and shown["reason"] == PLEDGE
    assert shown["binds"] == {"pledge": pledge_digest(PLEDGE)}

    # A signature over another pledge, over the right one in another JSON shape, or one that
    # leaves the bound value out, is refused and changes nothing.
    wrong = ({"pledge": pledge_digest("I will keep the books.")}, {"pledge": [pledge_digest(PLEDGE)]}, {})
    for members in wrong:
        with pytest.raises(AppError) as refused:
            signed_decision(app, rid, **members)
        assert (refused.value.status, refused.value.code) == (403, "bad_signature")
    approval.refresh_from_db()
    assert approval.status == "pending"

    # The app client copies the bound values it is given and the decision goes through; the
    # domain's own receiver sees it.
    decided = app.decide(rid, PIN, "approve")
    assert decided["status"] == "approved"
    assert AuditEvent.objects.filter(resident=resident, action="sample_pledge_made", detail__approval=rid).exists()


def test_the_right_bound_value_signed_by_hand_is_accepted(issuer, app, resident):
    rid = str(ask_pledge(resident, PLEDGE).id)
    assert signed_decision(app, rid, pledge=pledge_digest(PLEDGE))["status"] == "approved"
