"""The token endpoint's cost per grant (issue 15: token): the SQL statements each grant
runs, a hot path before the page middleware, and the same answers as before.

Counted are the statements that read or write tables (transaction control — BEGIN,
COMMIT, SAVEPOINT — is left out: under the test's own transaction atomic blocks become
savepoints). The rate limiter runs before the endpoint and is counted by its own tests, so
it is off here."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from tungban.core import hotpaths
from tungban.keys import services as keys
from tungban.oidc import dpop, services
from tungban.oidc.models import OFFLINE_ACCESS_SCOPE, AuthorizationCode, LoginSession, PairwiseSubject, Token
from tungban.testing.factories import jwt_claims, make_client

pytestmark = pytest.mark.django_db
RP = "https://rp-q.example/cb"
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.RATELIMIT_ENABLE = False


@pytest.fixture
def rp(db):
    client, secret = make_client("svc-q", RP, allowed_scopes=["openid", "profile", OFFLINE_ACCESS_SCOPE])
    keys.active_key()  # the platform's signing key exists before the first login
    return client, secret


def _basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _code(client, resident, *, pairwise=True):
    """An approved login's code with PKCE and a login session, as the authorization page leaves it."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    session = LoginSession.objects.create(
        sid=secrets.token_urlsafe(24), resident=resident, client=client, auth_time=int(time.time()), acr="x"
    )
    if pairwise:
        services.pairwise_sub(resident, client)
    code = AuthorizationCode.objects.create(
        code=secrets.token_urlsafe(36),
        client=client,
        resident=resident,
        session=session,
        redirect_uri=RP,
        scope=f"openid profile {OFFLINE_ACCESS_SCOPE}",
        claims=["name"],
        nonce="n-1",
        auth_time=session.auth_time,
        acr=services.acr_for(resident),
        amr=["swk"],
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    return code.code, verifier


def _post(secret, **data):
    http = HttpClient()
    with CaptureQueriesContext(connection) as ctx:
        response = http.post(
            "/oidc/token",
            urlencode(data),
            content_type="application/x-www-form-urlencoded",
            secure=True,
            HTTP_AUTHORIZATION=_basic("svc-q", secret),
        )
    statements = [q["sql"] for q in ctx.captured_queries if not q["sql"].lstrip().upper().startswith(CONTROL)]
    return response, statements


def _exchange(secret, code, verifier):
    return _post(secret, grant_type="authorization_code", code=code, code_verifier=verifier, redirect_uri=RP)


def test_code_exchange_statements(rp, resident):
    """Client, the code with the resident's pairwise sub and the active signing key's ``kid``
    (one read), the single-use mark, the token: 4 statements (7 before issue 15, 5 before
    the key's ``kid`` was read with the code); on PostgreSQL the mark and the token are one
    statement (:func:`tungban.oidc.rows.redeem_code`), with no transaction around it: 3."""
    client, secret = rp
    response, statements = _exchange(secret, *_code(client, resident))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["refresh_token"] and body["token_type"] == "Bearer"
    claims = jwt_claims(body["id_token"])
    assert claims["sub"] == services.pairwise_sub(resident, client) and claims["nonce"] == "n-1" and claims["sid"]
    assert len(statements) <= (3 if connection.vendor == "postgresql" else 4), "\n".join(statements)
    alone = ("SELECT kid FROM", f"SELECT {keys.ACTIVE_KID_SQL}")  # active_key()'s own read (before, after)
    assert not any(sql.lstrip().startswith(alone) for sql in statements), "the kid read on its own"


def test_code_exchange_creates_the_pairwise_sub_on_first_login(rp, resident):
    client, secret = rp
    response, statements = _exchange(secret, *_code(client, resident, pairwise=False))
    assert response.status_code == 200, response.content
    assert jwt_claims(response.json()["id_token"])["sub"] == PairwiseSubject.objects.get(resident=resident).sub
    assert len(statements) <= 7, "\n".join(statements)


def test_refresh_statements(rp, resident):
    """Client, the token with its grant, pairwise sub and the active signing key's ``kid``
    (one read), the grant's locks (code and login session, one statement), one UPDATE that
    revokes and rotates the old token, the new token: 5 statements (12 before issue 15, 7
    before the locks and the key's ``kid`` were folded; 4 on SQLite, which takes no row locks).
    On PostgreSQL the locks, the rotation and the new token are one statement
    (:func:`tungban.oidc.rows.rotate_and_insert`), with no transaction around it: 3."""
    client, secret = rp
    first = _exchange(secret, *_code(client, resident))[0].json()
    response, statements = _post(secret, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert response.status_code == 200, response.content
    second = response.json()
    assert jwt_claims(second["id_token"])["sub"] == jwt_claims(first["id_token"])["sub"]
    assert "nonce" not in jwt_claims(second["id_token"])
    old = Token.objects.get(refresh_token=services.refresh_token_digest(first["refresh_token"]))
    assert old.revoked_at is not None and old.rotated_at is not None
    new = Token.objects.get(refresh_token=services.refresh_token_digest(second["refresh_token"]))
    assert new.rotated_from_id == old.pk and new.revoked_at is None and new.session_id == old.session_id
    assert len(statements) <= (3 if connection.vendor == "postgresql" else 4), "\n".join(statements)


def test_refresh_reuse_still_revokes_the_grant(rp, resident, settings):
    settings.TUNGBAN_REFRESH_GRACE = 0
    client, secret = rp
    first = _exchange(secret, *_code(client, resident))[0].json()
    second = _post(secret, grant_type="refresh_token", refresh_token=first["refresh_token"])[0].json()
    assert _post(secret, grant_type="refresh_token", refresh_token=first["refresh_token"])[0].status_code == 400
    assert not Token.objects.filter(revoked_at__isnull=True).exists()
    assert _post(secret, grant_type="refresh_token", refresh_token=second["refresh_token"])[0].status_code == 400


def test_client_credentials_statements(rp):
    """Client and the token: 2 statements."""
    _, secret = rp
    response, statements = _post(secret, grant_type="client_credentials")
    assert response.status_code == 200, response.content
    assert len(statements) <= 2, "\n".join(statements)


def test_wrong_secret_is_two_statements(rp):
    """The fast path's one statement finds no client with that secret and writes nothing
    (:mod:`tungban.oidc.fasttoken`), then the reference path reads the client and refuses it:
    2 statements (1 before the fast path, which made the valid request 1 instead of 2 or 3)."""
    response, statements = _post("not-the-secret", grant_type="client_credentials")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert len(statements) <= 2, "\n".join(statements)


def test_token_endpoint_is_a_hot_path(rp):
    """POST /oidc/token is answered before the page middleware: no session, no cookie."""
    assert hotpaths.registered("POST", "/oidc/token") is not None
    _, secret = rp
    response, _ = _post(secret, grant_type="client_credentials")
    assert response.status_code == 200
    assert "Cookie" not in response.get("Vary", "") and not response.cookies
    assert response["Access-Control-Allow-Origin"] == "*" and response["Cache-Control"] == "no-store"


@pytest.fixture
def fapi(db, settings):
    """A FAPI 2.0 client (private_key_jwt, DPoP) and its holder, talking to this process."""
    from .test_fapi import Holder

    holder = Holder(settings.TUNGBAN_ISSUER)
    holder.nonce = dpop.new_nonce()
    client, _ = make_client(
        "bank", RP, jwks=holder.jwks(), fapi=True, allowed_scopes=["openid", "profile", OFFLINE_ACCESS_SCOPE]
    )
    keys.active_key()
    return client, holder


def _fapi_post(holder, **data):
    http = HttpClient()
    proof = holder.proof("POST", dpop.endpoint_url("/oidc/token"))
    with CaptureQueriesContext(connection) as ctx:
        response = http.post(
            "/oidc/token",
            urlencode({**data, **holder.auth()}),
            content_type="application/x-www-form-urlencoded",
            secure=True,
            HTTP_DPOP=proof,
        )
    statements = [q["sql"] for q in ctx.captured_queries if not q["sql"].lstrip().upper().startswith(CONTROL)]
    return response, statements


def test_fapi_code_exchange_and_refresh_statements(fapi, resident):
    """private_key_jwt and DPoP add their single-use records (the assertion's and the proof's
    ``jti``) and nothing else: 6 statements for the code (11 before issue 15, 7 before the
    key's ``kid`` was read with the code; 5 on PostgreSQL, which redeems the code and stores
    the token in one statement), 6 for a refresh on SQLite (9 before the locks and the kid
    were folded; 5 on PostgreSQL, where the rotation is one statement)."""
    client, holder = fapi
    code, verifier = _code(client, resident)
    response, statements = _fapi_post(
        holder, grant_type="authorization_code", code=code, code_verifier=verifier, redirect_uri=RP
    )
    assert response.status_code == 200, response.content
    first = response.json()
    assert first["token_type"] == "DPoP"
    assert len(statements) <= (5 if connection.vendor == "postgresql" else 6), "\n".join(statements)
    response, statements = _fapi_post(holder, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"
    assert len(statements) <= (5 if connection.vendor == "postgresql" else 6), "\n".join(statements)


def test_rate_limited_client_credentials_is_three_statements(rp, settings):
    """With the rate limiter on (as in production): its one upsert, the client, the token."""
    settings.RATELIMIT_ENABLE = True
    _, secret = rp
    response, statements = _post(secret, grant_type="client_credentials")
    assert response.status_code == 200, response.content
    assert len(statements) <= 3, "\n".join(statements)


@pytest.mark.live_http  # concurrent requests: real server threads on their own connections
@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_of_one_code(issuer, rp, resident):
    """Two clients racing to redeem one code (RFC 6749 §4.1.2): one gets tokens, the other
    invalid_grant, and the refused one revokes what the first got, whichever statement wins."""
    import threading

    import requests

    if connection.vendor != "postgresql":
        pytest.skip("concurrent requests need a server database (SQLite tests use one in-memory connection)")
    client, secret = rp
    for _ in range(3):
        code, verifier = _code(client, resident)
        barrier, answers = threading.Barrier(2), []

        def redeem(code=code, verifier=verifier, barrier=barrier, answers=answers):
            data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": RP}
            barrier.wait()
            answers.append(requests.post(f"{issuer}/oidc/token", data=data, auth=("svc-q", secret)).status_code)

        threads = [threading.Thread(target=redeem) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(answers) == [200, 400]
        assert AuthorizationCode.objects.get(code=code).used_at is not None
        assert not Token.objects.filter(authorization_code__code=code, revoked_at__isnull=True).exists()


def test_a_failure_before_the_answer_stores_nothing(rp, resident, monkeypatch):
    """The ID token is signed before the one statement that redeems the code or rotates the
    refresh token (PostgreSQL), or inside the transaction (SQLite): if signing fails, the
    code stays unused, the old refresh token live, and no new token is stored."""
    from tungban.oidc import server

    client, secret = rp
    first = _exchange(secret, *_code(client, resident))[0].json()
    code, verifier = _code(client, resident)
    tokens_before = Token.objects.count()

    def broken(*args, **kwargs):
        raise RuntimeError("signing failed")

    monkeypatch.setattr(server, "id_token", broken)
    http = HttpClient(raise_request_exception=False)
    auth = {"HTTP_AUTHORIZATION": _basic("svc-q", secret), "secure": True}
    form = "application/x-www-form-urlencoded"
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": RP}
    assert http.post("/oidc/token", urlencode(data), content_type=form, **auth).status_code == 500
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    assert http.post("/oidc/token", urlencode(data), content_type=form, **auth).status_code == 500
    assert AuthorizationCode.objects.get(code=code).used_at is None
    old = Token.objects.get(refresh_token=services.refresh_token_digest(first["refresh_token"]))
    assert old.revoked_at is None and old.rotated_at is None
    assert Token.objects.count() == tokens_before
    monkeypatch.undo()
    assert _exchange(secret, code, verifier)[0].status_code == 200  # the code still works
    assert _post(secret, grant_type="refresh_token", refresh_token=first["refresh_token"])[0].status_code == 200


def test_a_value_too_long_for_its_column_is_refused_not_cut(rp, resident):
    """The one-statement redemption (PostgreSQL) casts its parameters for the ``SELECT`` it
    inserts from; a cast to ``varchar(n)`` would silently cut a longer value, where the plain
    ``INSERT`` raises (review of issue 15, F2). Any value too long for its column is an error."""
    from django.db import DataError, transaction
    from django.utils import timezone

    from tungban.oidc import rows

    client, _secret = rp
    code, _verifier = _code(client, resident)
    pk = AuthorizationCode.objects.get(code=code).pk
    too_long = "x" * (Token._meta.get_field("token_type").max_length + 10)
    values = {
        "client": client,
        "resident": resident,
        "token_type": too_long,
        "access_token": "a" * 64,
        "scope": "openid",
    }
    values.update(issued_at=int(time.time()), expires_in=60)
    if not rows.redeems_in_one_statement():
        pytest.skip("the one-statement redemption is PostgreSQL's")
    with pytest.raises(DataError), transaction.atomic():
        rows.redeem_code(pk, timezone.now(), **values)
    assert not Token.objects.filter(token_type__startswith="xxxx").exists()
