"""Exchange attempts (issue 14 item 4): the call to a provider is recorded, committed, before
the provider is asked, and completed after; a worker killed in between leaves an attempt whose
outcome is unknown, which the resident's history and the exchange log show.

The kill is simulated in-process: ``TUNGBAN_KILLPOINTS`` names the point and the point's
``SIGKILL`` becomes a ``BaseException`` (which, like the kill, commits nothing and skips every
``except Exception``). ``test_attempts_kill.py`` kills a real server process.
"""

from __future__ import annotations

import datetime as dt
import io
import signal
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from tungban.core import killpoints, retention
from tungban.core.errors import DomainError
from tungban.exchange import errors
from tungban.exchange import services as exchange
from tungban.exchange.models import AttemptState, Consent, ConsentStatus, ExchangeAttempt, ExchangeRecord, Organisation
from tungban.ledger.models import LogLeaf, PendingLeaf
from tungban.testing.factories import PIN, make_resident

WSD = "wsd.registered-address.v1"
ADDRESS = {"address": {"lines": ["Flat 12A, 8 Nathan Road"], "district": "Yau Tsim Mong", "region": "Kowloon"}}


class Killed(BaseException):
    """Stands for the process's death at a kill point: nothing after it runs or commits."""


@pytest.fixture
def resident(officer):
    return make_resident(officer)


@pytest.fixture
def data_user(td):
    return Organisation.objects.get(pk="td")


def make_consent(data_user, resident, *, max_uses=None) -> Consent:
    now = timezone.now()
    return Consent.objects.create(
        consumer=data_user,
        product_id=WSD,
        resident=resident,
        purpose="Pre-fill the vehicle licence renewal form",
        duration_seconds=3600,
        max_uses=max_uses,
        status=ConsentStatus.ACTIVE,
        granted_at=now,
        valid_until=now + dt.timedelta(hours=1),
        consumer_sub="sub-at-td",
        provider_sub="sub-at-wsd",
    )


@pytest.fixture
def provider(monkeypatch):
    """The provider, in-process: ``provider.answer`` is called in place of the HTTP call
    (default: the address); ``provider.seen`` keeps what the database held at each call."""

    class Provider:
        seen: list[dict] = []

        def answer(self, consent, attempt):
            return dict(ADDRESS)

    fake = Provider()

    def ask(consent, attempt):
        row = ExchangeAttempt.objects.filter(pk=attempt.id).first()
        fake.seen.append(
            {
                "state": row.state if row else None,
                "uses": Consent.objects.get(pk=consent.pk).uses,
                # committed with the attempt: in the tree, or queued and promised (PostgreSQL, issue 15)
                "logged": LogLeaf.objects.filter(reference=str(attempt.id)).count()
                + PendingLeaf.objects.filter(reference=str(attempt.id)).count(),
            }
        )
        return fake.answer(consent, attempt)

    monkeypatch.setattr(exchange.adapter, "ask_provider", ask)
    return fake


@pytest.fixture
def kill_at(monkeypatch):
    """``kill_at("exchange.provider_returned")``: the named kill point "kills" (raises Killed)."""

    def arm(name):
        monkeypatch.setenv(killpoints.ENV_POINTS, name)
        monkeypatch.delenv(killpoints.ENV_DIR, raising=False)

        def kill(pid, sig):
            assert sig == signal.SIGKILL
            raise Killed(name)

        monkeypatch.setattr(killpoints.os, "kill", kill)

    return arm


def fetch(data_user, consent, request_id=None):
    return exchange.exchange(
        data_user, consent_id=str(consent.id), product_id=WSD, request_id=request_id or uuid.uuid4().hex
    )


def overdue(attempt_id) -> None:
    """Let an attempt's time run out (its ``unknown_after`` passes; the logged start stays)."""
    ExchangeAttempt.objects.filter(pk=attempt_id).update(unknown_after=timezone.now() - dt.timedelta(seconds=1))


def test_completed_exchange_has_one_attempt_delivered(data_user, resident, provider):
    consent = make_consent(data_user, resident)
    answer = fetch(data_user, consent, "renewal-0001")
    # When the provider was asked, the attempt was already recorded, in flight, logged and counted.
    assert provider.seen == [{"state": AttemptState.IN_FLIGHT, "uses": 1, "logged": 1}]
    attempt = ExchangeAttempt.objects.get()
    assert str(attempt.id) == answer["exchange_id"]
    assert (attempt.state, attempt.reason, attempt.request_id) == (AttemptState.DELIVERED, "", "renewal-0001")
    assert (attempt.consent_id, attempt.resident_id, attempt.consumer_id) == (consent.id, resident.pk, "td")
    assert (attempt.product_id, attempt.provider_id) == (WSD, "wsd")
    assert attempt.completed_at is not None
    assert exchange.attempt_for(data_user, "renewal-0001") == attempt
    assert exchange.attempt_for(data_user, "renewal-0002") is None
    assert ExchangeRecord.objects.get().id == attempt.id
    assert Consent.objects.get(pk=consent.pk).uses == 1
    # The history shows the exchange once, delivered.
    history = [exchange.exchange_summary(x) for x in exchange.history_of(resident)]
    assert [(h["id"], h["outcome"], h["state"], h["delivered"]) for h in history] == [
        (answer["exchange_id"], "delivered", "completed", True)
    ]
    # The transparency log holds the attempt's start and its outcome, and verifies.
    assert list(LogLeaf.objects.order_by("index").values_list("kind", "reference")) == [
        (exchange.ATTEMPT_LEDGER_KIND, answer["exchange_id"]),
        (exchange.LEDGER_KIND, answer["exchange_id"]),
    ]
    assert exchange.verify_log().ok
    assert exchange.unknown_attempts() == []


