"""Findings of the security review of issue 23 (branch frev's probes, adapted): each test fails
without its fix (part ffixa)."""

from __future__ import annotations

import http.server
import threading

import pytest
import requests

from tungban.federation import errors
from tungban.federation.services import chain, entities, trustmarks
from tungban.oidc.models import Client

from . import test_registration as reg
from .test_chain import resolve

# test_registration's fixtures, reused here.
app, fake_chain, partner, service = reg.app, reg.fake_chain, reg.partner, reg.service
_finish, _login, _authorize, _open = reg._finish, reg._login, reg._authorize, reg._open

# --- 1. one resolution's fetches are bounded -------------------------------------------------------


def _fan_out(monkeypatch, *, anchor_hint: str | None = None):
    """Every entity names 20 authority hints (optionally one of them a pinned anchor, last)."""
    fetches = []

    def fetch_ec(entity_id):
        fetches.append(entity_id)
        if len(fetches) > 100000:
            raise errors.FetchFailed("probe cap")
        hints = [f"{entity_id}/h{i}" for i in range(20)] + ([anchor_hint] if anchor_hint else [])
        return "token", {
            "iss": entity_id,
            "sub": entity_id,
            "jwks": {"keys": []},
            "authority_hints": hints,
            "metadata": {"federation_entity": {"federation_fetch_endpoint": f"{entity_id}/fetch"}},
        }

    def fetch_statement(superior_ec, subject):
        fetches.append(superior_ec["iss"] + "/fetch")
        return "token", {"iss": superior_ec["iss"], "sub": subject, "jwks": {"keys": []}}

    monkeypatch.setattr(chain, "_fetch_ec", fetch_ec)
    monkeypatch.setattr(chain, "_fetch_subordinate_statement", fetch_statement)
    return fetches


def test_authority_hints_fan_out_is_bounded(monkeypatch):
    """A rogue RP whose every entity names 20 authority hints: 16,841 fetches before the fix."""
    fetches = _fan_out(monkeypatch)
    with pytest.raises((errors.InvalidTrustAnchor, errors.InvalidTrustChain, errors.FetchFailed)):
        chain.resolve("https://evil.example/rp", anchors={"https://anchor.example": {"keys": []}})
    assert 1 < len(fetches) <= chain.DEFAULT_MAX_FETCHES, f"{len(fetches)} fetches for one resolution"


def test_the_fetch_budget_is_a_setting_and_pinned_anchors_are_followed_first(monkeypatch, settings):
    settings.TUNGBAN_FEDERATION_MAX_FETCHES = 3
    anchor = "https://anchor.example"
    fetches = _fan_out(monkeypatch, anchor_hint=anchor)
    with pytest.raises(errors.DomainError):
        chain.resolve("https://evil.example/rp", anchors={anchor: {"keys": []}})
    # the leaf, then the pinned anchor (named last among 21 hints) before any other hint (its
    # configuration does not verify with the pinned keys here, so the next hint follows)
    assert fetches[:2] == ["https://evil.example/rp", anchor]
    assert len(fetches) == 3


def test_the_overall_deadline_stops_a_resolution(monkeypatch, settings):
    settings.TUNGBAN_FEDERATION_FETCH_TIMEOUT = 1
    clock = [1000.0]
    monkeypatch.setattr(chain.time, "monotonic", lambda: clock[0])
    fetches = _fan_out(monkeypatch)
    real = chain._fetch_ec

    def slow(entity_id):
        clock[0] += 1.0  # each fetch takes a second of the 3 s (3 × FETCH_TIMEOUT) deadline
        return real(entity_id)

    monkeypatch.setattr(chain, "_fetch_ec", slow)
    with pytest.raises(errors.FetchFailed, match="longer than"):
        chain.resolve("https://evil.example/rp", anchors={"https://anchor.example": {"keys": []}})
    assert len([f for f in fetches if not f.endswith("/fetch")]) == 3


# --- 2. passing failures are FetchFailed; only a definite answer deactivates ----------------------


