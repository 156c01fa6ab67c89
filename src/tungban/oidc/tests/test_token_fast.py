"""The token endpoint's common valid ``client_credentials`` and ``refresh_token`` requests
answered in one and two database round trips (issue 15 acceptance 1: token;
:mod:`tungban.oidc.fasttoken`), before Django (the front's lane) and on the hot path, with
the reference path's answers and guarantees.

Round trips are counted as every statement the request sends (transaction control
included), with the rate limiter on, as in production. The reference path is the token
view through Authlib (:func:`tungban.oidc.views.token`), reached by switching the fast path
off (:func:`reference_only`)."""

from __future__ import annotations

import base64
import json
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest
from django.core.cache import caches
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from tungban.core import front
from tungban.keys import services as keys
from tungban.oidc import fasttoken, services
from tungban.oidc.models import OFFLINE_ACCESS_SCOPE, ClientToken, Token
from tungban.testing import wsgi
from tungban.testing.factories import jwt_claims, make_client

from .test_token_queries import RP, _code

pytestmark = pytest.mark.django_db
CLIENT_ID = "svc-q"  # test_token_queries._code's client is whatever client it is given
PG = connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def rate_limited(settings):
    """The rate limiter on, as in production, with room for every request of a test."""
    settings.RATELIMIT_ENABLE = True
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "token": "1000/m"}
    caches[settings.RATELIMIT_USE_CACHE].clear()


@pytest.fixture(autouse=True)
def keep_connection():
    with wsgi.connection_kept():
        yield


@pytest.fixture
def rp(db):
    client, secret = make_client(CLIENT_ID, RP, allowed_scopes=["openid", "profile", OFFLINE_ACCESS_SCOPE, "signing"])
    keys.active_key()
    return client, secret


@pytest.fixture
def post_rp(db):
    client, secret = make_client("svc-post", RP, allowed_scopes=["openid", OFFLINE_ACCESS_SCOPE])
    client.token_endpoint_auth_method = "client_secret_post"
    client.save(update_fields=["token_endpoint_auth_method"])
    keys.active_key()
    return client, secret


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def environ(data: dict, *, auth: str | None = None, **extra) -> dict:
    body = urlencode(data).encode()
    if auth is not None:
        extra["HTTP_AUTHORIZATION"] = auth
    extra.setdefault("CONTENT_LENGTH", str(len(body)))
    return wsgi.environ(
        "/oidc/token",
        "POST",
        body=body,
        scheme="https",
        content_type="application/x-www-form-urlencoded",
        REMOTE_ADDR="203.0.113.7",
        **extra,
    )


Spy = wsgi.Spy


def call(app, env):
    """``(status code, headers but Date and Content-Length sorted, body)``."""
    status, headers, body = wsgi.call(app, env)
    return int(status.split()[0]), sorted((n, v) for n, v in headers if n not in ("Date", "Content-Length")), body


def through_lane(env):
    """``(status, headers, body, statements, answered by the lane alone)``."""
    spy = Spy()
    with CaptureQueriesContext(connection) as ctx:
        status, headers, body = call(front.Front(spy), env)
    return status, headers, body, [q["sql"] for q in ctx.captured_queries], spy.calls == 0


def through_django(env):
    """``(status, headers, body, statements)`` of Django (the hot path, then the view)."""
    with CaptureQueriesContext(connection) as ctx:
        status, headers, body = call(WSGIHandler(), env)
    return status, headers, body, [q["sql"] for q in ctx.captured_queries]


@contextmanager
def reference_only(monkeypatch):
    """The token endpoint with the fast path off: Authlib answers everything."""
    with monkeypatch.context() as patch:
        patch.setattr(fasttoken, "hot_token", lambda request: None)
        patch.setattr(fasttoken, "lane", lambda call_: None)
        yield


def first_tokens(rp, resident):
    client, secret = rp
    data = {"grant_type": "authorization_code", "redirect_uri": RP}
    code, verifier = _code(client, resident)
    status, _h, body, _s = through_django(
        environ({**data, "code": code, "code_verifier": verifier}, auth=basic(client.client_id, secret))
    )
    assert status == 200, body
    return json.loads(body)


def counter_total() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM tungban_ratelimit")
        return sum(int(v) for (v,) in cursor.fetchall())


