"""Fault injection (issue 14 acceptance 1): for each operation, a worker of the platform
(the web server's, or ``tungban worker``'s) is killed with SIGKILL at a named point
(:mod:`tungban.core.killpoints`); after the master respawned it, the operation is either
complete or absent, the counts and both logs are consistent, no key in the HSM lacks a row,
and a retry (with the same ``Idempotency-Key``, or the same refresh token) returns the first
result without a duplicate.

The platform runs as in production (:mod:`tungban.testing.faults`): the web server of
``tungban serve`` (``tungban.core.serving``) with several worker processes of several threads
on a PostgreSQL database of its own, ``tungban worker``, the demo provider, a SoftHSM2 token. PostgreSQL only (``DATABASE_URL=postgres://…``): skipped on SQLite. About
four minutes on a busy two-core machine; CI runs it after the PostgreSQL suite (``.ci/run``).
"""

from __future__ import annotations

import uuid

import pytest
import requests

from tungban.testing.faults import POINTS, HarnessError, postgres_server_url, running_platform, wait_for

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(postgres_server_url() is None, reason="fault injection needs PostgreSQL (DATABASE_URL)"),
]

PIN = "246810"
PRODUCT = "wsd.registered-address.v1"
CARD = "senior-citizen-card"


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    try:
        with running_platform(postgres_server_url(), tmp_path_factory.mktemp("faults")) as running:
            yield running
    except HarnessError as exc:  # pragma: no cover - shown as the failure
        pytest.fail(str(exc))


@pytest.fixture(autouse=True)
def _recovered(platform):
    """Every test starts on a platform with every worker up and every point disarmed."""
    yield
    for point in POINTS:
        platform.disarm(point)
    platform.wait_recovered()


#: A kill point to arm just before one request is sent: ``(platform, point, method, path)``.
_ARM_BEFORE: list[tuple] = []


class Session(requests.Session):
    """A ``requests`` session on loopback (never through a proxy of the environment) that
    arms the point of :data:`_ARM_BEFORE` just before it sends the matching request: the tests
    make one call at a time, so that request is the next to reach the point."""

    def __init__(self):
        super().__init__()
        self.trust_env = False

    def send(self, request, **kwargs):
        if _ARM_BEFORE:
            platform, point, method, path = _ARM_BEFORE[0]
            if request.method == method and request.path_url.split("?")[0].endswith(path):
                platform.arm(point)
                _ARM_BEFORE.clear()
        return super().send(request, **kwargs)


def http() -> Session:
    return Session()


def data_user(platform):
    from examples.data_user import DataUser

    setup = platform.setup["data_user"]
    return DataUser(platform.url, setup["client_id"], setup["key"], timeout=60)


def department(platform):
    from examples.data_user import DataUser

    setup = platform.setup["swd"]
    return DataUser(platform.url, setup["client_id"], setup["key"], scope="credentials", timeout=60)


def bound_app(platform, tmp_path):
    """A new resident (over 65) with the CLI app bound over HTTP."""
    from tungban.wallet.client import WalletClient

    resident = platform.residents()[0]
    app = WalletClient(tmp_path / "app", platform.url, session=http())
    app.bind(resident["hkid"], resident["code"], PIN)
    return resident, app


def killed(platform, point: str, call, *, request: str | None = None):
    """Arm ``point`` (at once, or just before the first request matching ``request``,
    ``"METHOD /path"``, is sent), make ``call()``: the worker dies, so the client sees the
    connection close with no answer. Waits for the kill and for the platform to recover."""
    if request:
        method, _, path = request.partition(" ")
        _ARM_BEFORE[:] = [(platform, point, method, path)]
    else:
        platform.arm(point)
    try:
        with pytest.raises(requests.ConnectionError):
            call()
    finally:
        _ARM_BEFORE.clear()
    platform.wait_fired(point)
    platform.wait_recovered()


def assert_consistent(state: dict) -> None:
    """Both logs verify; every private key in the HSM has its row."""
    assert state["exchange_log"]["ok"], state["exchange_log"]["output"]
    assert state["transparency_log"]["ok"], state["transparency_log"]["output"]
    assert state["hsm_keys_without_row"] == []


