"""One data user must not be able to cut a provider off for every data user (review of issue 14,
finding H2), and a provider must not hold a call past its timeout by dripping its answer
(finding L6): the data user's own circuit and share of the bulkhead, the provider-wide circuit
that needs failures from several data users (:mod:`tungban.exchange.resilience`), and the
overall deadline of a provider's answer (:mod:`tungban.exchange.adapter`)."""

from __future__ import annotations

import json
import socket
import threading
import time
import unittest.mock
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from examples.providers.data import synthetic_record
from tungban.core.errors import DomainError
from tungban.exchange import adapter, resilience
from tungban.exchange import errors as xerrors
from tungban.exchange import services as exchange
from tungban.exchange.models import Consent, DataUserCircuit, Organisation, ProviderCircuit
from tungban.testing.factories import make_resident

from .conftest import make_data_user
from .test_attempts import WSD, make_consent

PROVIDER = "wsd"


def fail():
    raise resilience.ProviderDown(xerrors.ProviderError(), 500)


def answer():
    return "answer"


def refused_at_once(data_user: str, code: str = "provider_unavailable") -> DomainError:
    called: list = []
    with pytest.raises(DomainError) as info:
        resilience.call_provider(PROVIDER, data_user, lambda: called.append(1))
    assert info.value.code == code and not called  # the provider was not called
    return info.value


@pytest.fixture
def orgs(db):
    Organisation.objects.create(id=PROVIDER, name_en="Water Supplies Department", name_zh="水務署")
    for org in ("bank", "td", "ird"):
        Organisation.objects.create(id=org, name_en=org, name_zh=org)


# --- through the gateway: the reviewer's reproduction ---------------------------------------------


def test_one_data_user_opens_only_its_own_circuit(settings, issuer, td, officer):
    """A data user holding a consent for a resident whose record makes the provider fail
    (free: failed uses are refunded) opens its own circuit, not the provider's: another data
    user's exchange still reaches the provider and gets the data."""
    settings.TUNGBAN_PROVIDER_BREAKER_FAILURES = 5
    settings.TUNGBAN_PROVIDER_BREAKER_RESET = 30
    make_data_user(issuer, "bank")
    attacker, victim = Organisation.objects.get(pk="bank"), Organisation.objects.get(pk="td")
    bad, good = make_resident(officer), make_resident(officer)
    calls: list[str] = []

    def token(consent, attempt):
        return "bad" if consent.resident_id == bad.pk else "good"

    def post(url, tok, timeout, limit):
        calls.append(tok)
        if tok == "bad":  # the provider breaks on this person's record
            raise resilience.ProviderDown(xerrors.ProviderError(), 500)
        return 200, json.dumps({"data": synthetic_record(WSD, good.hkid)}).encode()

    Organisation.objects.filter(pk=PROVIDER).update(endpoint_url="http://127.0.0.1:9")
    mine, theirs = make_consent(attacker, bad, max_uses=1), make_consent(victim, good)
    with (
        unittest.mock.patch.object(adapter, "_provider_token", token),
        unittest.mock.patch.object(adapter, "_post", post),
    ):
        codes = []
        for i in range(6):
            with pytest.raises(DomainError) as info:
                exchange.exchange(attacker, consent_id=str(mine.id), product_id=WSD, request_id=f"atk-{i:06d}")
            codes.append(info.value.code)
        assert codes == ["provider_error"] * 5 + ["provider_unavailable"]  # the 6th refused at once
        assert calls == ["bad"] * 5 and Consent.objects.get(pk=mine.pk).uses == 0
        assert resilience.circuit_state(PROVIDER, "bank") == "open"
        assert resilience.circuit_state(PROVIDER) == "closed"

        result = exchange.exchange(victim, consent_id=str(theirs.id), product_id=WSD, request_id="victim-0001")
        assert result["data"] == synthetic_record(WSD, good.hkid) and calls[-1] == "good"


