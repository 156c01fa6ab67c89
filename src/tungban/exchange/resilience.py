"""Keeping a slow or failing data provider from taking the platform down (issue 14 item 1):
a per-provider **bulkhead** and a per-provider **circuit breaker** around the adapter's
outbound call (:mod:`.adapter`).

* **Bulkhead.** At most ``TUNGBAN_PROVIDER_MAX_CONCURRENT`` calls to one provider are in
  flight in one web process at a time (a non-blocking ``threading.BoundedSemaphore`` per
  provider); past it the exchange is refused at once with ``provider_busy`` (503,
  ``Retry-After: TUNGBAN_PROVIDER_BUSY_RETRY_AFTER``). With gthread workers
  (``tungban serve``, :mod:`tungban.core.serving`) the other threads of the process keep
  serving logins and everything else while a provider hangs. The bound protects the
  process's own threads, so it is counted per process (like a connection pool), not shared:
  there is nothing here that two workers must agree on.
* **Circuit breaker** (pybreaker's state machine, Nygard's *Release It!*). After
  ``TUNGBAN_PROVIDER_BREAKER_FAILURES`` consecutive failures (connection refused or timed
  out, read timeout, HTTP 5xx) the provider's circuit opens: exchanges are refused at once
  with ``provider_unavailable`` (``details.retry_after`` and ``Retry-After``: seconds until
  the next trial) without calling it. After ``TUNGBAN_PROVIDER_BREAKER_RESET`` seconds one
  caller, in any process, makes a trial call (half-open): success closes the circuit,
  failure opens it for another period. The state is a :class:`~.models.ProviderCircuit`
  row (:class:`DatabaseStorage`, pybreaker's storage interface), so every worker on every
  host sees the same circuit. A ``no_record`` or a schema failure is an answer, not a
  failure of the provider.

pybreaker's ``CircuitBreaker.call`` holds a per-object lock for the whole call, so one
shared object would let a process's threads call a provider only one at a time: a new
breaker object is made per call, over the shared storage (its state is all in the row).
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

from . import errors
from .models import ProviderCircuit

T = TypeVar("T")
log = logging.getLogger(__name__)


class ProviderDown(Exception):
    """Raised by the guarded call for a failure of the provider (counted by the breaker);
    ``error`` is the :class:`~tungban.core.errors.DomainError` to answer with, ``status`` the
    provider's HTTP status if it sent one."""

    def __init__(self, error, status: int | None = None):
        super().__init__(error.code)
        self.error, self.status = error, status


class DatabaseStorage(pybreaker.CircuitBreakerStorage):
    """pybreaker's ``CircuitBreakerStorage`` on a :class:`~.models.ProviderCircuit` row.

    Reads come from one snapshot of the row per breaker object, reloaded after each write;
    counters are incremented in SQL (``failures = failures + 1``), so concurrent processes
    do not lose counts. While a trial call is under way (``half-open``), every breaker
    object except the one that claimed the trial (:meth:`claim_trial`) reads the state as
    ``open``, so exactly one call tests the provider.
    """

    def __init__(self, provider_id: str):
        super().__init__(f"provider:{provider_id}")
        self.provider_id = provider_id
        self.trial = False
        self._row: dict | None = None

    def _snapshot(self) -> dict:
        if self._row is None:
            self._row = ProviderCircuit.objects.filter(pk=self.provider_id).values(
                "state", "failures", "successes", "opened_at"
            ).first() or {"state": pybreaker.STATE_CLOSED, "failures": 0, "successes": 0, "opened_at": None}
        return self._row

    def _update(self, when: Q | None = None, **changes) -> int:
        rows = ProviderCircuit.objects.filter(pk=self.provider_id)
        if when is not None:
            rows = rows.filter(when)
        updated = rows.update(**changes)
        if not updated and when is None:
            ProviderCircuit.objects.bulk_create([ProviderCircuit(provider_id=self.provider_id)], ignore_conflicts=True)
            updated = ProviderCircuit.objects.filter(pk=self.provider_id).update(**changes)
        self._row = None
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
        self._update(Q(failures__gt=0), failures=0)  # no write on the common path (closed, no failures)

    def increment_success_counter(self) -> None:
        self._update(successes=F("successes") + 1)

    def reset_success_counter(self) -> None:
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


class _LogChanges(pybreaker.CircuitBreakerListener):
    def state_change(self, cb, old_state, new_state) -> None:
        if old_state is not None and old_state.name != new_state.name:
            log.warning("Circuit of %s: %s -> %s", cb.name, old_state.name, new_state.name)


_LISTENERS = (_LogChanges(),)


class _Breaker(pybreaker.CircuitBreaker):
    def half_open(self) -> None:
        if not self._state_storage.claim_trial(self.reset_timeout):
            raise pybreaker.CircuitBreakerError("another caller is making the trial call")
        super().half_open()


def breaker(provider_id: str) -> pybreaker.CircuitBreaker:
    """A breaker object for one call to ``provider_id`` over the shared state (see the module
    docstring); failures are :class:`ProviderDown` exceptions."""
    return _Breaker(
        fail_max=settings.TUNGBAN_PROVIDER_BREAKER_FAILURES,
        reset_timeout=settings.TUNGBAN_PROVIDER_BREAKER_RESET,
        state_storage=DatabaseStorage(provider_id),
        name=f"provider:{provider_id}",
        throw_new_error_on_trip=False,  # the call that trips the circuit answers with its own error
        listeners=_LISTENERS,
    )


def circuit_state(provider_id: str) -> str:
    """``closed``, ``open`` or ``half-open``: the provider's circuit as stored."""
    return ProviderCircuit.objects.filter(pk=provider_id).values_list("state", flat=True).first() or "closed"


def _retry_after(provider_id: str) -> int:
    opened_at = ProviderCircuit.objects.filter(pk=provider_id).values_list("opened_at", flat=True).first()
    if opened_at is None:
        return 1
    left = (opened_at - timezone.now()).total_seconds() + settings.TUNGBAN_PROVIDER_BREAKER_RESET
    return max(1, math.ceil(left))


_slots: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


@contextlib.contextmanager
def bulkhead(provider_id: str) -> Iterator[None]:
    """Hold one of this process's ``TUNGBAN_PROVIDER_MAX_CONCURRENT`` slots for
    ``provider_id`` for the block.

    :raises DomainError: ``provider_busy`` (503, ``details.retry_after``) at once when every
        slot is taken.
    """
    bound = max(1, settings.TUNGBAN_PROVIDER_MAX_CONCURRENT)
    with _slots_lock:
        slots = _slots.setdefault((provider_id, bound), threading.BoundedSemaphore(bound))
    if not slots.acquire(blocking=False):
        raise errors.ProviderBusy(details={"retry_after": settings.TUNGBAN_PROVIDER_BUSY_RETRY_AFTER})
    try:
        yield
    finally:
        slots.release()


def call_provider(provider_id: str, call: Callable[[], T]) -> T:
    """Run ``call`` (the outbound HTTP request; raises :class:`ProviderDown` for a failure of
    the provider) inside the provider's bulkhead and circuit breaker.

    :returns: what ``call`` returns.
    :raises DomainError: ``provider_busy`` (503) when the bulkhead is full;
        ``provider_unavailable`` (502, ``details.retry_after``) while the circuit is open —
        in both cases at once, without calling the provider.
    :raises ProviderDown: the call's own failure (the breaker has counted it).
    """
    with bulkhead(provider_id):
        try:
            return breaker(provider_id).call(call)
        except pybreaker.CircuitBreakerError:
            raise errors.ProviderUnavailable(details={"retry_after": _retry_after(provider_id)}) from None