def used_consent(platform, user, app) -> str:
    """An active consent, used once: the provider has then fetched the platform's JWKS (and
    keeps it), so no request of its own reaches the platform during a later exchange and
    takes a kill meant for the exchange."""
    asked = user.request_consent(PRODUCT, "Fault tests", 3600)
    app.decide(asked["approval_uri"], PIN, "approve")
    consent = user.consent(asked["id"])
    assert consent["status"] == "active", consent
    user.fetch(consent["id"], PRODUCT)
    return consent["id"]


def api(platform, system, method: str, path: str, body: dict | None, key: str | None = None):
    """A call of a department's system (``DataUser`` token) with an ``Idempotency-Key``."""
    headers = {"Authorization": f"Bearer {system.token()}", "Accept": "application/json"}
    if key:
        headers["Idempotency-Key"] = f'"{key}"'  # an RFC 8941 String (draft-ietf-httpapi-idempotency-key-header §2.1)
    return http().request(method, f"{platform.url}{path}", json=body, headers=headers, timeout=60)


def assert_replayed(response, status: int) -> None:
    """``response`` is the first answer again: its status, marked ``Idempotent-Replayed``."""
    assert response.status_code == status, response.text
    assert response.headers.get("Idempotent-Replayed") == "true", dict(response.headers)


def idempotency_key() -> str:
    return str(uuid.uuid4())


def new(before: dict, after: dict, name: str) -> dict:
    """The entries of ``after[name]`` (a dict by id) that ``before`` did not have."""
    return {k: v for k, v in after[name].items() if k not in before[name]}


# --- consent approval ------------------------------------------------------------------------------


def test_consent_approval_killed_after_commit_is_complete_and_not_repeated(platform, tmp_path):
    """The approval committed, then its worker died before answering the app: the consent is
    active with its artefact; the app's retry is told it was already decided, nothing doubles."""
    from tungban.wallet.client import AppError

    user = data_user(platform)
    _resident, app = bound_app(platform, tmp_path)
    asked = user.request_consent(PRODUCT, "Fault tests", 3600)
    killed(
        platform,
        "response.after_view",
        lambda: app.decide(asked["approval_uri"], PIN, "approve"),
        request="POST /decision",
    )
    consent = user.consent(asked["id"])
    assert consent["status"] == "active" and consent["artefact"], consent
    with pytest.raises(AppError) as retry:
        app.decide(asked["approval_uri"], PIN, "approve")
    assert (retry.value.status, retry.value.code) == (409, "request_already_decided")
    assert [c["id"] for c in app.consents(PIN)] == [asked["id"]]
    state = platform.state()
    assert_consistent(state)
    assert state["consents"][asked["id"]] == {"status": "active", "uses": 0}


def test_consent_request_killed_after_commit_is_replayed_by_its_idempotency_key(platform):
    """The data user's consent request committed, then the worker died before it answered:
    the retry with the same key gets that request (the same approval link), not a second one."""
    user = data_user(platform)
    body = {"product": PRODUCT, "purpose": "Fault tests", "duration_seconds": 3600}
    key = idempotency_key()
    before = platform.state()
    user.token()
    killed(
        platform,
        "response.after_view",
        lambda: api(platform, user, "POST", "/api/v1/exchange/consents", body, key),
        request="POST /api/v1/exchange/consents",
    )
    state = platform.state()
    created = new(before, state, "consents")
    assert list(created.values()) == [{"status": "requested", "uses": 0}]
    retry = api(platform, user, "POST", "/api/v1/exchange/consents", body, key)
    assert_replayed(retry, 201)
    assert retry.json()["id"] == next(iter(created))
    after = platform.state()
    assert new(before, after, "consents").keys() == created.keys()
    assert_consistent(after)


# --- exchange ------------------------------------------------------------------------------------


