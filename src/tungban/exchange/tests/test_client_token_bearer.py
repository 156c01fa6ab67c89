"""A data user's ``client_credentials`` token, as the token endpoint now stores it (a row of
``oidc_clienttoken``, :class:`tungban.oidc.models.ClientToken`; issue 15, fourth round),
authenticates the exchange API's bearer check on both its paths: the hot read
(:func:`tungban.exchange.hotsql.data_user_for_bearer`) and the reference one
(:class:`tungban.exchange.api.DataUserBearer`)."""

from __future__ import annotations

import time

import pytest
import requests
from django.utils import timezone

from tungban.exchange import hotsql
from tungban.exchange.models import Organisation
from tungban.oidc.models import ClientToken, access_token_digest

pytestmark = pytest.mark.django_db


@pytest.fixture
def data_user(td):
    """The conftest's data user ``td`` (``private_key_jwt``: ``cdeg`` needs it)."""
    return Organisation.objects.get(client__client_id=td.client_id), td


def _issued(issuer, td) -> str:
    from authlib.oauth2.rfc7523 import private_key_jwt_sign

    assertion = private_key_jwt_sign(td.private_jwk, td.client_id, f"{issuer}/oidc/token", alg="ES256")
    answer = requests.post(
        f"{issuer}/oidc/token",
        data={
            "grant_type": "client_credentials",
            "scope": "cdeg",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def test_the_hot_read_finds_the_data_user(issuer, data_user):
    org, td = data_user
    token = _issued(issuer, td)
    assert ClientToken.objects.filter(access_token=access_token_digest(token)).exists()
    found = hotsql.data_user_for_bearer(token, "cdeg")
    assert found is not None and found.pk == org.pk and found.client.client_id == td.client_id
    assert hotsql.data_user_for_bearer(token, "signing") is None  # not its scope


def test_an_expired_or_revoked_one_is_no_data_user(issuer, data_user):
    _, td = data_user
    expired, revoked = _issued(issuer, td), _issued(issuer, td)
    ClientToken.objects.filter(access_token=access_token_digest(expired)).update(issued_at=int(time.time()) - 4000)
    ClientToken.objects.filter(access_token=access_token_digest(revoked)).update(revoked_at=timezone.now())
    assert hotsql.data_user_for_bearer(expired, "cdeg") is None
    assert hotsql.data_user_for_bearer(revoked, "cdeg") is None


def test_the_reference_bearer_check_finds_it(issuer, data_user):
    from django.test import RequestFactory

    from tungban.exchange.api import DataUserBearer

    org, td = data_user
    token = _issued(issuer, td)
    request = RequestFactory().get("/api/v1/exchange/x", HTTP_AUTHORIZATION=f"Bearer {token}")
    bearer = DataUserBearer("cdeg")
    assert super(DataUserBearer, bearer).__call__(request).pk == org.pk  # the reference path, not hotsql
