"""A slow or failing data provider must not take the platform down (issue 14 item 1): the
provider's circuit breaker (state in the database, shared by every process and connection),
the short connect timeout and the per-provider bulkhead (:mod:`tungban.exchange.resilience`)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from datetime import timedelta

import pytest
import requests
from django.db import connection
from django.utils import timezone

from tungban.core.errors import DomainError
from tungban.exchange import adapter, resilience
from tungban.exchange import services as exchange
from tungban.exchange.models import DataUserCircuit, ExchangeRecord, Organisation

from .test_gateway import WSD, consented, tai_man  # noqa: F401 - tai_man is a fixture

PROVIDER = "wsd"
USER = "bank"  # the data user of the unit tests


class HangingProvider:
    """A TCP server on loopback that accepts connections and never answers (a hung provider);
    ``accepted`` counts the connections it was sent."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted, self.held, self.stop = 0, [], threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self.held.append(conn)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.fixture
def hanging():
    server = HangingProvider()
    yield server
    server.close()


@pytest.fixture
def provider(db):
    Organisation.objects.create(id=USER, name_en="A bank", name_zh="銀行", kind="bank")
    return Organisation.objects.create(id=PROVIDER, name_en="Water Supplies Department", name_zh="水務署")


def circuit() -> DataUserCircuit:
    """The unit tests' data user's circuit towards the provider: with one data user failing,
    the provider's own circuit stays closed (review finding H2), this one opens."""
    return DataUserCircuit.objects.get(provider_id=PROVIDER, data_user_id=USER)


def reset_time_passes(seconds: float = 31) -> None:
    """The circuit's reset time passes (moved back rather than waited for)."""
    DataUserCircuit.objects.filter(provider_id=PROVIDER).update(opened_at=timezone.now() - timedelta(seconds=seconds))


def fail():
    raise resilience.ProviderDown(DomainError("provider_timeout", "timed out", status=504))


def calls_counted(counter: list):
    def call():
        counter.append(1)
        return "answer"

    return call


def refused_at_once(provider_id: str, code: str) -> DomainError:
    called: list = []
    with pytest.raises(DomainError) as info:
        resilience.call_provider(provider_id, USER, calls_counted(called))
    assert info.value.code == code and not called  # the provider was not called
    return info.value


# --- the circuit breaker ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_breaker_opens_after_n_failures_for_every_connection(settings, provider):
    """Failures counted on one database connection (another thread: as another worker would)
    open the circuit for this one: the next call is refused at once, no provider call."""
    settings.TUNGBAN_PROVIDER_BREAKER_FAILURES = 3
    settings.TUNGBAN_PROVIDER_BREAKER_RESET = 60

    def other_worker():
        try:
            for _ in range(3):
                with pytest.raises(resilience.ProviderDown):
                    resilience.call_provider(PROVIDER, USER, fail)
        finally:
            connection.close()

    worker = threading.Thread(target=other_worker)
    worker.start()
    worker.join(30)
    assert circuit().state == "open"

    error = refused_at_once(PROVIDER, "provider_unavailable")
    assert error.status == 502 and 50 <= error.details["retry_after"] <= 60
    assert resilience.circuit_state(PROVIDER, USER) == "open"


@pytest.mark.django_db(transaction=True)
def test_successes_keep_it_closed_and_failures_must_be_consecutive(settings, provider):
    settings.TUNGBAN_PROVIDER_BREAKER_FAILURES = 2
    called: list = []
    for _ in range(3):
        with pytest.raises(resilience.ProviderDown):
            resilience.call_provider(PROVIDER, USER, fail)
        assert resilience.call_provider(PROVIDER, USER, calls_counted(called)) == "answer"
    assert len(called) == 3 and resilience.circuit_state(PROVIDER, USER) == "closed"


@pytest.mark.django_db(transaction=True)
def test_breaker_half_opens_after_the_reset_time_with_one_trial_call(settings, provider):
    settings.TUNGBAN_PROVIDER_BREAKER_FAILURES = 1
    settings.TUNGBAN_PROVIDER_BREAKER_RESET = 30
    with pytest.raises(resilience.ProviderDown):
        resilience.call_provider(PROVIDER, USER, fail)
    refused_at_once(PROVIDER, "provider_unavailable")

    reset_time_passes()
    in_trial, release, trial_result = threading.Event(), threading.Event(), {}

    def trial():
        in_trial.set()
        release.wait(30)
        return "answer"

    def trial_caller():
        try:
            trial_result["value"] = resilience.call_provider(PROVIDER, USER, trial)
        finally:
            connection.close()

    caller = threading.Thread(target=trial_caller)
    caller.start()
    assert in_trial.wait(30)
    assert resilience.circuit_state(PROVIDER, USER) == "half-open"
    refused_at_once(PROVIDER, "provider_unavailable")  # only one trial call at a time, in any process
    release.set()
    caller.join(30)
    assert trial_result["value"] == "answer" and resilience.circuit_state(PROVIDER, USER) == "closed"
    called: list = []
    assert resilience.call_provider(PROVIDER, USER, calls_counted(called)) == "answer" and called