class _Answer(http.server.BaseHTTPRequestHandler):
    status, ctype, body, location = 429, "text/plain", b"slow down", ""

    def do_GET(self):  # noqa: N802
        self.send_response(self.status)
        self.send_header("Content-Type", self.ctype)
        if self.location:
            self.send_header("Location", self.location)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def answering(settings):
    settings.TUNGBAN_FEDERATION_ALLOW_PRIVATE = True
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def answer(status, ctype="text/plain", body=b"x", location=""):
        _Answer.status, _Answer.ctype, _Answer.body, _Answer.location = status, ctype, body, location
        return f"http://127.0.0.1:{server.server_port}/.well-known/openid-federation"

    yield answer
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "status, ctype, location",
    [
        (429, "text/plain", ""),  # a partner's rate limiter (or a stranger making it answer so)
        (503, "text/html", ""),  # a maintenance page
        (302, "text/html", "/elsewhere"),  # a redirect
        (200, "text/html", ""),  # a captive portal / CDN error page
    ],
)
def test_passing_answers_are_fetch_failed(answering, status, ctype, location):
    url = answering(status, ctype, b"<html>later</html>", location)
    with pytest.raises(errors.FetchFailed):
        chain._http("GET", url, expect="application/entity-statement+jwt")


def test_only_a_fetch_endpoints_not_found_is_a_definite_removal(answering):
    url = answering(404, "application/json", b'{"error": "not_found", "error_description": "revoked"}')
    with pytest.raises(errors.MemberRemoved):
        chain._http("GET", url, expect="application/entity-statement+jwt", fetch_endpoint=True)
    with pytest.raises(errors.InvalidTrustChain) as elsewhere:  # e.g. a leaf's well-known path
        chain._http("GET", url, expect="application/entity-statement+jwt")
    assert not isinstance(elsewhere.value, errors.MembershipEnded)


def test_a_subordinate_revoked_by_the_anchor_is_a_definite_removal(federation):
    entities.revoke(federation.anchor, federation.service.entity_id, reason="contract ended")
    with pytest.raises(errors.MemberRemoved):
        resolve(federation)


def test_a_revoked_trust_mark_is_a_definite_removal(federation):
    trustmarks.revoke(federation.mark, reason="department withdrew the service")
    with pytest.raises(errors.TrustMarkRevoked):
        resolve(federation)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "refusal",
    [
        errors.InvalidTrustChain("https://gd.example/.well-known/openid-federation answered HTTP 404"),
        errors.FetchFailed("https://gd.example/.well-known/openid-federation answered HTTP 429"),
        errors.InvalidTrustMark(),
        errors.InvalidMetadata(),
        errors.UnknownPartner(),
    ],
)
def test_a_strangers_request_cannot_revoke_a_members_tokens(issuer, service, fake_chain, app, resident, refusal):
    """A resident's login, then a stranger's request (no valid request object) while the chain
    does not resolve for a reason that is not a definite removal: the resident's token works."""
    browser, rid, req, params, verifier = _login(issuer, service, app)
    token = _finish(issuer, service, app, browser, rid, params, verifier).json()
    fake_chain.refuse = refusal
    stranger = requests.get(
        f"{issuer}/oidc/authorize", params={"client_id": service.entity_id, "request": "x.y.z"}, allow_redirects=False
    )
    assert stranger.status_code == refusal.status
    assert Client.objects.get(client_id=service.entity_id).is_active
    fake_chain.refuse = None
    info = requests.get(f"{issuer}/oidc/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert info.status_code == 200, "a stranger's request revoked the resident's token"


@pytest.mark.django_db
@pytest.mark.parametrize("refusal", [errors.MemberRemoved(), errors.TrustMarkRevoked()])
def test_a_definite_removal_deactivates_the_client_and_its_tokens(issuer, service, fake_chain, app, resident, refusal):
    browser, rid, req, params, verifier = _login(issuer, service, app)
    token = _finish(issuer, service, app, browser, rid, params, verifier).json()
    fake_chain.refuse = refusal
    resp = _open(issuer, requests.Session(), _authorize(service)[0])
    assert resp.status_code == 403
    assert not Client.objects.get(client_id=service.entity_id).is_active
    info = requests.get(f"{issuer}/oidc/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert info.status_code == 401


# --- 1. the unauthenticated entry points that start a resolution are rate-limited -------------------


@pytest.fixture
def two_per_minute(settings):
    settings.RATELIMIT_ENABLE = True
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "federation_resolve": "2/m"}


def test_the_resolve_endpoint_is_rate_limited_with_the_documented_json_error(federation, two_per_minute):
    query = {"sub": federation.service.entity_id, "trust_anchor": federation.anchor.entity_id}
    url = f"{federation.anchor.entity_id}/federation/resolve"  # the anchor is the live server's root
    answers = [requests.get(url, params=query) for _ in range(3)]
    assert [a.status_code for a in answers[:2]] == [200, 200]
    assert answers[2].status_code == 429 and answers[2].json()["error"] == "rate_limited"
    assert int(answers[2].headers["Retry-After"]) > 0


@pytest.mark.django_db
def test_federated_authorization_and_par_requests_are_rate_limited(issuer, service, fake_chain, two_per_minute):
    fake_chain.refuse = errors.FetchFailed()
    query = {"client_id": service.entity_id, "request": "x.y.z"}
    pages = [
        requests.get(
            f"{issuer}/oidc/authorize",
            params=query,
            headers={"Accept": "text/html", "Accept-Language": "en"},
            allow_redirects=False,
        )
        for _ in range(3)
    ]
    assert [p.status_code for p in pages] == [502, 502, 429]
    assert "Too many attempts" in pages[2].text and int(pages[2].headers["Retry-After"]) > 0
    pushed = requests.post(f"{issuer}/oidc/par", data={"client_id": service.entity_id})
    assert pushed.status_code == 429 and pushed.json()["error"] == "rate_limited"
    # an ordinary client_id is not counted against the group
    ordinary = requests.get(f"{issuer}/oidc/authorize", params={"client_id": "ordinary"}, allow_redirects=False)
    assert ordinary.status_code != 429


# --- 3. a member revoked in the federation loses its tokens without a new login --------------------


def _expire_the_recorded_chain():
    import datetime as dt

    from tungban.federation.models import RegisteredClient

    RegisteredClient.objects.update(trust_chain_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))