# --- Round trips (acceptance 1) ------------------------------------------------------------


def test_client_credentials_is_one_round_trip(rp):
    """Rate limiter, client authentication and the token: one statement on PostgreSQL (3
    before: the rate limiter's upsert, the client, the token); SQLite runs the same steps in one
    transaction."""
    _, secret = rp
    status, _h, body, statements, alone = through_lane(
        environ({"grant_type": "client_credentials"}, auth=basic(CLIENT_ID, secret))
    )
    assert status == 200, body
    assert alone
    assert len(statements) == (1 if PG else 5), "\n".join(statements)  # SQLite: savepoint, 3, release
    status, _h, body, statements = through_django(
        environ({"grant_type": "client_credentials"}, auth=basic(CLIENT_ID, secret))
    )
    assert status == 200, body
    assert len(statements) == (1 if PG else 5), "\n".join(statements)


def test_refresh_is_two_round_trips(rp, resident):
    """One read (client, token, grant, sub, key), one write (locks, live check, count,
    rotation, successor) on PostgreSQL (4 before: rate limiter, client, token, rotation)."""
    first = first_tokens(rp, resident)
    _, secret = rp
    status, _h, body, statements, alone = through_lane(
        environ({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=basic(CLIENT_ID, secret))
    )
    assert status == 200, body
    assert alone
    assert len(statements) == (2 if PG else 7), "\n".join(statements)
    second = json.loads(body)
    status, _h, body, statements = through_django(
        environ(
            {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}, auth=basic(CLIENT_ID, secret)
        )
    )
    assert status == 200, body
    assert len(statements) == (2 if PG else 7), "\n".join(statements)


# --- The same answers as the reference path -------------------------------------------------


def _same_shape(mine: tuple, reference: tuple) -> tuple[dict, dict]:
    """Status and headers equal; the same JSON members in the same order; returns both bodies."""
    assert mine[0] == reference[0] == 200, (mine[2], reference[2])
    assert mine[1] == reference[1]
    a, b = json.loads(mine[2]), json.loads(reference[2])
    assert list(a) == list(b)
    assert mine[2].startswith(b'{"token_type":"Bearer","access_token":"')  # Authlib's compact JSON
    return a, b


@pytest.mark.parametrize("scope", [None, "", "signing", "openid signing"])
def test_client_credentials_answer_is_the_reference_one(rp, monkeypatch, scope):
    _, secret = rp
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope is not None else {})}
    mine = through_lane(environ(data, auth=basic(CLIENT_ID, secret)))
    assert mine[4], "answered by the lane"
    with reference_only(monkeypatch):
        reference = through_django(environ(data, auth=basic(CLIENT_ID, secret)))
    a, b = _same_shape(mine, reference)
    assert {k: v for k, v in a.items() if k != "access_token"} == {k: v for k, v in b.items() if k != "access_token"}
    # A client's own token: a row of the lean table on both paths (issue 15, fourth round).
    rows = [ClientToken.objects.get(access_token=services.access_token_digest(x["access_token"])) for x in (a, b)]
    fields = ("client_id", "resident_id", "token_type", "scope", "claims", "expires_in", "dpop_jkt", "refresh_token")
    assert [getattr(rows[0], f) for f in fields] == [getattr(rows[1], f) for f in fields]
    assert not Token.objects.exists()


def test_client_secret_post_is_answered_by_the_lane(post_rp, monkeypatch):
    client, secret = post_rp
    data = {"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": secret}
    mine = through_lane(environ(data))
    assert mine[4]
    with reference_only(monkeypatch):
        reference = through_django(environ(data))
    _same_shape(mine, reference)


