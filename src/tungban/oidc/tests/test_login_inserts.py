"""The login's hot writes without the ORM's query compiler (issue 15 acceptance 2):
:func:`tungban.core.rawsql.insert` writes the row ``objects.create`` writes."""

import datetime as dt

import pytest
from django.db.models import signals
from django.utils import timezone

from tungban.core import rawsql
from tungban.oidc.models import AuthorizationCode, LoginSession
from tungban.testing.login_steps import LoginSteps, StepMeter, setup_login
from tungban.wallet.models import ApprovalRequest

pytestmark = pytest.mark.django_db

#: The models the login writes with :func:`rawsql.insert`, which sends no model signals.
FAST = (ApprovalRequest, LoginSession, AuthorizationCode)


def _row(model, pk):
    return model.objects.filter(pk=pk).values().get()


def test_no_receiver_listens_to_the_rows_written_without_signals():
    for model in FAST:
        for signal in (signals.pre_save, signals.post_save):
            assert not signal.has_listeners(model), (signal, model)


def test_an_insert_writes_the_row_create_writes():
    client_id, _secret, devices = setup_login()
    steps = LoginSteps(client_id, _secret, devices[0], measure=StepMeter())
    steps.login()  # a real login: an approval, a session, a code written by rawsql.insert
    code = AuthorizationCode.objects.select_related("approval", "session", "resident", "client").latest("id")
    approval, session = code.approval, code.session
    assert approval.status == "completed" and approval.context["browser"] and approval.user_code
    assert session.sid and session.resident_id == code.resident_id
    assert code.code_challenge_method == "S256" and code.nonce and code.claims == approval.approved_claims
    # The same fields through the ORM and through rawsql.insert: the same stored row.
    fields = {
        "resident": code.resident,
        "client": code.client,
        "auth_time": 1_700_000_000,
        "acr": "urn:tungban:acr:basic",
    }
    by_orm = LoginSession.objects.create(sid="by-orm", **fields)
    by_insert = rawsql.insert(LoginSession(sid="by-insert", **fields))
    assert by_insert.pk and not by_insert._state.adding
    a, b = _row(LoginSession, by_orm.pk), _row(LoginSession, by_insert.pk)
    assert abs(a.pop("created_at") - b.pop("created_at")) < dt.timedelta(seconds=5)
    assert {**a, "id": 0, "sid": ""} == {**b, "id": 0, "sid": ""}
    # A UUID primary key and JSON fields.
    values = {
        "kind": "login",
        "requester_id": "x",
        "requested_claims": [{"name": "name", "essential": True}],
        "nonce": "n",
        "context": {"query": "a=b", "nested": {"ü": [1, None]}},
        "expires_at": timezone.now(),
    }
    orm = ApprovalRequest.objects.create(**values)
    fast = rawsql.insert(ApprovalRequest(**values))
    a, b = _row(ApprovalRequest, orm.pk), _row(ApprovalRequest, fast.pk)
    assert a.pop("id") != b.pop("id")
    assert abs(a.pop("created_at") - b.pop("created_at")) < dt.timedelta(seconds=5)
    assert a == b


def test_a_login_session_and_its_code_are_written_as_two_inserts_would(django_assert_num_queries):
    """:func:`rawsql.insert_linked` (issue 15: the completion's login session and code, one
    statement on PostgreSQL) stores the rows two :func:`rawsql.insert` calls store, the code
    pointing at the new session."""
    from django.db import connection

    client_id, _secret, devices = setup_login()
    LoginSteps(client_id, _secret, devices[0], measure=StepMeter()).login()
    model = AuthorizationCode.objects.select_related("session", "resident", "client", "approval").latest("id")

    def pair(sid, code):
        session = LoginSession(sid=sid, resident=model.resident, client=model.client, auth_time=1, acr="a")
        fields = {f.attname: getattr(model, f.attname) for f in AuthorizationCode._meta.concrete_fields}
        fields.update(id=None, code=code, session_id=None, used_at=None)
        return session, AuthorizationCode(**fields)

    one_session, one_code = pair("linked", "linked-code")
    statements = 1 if connection.vendor == "postgresql" else 2
    with django_assert_num_queries(statements):
        saved = rawsql.insert_linked(one_session, one_code, "session")
    assert saved is one_code and saved.pk and one_session.pk and not saved._state.adding
    assert saved.session_id == one_session.pk and not one_session._state.adding
    two_session, two_code = pair("two", "two-code")
    rawsql.insert(two_session)
    two_code.session = two_session
    rawsql.insert(two_code)
    for model_, a, b in ((LoginSession, one_session, two_session), (AuthorizationCode, one_code, two_code)):
        x, y = _row(model_, a.pk), _row(model_, b.pk)
        assert abs(x.pop("created_at") - y.pop("created_at")) < dt.timedelta(seconds=5)
        ignore = {"id": 0, "sid": "", "code": "", "session_id": 0}
        assert {**x, **{k: v for k, v in ignore.items() if k in x}} == {
            **y,
            **{k: v for k, v in ignore.items() if k in y},
        }
    assert AuthorizationCode.objects.get(pk=one_code.pk).session.sid == "linked"
