"""Keeping a slow or failing data provider from taking the platform down (issue 14 item 1),
and one data user from taking a provider away from the others (review finding H2): a
per-provider **bulkhead** with a bounded share per data user, and **circuit breakers** per
data user and per provider around the adapter's outbound call (:mod:`.adapter`).

* **Bulkhead.** At most ``TUNGBAN_PROVIDER_MAX_CONCURRENT`` calls to one provider are in
  flight in one web process at a time, and at most ``TUNGBAN_PROVIDER_DATA_USER_SHARE`` of
  them (0.5: half, at least one) for one data user (non-blocking
  ``threading.BoundedSemaphore`` objects); past either bound the exchange is refused at once
  with ``provider_busy`` (503, ``Retry-After: TUNGBAN_PROVIDER_BUSY_RETRY_AFTER``). With
  gthread workers (``tungban serve``, :mod:`tungban.core.serving`) the other threads of the
  process keep serving logins and everything else while a provider hangs, and one data
  user's slow calls leave slots to the others. The bound protects the process's own
  threads, so it is counted per process (like a connection pool), not shared: there is
  nothing here that two workers must agree on.
* **Circuit breakers** (pybreaker's state machine, Nygard's *Release It!*), two per call:
  the data user's towards the provider (:class:`~.models.DataUserCircuit`) and the
  provider's (:class:`~.models.ProviderCircuit`). Failures are: connection refused or timed
  out, read timeout or the answer's deadline, HTTP 5xx; a ``no_record`` or a schema failure
  is an answer, not a failure of the provider. After ``TUNGBAN_PROVIDER_BREAKER_FAILURES``
  consecutive failures of a data user's calls, that data user's circuit opens: its
  exchanges are refused at once with ``provider_unavailable`` (``details.retry_after`` and
  ``Retry-After``: seconds until the next trial) without calling the provider. After
  ``TUNGBAN_PROVIDER_BREAKER_RESET`` seconds one of its calls, in any process, makes a trial
  call (half-open): success closes the circuit, failure opens it for another period. The
  provider's circuit counts every data user's failures (a success from any resets it) and
  refuses everyone, but from ``closed`` it opens only when at least
  ``TUNGBAN_PROVIDER_BREAKER_DATA_USERS`` (2) distinct data users have failing circuits
  (failures not cleared by a success, or open) — so a data user that makes the provider
  fail with its own requests (a record the provider breaks on; failed uses are refunded,
  so this costs it nothing) opens only its own circuit. The data user's breaker wraps the
  provider's: a data user whose own circuit is open never reaches the provider's, so it
  cannot make (and keep failing) the provider's trial call; a refusal by the provider's
  circuit is neither a failure nor a success of the data user's. The state is in database
  rows (:class:`DatabaseStorage`, pybreaker's storage interface), so every worker on every
  host sees the same circuits; a healthy call reads both rows in one query and writes
  nothing.

pybreaker's ``CircuitBreaker.call`` holds a per-object lock for the whole call, so one
shared object would let a process's threads call a provider only one at a time: new
breaker objects are made per call, over the shared storage (their state is all in the rows).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TypeVar

import pybreaker
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from . import errors, hotsql
from .models import DataUserCircuit, ProviderCircuit

T = TypeVar("T")
log = logging.getLogger(__name__)


class ProviderDown(Exception):
    """Raised by the guarded call for a failure of the provider (counted by the breaker);
    ``error`` is the :class:`~tungban.core.errors.DomainError` to answer with, ``status`` the
    provider's HTTP status if it sent one."""

    def __init__(self, error, status: int | None = None):
        super().__init__(error.code)
        self.error, self.status = error, status


