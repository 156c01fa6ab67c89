"""Issue 15 (userinfo): the UserInfo and form-data endpoints on the hot path.

The common valid case (``Authorization: Bearer`` with a valid, unexpired, unrevoked token of
an active resident) is answered before the page middleware with one read (the token with its
client, resident, approval and pairwise ``sub``) and one write (the release record); every
other request falls through to the reference view (Authlib's resource protector), which
gives every error answer. These tests pin: the number of SQL statements, that the fast
answer equals the reference answer byte for byte and records the same release once, and that
every error case falls through."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tungban.core import hotpaths
from tungban.oidc import fastrelease
from tungban.oidc.models import AuthorizationCode, PairwiseSubject, Token, access_token_digest
from tungban.oidc.services import pairwise_sub
from tungban.testing.factories import make_client
from tungban.wallet.models import ReleaseRecord

pytestmark = pytest.mark.django_db

ALL_CLAIMS = [
    "name",
    "name#zh-Hant",
    "hkid",
    "gender",
    "birthdate",
    "address",
    "billing_address",
    "phone_number",
    "email",
]
ALL_SCOPE = "openid profile hkid address billing_address phone email"
RELEASE_FIELDS = (
    "resident_id",
    "requester_id",
    "requester_name_en",
    "requester_name_zh",
    "kind",
    "claims",
    "approval_id",
)


@pytest.fixture
def svc(db):
    return make_client(
        "svc-hot",
        "https://rp-hot.example/cb",
        allowed_scopes=["openid", "profile", "hkid", "address", "billing_address", "phone", "email"],
    )[0]


@pytest.fixture
def full_resident(resident):
    """A resident with every e-ME field filled (addresses on several lines, a Chinese name)."""
    resident.residential_address = "Flat A, 12/F\r\n1 Queen's Road Central\nCentral"
    resident.billing_address = "Room 3, 4/F\n8 Nathan Road\nTsim Sha Tsui"
    resident.phone = "+852 9123 4567"
    resident.email = "chan@example.hk"
    resident.name_zh = "陳大文"
    resident.save()
    return resident


def _token(client, resident, value="tok-hot", *, scope=ALL_SCOPE, claims=ALL_CLAIMS, **extra):
    fields = dict(
        access_token=access_token_digest(value),
        client=client,
        resident=resident,
        scope=scope,
        claims=list(claims),
        issued_at=int(time.time()),
        expires_in=600,
    )
    fields.update(extra)
    return Token.objects.create(**fields)


def _logged_in(client, resident, value="tok-hot", **extra):
    """A token as a login leaves it: its code's approval and the pairwise ``sub`` (created
    when the ID token was issued)."""
    from tungban.wallet.models import ApprovalRequest

    approval = ApprovalRequest.objects.create(
        kind="login", nonce=f"n-{value}", resident=resident, expires_at=timezone.now() + dt.timedelta(minutes=5)
    )
    code = AuthorizationCode.objects.create(
        code=f"code-{value}",
        client=client,
        resident=resident,
        approval=approval,
        redirect_uri="https://rp-hot.example/cb",
        scope=ALL_SCOPE,
        claims=ALL_CLAIMS,
        auth_time=int(time.time()),
        acr="urn:tungban:acr:basic",
        code_challenge="x",
        code_challenge_method="S256",
    )
    pairwise_sub(resident, client)
    return _token(client, resident, value, authorization_code=code, **extra)


@pytest.fixture
def no_hot_route():
    """The reference path only: the hot routes of userinfo and form data removed."""
    saved = dict(hotpaths._routes)
    for key in list(hotpaths._routes):
        if key[1] in ("/oidc/userinfo", "/oidc/formdata"):
            del hotpaths._routes[key]
    yield
    hotpaths._routes.clear()
    hotpaths._routes.update(saved)


def _release_fields(record):
    return {name: getattr(record, name) for name in RELEASE_FIELDS}


# --- registration -------------------------------------------------------------------------


def test_userinfo_and_formdata_are_hot_paths():
    for path in ("/oidc/userinfo", "/oidc/formdata"):
        for method in ("GET", "POST"):
            assert hotpaths.registered(method, path) is not None, (method, path)


# --- queries --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/oidc/userinfo", "/oidc/formdata"])
def test_valid_request_is_one_read_and_one_write(client, svc, full_resident, path):
    """At most two SQL statements that Django sees: on SQLite the token read (with client,
    resident, approval and pairwise ``sub`` joined) and the release insert; on PostgreSQL the
    one statement goes to psycopg's connection itself (Django sees none: it is counted on the
    wire, :func:`test_a_valid_request_is_one_round_trip_on_the_wire`). The test runs inside the test case's transaction,
    so any ``SAVEPOINT`` the code opened would be counted here too; in autocommit (a real
    request) neither statement is wrapped in BEGIN/COMMIT (see
    :func:`test_no_transaction_block_around_the_two_statements`)."""
    _logged_in(svc, full_resident)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, HTTP_AUTHORIZATION="Bearer tok-hot")
    assert response.status_code == 200, response.content
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) <= 2, "\n".join(statements)
    assert ReleaseRecord.objects.filter(resident=full_resident).count() == 1


@pytest.mark.django_db(transaction=True)
def test_no_transaction_block_around_the_two_statements(svc, full_resident, monkeypatch):
    """In autocommit, the fast view opens no atomic block: no BEGIN/SAVEPOINT/COMMIT round
    trips around its two statements (each is its own implicit transaction)."""
    from django.test import Client

    _logged_in(svc, full_resident)
    calls = []
    for name in ("_commit", "_savepoint", "_set_autocommit"):
        original = getattr(connection, name)
        monkeypatch.setattr(connection, name, lambda *a, _o=original, _n=name, **k: (calls.append(_n), _o(*a, **k))[1])
    with CaptureQueriesContext(connection) as queries:
        response = Client().get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer tok-hot")
    assert response.status_code == 200
    assert len(queries.captured_queries) <= 2, [q["sql"] for q in queries.captured_queries]
    assert calls == []


def _wsgi_get(path: str, token: str) -> tuple[str, bytes]:
    """``GET path`` with the bearer ``token`` through ``tungban.wsgi.application``, as a WSGI
    server calls it (unlike the test client, with ``close_old_connections`` at the request's
    start and end: the health check of a persistent connection)."""
    import io
    import sys

    from tungban.wsgi import application

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    status = []
    result = application(environ, lambda s, h, e=None: status.append(s))
    try:
        return status[0], b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="round trips of a persistent PostgreSQL connection")
@pytest.mark.parametrize("path", ["/oidc/userinfo", "/oidc/formdata"])
def test_a_valid_request_is_one_round_trip_on_the_wire(svc, full_resident, path):
    """Issue 15 (third round): everything one request sends to PostgreSQL on a persistent
    connection, counted on the wire (:mod:`tungban.testing.pgwire`): one statement that reads
    the token and inserts the release record (a data-modifying ``WITH``), nothing else: no
    second statement, no ``CONN_HEALTH_CHECKS`` ``SELECT 1``, no BEGIN/COMMIT."""
    from tungban.testing.pgwire import relayed

    _logged_in(svc, full_resident)
    with relayed(connection) as wire:
        assert _wsgi_get(path, "tok-hot")[0].startswith("200")  # opens the persistent connection
        wire.clear()
        status, body = _wsgi_get(path, "tok-hot")
        assert status.startswith("200"), body
        statements = list(wire.statements)
    assert len(statements) == 1, "\n".join(statements)
    assert statements[0].startswith("WITH") and "INSERT INTO" in statements[0], statements
    assert ReleaseRecord.objects.filter(resident=full_resident).count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements of a PostgreSQL connection")
def test_a_warm_connection_sends_the_statement_prepared(svc, full_resident):
    """Issue 15: once psycopg has prepared it (``TUNGBAN_DB_PREPARE_THRESHOLD`` executions
    on the connection), a request sends no statement text to parse and plan: only the
    prepared statement's name and parameters (no ``Parse`` message on the wire)."""
    from tungban.testing.pgwire import relayed

    threshold = connection.settings_dict["OPTIONS"].get("prepare_threshold")
    if threshold is None:
        pytest.skip("prepared statements are off (TUNGBAN_DB_PREPARE_THRESHOLD=off)")
    _logged_in(svc, full_resident)
    with relayed(connection) as wire:
        for _ in range(threshold + 1):
            assert _wsgi_get("/oidc/userinfo", "tok-hot")[0].startswith("200")
        wire.clear()
        assert _wsgi_get("/oidc/userinfo", "tok-hot")[0].startswith("200")
        assert len(wire.statements) == 1 and wire.parses == 0, (wire.statements, wire.parses)


