"""Issue 15 (fourth round, ui4): UserInfo and form data cost less on both sides of the
connection, with the same answers and every release on record.

* The one statement reads only the resident's columns that a released claim (or the
  suspension check) needs (:data:`tungban.identity.eme.READS`), not the whole row: fewer
  columns for PostgreSQL to carry through the ``WITH`` and for psycopg to convert.
* Each answer decrypts each released field once, and no field a released claim does not need.
* The resident's history still lists every release, newest first, with the requester's names
  in both languages, as the app's ``/history`` gives them.
"""

from __future__ import annotations

import pytest

from tungban.identity import eme
from tungban.identity.models import Resident
from tungban.oidc import fastrelease
from tungban.oidc.tests.test_userinfo_hot import (
    ALL_CLAIMS,
    _logged_in,
    full_resident,  # noqa: F401 - fixture
    svc,  # noqa: F401 - fixture
)
from tungban.testing import wsgi
from tungban.wallet import services as wallet

pytestmark = pytest.mark.django_db

# What the e-ME claims read of a resident (eme.CLAIMS and Resident's properties), and the
# status the suspension check reads: nothing else of the row is needed to answer.
NEEDED = {
    "family_name_en",
    "given_name_en",
    "name_zh",
    "hkid",
    "gender",
    "date_of_birth",
    "residential_address",
    "billing_address",
    "phone",
    "email",
    "status",
}


@pytest.fixture(autouse=True)
def keep_connection():
    with wsgi.connection_kept():
        yield


def _resident_columns_selected() -> set[str]:
    columns = {f.column: f.attname for f in Resident._meta.concrete_fields}
    q = fastrelease.connection.ops.quote_name
    return {attname for column, attname in columns.items() if f"r.{q(column)}" in fastrelease._selected()}


def test_the_statement_reads_only_the_resident_columns_an_answer_needs():
    assert _resident_columns_selected() == NEEDED


def _stored_row(resident) -> dict:
    """The resident's stored values by attribute name, as the database holds them."""
    fields = Resident._meta.concrete_fields
    q = fastrelease.connection.ops.quote_name
    with fastrelease.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(q(f.column) for f in fields)} FROM {q(Resident._meta.db_table)} WHERE id = %s",
            [resident.pk],
        )
        return dict(zip((f.attname for f in fields), cursor.fetchone(), strict=True))


def test_reads_name_what_each_claim_reads(full_resident):  # noqa: F811
    """A resident that holds only the columns :data:`eme.READS` names for a claim gives that
    claim as the model does, with every profile field filled and with the optional ones empty."""
    assert set(eme.READS) == {name for name in eme.CLAIMS if eme.own_claims_only([name])}
    for blank in (False, True):
        if blank:
            for attname in ("name_zh", "residential_address", "billing_address", "phone", "email"):
                setattr(full_resident, attname, "")
            full_resident.save()
        stored = _stored_row(full_resident)
        model = Resident.objects.get(pk=full_resident.pk)
        for name, attnames in eme.READS.items():
            partial = eme.StoredResident([stored[a] for a in attnames], attnames)
            assert eme.values(partial, [name]) == eme.values(model, [name]), (name, blank)


def test_a_stored_resident_refuses_a_column_it_was_not_given():
    partial = eme.StoredResident(["active"], ("status",))
    assert partial.is_active
    with pytest.raises(AttributeError):
        partial.email  # noqa: B018 - not read: an error, never a wrong value


