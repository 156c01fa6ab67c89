"""The gateway over loopback HTTP: provider processes, data users with their own keys, the
resident's CLI app (acceptance 1 and 2 of issue #4)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
import uuid

import jsonschema
import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from examples.data_user import DataUserError
from tungban.exchange import services as exchange
from tungban.exchange.models import Consent, ExchangeRecord, Organisation
from tungban.ledger import chain as ledger
from tungban.ledger.models import LogLeaf
from tungban.oidc import services as oidc
from tungban.oidc.models import Client
from tungban.testing.factories import PIN, jwt_claims, login, make_resident

from .conftest import make_data_user

WSD = "wsd.registered-address.v1"
IRD = "ird.tax-return-status.v1"
CR = "cr.company-particulars.v1"
TAI_MAN = "A1234563"  # in the demo providers' records


@pytest.fixture
def tai_man(officer):
    return make_resident(officer, hkid=TAI_MAN)


def sub_of(user, resident) -> str:
    return oidc.pairwise_sub(resident, Client.objects.get(client_id=user.client_id))


def consented(user, app, resident, product=WSD, *, decision="approve", duration=3600, max_uses=None) -> dict:
    """Ask for consent and answer it in the resident's app; returns the consent as the data user sees it."""
    consent = user.request_consent(
        product, "Pre-fill the vehicle licence renewal form", duration, max_uses=max_uses, sub=sub_of(user, resident)
    )
    assert consent["status"] == "requested" and consent["approval_uri"]
    app.decide(consent["approval_uri"], PIN, decision)
    return user.consent(consent["id"])


def refused(call, code: str, status: int):
    with pytest.raises(DataUserError) as info:
        call()
    assert (info.value.code, info.value.status) == (code, status), info.value
    return info.value


def outcomes() -> list[str]:
    return list(ExchangeRecord.objects.order_by("at").values_list("outcome", flat=True))


def test_consent_granted_data_delivered_then_revoked(issuer, providers, td, app_of, tai_man):
    """Acceptance 1: two provider processes; consent in the app; schema-valid data; revoked
    → refused on the next request."""
    providers("wsd")
    providers("ird")
    app = app_of(tai_man)
    # The data user knows the resident from a login to its online service (pairwise sub).
    tokens = login(issuer, app, td.client_id, td.client_secret, td.redirect_uri, scope="openid profile")
    sub = jwt_claims(tokens["id_token"])["sub"]

    asked = td.request_consent(WSD, "Pre-fill the vehicle licence renewal form", 86400, sub=sub)
    shown = app.show(asked["approval_uri"], PIN)
    assert shown["kind"] == "consent"
    assert shown["consent"]["data_provider"]["name_en"] == "Water Supplies Department"
    assert shown["consent"]["purpose"] == "Pre-fill the vehicle licence renewal form"
    assert td.consent(asked["id"])["status"] == "requested"
    refused(lambda: td.fetch(asked["id"], WSD), "consent_pending", 409)
    app.decide(asked["approval_uri"], PIN, "approve")
    wsd_consent = td.consent(asked["id"])
    assert wsd_consent["status"] == "active" and wsd_consent["sub"] == sub
    ird_consent = consented(td, app, tai_man, IRD)

    catalogue = {p["id"]: p for p in requests.get(f"{issuer}/api/v1/exchange/products").json()}
    jwks = KeySet.import_key_set(requests.get(f"{issuer}/oidc/jwks").json())
    for consent, product in ((wsd_consent, WSD), (ird_consent, IRD)):
        answer = td.fetch(consent["id"], product)
        jsonschema.Draft202012Validator(
            catalogue[product]["schema"], format_checker=jsonschema.FormatChecker()
        ).validate(answer["data"])
        signed = jwt.decode(answer["signed"], jwks, algorithms=["ES256"])
        assert signed.header["typ"] == "cdeg-response+jwt"
        assert signed.claims["data"] == answer["data"] and signed.claims["aud"] == td.client_id
        assert (
            answer["payload_sha256"] == exchange.hashlib.sha256(ledger.canonical(answer["data"]).encode()).hexdigest()
        )
    wsd_data = td.fetch(wsd_consent["id"], WSD)["data"]
    assert wsd_data["address"]["lines"][0] == "Flat 12A, 8 Nathan Road"

    # The signed consent artefact names the parties, the product, the purpose and the limits.
    artefact = jwt.decode(wsd_consent["artefact"], jwks, algorithms=["ES256"])
    assert artefact.header["typ"] == "consent+jwt"
    assert artefact.claims["data_subject"]["sub_at_data_user"] == sub
    assert artefact.claims["data_user"]["id"] == "td" and artefact.claims["data_provider"]["id"] == "wsd"
    assert artefact.claims["product"] == WSD and artefact.claims["exp"] - artefact.claims["iat"] == 86400
    # The gateway keeps metadata, not the data: no address in any record or log entry.
    assert not any("Nathan" in body for body in LogLeaf.objects.values_list("body", flat=True))

    # The resident sees every exchange and every consent in the app, and revokes one.
    history = app._call("GET", "/api/v1/exchange/app/history", device_key=app.load_key(PIN))
    assert [(h["product"]["id"], h["outcome"]) for h in history] == [
        (WSD, "delivered"),
        (IRD, "delivered"),
        (WSD, "delivered"),
        (WSD, "consent_pending"),
    ]
    assert history[0]["data_user"]["name_en"] == "Transport Department"
    consents = app._call("GET", "/api/v1/exchange/app/consents", device_key=app.load_key(PIN))
    assert {c["product"]["id"]: c["uses"] for c in consents} == {WSD: 2, IRD: 1}
    revoked = app._call(
        "POST", f"/api/v1/exchange/app/consents/{wsd_consent['id']}/revoke", device_key=app.load_key(PIN)
    )
    assert revoked["status"] == "revoked"

    refused(lambda: td.fetch(wsd_consent["id"], WSD), "consent_revoked", 403)
    assert td.fetch(ird_consent["id"], IRD)["data"]["returns"]  # the other consent still works
    assert td.consent(wsd_consent["id"])["status"] == "revoked"
    assert outcomes()[-2:] == ["consent_revoked", "delivered"]
    assert exchange.verify_log().ok