# --- the fast answer is the reference answer ------------------------------------------------


@pytest.mark.parametrize(("path", "kind"), [("/oidc/userinfo", "login"), ("/oidc/formdata", "formfill")])
@pytest.mark.parametrize(
    "claims",
    [ALL_CLAIMS, ["name", "hkid"], [], ["address", "email", "gender"]],
    ids=["all", "name-hkid", "none", "address-email-gender"],
)
def test_fast_answer_equals_the_reference_answer(client, svc, full_resident, path, kind, claims, request):
    tok_a = _logged_in(svc, full_resident, "tok-a", claims=claims)
    tok_b = _logged_in(svc, full_resident, "tok-b", claims=claims)

    fast = client.get(path, HTTP_AUTHORIZATION="Bearer tok-a")
    request.getfixturevalue("no_hot_route")
    reference = client.get(path, HTTP_AUTHORIZATION="Bearer tok-b")

    assert fast.status_code == reference.status_code == 200
    assert fast.content == reference.content  # same JSON, same key order, same bytes
    assert fast["Content-Type"] == reference["Content-Type"]
    assert fast["Access-Control-Allow-Origin"] == reference["Access-Control-Allow-Origin"] == "*"
    assert fast.get("Cache-Control") == reference.get("Cache-Control")
    assert fast["Content-Length"] == reference["Content-Length"] == str(len(fast.content))
    records = list(ReleaseRecord.objects.filter(resident=full_resident).order_by("pk"))
    assert len(records) == 2  # one release per call, none twice
    fast_fields, reference_fields = _release_fields(records[0]), _release_fields(records[1])
    # each token comes from its own login, so each release names its own approval
    assert fast_fields.pop("approval_id") == tok_a.authorization_code.approval_id
    assert reference_fields.pop("approval_id") == tok_b.authorization_code.approval_id
    assert fast_fields == reference_fields
    assert records[0].kind == kind
    assert records[0].released_at <= records[1].released_at <= timezone.now()