class _Rows:
    """One snapshot of the two circuit rows a call goes through — the provider's
    (:class:`~.models.ProviderCircuit`) and the data user's towards it
    (:class:`~.models.DataUserCircuit`) — read in one query (a ``UNION ALL``), reloaded
    after any write. A healthy call makes that one query and no write."""

    FIELDS = ("state", "failures", "successes", "opened_at")
    EMPTY = {"state": pybreaker.STATE_CLOSED, "failures": 0, "successes": 0, "opened_at": None}

    def __init__(self, provider_id: str, data_user_id: str, rows: dict[str, dict] | None = None):
        self.provider_id, self.data_user_id = provider_id, data_user_id
        #: ``rows``: the snapshot as the caller read it already (``hotsql.open_exchange``, in
        #: the statement that locked the consent: issue 15, fourth round), else read on first use.
        self._rows: dict[str, dict] | None = rows

    def get(self, scope: str) -> dict:
        """The row of ``scope`` (``"provider"`` or ``"data_user"``), closed when absent."""
        if self._rows is None:
            self._rows = hotsql.circuit_rows(self.provider_id, self.data_user_id)  # plain SQL (issue 15)
        return self._rows.get(scope, self.EMPTY)

    def forget(self) -> None:
        self._rows = None


class DatabaseStorage(pybreaker.CircuitBreakerStorage):
    """pybreaker's ``CircuitBreakerStorage`` on a circuit row: the provider's
    (:class:`~.models.ProviderCircuit`, ``scope="provider"``) or one data user's towards it
    (:class:`~.models.DataUserCircuit`, ``scope="data_user"``).

    Reads come from a shared snapshot of both rows (:class:`_Rows`), reloaded after each
    write; counters are incremented in SQL (``failures = failures + 1``), so concurrent
    processes do not lose counts. A reset of a counter the snapshot shows at zero writes
    nothing (a failure another caller records meanwhile is not undone by this success).
    While a trial call is under way (``half-open``), every breaker object except the one
    that claimed the trial (:meth:`claim_trial`) reads the state as ``open``, so exactly
    one call tests the circuit.
    """

    def __init__(self, rows: _Rows, scope: str):
        super().__init__(f"provider:{rows.provider_id}" + (f":{rows.data_user_id}" if scope == "data_user" else ""))
        self.rows, self.scope = rows, scope
        self.trial = False

    def _queryset(self):
        if self.scope == "provider":
            return ProviderCircuit.objects.filter(pk=self.rows.provider_id)
        return DataUserCircuit.objects.filter(provider_id=self.rows.provider_id, data_user_id=self.rows.data_user_id)

    def _create(self) -> None:
        if self.scope == "provider":
            row = ProviderCircuit(provider_id=self.rows.provider_id)
        else:
            row = DataUserCircuit(provider_id=self.rows.provider_id, data_user_id=self.rows.data_user_id)
        type(row).objects.bulk_create([row], ignore_conflicts=True)

    def _snapshot(self) -> dict:
        return self.rows.get(self.scope)

    def _update(self, when: Q | None = None, **changes) -> int:
        rows = self._queryset()
        if when is not None:
            rows = rows.filter(when)
        updated = rows.update(**changes)
        if not updated and when is None:
            self._create()
            updated = self._queryset().update(**changes)
        self.rows.forget()
        return updated

    @property
    def state(self) -> str:
        state = self._snapshot()["state"]
        if state == pybreaker.STATE_HALF_OPEN and not self.trial:
            return pybreaker.STATE_OPEN  # another caller's trial is under way
        return state

    @state.setter
    def state(self, state: str) -> None:
        self._update(state=state)

    def increment_counter(self) -> None:
        self._update(failures=F("failures") + 1)

    def reset_counter(self) -> None:
        if self._snapshot()["failures"]:  # no query at all on the common path (closed, no failures)
            self._update(Q(failures__gt=0), failures=0)

    def increment_success_counter(self) -> None:
        self._update(successes=F("successes") + 1)

    def reset_success_counter(self) -> None:
        if self._snapshot()["successes"]:
            self._update(Q(successes__gt=0), successes=0)

    @property
    def counter(self) -> int:
        return self._snapshot()["failures"]

    @property
    def success_counter(self) -> int:
        return self._snapshot()["successes"]

    @property
    def opened_at(self):
        return self._snapshot()["opened_at"]

    @opened_at.setter
    def opened_at(self, when) -> None:
        self._update(opened_at=when)

    def claim_trial(self, reset_timeout: float) -> bool:
        """Move an open circuit whose period is over to ``half-open``, restarting the period;
        true for the one caller that did it (the trial caller), false if another did first."""
        now = timezone.now()
        claimed = self._update(
            Q(state__in=(pybreaker.STATE_OPEN, pybreaker.STATE_HALF_OPEN))
            & Q(opened_at__lte=now - timedelta(seconds=reset_timeout)),
            state=pybreaker.STATE_HALF_OPEN,
            opened_at=now,
            successes=0,
        )
        self.trial = bool(claimed)
        return self.trial

    def failing_data_users(self) -> int:
        """How many data users other than this call's have a failing circuit towards the
        provider (consecutive failures not yet cleared by a success, or open)."""
        return (
            DataUserCircuit.objects.filter(provider_id=self.rows.provider_id)
            .exclude(data_user_id=self.rows.data_user_id)
            .filter(Q(failures__gt=0) | ~Q(state=pybreaker.STATE_CLOSED))
            .count()
        )


