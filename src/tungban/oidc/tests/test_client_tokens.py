"""A ``client_credentials`` access token's storage and the token endpoint's rate limiter
(issue 15, fourth round: client_credentials).

* The token is one row of a lean table (:class:`tungban.oidc.models.ClientToken`): one
  index (its digest), no foreign-key constraint, so the grant's one statement updates one
  btree and locks no client row (the peer's cc token is one upsert into a table with one
  index it touches). Every place that resolves an access token still finds it: the bearer
  token check of the platform's APIs, revocation (RFC 7009), UserInfo (which refuses it as
  before), the retention purge.
* The limiter counts failed requests only (RFC 6749 §2.3.1, §10.10; OWASP: throttle failed
  authentications): a valid request reads the counter and is refused past the limit, so
  the statement of a valid request writes no counter row.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
import time

import pytest
from django.db import connection
from django.utils import timezone

from tungban.oidc import fasttoken, resource, services
from tungban.oidc.models import ClientToken, Token, access_token_digest

from .test_token_fast import (
    CLIENT_ID,
    PG,
    basic,
    counter_total,
    environ,
    reference_only,
    through_django,
    through_lane,
)
from .test_token_fast import keep_connection as keep_connection  # noqa: F401 - autouse fixture
from .test_token_fast import rate_limited as rate_limited  # noqa: F401 - autouse fixture
from .test_token_fast import rp as rp  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def _cc(secret, **extra):
    return environ({"grant_type": "client_credentials", **extra}, auth=basic(CLIENT_ID, secret))


def _inserted_table(statements: list[str]) -> str:
    tables = {m.group(1).strip('"') for sql in statements for m in re.finditer(r'INSERT INTO ("?\w+"?)', sql)}
    tables.discard("tungban_ratelimit")
    assert len(tables) == 1, statements
    return tables.pop()


# --- Storage (item 1) ------------------------------------------------------------------------


def test_the_token_is_a_row_of_the_lean_table(rp):
    """The lane's statement inserts into ``oidc_clienttoken`` (not ``oidc_token``); the row
    keeps what the platform needs: the digest, the client, the scope, when and for how long."""
    _, secret = rp
    status, _h, body, statements, alone = through_lane(_cc(secret, scope="signing"))
    assert status == 200 and alone, body
    assert _inserted_table(statements) == "oidc_clienttoken"
    answer = json.loads(body)
    row = ClientToken.objects.get(access_token=access_token_digest(answer["access_token"]))
    assert (row.client.client_id, row.scope, row.expires_in) == (CLIENT_ID, "signing", answer["expires_in"])
    assert abs(row.issued_at - time.time()) < 60 and row.revoked_at is None
    assert not Token.objects.exists()


def test_the_reference_path_stores_it_there_too(rp, monkeypatch):
    _, secret = rp
    with reference_only(monkeypatch):
        status, _h, body, _s = through_django(_cc(secret, scope="signing"))
    assert status == 200, body
    assert ClientToken.objects.filter(access_token=access_token_digest(json.loads(body)["access_token"])).exists()
    assert not Token.objects.exists()


@pytest.mark.skipif(not PG, reason="PostgreSQL's catalogue")
def test_the_insert_updates_one_index_and_checks_no_foreign_key(rp):
    """One btree (the digest's, the primary key) and no FK constraint: no check and no
    ``FOR KEY SHARE`` lock of the client's row at every token's commit."""
    _, secret = rp
    _status, _h, _b, statements, _alone = through_lane(_cc(secret))
    table = _inserted_table(statements)
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
        indexes = [r[0] for r in cursor.fetchall()]
        cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = 'f'", [table])
        foreign = cursor.fetchall()
    assert len(indexes) == 1 and "(access_token)" in indexes[0], indexes
    assert foreign == []


# --- Every reader finds it ---------------------------------------------------------------------


def _issued(secret, scope="signing") -> str:
    status, _h, body, _s, _alone = through_lane(_cc(secret, scope=scope))
    assert status == 200, body
    return json.loads(body)["access_token"]


class _Request:
    """What Authlib's resource protector reads of a Django request."""

    def __init__(self, token: str):
        from django.test import RequestFactory

        self._r = RequestFactory().get("/api/x", HTTP_AUTHORIZATION=f"Bearer {token}")

    def __getattr__(self, name):
        return getattr(self._r, name)


def test_bearer_check_finds_it_with_its_client_and_scope(rp):
    client, secret = rp
    token = resource.bearer_token(_Request(_issued(secret)), "signing")
    assert token.client == client and token.client_id == client.pk
    assert token.resident_id is None and token.resident is None and not token.dpop_jkt
    with pytest.raises(Exception) as refused:
        resource.bearer_token(_Request(_issued(secret)), "openid")
    assert refused.value.code == "insufficient_scope"


def test_an_expired_or_revoked_one_is_refused(rp):
    _, secret = rp
    expired, revoked = _issued(secret), _issued(secret)
    ClientToken.objects.filter(access_token=access_token_digest(expired)).update(issued_at=int(time.time()) - 4000)
    ClientToken.objects.filter(access_token=access_token_digest(revoked)).update(revoked_at=timezone.now())
    for value in (expired, revoked):
        with pytest.raises(Exception) as refused:
            resource.bearer_token(_Request(value), "signing")
        assert refused.value.code == "invalid_token"


def test_revocation_endpoint_revokes_it(rp, issuer):
    import requests

    _, secret = rp
    value = _issued(secret)
    answer = requests.post(f"{issuer}/oidc/revoke", data={"token": value}, auth=(CLIENT_ID, secret))
    assert answer.status_code == 200
    assert ClientToken.objects.get(access_token=access_token_digest(value)).revoked_at is not None
    with pytest.raises(Exception) as refused:
        resource.bearer_token(_Request(value), "signing")
    assert refused.value.code == "invalid_token"


def test_userinfo_refuses_it_as_before(rp, issuer):
    """A client's own token is no resident's: UserInfo's answer is the one a cc token stored
    in ``oidc_token`` got (``test_userinfo_hot``)."""
    import requests

    client, secret = rp
    old = "own-token"
    Token.objects.create(
        access_token=access_token_digest(old), client=client, scope="openid", issued_at=int(time.time()), expires_in=600
    )
    new = _issued(secret, scope="openid")
    answers = [requests.get(f"{issuer}/oidc/userinfo", headers={"Authorization": f"Bearer {v}"}) for v in (old, new)]
    assert answers[0].status_code == answers[1].status_code >= 400
    assert answers[0].json() == answers[1].json()
    assert answers[0].headers.get("WWW-Authenticate") == answers[1].headers.get("WWW-Authenticate")


def test_purge_deletes_expired_ones_only(rp, settings):
    settings.TUNGBAN_EXPIRED_RETENTION = 3600
    _, secret = rp
    old, live = _issued(secret), _issued(secret)
    ClientToken.objects.filter(access_token=access_token_digest(old)).update(issued_at=int(time.time()) - 3 * 3600)
    deleted = services.purge_expired(timezone.now())
    assert deleted[ClientToken._meta.label] == 1
    assert list(ClientToken.objects.values_list("access_token", flat=True)) == [access_token_digest(live)]


def test_deleting_the_client_deletes_its_tokens(rp):
    client, secret = rp
    _issued(secret)
    client.delete()
    assert not ClientToken.objects.exists()


def test_deactivating_the_client_revokes_its_live_tokens(rp):
    """Review (fourth round) L3: a deactivated client's tokens, of both tables, stop working
    at once, with no per-request check of the client (its ``save`` revokes them)."""
    client, secret = rp
    own = _issued(secret)
    login = "a-login-token"
    Token.objects.create(
        access_token=access_token_digest(login),
        client=client,
        scope="signing",
        issued_at=int(time.time()),
        expires_in=600,
    )
    client.is_active = False
    client.save()
    for value in (own, login):
        with pytest.raises(Exception) as refused:
            resource.bearer_token(_Request(value), "signing")
        assert refused.value.code == "invalid_token"
    assert not ClientToken.objects.filter(revoked_at__isnull=True).exists()
    assert not Token.objects.filter(client=client, revoked_at__isnull=True).exists()


def test_migration_moves_existing_client_tokens(rp, resident):
    """Migration ``move_client_tokens``: a client's own tokens in ``oidc_token`` (no resident,
    code, session, refresh token or DPoP key) become rows of ``oidc_clienttoken``; others stay."""
    from django.apps import apps as registry

    module = importlib.import_module("tungban.oidc.migrations.0011_client_tokens")  # its own function
    client, _ = rp
    now = int(time.time())
    own = Token.objects.create(access_token="a" * 64, client=client, scope="cdeg", issued_at=now, expires_in=600)
    Token.objects.filter(pk=own.pk).update(revoked_at=timezone.now() - dt.timedelta(seconds=5))
    Token.objects.create(
        access_token="b" * 64, client=client, resident=resident, scope="openid", issued_at=now, expires_in=600
    )
    module.move_client_tokens(registry, None)
    moved = ClientToken.objects.get(access_token="a" * 64)
    assert (moved.client_id, moved.scope, moved.issued_at, moved.expires_in) == (client.pk, "cdeg", now, 600)
    assert moved.revoked_at is not None
    assert list(Token.objects.values_list("access_token", flat=True)) == ["b" * 64]


# --- The rate limiter (item 2) -------------------------------------------------------------------


@pytest.fixture
def two_a_day(settings):
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "token": "2/d"}  # no window ends mid-test