@pytest.mark.parametrize("interruption", ["killed", "error"])
def test_interrupted_after_the_provider_answered_leaves_an_unknown_attempt(
    settings, data_user, resident, provider, kill_at, interruption
):
    settings.TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT, settings.TUNGBAN_EXCHANGE_ATTEMPT_MARGIN = 5.0, 60.0
    consent = make_consent(data_user, resident, max_uses=1)
    if interruption == "killed":
        kill_at("exchange.provider_returned")
        with pytest.raises(Killed):
            fetch(data_user, consent)
    else:

        def answered_then_failed(consent, attempt):
            raise RuntimeError("the worker failed after the provider answered")

        provider.answer = answered_then_failed
        with pytest.raises(RuntimeError):
            fetch(data_user, consent)

    attempt = ExchangeAttempt.objects.get()
    assert attempt.state == AttemptState.IN_FLIGHT
    assert not ExchangeRecord.objects.exists()
    # Counted once: the provider may have released the data; the data user gets no extra use.
    assert Consent.objects.get(pk=consent.pk).uses == 1
    provider.seen.clear()
    with pytest.raises(DomainError) as refused:
        fetch(data_user, consent)
    assert refused.value.code == "consent_exhausted" and provider.seen == []

    # While the provider's time may still run, the attempt is "in progress"…
    (shown,) = [exchange.exchange_summary(x) for x in exchange.history_of(resident) if x.pk == attempt.pk]
    assert (shown["state"], shown["outcome"], shown["delivered"]) == ("in_progress", "in_progress", False)
    # …once it is past the provider timeout plus the margin, its outcome is unknown.
    assert exchange.attempt_deadline(consent.product.provider) == 5 + 60
    assert attempt.unknown_after - attempt.started_at == dt.timedelta(seconds=65)
    overdue(attempt.pk)
    (shown,) = [exchange.exchange_summary(x) for x in exchange.history_of(resident) if x.pk == attempt.pk]
    assert (shown["state"], shown["outcome"], shown["delivered"]) == ("unknown", "outcome_unknown", False)
    assert shown["data_provider"]["id"] == "wsd" and shown["product"]["id"] == WSD
    attempt.refresh_from_db()
    with translation.override("en"):
        note = exchange.exchange_summary(attempt)["note"]
    assert "may have released" in note and "did not record" in note
    with translation.override("zh-hant"):
        assert exchange.exchange_summary(attempt)["note"] != note

    # The exchange log shows it: an attempt logged with no outcome, and the log verifies.
    assert LogLeaf.objects.filter(kind=exchange.ATTEMPT_LEDGER_KIND, reference=str(attempt.pk)).count() == 1
    assert not LogLeaf.objects.filter(kind=exchange.LEDGER_KIND, reference=str(attempt.pk)).exists()
    assert [a.pk for a in exchange.unknown_attempts()] == [attempt.pk]
    report = exchange.verify_log()
    assert report.ok, report.problems
    out = io.StringIO()
    call_command("verify_exchange_log", stdout=out)
    assert "outcome unknown" in out.getvalue() and str(attempt.pk) in out.getvalue()


@pytest.mark.parametrize("max_uses", [None, 1])
def test_a_retry_of_the_killed_request_takes_over_its_use(data_user, resident, provider, kill_at, max_uses):
    """Issue 14 items 2 and 4 together: the data user's retry of the same ``request_id``
    (same body, its first answer never kept) is delivered and counted once — it takes over the
    use the dead attempt holds, also the last use of a single-use consent."""
    consent = make_consent(data_user, resident, max_uses=max_uses)
    kill_at("exchange.provider_returned")
    with pytest.raises(Killed):
        fetch(data_user, consent, "renewal-0042")
    assert Consent.objects.get(pk=consent.pk).uses == 1
    # A retry that is not a resumption (another body, or no idempotency layer) stays a replay.
    with pytest.raises(DomainError) as replayed:
        fetch(data_user, consent, "renewal-0042")
    assert replayed.value.code == "replayed_request"
    killpoints.os.kill = lambda pid, sig: None  # the retry's worker lives
    answer = exchange.exchange(
        data_user, consent_id=str(consent.id), product_id=WSD, request_id="renewal-0042", resume=True
    )
    assert answer["data"] == ADDRESS
    assert Consent.objects.get(pk=consent.pk).uses == 1
    states = sorted(ExchangeAttempt.objects.values_list("state", flat=True))
    assert states == sorted([AttemptState.IN_FLIGHT, AttemptState.DELIVERED])  # the first stays unknown
    assert exchange.verify_log().ok