def _refresh(issuer, service, token):
    return requests.post(
        f"{issuer}/oidc/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": service.entity_id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": service.assertion(),
        },
    )


@pytest.mark.django_db
def test_a_member_revoked_in_the_federation_loses_its_tokens_without_a_new_login(
    issuer, service, fake_chain, app, resident
):
    browser, rid, req, params, verifier = _login(issuer, service, app)
    token = _finish(issuer, service, app, browser, rid, params, verifier).json()
    fake_chain.refuse = errors.InvalidTrustChain()  # revoked at the anchor
    _expire_the_recorded_chain()
    info = requests.get(f"{issuer}/oidc/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert info.status_code == 401 and "invalid_token" in info.headers.get("WWW-Authenticate", "") + info.text
    if token.get("refresh_token"):
        assert _refresh(issuer, service, token).status_code in (400, 401)


@pytest.mark.django_db
def test_an_expired_chain_that_still_resolves_is_renewed_and_the_token_answers(
    issuer, service, fake_chain, app, resident
):
    from tungban.federation.models import RegisteredClient

    browser, rid, req, params, verifier = _login(issuer, service, app)
    token = _finish(issuer, service, app, browser, rid, params, verifier).json()
    _expire_the_recorded_chain()
    calls = len(fake_chain.calls)
    info = requests.get(f"{issuer}/oidc/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert info.status_code == 200
    assert len(fake_chain.calls) == calls + 1  # resolved once again
    assert RegisteredClient.objects.get().trust_chain_expires_at > dt_now()
    again = requests.get(f"{issuer}/oidc/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert again.status_code == 200 and len(fake_chain.calls) == calls + 1  # valid record: not resolved


def dt_now():
    import datetime as dt

    return dt.datetime.now(dt.UTC)


def test_a_real_chain_resolves_well_within_the_budget(federation, monkeypatch):
    """The leaf's configuration, the anchor's configuration and statement, the trust mark's
    status: 4 fetches of the 20 (a service under a platform adds 2)."""
    calls = []
    real = chain._http
    monkeypatch.setattr(chain, "_http", lambda *a, **kw: calls.append(a[1]) or real(*a, **kw))
    resolve(federation)
    assert len(calls) == 4, calls