# --- the provider-wide circuit --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_failures_of_two_data_users_open_the_provider_circuit(settings, orgs):
    settings.TUNGBAN_PROVIDER_BREAKER_FAILURES = 3
    settings.TUNGBAN_PROVIDER_BREAKER_RESET = 60
    settings.TUNGBAN_PROVIDER_BREAKER_DATA_USERS = 2
    for _ in range(3):
        with pytest.raises(resilience.ProviderDown):
            resilience.call_provider(PROVIDER, "bank", fail)
    assert resilience.circuit_state(PROVIDER, "bank") == "open"
    assert resilience.circuit_state(PROVIDER) == "closed"  # one data user's failures
    assert ProviderCircuit.objects.get(pk=PROVIDER).failures == 3

    with pytest.raises(resilience.ProviderDown):
        resilience.call_provider(PROVIDER, "td", fail)  # a second data user's failure: the provider is down
    assert resilience.circuit_state(PROVIDER) == "open"
    assert resilience.circuit_state(PROVIDER, "td") == "closed"
    error = refused_at_once("ird")  # a third data user, with no failures of its own
    assert error.status == 502 and 50 <= error.details["retry_after"] <= 60


@pytest.mark.django_db(transaction=True)
def test_a_success_clears_the_failures_of_the_provider_circuit(settings, orgs):
    settings.TUNGBAN_PROVIDER_BREAKER_FAILURES = 2
    settings.TUNGBAN_PROVIDER_BREAKER_DATA_USERS = 2
    for _ in range(2):
        with pytest.raises(resilience.ProviderDown):
            resilience.call_provider(PROVIDER, "bank", fail)
    assert resilience.call_provider(PROVIDER, "td", answer) == "answer"  # the provider answers others
    with pytest.raises(resilience.ProviderDown):
        resilience.call_provider(PROVIDER, "td", fail)
    assert resilience.circuit_state(PROVIDER) == "closed"  # not consecutive: 1 failure since the success


@pytest.mark.django_db(transaction=True)
def test_more_data_users_can_be_required(settings, orgs):
    settings.TUNGBAN_PROVIDER_BREAKER_FAILURES = 1
    settings.TUNGBAN_PROVIDER_BREAKER_DATA_USERS = 3
    for user in ("bank", "td"):
        with pytest.raises(resilience.ProviderDown):
            resilience.call_provider(PROVIDER, user, fail)
    assert resilience.circuit_state(PROVIDER) == "closed"
    with pytest.raises(resilience.ProviderDown):
        resilience.call_provider(PROVIDER, "ird", fail)
    assert resilience.circuit_state(PROVIDER) == "open"


@pytest.mark.django_db(transaction=True)
def test_a_data_user_whose_circuit_is_open_cannot_take_the_providers_trial(settings, orgs):
    """After the provider's reset time, a data user still refused by its own circuit does not
    make (and so cannot keep failing) the provider's trial call; another data user does."""
    settings.TUNGBAN_PROVIDER_BREAKER_FAILURES = 1
    settings.TUNGBAN_PROVIDER_BREAKER_RESET = 30
    for user in ("bank", "td"):
        with pytest.raises(resilience.ProviderDown):
            resilience.call_provider(PROVIDER, user, fail)
    assert resilience.circuit_state(PROVIDER) == "open"
    ProviderCircuit.objects.filter(pk=PROVIDER).update(opened_at=timezone.now() - timedelta(seconds=31))
    DataUserCircuit.objects.filter(data_user_id="td").update(opened_at=timezone.now() - timedelta(seconds=31))

    refused_at_once("bank")  # its own circuit is still open
    assert resilience.circuit_state(PROVIDER) == "open"  # the trial was not taken
    assert resilience.call_provider(PROVIDER, "ird", answer) == "answer"  # the trial, by another
    assert resilience.circuit_state(PROVIDER) == "closed"
    assert resilience.circuit_state(PROVIDER, "bank") == "open"


# --- the cost of a healthy call -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_healthy_call_makes_one_query(orgs):
    resilience.call_provider(PROVIDER, "bank", answer)
    with CaptureQueriesContext(connection) as queries:
        assert resilience.call_provider(PROVIDER, "bank", answer) == "answer"
    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]  # both circuit rows, one SELECT


