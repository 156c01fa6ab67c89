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


def post_exchange(user, body: dict, *, timeout: float = 30) -> requests.Response:
    return requests.post(
        f"{user.issuer}/api/v1/exchange/requests",
        json=body,
        headers={"Authorization": f"Bearer {user.token()}"},
        timeout=timeout,
    )


def test_a_retried_request_id_gets_the_first_result_and_another_body_is_refused(providers, td, app_of, tai_man):
    """Issue 14 item 2: the same ``request_id`` with the same body answers the first result
    (nothing delivered or counted again); with another body it stays a refused replay."""
    providers("wsd")
    consent = consented(td, app_of(tai_man), tai_man)
    body = {"consent_id": consent["id"], "product": WSD, "request_id": "renewal-0001"}
    first = post_exchange(td, body)
    assert first.status_code == 200, first.text
    assert first.json()["request_id"] == "renewal-0001" and "Idempotent-Replayed" not in first.headers
    again = post_exchange(td, body)
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert outcomes() == ["delivered"]
    assert Consent.objects.get(pk=consent["id"]).uses == 1
    refused(lambda: td.fetch(consent["id"], IRD, request_id="renewal-0001"), "replayed_request", 409)
    assert outcomes() == ["delivered", "replayed_request"]
    assert Consent.objects.get(pk=consent["id"]).uses == 1
    refused(lambda: td.fetch(consent["id"], WSD, request_id="short"), "invalid_request", 400)
    assert exchange.verify_log().ok


def retry_until_answered(user, body: dict, deadline: float = 90) -> requests.Response:
    """Retry as a data user should: again after ``Retry-After`` while the first one runs."""
    end = time.monotonic() + deadline
    while True:
        resp = post_exchange(user, body)
        if resp.status_code != 409 or resp.json()["error"] != "idempotency_in_progress" or time.monotonic() > end:
            return resp
        time.sleep(int(resp.headers["Retry-After"]))


def test_a_client_that_gave_up_gets_the_result_of_its_retry_and_nothing_twice(settings, providers, td, app_of, tai_man):
    """ "8 exchanges were recorded as delivered, their use counted, after the client had given
    up" (issue 14 item 2): the client's retry with the same request now gets that delivery."""
    settings.TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT = 20.0
    providers("wsd", fault="slow", delay=2)
    consent = consented(td, app_of(tai_man), tai_man, max_uses=1)
    body = {"consent_id": consent["id"], "product": WSD, "request_id": f"gave-up-{uuid.uuid4().hex}"}
    with pytest.raises(requests.Timeout):
        post_exchange(td, body, timeout=0.5)  # the client gives up; the gateway goes on
    retry = retry_until_answered(td, body)
    assert retry.status_code == 200, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.json()["request_id"] == body["request_id"]
    assert outcomes() == ["delivered"]
    assert Consent.objects.get(pk=consent["id"]).uses == 1  # counted once: a single-use consent is not exhausted twice
    assert ExchangeRecord.objects.get().id == uuid.UUID(retry.json()["exchange_id"])


def test_a_provider_failure_is_not_kept_and_the_retry_runs_again(settings, providers, td, app_of, tai_man):
    """A 5xx answer is not stored: the retry with the same request_id asks the provider again."""
    settings.TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT = 5.0
    providers("wsd", fault="error")
    consent = consented(td, app_of(tai_man), tai_man)
    body = {"consent_id": consent["id"], "product": WSD, "request_id": "retry-after-502"}
    failed = post_exchange(td, body)
    assert failed.status_code == 502 and failed.json()["error"] == "provider_error"
    providers("wsd")  # the provider is back
    retry = post_exchange(td, body)
    assert retry.status_code == 200, retry.text
    assert "Idempotent-Replayed" not in retry.headers
    assert outcomes() == ["provider_error", "delivered"]
    assert Consent.objects.get(pk=consent["id"]).uses == 1
    assert post_exchange(td, body).json()["exchange_id"] == retry.json()["exchange_id"]