def test_declined_expired_exhausted_foreign_and_uncovered(issuer, providers, td, app_of, tai_man):
    providers("wsd")
    app = app_of(tai_man)
    declined = consented(td, app, tai_man, decision="decline")
    assert declined["status"] == "declined" and declined["artefact"] is None
    refused(lambda: td.fetch(declined["id"], WSD), "consent_declined", 403)

    single = consented(td, app, tai_man, max_uses=1)
    assert td.fetch(single["id"], WSD)["data"]
    refused(lambda: td.fetch(single["id"], WSD), "consent_exhausted", 403)
    assert td.consent(single["id"])["status"] == "exhausted"

    expiring = consented(td, app, tai_man)
    Consent.objects.filter(pk=expiring["id"]).update(valid_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    refused(lambda: td.fetch(expiring["id"], WSD), "consent_expired", 403)

    good = consented(td, app, tai_man)
    refused(lambda: td.fetch(good["id"], IRD), "product_not_covered", 403)
    bank = make_data_user(issuer, "demo-bank", kind="bank")
    refused(lambda: bank.fetch(good["id"], WSD), "foreign_consent", 403)
    refused(lambda: bank.consent(good["id"]), "foreign_consent", 403)
    refused(lambda: td.fetch(str(uuid.uuid4()), WSD), "unknown_consent", 404)

    # Every attempt is in the log; the consents' use counts moved only on deliveries.
    assert outcomes() == [
        "consent_declined",
        "delivered",
        "consent_exhausted",
        "consent_expired",
        "product_not_covered",
        "foreign_consent",
        "unknown_consent",
    ]
    assert Consent.objects.get(pk=good["id"]).uses == 0
    foreign = ExchangeRecord.objects.get(outcome="foreign_consent")
    assert (
        foreign.consumer_id == "demo-bank" and foreign.resident is None
    )  # not shown as the bank's use of this resident
    assert exchange.verify_log().ok


def test_replayed_request_is_refused_and_logged(providers, td, app_of, tai_man):
    providers("wsd")
    consent = consented(td, app_of(tai_man), tai_man)
    first = td.fetch(consent["id"], WSD, request_id="renewal-0001")
    assert first["request_id"] == "renewal-0001"
    refused(lambda: td.fetch(consent["id"], WSD, request_id="renewal-0001"), "replayed_request", 409)
    assert outcomes() == ["delivered", "replayed_request"]
    assert Consent.objects.get(pk=consent["id"]).uses == 1
    refused(lambda: td.fetch(consent["id"], WSD, request_id="short"), "invalid_request", 400)


@pytest.mark.parametrize(
    ("options", "code", "status"),
    [
        ({"fault": "slow", "delay": 5}, "provider_timeout", 504),
        ({"fault": "bad-schema"}, "provider_bad_data", 502),
        ({"fault": "error"}, "provider_error", 502),
    ],
)
def test_provider_faults_deliver_nothing(settings, providers, td, app_of, tai_man, options, code, status):
    settings.TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT = 1.0
    providers("wsd", **options)
    consent = consented(td, app_of(tai_man), tai_man)
    error = refused(lambda: td.fetch(consent["id"], WSD), code, status)
    assert "Nathan" not in error.message
    record = ExchangeRecord.objects.get()
    assert (record.outcome, record.payload_sha256) == (code, "")
    assert LogLeaf.objects.filter(kind="exchange", reference=str(record.id)).count() == 1
    assert LogLeaf.objects.filter(kind="exchange_attempt", reference=str(record.id)).count() == 1
    assert Consent.objects.get(pk=consent["id"]).uses == 0
    assert exchange.verify_log().ok


def test_provider_down_and_no_record(issuer, providers, td, app_of, tai_man, officer):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    providers("wsd")
    Organisation.objects.filter(pk="wsd").update(endpoint_url=f"http://127.0.0.1:{closed}")
    consent = consented(td, app_of(tai_man), tai_man)
    refused(lambda: td.fetch(consent["id"], WSD), "provider_unavailable", 502)

    stranger = make_resident(officer)  # not in the provider's records
    providers("wsd")
    other = consented(td, app_of(stranger), stranger)
    refused(lambda: td.fetch(other["id"], WSD), "no_record", 404)
    assert outcomes() == ["provider_unavailable", "no_record"]
    assert not Consent.objects.filter(uses__gt=0).exists()


def test_provider_killed_mid_request(settings, providers, td, app_of, tai_man):
    settings.TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT = 20.0
    proc = providers("wsd", fault="slow", delay=15)
    consent = consented(td, app_of(tai_man), tai_man)
    result = {}

    def fetch():
        try:
            result["answer"] = td.fetch(consent["id"], WSD)
        except DataUserError as exc:
            result["error"] = exc

    worker = threading.Thread(target=fetch)
    started = time.monotonic()
    worker.start()
    time.sleep(1.0)  # the gateway is now waiting on the provider
    os.kill(proc.pid, signal.SIGKILL)
    worker.join(timeout=30)
    assert time.monotonic() - started < 10  # answered when the connection dropped, not at the timeout
    assert "answer" not in result
    assert (result["error"].code, result["error"].status) == ("provider_unavailable", 502)
    assert outcomes() == ["provider_unavailable"]
    assert Consent.objects.get(pk=consent["id"]).uses == 0
    assert exchange.verify_log().ok


def test_revocation_while_the_provider_answers_stops_delivery(settings, providers, td, app_of, tai_man):
    providers("wsd", fault="slow", delay=2)
    app = app_of(tai_man)
    consent = consented(td, app, tai_man)
    result = {}
    worker = threading.Thread(
        target=lambda: result.update(error=refused(lambda: td.fetch(consent["id"], WSD), "consent_revoked", 403))
    )
    worker.start()
    time.sleep(0.8)
    app._call("POST", f"/api/v1/exchange/app/consents/{consent['id']}/revoke", device_key=app.load_key(PIN))
    worker.join(timeout=30)
    assert result["error"].code == "consent_revoked"
    assert outcomes() == ["consent_revoked"]


def test_consent_request_errors(issuer, td, tai_man):
    sub = sub_of(td, tai_man)
    refused(lambda: td.request_consent("wsd.unknown.v1", "Pre-fill the form", 60, sub=sub), "unknown_product", 404)
    refused(lambda: td.request_consent(WSD, "x", 60, sub=sub), "invalid_purpose", 400)
    refused(lambda: td.request_consent(WSD, "Pre-fill the form", 0, sub=sub), "invalid_duration", 400)
    refused(lambda: td.request_consent(WSD, "Pre-fill the form", 60, max_uses=0, sub=sub), "invalid_max_uses", 400)
    refused(lambda: td.request_consent(WSD, "Pre-fill the form", 60, sub="nobody"), "unknown_subject", 404)
    assert not Consent.objects.exists()


def test_cdeg_scope_needs_private_key_jwt(issuer, td):
    client = Client.objects.get(client_id=td.client_id)
    resp = requests.post(
        f"{issuer}/oidc/token",
        data={"grant_type": "client_credentials", "scope": "cdeg"},
        auth=(client.client_id, td.client_secret),
    )
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_scope"
    # A token without the cdeg scope cannot call the gateway.
    resp = requests.post(
        f"{issuer}/oidc/token",
        data={"grant_type": "client_credentials", "scope": "signing"},
        auth=(client.client_id, td.client_secret),
    )
    token = resp.json().get("access_token")
    if token:
        answer = requests.post(
            f"{issuer}/api/v1/exchange/requests",
            json={"consent_id": "x", "product": WSD, "request_id": uuid.uuid4().hex},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 403 and answer.json()["error"] == "insufficient_scope"
    answer = requests.post(f"{issuer}/api/v1/exchange/requests", json={})
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_client_assertion_is_single_use(issuer, td):
    from authlib.oauth2.rfc7523 import private_key_jwt_sign

    assertion = private_key_jwt_sign(td.private_jwk, td.client_id, f"{issuer}/oidc/token", alg="ES256")
    data = {
        "grant_type": "client_credentials",
        "scope": "cdeg",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    first = requests.post(f"{issuer}/oidc/token", data=data)
    assert first.status_code == 200, first.text
    again = requests.post(f"{issuer}/oidc/token", data=data)
    assert again.status_code in (400, 401) and again.json()["error"] == "invalid_client"  # RFC 6749 §5.2
