"""Clock skew of the resident's device (issue 14 item 9): a proof's ``iat`` is accepted
within ``TUNGBAN_CLOCK_SKEW`` seconds either way, and its ``jti`` is remembered for as long
as the proof could be accepted."""

import datetime as dt
import json
import secrets
import time

import pytest
from joserfc import jws

from tungban.testing.factories import PIN, bind_cli
from tungban.wallet import services as wallet
from tungban.wallet.errors import ProofExpired, ProofReplayed
from tungban.wallet.models import UsedProof

pytestmark = pytest.mark.django_db
PATH = "/api/v1/wallet/me"


@pytest.fixture
def app(issuer, resident, app_home):
    return bind_cli(issuer, resident, app_home)


def _proof(app, url, iat):
    payload = {"htm": "GET", "htu": url, "iat": iat, "jti": secrets.token_urlsafe(18)}
    header = {"alg": "ES256", "kid": app.meta["device_id"]}
    return "Device " + jws.serialize_compact(header, json.dumps(payload).encode(), app.load_key(PIN))


@pytest.mark.parametrize("offset", [-90, 90, -290, 290])
def test_a_device_clock_minutes_off_is_accepted(issuer, app, settings, offset):
    settings.TUNGBAN_CLOCK_SKEW = 300
    url = issuer + PATH
    device = wallet.authenticate_device(_proof(app, url, int(time.time()) + offset), "GET", url)
    assert str(device.pk) == app.meta["device_id"]


@pytest.mark.parametrize("offset", [-(300 + wallet.PROOF_LIFETIME + 5), 305])
def test_beyond_the_documented_skew_is_refused(issuer, app, settings, offset):
    settings.TUNGBAN_CLOCK_SKEW = 300
    url = issuer + PATH
    with pytest.raises(ProofExpired):
        wallet.authenticate_device(_proof(app, url, int(time.time()) + offset), "GET", url)


def test_the_skew_is_a_setting(issuer, app, settings):
    settings.TUNGBAN_CLOCK_SKEW = 0
    url = issuer + PATH
    with pytest.raises(ProofExpired):
        wallet.authenticate_device(_proof(app, url, int(time.time()) + 30), "GET", url)


def test_jti_is_kept_while_the_proof_could_be_accepted(issuer, app, settings, monkeypatch):
    """A proof from a clock 290 s ahead stays acceptable for ~650 s: a purge of expired
    ``jti``s any time before then must not let it be replayed."""
    settings.TUNGBAN_CLOCK_SKEW = 300
    url = issuer + PATH
    iat = int(time.time()) + 290
    proof = _proof(app, url, iat)
    wallet.authenticate_device(proof, "GET", url)
    last_accepted = dt.datetime.fromtimestamp(iat + wallet.PROOF_LIFETIME + 300, tz=dt.UTC)
    assert UsedProof.objects.get().expires_at >= last_accepted
    later = last_accepted - dt.timedelta(seconds=1)
    monkeypatch.setattr(wallet, "_now", lambda: later)
    UsedProof.objects.filter(expires_at__lt=later).delete()  # any purge by expires_at
    with pytest.raises(ProofReplayed):
        wallet.authenticate_device(proof, "GET", url)