# --- the data user's share of the bulkhead --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_data_user_holds_at_most_its_share_of_the_bulkhead(settings, orgs):
    settings.TUNGBAN_PROVIDER_MAX_CONCURRENT = 4
    settings.TUNGBAN_PROVIDER_DATA_USER_SHARE = 0.5
    settings.TUNGBAN_PROVIDER_BUSY_RETRY_AFTER = 3
    entered, release = threading.Semaphore(0), threading.Event()

    def slow():
        entered.release()
        release.wait(30)
        return "answer"

    def caller(user):
        try:
            resilience.call_provider(PROVIDER, user, slow)
        finally:
            connection.close()

    callers = [threading.Thread(target=caller, args=(user,)) for user in ("bank", "bank", "td", "td")]
    try:
        for t in callers[:2]:
            t.start()
        for _ in range(2):
            assert entered.acquire(timeout=30)
        error = refused_at_once("bank", "provider_busy")  # its half of the 4 slots is taken
        assert error.status == 503 and error.details == {"retry_after": 3}
        for t in callers[2:]:
            t.start()  # another data user still gets the other half
        for _ in range(2):
            assert entered.acquire(timeout=30)
        refused_at_once("ird", "provider_busy")  # all 4 slots taken
    finally:
        release.set()
        for t in callers:
            t.join(30)
    assert resilience.call_provider(PROVIDER, "bank", answer) == "answer"  # slots are given back
    assert resilience.data_user_slots(1) == 1 and resilience.data_user_slots(5) == 2


# --- L6: the whole answer within the provider's timeout -------------------------------------------


class DrippingProvider:
    """An HTTP server on loopback that answers 200 at once, then sends its body one byte
    every ``every`` seconds (each read well within the read timeout); with ``headers``, it
    drips a header line the same way instead."""

    def __init__(self, every: float = 0.1, length: int = 1000, headers: bool = False):
        self.headers = headers
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.every, self.length, self.stop = every, length, threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            if self.headers:
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            else:
                head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {self.length}\r\n\r\n"
                conn.sendall(head.encode())
            for _ in range(self.length):
                if self.stop.wait(self.every):
                    return
                try:
                    conn.sendall(b"x" if self.headers else b" ")
                except OSError:
                    return

    def close(self):
        self.stop.set()
        self.sock.close()
        self.thread.join(5)


@pytest.mark.parametrize("headers", [False, True], ids=["body", "headers"])
def test_a_dripping_provider_is_cut_off_at_its_timeout(settings, headers):
    settings.TUNGBAN_PROVIDER_CONNECT_TIMEOUT = 0.5
    org = Organisation(id=PROVIDER, timeout_seconds=1.0)
    dripping = DrippingProvider(headers=headers)
    started = time.monotonic()
    try:
        with pytest.raises(resilience.ProviderDown) as info:
            adapter._post(f"{dripping.url}/cdeg/v1/products/x", "token", adapter.timeouts(org), 10_000)
    finally:
        dripping.close()
    elapsed = time.monotonic() - started
    assert info.value.error.code == "provider_timeout"
    assert 0.9 <= elapsed < 3  # its 1 s timeout, not the 100 s the drip would take


def test_a_provider_timeout_is_at_most_30_seconds(db):
    with pytest.raises(DomainError) as info:
        exchange.register_organisation(
            id="slow", name_en="Slow", name_zh="慢", endpoint_url="https://slow.example", timeout_seconds=300
        )
    assert info.value.code == "invalid_organisation"
    for bad in (0, -1):
        with pytest.raises(DomainError):
            exchange.register_organisation(
                id="slow", name_en="Slow", name_zh="慢", endpoint_url="https://slow.example", timeout_seconds=bad
            )
    org = exchange.register_organisation(
        id="slow", name_en="Slow", name_zh="慢", endpoint_url="https://slow.example", timeout_seconds=30
    )
    assert org.timeout_seconds == 30
    assert adapter.timeouts(Organisation(id="old", timeout_seconds=300))[1] == 30  # a row stored before the bound