class _LogChanges(pybreaker.CircuitBreakerListener):
    def state_change(self, cb, old_state, new_state) -> None:
        if old_state is not None and old_state.name != new_state.name:
            log.warning("Circuit of %s: %s -> %s", cb.name, old_state.name, new_state.name)


_LISTENERS = (_LogChanges(),)


class _PassThroughRefusals:
    """A state that lets another circuit's refusal (``CircuitBreakerError`` from the inner
    breaker) through untouched: it is neither a failure nor a success of this circuit."""

    def _handle_error(self, exc, reraise=True):
        if isinstance(exc, pybreaker.CircuitBreakerError):
            raise exc
        return super()._handle_error(exc, reraise)


class _Closed(_PassThroughRefusals, pybreaker.CircuitClosedState):
    pass


class _Open(_PassThroughRefusals, pybreaker.CircuitOpenState):
    pass


class _HalfOpen(_PassThroughRefusals, pybreaker.CircuitHalfOpenState):
    pass


_STATES = {pybreaker.STATE_CLOSED: _Closed, pybreaker.STATE_OPEN: _Open, pybreaker.STATE_HALF_OPEN: _HalfOpen}


class _Breaker(pybreaker.CircuitBreaker):
    def _create_new_state(self, new_state, prev_state=None, notify=False):
        if new_state not in _STATES:
            return super()._create_new_state(new_state, prev_state, notify)
        return _STATES[new_state](self, prev_state=prev_state, notify=notify)

    def half_open(self) -> None:
        if not self._state_storage.claim_trial(self.reset_timeout):
            raise pybreaker.CircuitBreakerError("another caller is making the trial call")
        super().half_open()


class _ProviderBreaker(_Breaker):
    """The provider-wide breaker: from ``closed`` it opens only when, besides the consecutive
    failures, at least ``TUNGBAN_PROVIDER_BREAKER_DATA_USERS`` distinct data users have a
    failing circuit towards the provider (this call's data user included)."""

    def open(self) -> bool:
        if self._state_storage.state == pybreaker.STATE_CLOSED:
            needed = max(1, settings.TUNGBAN_PROVIDER_BREAKER_DATA_USERS)
            if needed > 1 and 1 + self._state_storage.failing_data_users() < needed:
                return False  # failures of fewer data users: their own circuits answer for them
        return super().open()


def _breaker(cls: type[_Breaker], rows: _Rows, scope: str) -> _Breaker:
    return cls(
        fail_max=settings.TUNGBAN_PROVIDER_BREAKER_FAILURES,
        reset_timeout=settings.TUNGBAN_PROVIDER_BREAKER_RESET,
        state_storage=DatabaseStorage(rows, scope),
        name=f"provider:{rows.provider_id}" + (f":{rows.data_user_id}" if scope == "data_user" else ""),
        throw_new_error_on_trip=False,  # the call that trips the circuit answers with its own error
        listeners=_LISTENERS,
    )


def breakers(
    provider_id: str, data_user_id: str, rows: dict[str, dict] | None = None
) -> tuple[pybreaker.CircuitBreaker, pybreaker.CircuitBreaker]:
    """``(data user's, provider's)`` breaker objects for one call by ``data_user_id`` to
    ``provider_id`` over the shared state (see the module docstring); failures are
    :class:`ProviderDown` exceptions. The data user's is the outer one: a data user whose
    circuit is open never reaches the provider's (so it can never make its trial call).
    ``rows``: the two circuit rows as just read (:meth:`_Rows.__init__`), if the caller has them."""
    rows = _Rows(provider_id, data_user_id, rows)
    return _breaker(_Breaker, rows, "data_user"), _breaker(_ProviderBreaker, rows, "provider")