@pytest.mark.parametrize("scope", [None, "", "openid profile", "openid offline_access"])
def test_refresh_answer_is_the_reference_one(rp, resident, monkeypatch, scope):
    _, secret = rp
    mine_first, ref_first = first_tokens(rp, resident), first_tokens(rp, resident)
    extra = {"scope": scope} if scope is not None else {}
    mine = through_lane(
        environ(
            {"grant_type": "refresh_token", "refresh_token": mine_first["refresh_token"], **extra},
            auth=basic(CLIENT_ID, secret),
        )
    )
    assert mine[4], "answered by the lane"
    with reference_only(monkeypatch):
        reference = through_django(
            environ(
                {"grant_type": "refresh_token", "refresh_token": ref_first["refresh_token"], **extra},
                auth=basic(CLIENT_ID, secret),
            )
        )
    a, b = _same_shape(mine, reference)
    assert a.get("scope") == b.get("scope") and a["expires_in"] == b["expires_in"]
    ca, cb = jwt_claims(a["id_token"]), jwt_claims(b["id_token"])
    volatile = ("iat", "exp", "at_hash", "sid", "auth_time")  # two logins: maybe a second apart
    assert {k: v for k, v in ca.items() if k not in volatile} == {k: v for k, v in cb.items() if k not in volatile}
    assert list(ca) == list(cb) and "nonce" not in ca and ca["sid"]
    new = [Token.objects.get(refresh_token=services.refresh_token_digest(x["refresh_token"])) for x in (a, b)]
    old = [
        Token.objects.get(refresh_token=services.refresh_token_digest(x["refresh_token"]))
        for x in (mine_first, ref_first)
    ]
    for n, o, claims in zip(new, old, (ca, cb), strict=True):
        o.refresh_from_db()
        assert claims["auth_time"] == o.authorization_code.auth_time  # the login's (OIDC Core §12.2)
        assert o.revoked_at is not None and o.rotated_at is not None  # rotated (RFC 9700 §4.14.2)
        assert n.rotated_from_id == o.pk and n.revoked_at is None and n.session_id == o.session_id
        assert n.refresh_expires_at == o.refresh_expires_at  # never extended by rotation
    fields = ("client_id", "resident_id", "token_type", "scope", "claims", "expires_in", "dpop_jkt")
    assert [getattr(new[0], f) for f in fields] == [getattr(new[1], f) for f in fields]


def test_the_hot_path_gives_the_lanes_answer(rp, resident):
    """Without the front (ASGI, or the test client), the hot-path view answers the same way."""
    _, secret = rp
    env = environ({"grant_type": "client_credentials", "scope": "signing"}, auth=basic(CLIENT_ID, secret))
    via_django = through_django(env)
    env = environ({"grant_type": "client_credentials", "scope": "signing"}, auth=basic(CLIENT_ID, secret))
    via_lane = through_lane(env)
    _same_shape(via_lane, via_django[:3])


# --- Everything else falls through, written nothing, and is counted once --------------------


@pytest.mark.parametrize(
    "case",
    [
        "wrong-secret",
        "unknown-client",
        "key-only-scope",
        "scope-not-allowed",
        "extra-param",
        "dpop",
        "both-auths",
        "query-string",
    ],
)
def test_other_requests_fall_through_counted_once(rp, monkeypatch, case):
    _, secret = rp
    data, auth, extra = {"grant_type": "client_credentials"}, basic(CLIENT_ID, secret), {}
    if case == "wrong-secret":
        auth = basic(CLIENT_ID, "nope")
    elif case == "unknown-client":
        auth = basic("nobody", secret)
    elif case == "key-only-scope":
        data["scope"] = "cdeg"
    elif case == "scope-not-allowed":
        data["scope"] = "openid hkid"
    elif case == "extra-param":
        data["resource"] = "https://rs.example"
    elif case == "dpop":
        extra["HTTP_DPOP"] = "not-a-proof"
    elif case == "both-auths":
        data.update(client_id=CLIENT_ID, client_secret=secret)
    elif case == "query-string":
        extra["QUERY_STRING"] = "scope=openid"  # Authlib reads the query's parameters too
    tokens = Token.objects.count() + ClientToken.objects.count()
    mine = through_lane(environ(data, auth=auth, **extra))
    assert not mine[4], "Django answered"
    # The reference path's count of a failure, not the lane's too; a success is not counted.
    assert counter_total() == (0 if mine[0] == 200 else 1)
    with reference_only(monkeypatch):
        reference = through_django(environ(data, auth=auth, **extra))
    nonce = "DPoP-Nonce"  # a fresh one per answer (RFC 9449 §8)
    assert mine[0] == reference[0] and [h for h in mine[1] if h[0] != nonce] == [
        h for h in reference[1] if h[0] != nonce
    ]
    a, b = json.loads(mine[2]), json.loads(reference[2])
    if "access_token" in a:
        a.pop("access_token"), b.pop("access_token")
    assert a == b
    assert Token.objects.count() + ClientToken.objects.count() - tokens == (2 if mine[0] == 200 else 0)