@pytest.mark.parametrize("path", ["/oidc/userinfo", "/oidc/formdata"])
def test_each_released_field_is_decrypted_once_per_answer(svc, full_resident, path, monkeypatch):  # noqa: F811
    """Nine claims read nine encrypted fields (the English name is two, the gender is not
    encrypted), each opened once; a token for the profile claims opens only the three names
    and the date of birth."""
    from tungban.core import fields
    from tungban.core.front import Front

    _logged_in(svc, full_resident, "all")
    _logged_in(svc, full_resident, "profile", claims=["name", "name#zh-Hant", "gender", "birthdate"])
    spy = wsgi.Spy()
    wsgi.call(Front(spy), wsgi.environ(path, HTTP_AUTHORIZATION="Bearer all"))  # warm
    opened = []
    real = fields.decrypt
    monkeypatch.setattr(eme, "decrypt", lambda token: opened.append(token) or real(token))
    status, _headers, body = wsgi.call(Front(spy), wsgi.environ(path, HTTP_AUTHORIZATION="Bearer all"))
    assert status == "200 OK" and spy.calls == 0
    assert len(opened) == len(set(opened)) == 9, len(opened)  # hkid, 2 names, name_zh, birth, 2 addresses, phone, email
    opened.clear()
    status, _headers, body = wsgi.call(Front(spy), wsgi.environ(path, HTTP_AUTHORIZATION="Bearer profile"))
    assert status == "200 OK"
    assert len(opened) == len(set(opened)) == 4, len(opened)  # 2 names, name_zh, date of birth


def test_the_history_lists_every_release_with_the_requester_names_in_both_languages(svc, full_resident):  # noqa: F811
    from tungban.core.front import Front

    svc.name_en, svc.name_zh = "Hot Service", "熱服務"
    svc.save()
    _logged_in(svc, full_resident, "h1")
    _logged_in(svc, full_resident, "h2", claims=["name"])
    spy = wsgi.Spy()
    for token, path in (("h1", "/oidc/userinfo"), ("h2", "/oidc/formdata"), ("h1", "/oidc/userinfo")):
        assert wsgi.call(Front(spy), wsgi.environ(path, HTTP_AUTHORIZATION=f"Bearer {token}"))[0] == "200 OK"
    history = wallet.history(full_resident)
    assert [(r.requester_id, r.requester_name_en, r.requester_name_zh, r.kind, r.claims) for r in history] == [
        ("svc-hot", "Hot Service", "熱服務", "login", ALL_CLAIMS),
        ("svc-hot", "Hot Service", "熱服務", "formfill", ["name"]),
        ("svc-hot", "Hot Service", "熱服務", "login", ALL_CLAIMS),
    ]
    assert history[0].released_at >= history[1].released_at >= history[2].released_at


@pytest.mark.skipif(fastrelease.connection.vendor != "postgresql", reason="the one statement is PostgreSQL's")
def test_the_statement_answers_only_what_python_reads(svc, full_resident):  # noqa: F811
    """The statement's row carries what the answer needs — the token's scope and claims, the
    resident's id, the ``sub``, the resident's columns, the claims recorded and the record's
    id — not what only its own insert uses (the client's id and names, the approval) nor what
    only its own checks use (times, revocation, DPoP binding): fewer values for PostgreSQL to
    send and for psycopg to convert (a UUID, a timestamp)."""
    import time as _time

    from django.utils import timezone

    from tungban.core import rawsql
    from tungban.oidc import scopes
    from tungban.oidc.models import access_token_digest

    _logged_in(svc, full_resident, "shape")
    sql, constants = fastrelease.statement(True, scopes.generation())
    now = timezone.now()
    row = rawsql.fetchone(
        sql, {**constants, "token": access_token_digest("shape"), "now": _time.time(), "released_at": now}
    )
    assert row is not None and row[-1] is not None
    assert len(row) == 4 + len(eme.release_attnames()) + 2, len(row)


@pytest.mark.django_db(transaction=True)
def test_a_claim_outside_the_catalogue_is_neither_answered_nor_recorded(svc, full_resident):  # noqa: F811
    """The statement records the token's claims less those it can tell are withheld (``jsonb -
    text[]``, fourth round); a name outside the catalogue is not among those, so Python, which
    ignores it as the reference path does, corrects the record: it still names exactly the
    claims answered."""
    from tungban.core.front import Front
    from tungban.wallet.models import ReleaseRecord

    _logged_in(svc, full_resident, "odd", claims=["no-such-claim", "name", "email"])
    with wsgi.connection_kept():
        status, _headers, body = wsgi.call(
            Front(wsgi.Spy()), wsgi.environ("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer odd")
        )
    assert status == "200 OK"
    import json

    answer = json.loads(body)
    assert "no-such-claim" not in answer and {"name", "email"} <= set(answer)
    (record,) = ReleaseRecord.objects.filter(resident=full_resident)
    assert record.claims == ["name", "email"]
