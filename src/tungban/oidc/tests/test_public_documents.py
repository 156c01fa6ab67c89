"""Discovery and the JWKS as precomputed documents (issue 15, "precomputed response bytes with
strong ETags for what changes only on key rotation, invalidated by a version in the database,
so every worker agrees"): the bytes are those the old views built, a key change shows at once
(the in-process cache is never cleared here: the version read on each request must make the
answer fresh, as it would in a second worker), ``If-None-Match`` gives 304, and a cached
answer costs one query (JWKS) or none (discovery)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tungban.keys import services as keys
from tungban.keys.models import SigningKey
from tungban.oidc import services

pytestmark = pytest.mark.django_db

JWKS = "/oidc/jwks"
DISCOVERY = "/.well-known/openid-configuration"


def _old_bytes(data: dict) -> bytes:
    """What ``JsonResponse(data)`` wrote before issue 15."""
    return json.dumps(data, cls=DjangoJSONEncoder).encode()


def _kids(response) -> set[str]:
    return {k["kid"] for k in json.loads(response.content)["keys"]}


def test_jwks_bytes_are_those_the_old_view_built(client):
    keys.active_key()
    response = client.get(JWKS)
    published = list(SigningKey.objects.order_by("-created_at", "-id").values_list("public_jwk", flat=True))
    assert response.status_code == 200
    assert response.content == _old_bytes({"keys": published})
    assert response["Content-Type"] == "application/json"
    assert response["Content-Length"] == str(len(response.content))
    assert response["Cache-Control"] == "public, max-age=300"
    assert response["Access-Control-Allow-Origin"] == "*"


def test_discovery_bytes_are_those_the_old_view_built(client):
    response = client.get(DISCOVERY)
    assert response.status_code == 200
    assert response.content == _old_bytes(services.discovery())
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"


def test_rotation_shows_at_once_without_clearing_any_cache(client):
    old_kid, _ = keys.active_key()
    assert _kids(client.get(JWKS)) == {old_kid}
    assert _kids(client.get(JWKS)) == {old_kid}  # cached now
    new_kid = keys.rotate().kid
    assert _kids(client.get(JWKS)) == {old_kid, new_kid}
    added = keys.create_key().kid
    assert _kids(client.get(JWKS)) == {old_kid, new_kid, added}


def test_a_key_deleted_or_saved_through_the_model_shows_at_once(client):
    kid, _ = keys.active_key()
    spare = keys.create_key()
    assert _kids(client.get(JWKS)) == {kid, spare.kid}
    spare.delete()  # e.g. from the admin
    assert _kids(client.get(JWKS)) == {kid}


def test_a_retired_key_leaves_when_its_retirement_period_ends(client):
    old_kid, _ = keys.active_key()
    new_kid = keys.rotate().kid
    assert _kids(client.get(JWKS)) == {old_kid, new_kid}
    with override_settings(TUNGBAN_KEY_RETIREMENT_DAYS=0):
        assert _kids(client.get(JWKS)) == {new_kid}
    # the clock alone (no write) ends the period: the cached answer knows until when it holds
    retired_at = SigningKey.objects.get(kid=old_kid).retired_at
    later = retired_at + dt.timedelta(days=settings.TUNGBAN_KEY_RETIREMENT_DAYS, seconds=1)
    from unittest import mock

    with mock.patch.object(timezone, "now", return_value=later):
        assert _kids(client.get(JWKS)) == {new_kid}


def test_jwks_etag_and_304(client):
    keys.active_key()
    first = client.get(JWKS)
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    again = client.get(JWKS, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag
    assert again["Cache-Control"] == "public, max-age=300"
    assert again["Access-Control-Allow-Origin"] == "*"
    assert client.get(JWKS, HTTP_IF_NONE_MATCH='"other", ' + etag).status_code == 304
    assert client.get(JWKS, HTTP_IF_NONE_MATCH='"other"').status_code == 200
    keys.rotate()
    changed = client.get(JWKS, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_discovery_etag_and_304(client):
    etag = client.get(DISCOVERY)["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = client.get(DISCOVERY, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["Access-Control-Allow-Origin"] == "*"
    with override_settings(TUNGBAN_ISSUER="https://other.example"):
        other = client.get(DISCOVERY, HTTP_IF_NONE_MATCH=etag)
        assert other.status_code == 200 and other.json()["issuer"] == "https://other.example"


def test_a_cached_jwks_costs_one_query(client):
    keys.active_key()
    client.get(JWKS)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(JWKS).status_code == 200
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_discovery_costs_no_query(client):
    client.get(DISCOVERY)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(DISCOVERY).status_code == 200
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_jwks_and_discovery_skip_the_page_middleware():
    from tungban.core import hotpaths

    assert hotpaths.registered("GET", JWKS) is not None
    assert hotpaths.registered("GET", DISCOVERY) is not None


def test_other_methods_keep_their_answers(client):
    assert client.post(JWKS).status_code == 405
    assert client.post(DISCOVERY).status_code == 405