def test_unknown_attempt_in_the_apps_history(issuer, data_user, resident, provider, kill_at, app_of):
    app = app_of(resident)
    consent = make_consent(data_user, resident)
    assert fetch(data_user, consent)["data"] == ADDRESS
    kill_at("exchange.provider_returned")
    with pytest.raises(Killed):
        fetch(data_user, consent)
    (lost,) = ExchangeAttempt.objects.filter(state=AttemptState.IN_FLIGHT)
    overdue(lost.pk)
    history = app.exchanges(PIN)
    assert [(h["state"], h["outcome"], h["delivered"]) for h in history] == [
        ("unknown", "outcome_unknown", False),
        ("completed", "delivered", True),
    ]
    assert history[0]["id"] == str(lost.pk) and "may have released" in history[0]["note"]
    # Both are in the public log, the lost attempt by the leaf of its start (issue 14 item 10).
    assert [h["log"]["record"]["id"] for h in history] == [str(lost.pk), history[1]["id"]]
    assert all(h["log_check"] == {"verified": True, "problem": None} for h in history), history
    assert Consent.objects.get(pk=consent.pk).uses == 2


def test_provider_refusal_completes_the_attempt_as_failed(data_user, resident, provider):
    consent = make_consent(data_user, resident)

    def timed_out(consent, attempt):
        raise attempt.refuse(errors.ProviderTimeout())

    provider.answer = timed_out
    with pytest.raises(DomainError) as info:
        fetch(data_user, consent)
    assert info.value.code == "provider_timeout"
    attempt = ExchangeAttempt.objects.get()
    assert (attempt.state, attempt.reason) == (AttemptState.FAILED, "provider_timeout")
    assert ExchangeRecord.objects.get().outcome == "provider_timeout"
    assert Consent.objects.get(pk=consent.pk).uses == 0  # the use taken for the call is given back
    history = [exchange.exchange_summary(x) for x in exchange.history_of(resident)]
    assert [(h["state"], h["outcome"]) for h in history] == [("completed", "provider_timeout")]
    assert exchange.verify_log().ok


@pytest.mark.parametrize("max_uses", [None, 1])
def test_revoked_while_the_provider_answers(data_user, resident, provider, max_uses):
    """Also for a single-use consent, whose one use the attempt holds meanwhile."""
    consent = make_consent(data_user, resident, max_uses=max_uses)

    def revoked_meanwhile(c, attempt):
        exchange.revoke(resident, consent.pk)
        return dict(ADDRESS)

    provider.answer = revoked_meanwhile
    with pytest.raises(DomainError) as info:
        fetch(data_user, consent)
    assert info.value.code == "consent_revoked"
    assert ExchangeAttempt.objects.get().state == AttemptState.FAILED
    assert Consent.objects.get(pk=consent.pk).uses == 0
    assert Consent.objects.get(pk=consent.pk).status == ConsentStatus.REVOKED
    assert exchange.verify_log().ok


def test_refusals_before_the_call_make_no_attempt(data_user, resident, provider):
    consent = make_consent(data_user, resident, max_uses=1)
    fetch(data_user, consent)
    with pytest.raises(DomainError):
        fetch(data_user, consent)  # used up: the provider is not asked
    assert ExchangeAttempt.objects.count() == 1 and len(provider.seen) == 1
    assert ExchangeRecord.objects.count() == 2


def test_deleted_or_altered_attempt_is_detected(data_user, resident, provider, kill_at):
    consent = make_consent(data_user, resident)
    kill_at("exchange.provider_returned")
    with pytest.raises(Killed):
        fetch(data_user, consent)
    attempt = ExchangeAttempt.objects.get()
    ExchangeAttempt.objects.filter(pk=attempt.pk).update(provider_id="ird")
    problems = exchange.verify_log().problems
    assert f"exchange_attempt {attempt.pk} (leaf 0): altered after logging" in problems, problems
    ExchangeAttempt.objects.filter(pk=attempt.pk).delete()
    problems = exchange.verify_log().problems
    assert f"leaf 0: exchange_attempt {attempt.pk} is missing (deleted record)" in problems, problems


def test_retention_never_removes_attempts(data_user, resident, provider, kill_at):
    consent = make_consent(data_user, resident)
    kill_at("exchange.provider_returned")
    with pytest.raises(Killed):
        fetch(data_user, consent)
    retention.purge_all(timezone.now() + dt.timedelta(days=3650))
    assert ExchangeAttempt.objects.get().state == AttemptState.IN_FLIGHT