def test_exchange_killed_after_commit_is_replayed_by_its_idempotency_key(platform, tmp_path):
    """The exchange committed (delivered, one use counted), then the worker died before the
    data user got the answer: the retry with the same key and body gets that exchange, not a
    second one nor ``replayed_request``."""
    user = data_user(platform)
    _resident, app = bound_app(platform, tmp_path)
    consent = used_consent(platform, user, app)
    body = {"consent_id": consent, "product": PRODUCT, "request_id": uuid.uuid4().hex}
    key = body["request_id"]  # an exchange's key is its request_id (docs/integrators.md)
    user.token()
    killed(
        platform,
        "response.after_view",
        lambda: api(platform, user, "POST", "/api/v1/exchange/requests", body, key),
        request="POST /api/v1/exchange/requests",
    )
    state = platform.state()
    assert_consistent(state)
    records = [r for r in state["exchanges"] if r["request_id"] == body["request_id"]]
    assert [r["outcome"] for r in records] == ["delivered"] and state["consents"][consent]["uses"] == 2
    retry = api(platform, user, "POST", "/api/v1/exchange/requests", body, key)
    assert_replayed(retry, 200)
    assert retry.json()["exchange_id"] == records[0]["id"] and retry.json()["data"]
    after = platform.state()
    assert [r for r in after["exchanges"] if r["consent"] == consent] == [
        r for r in state["exchanges"] if r["consent"] == consent
    ]
    assert after["consents"][consent]["uses"] == 2
    assert_consistent(after)


def test_exchange_killed_after_the_provider_answered_leaves_a_trace_and_is_retried(platform, tmp_path):
    """The provider released the data, then the worker died before the exchange committed:
    nothing was delivered, the attempt is on record (issue 14 item 4) with the one use it
    took, and the retry with the same key delivers once, counting no second use."""
    user = data_user(platform)
    _resident, app = bound_app(platform, tmp_path)
    consent = used_consent(platform, user, app)
    body = {"consent_id": consent, "product": PRODUCT, "request_id": uuid.uuid4().hex}
    key = body["request_id"]  # an exchange's key is its request_id (docs/integrators.md)
    user.token()
    killed(
        platform,
        "exchange.provider_returned",
        lambda: api(platform, user, "POST", "/api/v1/exchange/requests", body, key),
        request="POST /api/v1/exchange/requests",
    )
    state = platform.state()
    assert_consistent(state)
    assert [r for r in state["exchanges"] if r["request_id"] == body["request_id"]] == []
    # The attempt is on record, in flight (of unknown outcome once past its deadline), holding
    # the consent's use it took before the provider was asked.
    assert [a["state"] for a in state["exchange_attempts"] if a["request_id"] == body["request_id"]] == ["in_flight"]
    assert state["consents"][consent]["uses"] == 2
    retry = api(platform, user, "POST", "/api/v1/exchange/requests", body, key)
    assert retry.status_code == 200, retry.text
    after = platform.state()
    delivered = [r for r in after["exchanges"] if r["request_id"] == body["request_id"]]
    assert [(r["id"], r["outcome"]) for r in delivered] == [(retry.json()["exchange_id"], "delivered")]
    assert after["consents"][consent]["uses"] == 2
    assert_consistent(after)


# --- issuance ------------------------------------------------------------------------------------


def test_single_issuance_killed_after_commit_is_replayed_by_its_idempotency_key(platform):
    swd = department(platform)
    holder = platform.residents()[0]
    body = {"type": CARD, "hkid": holder["hkid"], "claims": {"card_number": "SC10000001"}}
    key = idempotency_key()
    swd.token()
    killed(
        platform,
        "response.after_view",
        lambda: api(platform, swd, "POST", "/api/v1/credentials/issue", body, key),
        request="POST /api/v1/credentials/issue",
    )
    state = platform.state()
    assert_consistent(state)
    issued = [c for c in state["credentials"] if c["holder"] == holder["id"]]
    assert len(issued) == 1
    retry = api(platform, swd, "POST", "/api/v1/credentials/issue", body, key)
    assert_replayed(retry, 201)
    assert retry.json()["id"] == issued[0]["id"]
    after = platform.state()
    assert [c for c in after["credentials"] if c["holder"] == holder["id"]] == issued
    assert after["status_positions_allocated"] == state["status_positions_allocated"]
    assert_consistent(after)


