import pytest

from tungban.oidc.models import OFFLINE_ACCESS_SCOPE
from tungban.testing.factories import bind_cli, make_client


@pytest.fixture
def app(issuer, resident, app_home):
    """The resident's CLI app, bound to the test issuer (it approves logins)."""
    return bind_cli(issuer, resident, app_home)


@pytest.fixture
def bank(issuer):
    """A FAPI 2.0 client ``bank`` and its holder (keys, DPoP proofs and nonce: ``test_fapi.Holder``)."""
    from .test_fapi import RP, Holder

    holder = Holder(issuer)
    make_client("bank", RP, jwks=holder.jwks(), fapi=True, allowed_scopes=["openid", "profile", OFFLINE_ACCESS_SCOPE])
    return holder
