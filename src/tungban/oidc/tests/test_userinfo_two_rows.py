"""Issue 15 (fifth round, ui5): UserInfo and form data read two rows, the token and its
resident, instead of five (token, client, resident, authorization code, pairwise subject).

What a release records and answers that never changes for a token (the pairwise ``sub``,
the approval of the login, the requester as the resident approved it) is copied onto the
token row when the token endpoint issues it (the code's redemption, a refresh on the lane and
on the reference path). These tests pin: the tables a valid request reads, the copies every
issuance writes, the release still recorded once and as before, and the reference path's
answer for a token without the copies (issued before the change)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import secrets
import time

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tungban.oidc import fastrelease, services
from tungban.oidc.models import OFFLINE_ACCESS_SCOPE, AuthorizationCode, LoginSession, PairwiseSubject, Token
from tungban.oidc.tests.test_token_fast import (
    basic,
    environ,
    keep_connection,  # noqa: F401 - fixture
    rate_limited,  # noqa: F401 - fixture
    reference_only,
    through_django,
    through_lane,
)
from tungban.oidc.tests.test_token_queries import RP
from tungban.oidc.tests.test_userinfo_hot import (  # noqa: F401 - fixtures
    ALL_CLAIMS,
    ALL_SCOPE,
    _logged_in,
    _token,
    full_resident,
)
from tungban.testing.factories import make_client
from tungban.wallet.models import ApprovalRequest, ReleaseRecord

pytestmark = pytest.mark.django_db

CLIENT_ID = "svc-two"
READ_OK = {"oidc_token", "identity_resident"}
WRITTEN = "wallet_releaserecord"
NOT_READ = {"oidc_authorizationcode", "oidc_pairwisesubject"}
#: Issue 16 security review M3: the client's row is probed by its primary key for its
#: ``required_acr`` (step-up is the reference path's), no column of it read.
CLIENT_PROBE = re.compile(r'NOT EXISTS \(SELECT 1 FROM "?oidc_client"? c WHERE [^)]*required_acr[^)]*\)')


@pytest.fixture
def svc(db):
    from tungban.keys import services as keys

    client, secret = make_client(
        CLIENT_ID,
        RP,
        allowed_scopes=[
            "openid",
            "profile",
            "hkid",
            "address",
            "billing_address",
            "phone",
            "email",
            OFFLINE_ACCESS_SCOPE,
        ],
    )
    client.name_en, client.name_zh = "Two Rows Service", "兩行服務"
    client.save(update_fields=["name_en", "name_zh"])
    keys.active_key()
    return client, secret


def _tables(sql: str) -> set[str]:
    """The tables a statement names (``FROM``/``JOIN``/``INTO``; the ``WITH`` names have no ``_``)."""
    return set(re.findall(r'(?:FROM|JOIN|INTO)\s+"?([a-z]+_[a-z_]+)"?', sql))


@pytest.mark.parametrize("path", ["/oidc/userinfo", "/oidc/formdata"])
def test_a_valid_request_reads_only_the_token_and_its_resident(svc, full_resident, path):  # noqa: F811
    client, _secret = svc
    _logged_in(client, full_resident)
    view = fastrelease.hot_userinfo if path.endswith("userinfo") else fastrelease.hot_formdata
    with CaptureQueriesContext(connection) as ctx:
        response = view(RequestFactory().get(path, HTTP_AUTHORIZATION="Bearer tok-hot"))
    assert response is not None and response.status_code == 200
    statements = [q["sql"] for q in ctx.captured_queries]
    tables = set().union(*(_tables(CLIENT_PROBE.sub("", s)) for s in statements))
    assert tables <= READ_OK | {WRITTEN}, statements
    assert not tables & NOT_READ, statements
    assert ReleaseRecord.objects.filter(resident=full_resident).count() == 1


def _approved_code(client, resident):
    """An approved login's code (PKCE, login session, approval, pairwise ``sub``)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    session = LoginSession.objects.create(
        sid=secrets.token_urlsafe(24), resident=resident, client=client, auth_time=int(time.time()), acr="x"
    )
    approval = ApprovalRequest.objects.create(
        kind="login",
        nonce=secrets.token_urlsafe(8),
        resident=resident,
        status="completed",
        expires_at=timezone.now() + dt.timedelta(minutes=5),
    )
    services.pairwise_sub(resident, client)
    code = AuthorizationCode.objects.create(
        code=secrets.token_urlsafe(36),
        client=client,
        resident=resident,
        session=session,
        approval=approval,
        redirect_uri=RP,
        scope=f"{ALL_SCOPE} {OFFLINE_ACCESS_SCOPE}",
        claims=ALL_CLAIMS,
        nonce="n-1",
        auth_time=session.auth_time,
        acr=services.acr_for(resident),
        amr=["swk"],
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    return code, verifier


def _copies(token: Token) -> dict:
    return {
        "sub": token.sub,
        "approval_id": token.approval_id,
        "requester_id": token.requester_id,
        "requester_name_en": token.requester_name_en,
        "requester_name_zh": token.requester_name_zh,
    }


def _expected(client, resident, code) -> dict:
    return {
        "sub": PairwiseSubject.objects.get(resident=resident, sector=client.sector).sub,
        "approval_id": code.approval_id,
        "requester_id": client.client_id,
        "requester_name_en": "Two Rows Service",
        "requester_name_zh": "兩行服務",
    }


def _issued(answer) -> Token:
    return Token.objects.get(access_token=services.access_token_digest(json.loads(answer[2])["access_token"]))


@pytest.mark.parametrize("refresh_on", ["lane", "reference"])
def test_every_issuance_copies_what_the_release_needs(svc, full_resident, refresh_on, monkeypatch):  # noqa: F811
    client, secret = svc
    code, verifier = _approved_code(client, full_resident)
    first = through_django(
        environ(
            {"grant_type": "authorization_code", "redirect_uri": RP, "code": code.code, "code_verifier": verifier},
            auth=basic(CLIENT_ID, secret),
        )
    )
    assert first[0] == 200, first[2]
    expected = _expected(client, full_resident, code)
    assert _copies(_issued(first)) == expected
    refresh = {"grant_type": "refresh_token", "refresh_token": json.loads(first[2])["refresh_token"]}
    if refresh_on == "lane":
        second = through_lane(environ(refresh, auth=basic(CLIENT_ID, secret)))
        assert second[4], "answered by the lane"
    else:
        with reference_only(monkeypatch):
            second = through_django(environ(refresh, auth=basic(CLIENT_ID, secret)))
    assert second[0] == 200, second[2]
    assert _copies(_issued(second)) == expected


def test_the_release_names_the_requester_as_approved_and_the_approval(svc, full_resident):  # noqa: F811
    """The record is the one the five-row read wrote: the requester's names in both languages
    (as the resident approved them at the login), the login's approval, the claims answered."""
    client, secret = svc
    code, verifier = _approved_code(client, full_resident)
    first = through_django(
        environ(
            {"grant_type": "authorization_code", "redirect_uri": RP, "code": code.code, "code_verifier": verifier},
            auth=basic(CLIENT_ID, secret),
        )
    )
    access = json.loads(first[2])["access_token"]
    response = fastrelease.hot_userinfo(RequestFactory().get("/oidc/userinfo", HTTP_AUTHORIZATION=f"Bearer {access}"))
    assert response is not None and response.status_code == 200
    answer = json.loads(response.content)
    assert answer["sub"] == PairwiseSubject.objects.get(resident=full_resident, sector=client.sector).sub
    (record,) = ReleaseRecord.objects.filter(resident=full_resident)
    assert (record.requester_id, record.requester_name_en, record.requester_name_zh) == (
        CLIENT_ID,
        "Two Rows Service",
        "兩行服務",
    )
    assert record.approval_id == code.approval_id and record.kind == "login"
    assert record.claims == [name for name in ALL_CLAIMS if name in answer]


@pytest.mark.parametrize("path", ["/oidc/userinfo", "/oidc/formdata"])
def test_a_token_without_the_copies_gets_the_reference_answer(svc, full_resident, client, path):  # noqa: F811
    """A token issued before the copies existed: the fast path writes nothing and the
    reference path answers it (and records the requester's names), as for any case the
    statement does not take."""
    rp, _secret = svc
    _logged_in(rp, full_resident, "old-token")
    Token.objects.filter(access_token=services.access_token_digest("old-token")).update(
        sub="", requester_id="", requester_name_en="", requester_name_zh="", approval=None
    )
    view = fastrelease.hot_userinfo if path.endswith("userinfo") else fastrelease.hot_formdata
    assert view(RequestFactory().get(path, HTTP_AUTHORIZATION="Bearer old-token")) is None
    assert not ReleaseRecord.objects.exists()
    answer = client.get(path, HTTP_AUTHORIZATION="Bearer old-token")
    assert answer.status_code == 200 and answer.json()["name"]
    (record,) = ReleaseRecord.objects.filter(resident=full_resident)
    assert (record.requester_id, record.requester_name_zh) == (CLIENT_ID, "兩行服務")


def test_a_token_made_through_the_orm_gets_its_copies(svc, full_resident):  # noqa: F811
    client, _secret = svc
    token = _token(client, full_resident, "orm-made")
    assert token.requester_id == CLIENT_ID and token.requester_name_zh == "兩行服務"
    assert token.sub == ""  # no pairwise sub at this sector yet: the reference path creates it
    services.pairwise_sub(full_resident, client)
    assert _token(client, full_resident, "orm-made-2").sub == services.pairwise_sub(full_resident, client)


@pytest.mark.parametrize("with_subject", [True, False])
def test_the_statement_binds_only_the_requests_values(with_subject):
    """The catalogue's constants (claim and scope names, the active status, the kind) are in
    the statement's text as quoted literals; the driver binds the three values of the request
    (the token's digest, the time, the release's time), not 25."""
    from tungban.oidc import scopes

    sql, constants = fastrelease.statement(with_subject, scopes.generation())
    assert constants == {}
    assert set(re.findall(r"%\((\w+)\)s", sql)) == {"token", "now", "released_at"}
    assert "'name#zh-Hant'" in sql and "'profile'" in sql


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_a_renamed_client_and_a_moved_sector_keep_the_tokens_requester_and_sub(svc, full_resident, client, fast):  # noqa: F811
    """Once a token is issued, renaming its client or moving it to another sector changes
    neither the ``sub`` it answers (the ID token's, OIDC Core §5.3.2) nor the requester its
    releases record (as the resident approved it), on the fast path and the reference path
    alike."""
    rp, _secret = svc
    _logged_in(rp, full_resident, "issued")
    sub = PairwiseSubject.objects.get(resident=full_resident, sector=rp.sector).sub
    rp.name_en, rp.name_zh, rp.sector_identifier = "Renamed", "改名", "other.example"
    rp.save()
    if fast:
        response = fastrelease.hot_userinfo(RequestFactory().get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer issued"))
        assert response is not None
    else:
        from tungban.oidc import views

        response = views.userinfo(RequestFactory().get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer issued"))
    assert response.status_code == 200 and json.loads(response.content)["sub"] == sub
    (record,) = ReleaseRecord.objects.filter(resident=full_resident)
    assert (record.requester_name_en, record.requester_name_zh) == ("Two Rows Service", "兩行服務")