def test_fast_view_answers_the_common_case_itself(svc, full_resident):
    """The hot view itself answers (does not fall through) for a valid bearer token, with
    the scheme in any case (RFC 6750 §2.1, RFC 9110 §11.1: the scheme is case-insensitive)."""
    _logged_in(svc, full_resident)
    factory = RequestFactory()
    for header in ("Bearer tok-hot", "bearer tok-hot", "BEARER tok-hot", "Bearer   tok-hot"):
        response = fastrelease.hot_userinfo(factory.get("/oidc/userinfo", HTTP_AUTHORIZATION=header))
        assert response is not None and response.status_code == 200, header
    empty = factory.post(
        "/oidc/userinfo", b"", content_type="application/x-www-form-urlencoded", HTTP_AUTHORIZATION="Bearer tok-hot"
    )
    response = fastrelease.hot_userinfo(empty)
    assert response is not None and response.status_code == 200
    sub = PairwiseSubject.objects.get(resident=full_resident).sub
    assert response.content.startswith(b'{"sub": "' + sub.encode() + b'"')


def test_b64token_syntax(svc, full_resident):
    """RFC 6750 §2.1: ``b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="``."""
    value = "aZ09-._~+/tok=="
    _logged_in(svc, full_resident, value)
    response = fastrelease.hot_userinfo(RequestFactory().get("/oidc/userinfo", HTTP_AUTHORIZATION=f"Bearer {value}"))
    assert response is not None and response.status_code == 200