def test_a_retried_consent_request_with_the_same_key_is_the_same_consent(issuer, td, tai_man):
    url = f"{issuer}/api/v1/exchange/consents"
    headers = {"Authorization": f"Bearer {td.token()}", "Idempotency-Key": '"consent-7d1e4c2a"'}
    body = {"product": WSD, "purpose": "Pre-fill the renewal form", "duration_seconds": 600, "sub": sub_of(td, tai_man)}
    first = requests.post(url, json=body, headers=headers, timeout=30)
    assert first.status_code == 201, first.text
    again = requests.post(url, json=body, headers=headers, timeout=30)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Consent.objects.count() == 1
    other = requests.post(url, json={**body, "duration_seconds": 60}, headers=headers, timeout=30)
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"
    pending = post_exchange(td, {"consent_id": first.json()["id"], "product": WSD, "request_id": "abcdefgh-1"})
    assert pending.status_code == 409 and pending.json()["error"] == "consent_pending"  # not kept: retry later
    # On an exchange the key is the request_id: a header must say the same.
    bad = requests.post(
        f"{issuer}/api/v1/exchange/requests",
        json={"consent_id": first.json()["id"], "product": WSD, "request_id": "abcdefgh-2"},
        headers={"Authorization": f"Bearer {td.token()}", "Idempotency-Key": '"abcdefgh-3"'},
        timeout=30,
    )
    assert bad.status_code == 400 and bad.json()["error"] == "idempotency_key_invalid"


def test_request_ids_have_a_window_and_are_purged_after_it(settings, issuer, td):
    """A request whose ``iat`` is outside the clock skew is refused, so a request id older
    than the window (``TUNGBAN_IDEMPOTENCY_TTL``) can be forgotten: the purge deletes it."""
    from django.utils import timezone

    from tungban.core import retention
    from tungban.exchange.models import RequestNonce

    stale = post_exchange(
        td, {"consent_id": "x", "product": WSD, "request_id": uuid.uuid4().hex, "iat": int(time.time()) - 3600}
    )
    assert stale.status_code == 400 and stale.json()["error"] == "request_stale", stale.text
    fresh = {"consent_id": str(uuid.uuid4()), "product": WSD, "request_id": uuid.uuid4().hex, "iat": int(time.time())}
    assert post_exchange(td, fresh).json()["error"] == "unknown_consent"
    assert RequestNonce.objects.count() == 1
    assert retention.purge_all(timezone.now())["exchange.RequestNonce"] == 0
    later = timezone.now() + dt.timedelta(seconds=settings.TUNGBAN_IDEMPOTENCY_TTL + 1)
    counts = retention.purge_all(later)
    assert counts["exchange.RequestNonce"] == 1 and not RequestNonce.objects.exists()
    assert counts["core.IdempotencyRecord"] >= 1


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


def test_a_resident_registered_during_the_demo_gets_data_from_the_demo_providers(
    issuer, providers, td, app_of, officer
):
    """Issue 16 (walkthrough): the README's exchange step for a resident the demo providers
    hold no record of (one you register yourself). ``tungban demo`` starts them with
    ``--demo``: a synthetic, schema-valid record, the same on every request; without it,
    ``no_record`` as before."""
    from examples.providers import data as provider_data

    newcomer = make_resident(officer)  # a fresh HKID: not in the demo providers' records
    assert provider_data.seeded_record(WSD, newcomer.hkid) is None
    app = app_of(newcomer)
    consent = consented(td, app, newcomer, max_uses=5)

    providers("wsd")  # outside demo mode
    refused(lambda: td.fetch(consent["id"], WSD), "no_record", 404)

    providers("wsd", demo=True)  # as tungban demo starts it (the catalogue now points at it)
    first = td.fetch(consent["id"], WSD)
    catalogue = {p["id"]: p for p in requests.get(f"{issuer}/api/v1/exchange/products").json()}
    jsonschema.Draft202012Validator(catalogue[WSD]["schema"], format_checker=jsonschema.FormatChecker()).validate(
        first["data"]
    )
    assert td.fetch(consent["id"], WSD)["data"] == first["data"]  # kept: the same record again
    assert outcomes() == ["no_record", "delivered", "delivered"]


def test_tungban_demo_starts_the_providers_in_demo_mode():
    from pathlib import Path

    import tungban.setup.management.commands.demo as demo_command

    assert '"--demo"' in Path(demo_command.__file__).read_text()