def test_past_the_limit_is_the_reference_429_and_issues_nothing(rp, resident, settings, monkeypatch):
    """Only failed requests count (issue 15, fourth round: :func:`tungban.core.ratelimit.limit_failures`);
    once the limit's number of failures is counted, valid requests get the reference path's
    429 from the lane too, and nothing is issued or rotated."""
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "token": "3/d"}  # no window ends mid-test
    _, secret = rp
    first = first_tokens(rp, resident)  # a valid code exchange: not counted
    tokens = Token.objects.count()
    cc = environ({"grant_type": "client_credentials"}, auth=basic(CLIENT_ID, secret))
    assert through_lane(cc)[0] == 200
    for _ in range(3):  # failures: counted by the reference path
        assert through_lane(environ({"grant_type": "client_credentials"}, auth=basic(CLIENT_ID, "nope")))[0] == 401
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    status, headers, body, _s, alone = through_lane(
        environ(refresh, auth=basic(CLIENT_ID, secret), HTTP_ACCEPT_LANGUAGE="zh-HK")
    )
    assert status == 429 and alone
    old = Token.objects.get(refresh_token=services.refresh_token_digest(first["refresh_token"]))
    assert old.revoked_at is None and old.rotated_at is None  # not rotated: nothing issued
    assert Token.objects.count() == tokens and ClientToken.objects.count() == 1
    with reference_only(monkeypatch):
        reference = through_django(environ(refresh, auth=basic(CLIENT_ID, secret), HTTP_ACCEPT_LANGUAGE="zh-HK"))
    retry = "Retry-After"  # seconds to the window's end: may tick between the two answers
    lane_body, reference_body = json.loads(body), json.loads(reference[2])
    lane_wait, reference_wait = lane_body["details"].pop("retry_after"), reference_body["details"].pop("retry_after")
    assert reference[0] == 429 and lane_body == reference_body
    assert abs(lane_wait - reference_wait) <= 1 and str(lane_wait) == dict(headers)[retry]
    assert [h for h in headers if h[0] != retry] == [h for h in reference[1] if h[0] != retry]
    assert abs(int(dict(headers)[retry]) - int(dict(reference[1])[retry])) <= 1
    assert status == through_lane(cc)[0] == 429
    assert ClientToken.objects.count() == 1