@pytest.mark.django_db(transaction=True)
def test_a_failed_trial_opens_the_circuit_again(settings, provider):
    settings.TUNGBAN_PROVIDER_BREAKER_FAILURES = 1
    settings.TUNGBAN_PROVIDER_BREAKER_RESET = 30
    with pytest.raises(resilience.ProviderDown):
        resilience.call_provider(PROVIDER, USER, fail)
    reset_time_passes()
    with pytest.raises(resilience.ProviderDown):
        resilience.call_provider(PROVIDER, USER, fail)  # the trial
    row = circuit()
    assert row.state == "open" and timezone.now() - row.opened_at < timedelta(seconds=10)
    refused_at_once(PROVIDER, "provider_unavailable")


# --- the bulkhead ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_bulkhead_bound_refuses_at_once_beyond_it(settings, provider):
    settings.TUNGBAN_PROVIDER_MAX_CONCURRENT = 2
    settings.TUNGBAN_PROVIDER_DATA_USER_SHARE = 1  # one data user may take every slot here
    settings.TUNGBAN_PROVIDER_BUSY_RETRY_AFTER = 3
    entered, release = threading.Semaphore(0), threading.Event()

    def slow():
        entered.release()
        release.wait(30)
        return "answer"

    def caller():
        try:
            resilience.call_provider(PROVIDER, USER, slow)
        finally:
            connection.close()

    callers = [threading.Thread(target=caller) for _ in range(2)]
    for t in callers:
        t.start()
    for _ in callers:
        assert entered.acquire(timeout=30)
    error = refused_at_once(PROVIDER, "provider_busy")
    assert error.status == 503 and error.details == {"retry_after": 3}
    Organisation.objects.create(id="ird", name_en="Inland Revenue Department", name_zh="稅務局")
    with pytest.raises(resilience.ProviderDown):
        resilience.call_provider("ird", USER, fail)  # another provider has its own slots
    release.set()
    for t in callers:
        t.join(30)
    assert resilience.call_provider(PROVIDER, USER, lambda: "answer") == "answer"  # slots are given back
    assert resilience.circuit_state(PROVIDER, USER) == "closed"  # busy refusals are not provider failures


# --- the connect timeout --------------------------------------------------------------------------


@pytest.fixture
def unconnectable():
    """A loopback address whose accept queue is full: new connections are never completed
    (SYNs dropped), as with a provider host that does not answer."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    filler = []
    with contextlib.suppress(OSError):
        for _ in range(4):
            c = socket.socket()
            c.settimeout(0.3)
            c.connect(("127.0.0.1", port))
            filler.append(c)
    yield f"http://127.0.0.1:{port}"
    for c in filler:
        c.close()
    server.close()


def test_connect_timeout_is_honoured(settings, unconnectable):
    settings.TUNGBAN_PROVIDER_CONNECT_TIMEOUT = 0.3
    settings.TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT = 30
    org = Organisation(id=PROVIDER, timeout_seconds=None)
    assert adapter.timeouts(org) == (0.3, 30)
    started = time.monotonic()
    with pytest.raises(resilience.ProviderDown) as info:
        adapter._post(f"{unconnectable}/cdeg/v1/products/x", "token", adapter.timeouts(org), 1024)
    assert time.monotonic() - started < 2.5  # not the read timeout (30 s), nor the former 3 s
    assert info.value.error.code == "provider_unavailable"


# --- through the gateway --------------------------------------------------------------------------


def test_hanging_provider_is_cut_off_by_its_circuit(settings, issuer, providers, td, app_of, tai_man, hanging):  # noqa: F811
    """Acceptance: a hanging provider costs its read timeout only until the breaker opens;
    then exchanges are refused at once (recorded, with Retry-After) without calling it."""
    settings.TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT = 0.5
    settings.TUNGBAN_PROVIDER_BREAKER_FAILURES = 2
    settings.TUNGBAN_PROVIDER_BREAKER_RESET = 60
    providers("wsd")
    consent = consented(td, app_of(tai_man), tai_man)
    Organisation.objects.filter(pk="wsd").update(endpoint_url=hanging.url)

    def post():
        return requests.post(
            f"{issuer}/api/v1/exchange/requests",
            json={"consent_id": consent["id"], "product": WSD, "request_id": f"req-{time.monotonic_ns()}"},
            headers={"Authorization": f"Bearer {td.token()}"},
            timeout=30,
        )

    for _ in range(2):
        answer = post()
        assert (answer.status_code, answer.json()["error"]) == (504, "provider_timeout")
    assert hanging.accepted == 2

    started = time.monotonic()
    answer = post()
    elapsed = time.monotonic() - started
    assert (answer.status_code, answer.json()["error"]) == (502, "provider_unavailable")
    assert 50 <= int(answer.headers["Retry-After"]) <= 60 and answer.json()["details"]["retry_after"]
    assert hanging.accepted == 2  # not called
    assert elapsed < 0.5  # less than the read timeout it would otherwise have waited
    outcomes = list(ExchangeRecord.objects.order_by("ledger_seq").values_list("outcome", flat=True))
    assert outcomes == ["provider_timeout", "provider_timeout", "provider_unavailable"]
    assert exchange.verify_log().ok