def circuit_state(provider_id: str, data_user_id: str | None = None) -> str:
    """``closed``, ``open`` or ``half-open``: the provider's circuit as stored, or with
    ``data_user_id`` that data user's circuit towards the provider."""
    if data_user_id is None:
        rows = ProviderCircuit.objects.filter(pk=provider_id)
    else:
        rows = DataUserCircuit.objects.filter(provider_id=provider_id, data_user_id=data_user_id)
    return rows.values_list("state", flat=True).first() or "closed"


def _retry_after(provider_id: str, data_user_id: str) -> int:
    """Seconds until the later of the two circuits (if open) allows a trial call."""
    rows = _Rows(provider_id, data_user_id)
    now, left = timezone.now(), 1.0
    for scope in ("provider", "data_user"):
        row = rows.get(scope)
        if row["state"] != pybreaker.STATE_CLOSED and row["opened_at"] is not None:
            left = max(left, (row["opened_at"] - now).total_seconds() + settings.TUNGBAN_PROVIDER_BREAKER_RESET)
    return max(1, math.ceil(left))


_slots: dict[tuple, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _semaphore(key: tuple, bound: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        return _slots.setdefault((*key, bound), threading.BoundedSemaphore(bound))


def data_user_slots(bound: int) -> int:
    """A data user's share of a provider's ``bound`` slots: ``TUNGBAN_PROVIDER_DATA_USER_SHARE``
    of them (0.5: half), at least 1."""
    return max(1, min(bound, int(bound * settings.TUNGBAN_PROVIDER_DATA_USER_SHARE)))


def _busy() -> errors.ProviderBusy:
    return errors.ProviderBusy(details={"retry_after": settings.TUNGBAN_PROVIDER_BUSY_RETRY_AFTER})


@contextlib.contextmanager
def bulkhead(provider_id: str, data_user_id: str) -> Iterator[None]:
    """Hold one of this process's ``TUNGBAN_PROVIDER_MAX_CONCURRENT`` slots for
    ``provider_id`` for the block, within ``data_user_id``'s share of them
    (:func:`data_user_slots`): one data user's slow calls cannot take every slot.

    :raises DomainError: ``provider_busy`` (503, ``details.retry_after``) at once when every
        slot, or every slot of the data user's share, is taken.
    """
    bound = max(1, settings.TUNGBAN_PROVIDER_MAX_CONCURRENT)
    own = _semaphore((provider_id, data_user_id), data_user_slots(bound))
    shared = _semaphore((provider_id,), bound)
    if not own.acquire(blocking=False):
        raise _busy()
    try:
        if not shared.acquire(blocking=False):
            raise _busy()
        try:
            yield
        finally:
            shared.release()
    finally:
        own.release()


def call_provider(
    provider_id: str, data_user_id: str, call: Callable[[], T], *, rows: dict[str, dict] | None = None
) -> T:
    """Run ``call`` (the outbound HTTP request for data user ``data_user_id``; raises
    :class:`ProviderDown` for a failure of the provider) inside the provider's bulkhead and
    the data user's and the provider's circuit breakers.

    :param rows: the call's two circuit rows as the caller read them a moment ago
        (``{"provider": {...}, "data_user": {...}}``, absent ones closed; issue 15), to save
        the breakers' own read; None: the breakers read them.
    :returns: what ``call`` returns.
    :raises DomainError: ``provider_busy`` (503) when the bulkhead (or the data user's share
        of it) is full; ``provider_unavailable`` (502, ``details.retry_after``) while the
        data user's or the provider's circuit is open — in both cases at once, without
        calling the provider.
    :raises ProviderDown: the call's own failure (the breakers have counted it).
    """
    with bulkhead(provider_id, data_user_id):
        own, shared = breakers(provider_id, data_user_id, rows)
        try:
            return own.call(shared.call, call)
        except pybreaker.CircuitBreakerError:
            raise errors.ProviderUnavailable(details={"retry_after": _retry_after(provider_id, data_user_id)}) from None