def test_valid_requests_are_not_counted(rp, two_a_day, monkeypatch):
    """Past the limit's number of valid requests, valid requests are still answered: only
    failures count (lane and reference path alike), and the lane's statement writes no
    counter."""
    _, secret = rp
    for _ in range(3):
        status, _h, body, statements, alone = through_lane(_cc(secret))
        assert status == 200 and alone, body
        assert not any(re.search(r"INSERT INTO \"?tungban_ratelimit", sql) for sql in statements), statements
    with reference_only(monkeypatch):
        for _ in range(3):
            assert through_django(_cc(secret))[0] == 200
    assert counter_total() == 0


def test_failed_authentications_are_counted_and_the_limit_refuses(rp, two_a_day, monkeypatch):
    """Two wrong secrets are answered ``invalid_client`` and counted; past the limit every
    request from that address, a valid one too, gets the 429 and nothing is issued."""
    _, secret = rp
    for _ in range(2):
        status, _h, body, _s, alone = through_lane(_cc("wrong"))
        assert status == 401 and not alone and json.loads(body)["error"] == "invalid_client"
    assert counter_total() == 2
    assert through_lane(_cc("wrong"))[0] == 429
    status, _h, _b, _s, alone = through_lane(_cc(secret))
    assert status == 429 and alone
    with reference_only(monkeypatch):
        assert through_django(_cc(secret))[0] == 429
    assert not ClientToken.objects.exists() and not Token.objects.exists()


def test_a_failed_grant_is_counted(rp, two_a_day):
    """A wrong refresh token (``invalid_grant``) is a failure too: guessing grants is
    throttled as guessing secrets is (RFC 6749 §10.10)."""
    _, secret = rp
    bad = environ({"grant_type": "refresh_token", "refresh_token": "guess"}, auth=basic(CLIENT_ID, secret))
    assert through_lane(bad)[0] == 400
    assert counter_total() == 1


def test_lane_answers_without_the_translation_machinery(rp, monkeypatch):
    """Server CPU (item 3): a valid answer needs no language; the 429 is worded in the
    API's language only when it is given."""
    from django.utils import translation

    _, secret = rp
    calls = []
    real = translation.override
    monkeypatch.setattr(translation, "override", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert through_lane(_cc(secret))[0] == 200
    assert calls == []
    assert fasttoken  # the module under test
