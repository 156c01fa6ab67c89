"""Issue 15 (pgdiet): the OpenID Provider's hot tables carry only the indexes a query needs.

Every token a grant issues is one ``INSERT`` into ``oidc_token``, every login's completion
inserts a login session and an authorization code, every DPoP proof a ``jti``: each insert
updates every index of its table (and each index is pages the database keeps in memory). So
on PostgreSQL:

* no ``varchar_pattern_ops`` copy (Django's ``_like`` index for a unique or indexed
  ``CharField``) of a unique column: no query of the platform uses ``LIKE`` on a digest, a
  code, a ``sid``, a ``sub`` or a ``jti``;
* the foreign keys that most rows leave empty (a ``client_credentials`` token has no
  resident, code, session or predecessor; a token without ``offline_access`` no refresh
  token) are indexed only where set (``WHERE … IS NOT NULL``): the lookups by them
  (revocation of a grant, of a login session, of a resident's tokens, a rotation's
  successors, the ``SET NULL`` of a purge) all name a value, which the partial index serves;
* no index that is the first column of another one (``oidc_authorizationcode.client_id``
  is served by ``(client_id, nonce)``, ``oidc_pairwisesubject.resident_id`` by the unique
  ``(resident_id, sector)``).

The foreign-key constraints themselves are kept: tokens and codes are live grant state,
revoked and rotated by these links.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

from tungban.testing.schema import foreign_keys, index_definitions

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's indexes (SQLite has no _like copies)"),
]

EXPECTED = {
    "oidc_token": {
        "UNIQUE btree (id)",
        "UNIQUE btree (access_token)",
        "btree (client_id)",
        "UNIQUE btree (refresh_token)",
        "btree (resident_id) WHERE (resident_id IS NOT NULL)",
        "btree (authorization_code_id) WHERE (authorization_code_id IS NOT NULL)",
        "btree (session_id) WHERE (session_id IS NOT NULL)",
        "btree (rotated_from_id) WHERE (rotated_from_id IS NOT NULL)",
    },
    "oidc_authorizationcode": {
        "UNIQUE btree (id)",
        "UNIQUE btree (code)",
        "btree (client_id, nonce)",
        "btree (resident_id)",
        "btree (approval_id)",
        "btree (session_id)",
    },
    "oidc_loginsession": {
        "UNIQUE btree (id)",
        "UNIQUE btree (sid)",
        "btree (client_id)",
        "btree (resident_id)",
    },
    "oidc_pairwisesubject": {
        "UNIQUE btree (id)",
        "UNIQUE btree (sub)",
        "UNIQUE btree (resident_id, sector)",
    },
    "oidc_useddpopproof": {"UNIQUE btree (id)", "UNIQUE btree (jti)", "btree (expires_at)"},
    "oidc_usedclientassertion": {"UNIQUE btree (id)", "UNIQUE btree (jti)", "btree (expires_at)"},
    "oidc_pushedauthorizationrequest": {
        "UNIQUE btree (id)",
        "UNIQUE btree (request_uri)",
        "btree (client_id)",
        "btree (expires_at)",
    },
    "oidc_client": {"UNIQUE btree (id)", "UNIQUE btree (client_id)"},
}


@pytest.mark.parametrize("table", sorted(EXPECTED))
def test_each_hot_table_carries_exactly_the_intended_indexes(table):
    assert index_definitions(table) == EXPECTED[table]


def test_no_pattern_ops_index_on_any_table_of_the_app():
    tables = [model._meta.db_table for model in apps.get_app_config("oidc").get_models()]
    found = {t: d for t in tables for d in index_definitions(t) if "pattern_ops" in d}
    assert not found


def test_the_token_keeps_its_foreign_keys():
    assert foreign_keys("oidc_token") == {
        "client_id → oidc_client",
        "resident_id → identity_resident",
        "authorization_code_id → oidc_authorizationcode",
        "session_id → oidc_loginsession",
        "rotated_from_id → oidc_token",
    }


def _plan(sql: str, params: list) -> str:
    """The plan PostgreSQL would use for ``sql`` if it could use no sequential scan: shows that
    an index serves the statement (the tables of a test are too small for the planner to
    prefer one on its own)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(r[0] for r in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = on")
    return plan


@pytest.mark.parametrize(
    ("where", "index"),
    [
        ("resident_id = %s AND revoked_at IS NULL", "oidc_token_resident_nn"),
        ("authorization_code_id = %s AND revoked_at IS NULL", "oidc_token_code_nn"),
        ("session_id = %s AND revoked_at IS NULL", "oidc_token_session_nn"),
        ("rotated_from_id = %s", "oidc_token_rotated_from_nn"),
        ("rotated_from_id IN (%s, %s)", "oidc_token_rotated_from_nn"),
    ],
)
def test_the_partial_indexes_serve_every_lookup_by_their_column(where, index):
    """The lookups of :mod:`tungban.oidc.services`, :mod:`tungban.oidc.rows` and
    :mod:`tungban.oidc.server` by a nullable column (and Django's ``SET NULL`` of a purge,
    ``rotated_from_id IN (…)``) name a value, which implies ``IS NOT NULL``."""
    params = [1, 2][: where.count("%s")]
    assert f" {index} " in _plan(f"SELECT id FROM oidc_token WHERE {where}", params)