def test_a_reused_refresh_token_revokes_the_family(rp, resident, settings):
    """RFC 9700 §4.14.2: the lane rotates; the rotated token presented again (after the grace
    period) is judged by the reference path, which revokes the whole grant."""
    settings.TUNGBAN_REFRESH_GRACE = 0
    _, secret = rp
    first = first_tokens(rp, resident)
    auth = basic(CLIENT_ID, secret)
    second = json.loads(
        through_lane(environ({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=auth))[2]
    )
    status, _h, body, _s, alone = through_lane(
        environ({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=auth)
    )
    assert status == 400 and json.loads(body)["error"] == "invalid_grant" and not alone
    assert not Token.objects.filter(revoked_at__isnull=True).exists()
    status, _h, body, _s, _alone = through_lane(
        environ({"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}, auth=auth)
    )
    assert status == 400


def test_a_dpop_bound_refresh_token_needs_its_proof(rp, resident):
    _, secret = rp
    first = first_tokens(rp, resident)
    Token.objects.filter(refresh_token=services.refresh_token_digest(first["refresh_token"])).update(dpop_jkt="k" * 43)
    status, _h, body, _s, alone = through_lane(
        environ({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=basic(CLIENT_ID, secret))
    )
    assert status == 400 and json.loads(body)["error"] == "invalid_grant" and not alone
    assert Token.objects.get(refresh_token=services.refresh_token_digest(first["refresh_token"])).revoked_at is None


def test_a_suspended_resident_and_a_wider_scope_fall_through(rp, resident):
    _, secret = rp
    first = first_tokens(rp, resident)
    auth = basic(CLIENT_ID, secret)
    wider = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "scope": "openid hkid"}
    status, _h, body, _s, alone = through_lane(environ(wider, auth=auth))
    assert status == 400 and json.loads(body)["error"] == "invalid_scope" and not alone
    resident.status = "suspended"
    resident.save(update_fields=["status"])
    status, _h, body, _s, alone = through_lane(
        environ({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=auth)
    )
    assert status == 400 and not alone
    status, _h, body, _s, alone = through_lane(environ({"grant_type": "refresh_token"}, auth=auth))
    assert status == 400 and json.loads(body)["error"] == "invalid_request" and not alone


def test_a_signing_failure_on_the_lane_stores_nothing(rp, resident, monkeypatch):
    """The ID token is signed before the write: a failure answers the hot path's 500 and
    leaves the refresh token live and unrotated."""
    from tungban.oidc import server

    _, secret = rp
    first = first_tokens(rp, resident)
    tokens = Token.objects.count()

    def broken(*args, **kwargs):
        raise RuntimeError("signing failed")

    monkeypatch.setattr(server, "id_token", broken)
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    status, _h, body, _s, alone = through_lane(environ(data, auth=basic(CLIENT_ID, secret)))
    assert status == 500 and alone and json.loads(body)["error"]
    old = Token.objects.get(refresh_token=services.refresh_token_digest(first["refresh_token"]))
    assert old.revoked_at is None and old.rotated_at is None and Token.objects.count() == tokens
    monkeypatch.undo()
    assert through_lane(environ(data, auth=basic(CLIENT_ID, secret)))[0] == 200  # the token still works


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_on_the_lane_rotate_once(settings):
    """Two refreshes with one token at once, each on its own connection, through the lane:
    the token is rotated once (its row locked live by one statement); the other request finds
    it rotated and, after the grace period (0 here), is reuse: the whole grant is revoked
    (RFC 9700 §4.14.2)."""
    import threading

    from django.db import connections

    from tungban.testing.factories import make_officer, make_resident

    if connection.vendor != "postgresql":
        pytest.skip("concurrent requests need a server database")
    settings.TUNGBAN_REFRESH_GRACE = 0
    request_started.connect(close_old_connections)  # each thread's own connection, closed after
    resident = make_resident(make_officer())
    rp = make_client(CLIENT_ID, RP, allowed_scopes=["openid", "profile", OFFLINE_ACCESS_SCOPE])
    keys.active_key()
    first = first_tokens(rp, resident)
    barrier, answers = threading.Barrier(2), []
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}

    def refresh():
        try:
            env = environ(data, auth=basic(CLIENT_ID, rp[1]))
            barrier.wait()
            answers.append(call(front.Front(WSGIHandler()), env)[0])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200, 400]
    assert not Token.objects.filter(resident=resident, revoked_at__isnull=True).exists()
    assert Token.objects.filter(resident=resident, rotated_from__isnull=False).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not PG, reason="round trips of a persistent PostgreSQL connection")
def test_round_trips_on_the_wire():
    """Everything one request sends to PostgreSQL on a persistent connection, counted on the
    wire (:mod:`tungban.testing.pgwire`; the statements go on the psycopg connection itself,
    not through Django's cursor): client_credentials one statement, a refresh two; no health
    check, no BEGIN/COMMIT."""
    from tungban.testing.factories import make_officer, make_resident
    from tungban.testing.pgwire import relayed

    request_started.connect(close_old_connections)  # as in production
    request_finished.connect(close_old_connections)
    resident = make_resident(make_officer())
    rp = make_client(CLIENT_ID, RP, allowed_scopes=["openid", "profile", OFFLINE_ACCESS_SCOPE])
    keys.active_key()
    refresh = [first_tokens(rp, resident)["refresh_token"] for _ in range(2)]
    auth = basic(CLIENT_ID, rp[1])
    app = front.Front(WSGIHandler())
    with relayed(connection) as wire:
        assert call(app, environ({"grant_type": "client_credentials"}, auth=auth))[0] == 200  # opens it
        wire.clear()
        assert call(app, environ({"grant_type": "client_credentials"}, auth=auth))[0] == 200
        cc = list(wire.statements)
        assert call(app, environ({"grant_type": "refresh_token", "refresh_token": refresh[0]}, auth=auth))[0] == 200
        wire.clear()
        assert call(app, environ({"grant_type": "refresh_token", "refresh_token": refresh[1]}, auth=auth))[0] == 200
        rotation = list(wire.statements)
    assert len(cc) == 1, cc
    assert len(rotation) == 2, rotation