def bulk_csv(holders: list[dict], first: int) -> str:
    rows = "".join(f"{h['hkid']},SC{first + i:08d}\n" for i, h in enumerate(holders))
    return "hkid,card_number\n" + rows


def wait_batch(platform, swd, batch_id: str) -> dict:
    def finished():
        body = api(platform, swd, "GET", f"/api/v1/credentials/batches/{batch_id}", None).json()
        return body if body["state"] in ("done", "rejected", "failed") else None

    return wait_for(finished, timeout=180, what=f"the batch {batch_id} to finish", interval=0.5)


def test_bulk_issuance_request_killed_after_commit_is_replayed_by_its_idempotency_key(platform):
    swd = department(platform)
    holders = platform.residents(3)
    body = {"type": CARD, "csv": bulk_csv(holders, 20000000)}
    key = idempotency_key()
    before = platform.state()
    swd.token()
    killed(
        platform,
        "response.after_view",
        lambda: api(platform, swd, "POST", "/api/v1/credentials/issue-bulk", body, key),
        request="POST /api/v1/credentials/issue-bulk",
    )
    state = platform.state()
    batches = new(before, state, "batches")
    assert len(batches) == 1
    batch_id = next(iter(batches))
    retry = api(platform, swd, "POST", "/api/v1/credentials/issue-bulk", body, key)
    assert_replayed(retry, 202)
    assert retry.json()["id"] == batch_id
    assert wait_batch(platform, swd, batch_id)["state"] == "done"
    after = platform.state()
    assert new(before, after, "batches").keys() == {batch_id}
    assert sorted(c["holder"] for c in after["credentials"] if c["batch"] == batch_id) == sorted(
        h["id"] for h in holders
    )
    assert after["status_positions_allocated"] - before["status_positions_allocated"] == len(holders)
    assert_consistent(after)


def test_bulk_issuance_worker_killed_mid_job_finishes_once_after_restart(platform):
    """``tungban worker`` dies in the middle of a bulk job (some credentials made, not
    committed); restarted, it finishes the job: every row issued once, and no status-list
    position consumed by the lost work (issue 14 item 5)."""
    swd = department(platform)
    holders = platform.residents(4)
    before = platform.state()
    platform.arm("credentials.bulk_chunk")
    body = {"type": CARD, "csv": bulk_csv(holders, 30000000)}
    resp = api(platform, swd, "POST", "/api/v1/credentials/issue-bulk", body, idempotency_key())
    assert resp.status_code == 202, resp.text
    platform.wait_fired("credentials.bulk_chunk")
    assert wait_batch(platform, swd, resp.json()["id"])["state"] == "done"
    after = platform.state()
    issued = [c for c in after["credentials"] if c["batch"] == resp.json()["id"]]
    assert sorted(c["holder"] for c in issued) == sorted(h["id"] for h in holders)
    assert after["status_positions_allocated"] - before["status_positions_allocated"] == len(holders)
    assert_consistent(after)


# --- signing -------------------------------------------------------------------------------------

DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def signer_token(platform) -> str:
    setup = platform.setup["signer"]
    resp = http().post(
        f"{platform.url}/oidc/token",
        data={"grant_type": "client_credentials", "scope": "signing"},
        auth=(setup["client_id"], setup["secret"]),
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


def signing_request(platform, token: str, key: str | None = None):
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = f'"{key}"'
    body = {"documents": [{"name": "declaration.txt", "sha256": DIGEST}, {"name": "annex.txt", "sha256": DIGEST}]}
    return http().post(f"{platform.url}/api/v1/signing/requests", json=body, headers=headers, timeout=60)


def wait_signed(platform, token: str, request_id: str) -> dict:
    def signed():
        body = (
            http()
            .get(
                f"{platform.url}/api/v1/signing/requests/{request_id}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
            .json()
        )
        return body if body["status"] != "pending" else None

    return wait_for(signed, timeout=180, what=f"the signing request {request_id} to be signed", interval=0.5)


def test_signing_request_killed_after_commit_is_replayed_by_its_idempotency_key(platform):
    token, key = signer_token(platform), idempotency_key()
    before = platform.state()
    killed(
        platform,
        "response.after_view",
        lambda: signing_request(platform, token, key),
        request="POST /api/v1/signing/requests",
    )
    state = platform.state()
    created = new(before, state, "signing_requests")
    assert len(created) == 1
    retry = signing_request(platform, token, key)
    assert_replayed(retry, 201)
    assert retry.json()["id"] == next(iter(created))
    assert new(before, platform.state(), "signing_requests").keys() == created.keys()


def test_signing_key_generation_killed_leaves_no_orphan_key_and_the_job_signs(platform, tmp_path):
    """The signing job made the resident's key in the HSM, then ``tungban worker`` died before
    the key's row committed (issue 14 item 3): every private key in the token is still known
    to the platform (the key register), and the restarted worker signs with one credential."""
    token = signer_token(platform)
    _resident, app = bound_app(platform, tmp_path)
    req = signing_request(platform, token, idempotency_key()).json()
    before = platform.state()
    platform.arm("keys.generated")
    app.decide(req["approval_uri"], PIN, "approve")
    platform.wait_fired("keys.generated")
    assert wait_signed(platform, token, req["id"])["status"] == "signed"
    after = platform.state()
    assert_consistent(after)
    assert after["signing_credentials"] == before["signing_credentials"] + 1
    assert after["hsm_private_keys"] - before["hsm_private_keys"] in (1, 2)  # 2: the lost one, until the sweep


def test_signing_job_killed_after_signing_finishes_once_after_restart(platform, tmp_path):
    """``tungban worker`` signed the documents and died before the request committed; the
    restarted worker finishes it: signed once, each document once, one release recorded."""
    token = signer_token(platform)
    _resident, app = bound_app(platform, tmp_path)
    req = signing_request(platform, token).json()
    before = platform.state()
    platform.arm("signing.signed")
    app.decide(req["approval_uri"], PIN, "approve")
    platform.wait_fired("signing.signed")
    body = wait_signed(platform, token, req["id"])
    assert body["status"] == "signed" and all(d["signature"] for d in body["documents"])
    after = platform.state()
    assert_consistent(after)
    assert after["signed_documents"] - before["signed_documents"] == 2
    assert after["audit"].get("documents_signed", 0) - before["audit"].get("documents_signed", 0) == 1


# --- refresh tokens ------------------------------------------------------------------------------


def test_refresh_killed_after_commit_is_retried_with_the_same_token(platform, tmp_path):
    """Issue 14 item 6: the refresh committed (the token rotated), then the worker died before
    the client got the new pair; the client's retry with the same refresh token within the
    grace period keeps the login instead of revoking the grant."""
    from tungban.testing.factories import jwt_claims, login

    setup = platform.setup["rp"]
    _resident, app = bound_app(platform, tmp_path)
    first = login(
        platform.url,
        app,
        setup["client_id"],
        setup["secret"],
        setup["redirect_uri"],
        scope="openid profile offline_access",
    )
    assert first["refresh_token"]
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    auth = (setup["client_id"], setup["secret"])
    killed(
        platform,
        "response.after_view",
        lambda: http().post(f"{platform.url}/oidc/token", data=refresh, auth=auth, timeout=60),
        request="POST /oidc/token",
    )
    retry = http().post(f"{platform.url}/oidc/token", data=refresh, auth=auth, timeout=60)
    assert retry.status_code == 200, retry.text
    tokens = retry.json()
    assert jwt_claims(tokens["id_token"])["sub"] == jwt_claims(first["id_token"])["sub"]
    info = http().get(
        f"{platform.url}/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=60
    )
    assert info.status_code == 200, info.text
    again = http().post(
        f"{platform.url}/oidc/token", data={**refresh, "refresh_token": tokens["refresh_token"]}, auth=auth, timeout=60
    )
    assert again.status_code == 200, again.text  # the login goes on
    assert_consistent(platform.state())