# --- everything else falls through to the reference view ------------------------------------


def _fall_through_cases(svc, resident, other_resident):
    now = int(time.time())
    _logged_in(svc, resident, "good")
    _logged_in(svc, resident, "expired", issued_at=now - 700)
    _logged_in(svc, resident, "revoked", revoked_at=timezone.now())
    _logged_in(svc, resident, "no-openid", scope="profile")
    _logged_in(svc, resident, "dpop-bound", dpop_jkt="x" * 43)
    Token.objects.create(
        access_token=access_token_digest("own-token"), client=svc, scope="openid", issued_at=now, expires_in=600
    )
    _token(svc, other_resident, "no-sub-yet")  # no pairwise sub at this sector yet
    return [
        ("GET", {}, None),  # no credentials: the bare challenge
        ("GET", {"HTTP_AUTHORIZATION": "Basic Z29vZDp4"}, None),
        ("GET", {"HTTP_AUTHORIZATION": "Bearer"}, None),
        ("GET", {"HTTP_AUTHORIZATION": "Bearer "}, None),
        ("GET", {"HTTP_AUTHORIZATION": "Bearer good extra"}, None),
        ("GET", {"HTTP_AUTHORIZATION": "Bearer good "}, None),
        ("GET", {"HTTP_AUTHORIZATION": " Bearer good"}, None),
        ("GET", {"HTTP_AUTHORIZATION": "Bearer go=od"}, None),  # '=' only at the end
        ("GET", {"HTTP_AUTHORIZATION": "Bearer göod"}, None),
        ("GET", {"HTTP_AUTHORIZATION": "Bearer\tgood"}, None),
        ("GET", {"HTTP_AUTHORIZATION": "Bearer nope"}, None),
        ("GET", {"HTTP_AUTHORIZATION": "Bearer expired"}, None),
        ("GET", {"HTTP_AUTHORIZATION": "Bearer revoked"}, None),
        ("GET", {"HTTP_AUTHORIZATION": "Bearer no-openid"}, None),
        ("GET", {"HTTP_AUTHORIZATION": "Bearer dpop-bound"}, None),
        ("GET", {"HTTP_AUTHORIZATION": "DPoP dpop-bound", "HTTP_DPOP": "x.y.z"}, None),
        ("GET", {"HTTP_AUTHORIZATION": "Bearer good", "HTTP_DPOP": "x.y.z"}, None),
        ("GET", {"HTTP_AUTHORIZATION": "Bearer own-token"}, None),
        ("GET", {"HTTP_AUTHORIZATION": "Bearer no-sub-yet"}, None),
        ("POST", {"HTTP_AUTHORIZATION": "Bearer good"}, {"access_token": "good"}),  # a body
        ("POST", {}, {"access_token": "good"}),  # RFC 6750 §2.2 form body only
    ]


def test_everything_but_the_common_case_falls_through(svc, full_resident, officer):
    from tungban.testing.factories import make_resident

    cases = _fall_through_cases(svc, full_resident, make_resident(officer))
    factory = RequestFactory()
    for method, headers, body in cases:
        if method == "GET":
            req = factory.get("/oidc/userinfo", **headers)
        else:
            req = factory.post("/oidc/userinfo", body or {}, **headers)
        assert fastrelease.hot_userinfo(req) is None, (method, headers, body)
    full_resident.status = "suspended"
    full_resident.save()
    assert fastrelease.hot_userinfo(factory.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer good")) is None
    assert fastrelease.hot_formdata(factory.get("/oidc/formdata", HTTP_AUTHORIZATION="Bearer good")) is None
    assert not ReleaseRecord.objects.exists()  # nothing recorded by a view that fell through


@pytest.mark.parametrize("path", ["/oidc/userinfo", "/oidc/formdata"])
def test_error_answers_are_the_reference_answers(client, svc, full_resident, officer, path, request):
    """Through the whole stack, every fall-through case answers exactly as the reference path
    (status, body, ``WWW-Authenticate``), and records nothing."""
    from tungban.testing.factories import make_resident

    cases = _fall_through_cases(svc, full_resident, make_resident(officer))

    def answers():
        out = []
        for method, headers, body in cases:
            if method == "GET":
                resp = client.get(path, **headers)
            else:
                resp = client.post(path, body or {}, **headers)
            out.append((resp.status_code, resp.content, resp.get("WWW-Authenticate")))
        return out

    with_hot = answers()
    # the valid ones (the common case, a bearer token with a DPoP header, the first-time sub)
    # release data: drop those rows, then compare with the reference path's answers
    ReleaseRecord.objects.all().delete()
    request.getfixturevalue("no_hot_route")
    reference = answers()
    for case, got, want in zip(cases, with_hot, reference, strict=True):
        if case[1].get("HTTP_AUTHORIZATION") in ("Bearer no-sub-yet",):
            assert got[0] == want[0] == 200
            continue
        assert got == want, case


# --- personal data: decrypted only as released, ciphers built once ---------------------------


def test_only_released_fields_are_decrypted_and_no_cipher_is_built(client, svc, full_resident, monkeypatch):
    """The resident's encrypted columns (AES-GCM, ``core.fields``) are decrypted only for the
    claims released: a token for ``name`` opens the two name fields, not the HKID, addresses,
    phone or e-mail; and no AES-GCM key object is built per request (built once per process)."""
    from tungban.core import fields

    _logged_in(svc, full_resident, "name-only", claims=["name"])
    client.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer name-only")  # warm: ciphers built
    opened, built = [], []
    real_decrypt, real_aesgcm = fields.decrypt, fields.AESGCM
    monkeypatch.setattr(fields, "decrypt", lambda token: opened.append(token) or real_decrypt(token))
    monkeypatch.setattr(fields, "AESGCM", lambda key: built.append(key) or real_aesgcm(key))
    from tungban.identity import eme

    monkeypatch.setattr(eme, "decrypt", fields.decrypt)
    response = client.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer name-only")
    assert response.status_code == 200
    assert set(response.json()) == {"sub", "name", "family_name", "given_name"}
    assert len(opened) == 2, len(opened)  # family_name_en and given_name_en
    assert built == []


def test_a_shared_sector_gives_the_sector_sub(svc, full_resident, client):
    """A client grouped under a ``sector_identifier`` (OIDC Core §8.1) gets the sector's
    ``sub``, shared with the other services of the sector, on the fast path too."""
    sibling = make_client("svc-sibling", "https://sibling.example/cb")[0]
    for c in (svc, sibling):
        c.sector_identifier = "dept.example"
        c.save()
    _logged_in(sibling, full_resident, "sibling")  # the sector's sub, created at the sibling's login
    _token(svc, full_resident, "grouped")
    response = fastrelease.hot_userinfo(RequestFactory().get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer grouped"))
    assert response is not None and response.status_code == 200
    sub = json.loads(response.content)["sub"]
    assert sub == PairwiseSubject.objects.get(resident=full_resident, sector="dept.example").sub
    assert client.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer sibling").json()["sub"] == sub


# --- the release recorded is exactly the release answered (issue 15, third round) -----------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/oidc/userinfo", "/oidc/formdata"])
def test_a_value_no_key_opens_answers_500_and_leaves_no_release(svc, full_resident, path):
    """A stored value that no configured key opens (``core.fields.UnreadableValue``: a key
    dropped too early, an altered row) is never served, and no release is recorded for the
    answer that was not given: on the one-statement path the record the statement inserted is
    taken back (autocommit: a real request's transactions)."""
    from django.test import Client

    from tungban.identity.models import Resident

    _logged_in(svc, full_resident)
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(Resident._meta.db_table)
        cursor.execute(f"UPDATE {table} SET phone = %s WHERE id = %s", ["a1:" + "A" * 40, full_resident.pk])
    response = Client(raise_request_exception=False).get(path, HTTP_AUTHORIZATION="Bearer tok-hot")
    assert response.status_code == 500, response.content
    assert response.json()["error"] == "server_error"
    assert not ReleaseRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_record_names_the_claims_answered_even_if_the_database_guessed_otherwise(svc, resident, monkeypatch):
    """The one statement records the claims it can tell are present from the stored columns
    (an encrypted value is empty exactly when its column is: ``core.fields.encrypt``); Python
    decides what is answered. Should the two disagree (here: the database told that ``email``
    is always present, and the resident has none), the record is corrected to exactly the
    claims answered before the answer leaves."""
    from django.test import Client

    from tungban.identity import eme

    resident.email = ""
    resident.save()
    _logged_in(svc, resident)
    monkeypatch.setitem(eme.PRESENCE, "email", None)  # "always present": wrong for this resident
    fastrelease.statement.cache_clear()
    try:
        response = Client().get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer tok-hot")
    finally:
        fastrelease.statement.cache_clear()
    assert response.status_code == 200
    answered = [name for name in ALL_CLAIMS if name in response.json()]
    assert "email" not in answered
    (record,) = ReleaseRecord.objects.all()
    assert record.claims == answered


def test_presence_columns_tell_which_claims_have_a_value(resident):
    """``eme.PRESENCE``: a claim with a column has a value exactly when that column is not
    empty; a claim without one always has a value."""
    from tungban.identity import eme
    from tungban.identity.models import Resident

    assert set(eme.PRESENCE) == {name for name in eme.CLAIMS if eme.own_claims_only([name])}
    columns = {f.column: f.attname for f in Resident._meta.concrete_fields}
    for name, column in eme.PRESENCE.items():
        if column is None:
            assert name in eme.values(resident, [name]), name
            continue
        attname = columns[column]
        if attname in ("hkid", "gender", "date_of_birth"):
            assert getattr(resident, attname), name  # required fields: present
            assert name in eme.values(resident, [name]), name
            continue
        setattr(resident, attname, "")
        assert name not in eme.values(resident, [name]), name
        setattr(resident, attname, "x\ny")
        assert name in eme.values(resident, [name]), name


# --- step-up (issue 16 security review M3) ----------------------------------------------------


@pytest.mark.parametrize("hot", [True, False])
@pytest.mark.parametrize("path", ["/oidc/userinfo", "/oidc/formdata"])
def test_a_login_below_the_clients_required_level_gets_step_up(client, svc, full_resident, path, hot, request):
    """RFC 9470 §3 on UserInfo and form data as on every API: the client's level was raised
    after the login (a basic one), so its token is refused with the step-up challenge, on the
    hot path as on the reference path, and nothing is released."""
    from tungban.oidc.constants import ACR_PLUS
    from tungban.oidc.models import Client

    if not hot:
        request.getfixturevalue("no_hot_route")
    _logged_in(svc, full_resident)
    Client.objects.filter(pk=svc.pk).update(required_acr=ACR_PLUS)  # raised after issuance
    assert fastrelease.answer_bytes("GET", {"HTTP_AUTHORIZATION": "Bearer tok-hot"}, with_subject=True) is None
    response = client.get(path, HTTP_AUTHORIZATION="Bearer tok-hot")
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "insufficient_user_authentication"
    assert 'error="insufficient_user_authentication"' in response["WWW-Authenticate"]
    assert f'acr_values="{ACR_PLUS}"' in response["WWW-Authenticate"]
    assert not ReleaseRecord.objects.exists()


@pytest.mark.parametrize("path", ["/oidc/userinfo", "/oidc/formdata"])
def test_a_login_meeting_the_clients_required_level_is_answered(client, svc, full_resident, path):
    from tungban.oidc.constants import ACR_MFA
    from tungban.oidc.models import Client

    token = _logged_in(svc, full_resident)
    AuthorizationCode.objects.filter(pk=token.authorization_code_id).update(acr=ACR_MFA, amr=["hwk", "mfa"])
    Client.objects.filter(pk=svc.pk).update(required_acr=ACR_MFA)
    response = client.get(path, HTTP_AUTHORIZATION="Bearer tok-hot")
    assert response.status_code == 200, response.content
    assert ReleaseRecord.objects.filter(resident=full_resident).count() == 1
