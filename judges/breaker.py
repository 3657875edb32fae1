"""A circuit breaker per judge: stop calling a judge that keeps failing, probe it later.

closed --(`failures` consecutive outage failures)--> open --(`cooldown_s`)--> half-open
half-open: one probe call at a time; success closes the circuit, failure reopens it.

While open, calls fail at once with `circuit_open` instead of spending the panel deadline
on a judge that is down. State is per process: each replica learns on its own.

What counts (`record`), by the kind of the call's outcome:

- a failure: `timeout`, `server_error` (5xx) and `connection`: the endpoint is down or
  overloaded, and the next call would likely spend the deadline the same way;
- a success: an answer (usable or not: a judge that answers garbage is up), and the
  permanent errors `auth`, `bad_request`, `not_found`: the endpoint answered, it is the
  configuration that is wrong, and another call would answer as fast;
- neither (`rate_limited`, `other`): a 429 means the provider is up and asks us to slow
  down, which the retry hint handles; it must not open the circuit, but it is no proof
  that the judge works either, so the count of outage failures is kept. A half-open probe
  that ends this way frees the probe slot and the circuit stays half-open.

A call cut short by the panel (its deadline, or the quorum being in) says nothing about
the judge: `abandon`.

Apart from the circuit, a provider's retry hint on a 429 (`hold`) holds every call of the
judge until it has passed, at most `MAX_HOLD_S`: a call that would go out before then
waits for it, or is not made when the hint outlasts its deadline, instead of spending a
request the provider has said it will refuse.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from judges.errors import CallErrorKind

OUTAGES = frozenset({CallErrorKind.TIMEOUT, CallErrorKind.SERVER_ERROR, CallErrorKind.CONNECTION})
"""Call outcomes that count as a failure towards opening the circuit."""
ANSWERED = frozenset({CallErrorKind.AUTH, CallErrorKind.BAD_REQUEST, CallErrorKind.NOT_FOUND})
"""Call errors that show the endpoint is up (they count as a success)."""


MAX_HOLD_S = 300.0
"""The longest a retry hint holds a judge's calls (a proxy asking for an hour is taken as
five minutes: the next evaluation after that asks again)."""


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerPolicy(BaseModel):
    """When a judge's circuit opens and how long it stays open."""

    model_config = ConfigDict(frozen=True)

    failures: int = Field(default=5, ge=1)
    """Consecutive outage failures (timeouts, 5xx, connection errors; not 429) that open it."""
    cooldown_s: float = Field(default=30.0, gt=0)
    """Seconds open before a probe call is let through."""


class CircuitBreaker:
    """One judge's breaker. Thread-safe; `clock` is injectable for tests."""

    def __init__(self, policy: BreakerPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        self._held_until = 0.0

    @property
    def state(self) -> BreakerState:
        with self._lock:
            self._tick()
            return self._state

    def _tick(self) -> None:
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self.policy.cooldown_s
        ):
            self._state = BreakerState.HALF_OPEN
            self._probing = False

    def allow(self) -> bool:
        """Whether a call may go out now (half-open lets exactly one probe through)."""
        with self._lock:
            self._tick()
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.HALF_OPEN and not self._probing:
                self._probing = True
                return True
            return False

    def hold(self, seconds: float) -> None:
        """The provider asked to wait `seconds` (a 429's hint): hold calls until then."""
        with self._lock:
            until = self._clock() + min(max(seconds, 0.0), MAX_HOLD_S)
            self._held_until = max(self._held_until, until)

    def held_for(self) -> float:
        """Seconds until a retry hint stops holding calls (0: none holds them)."""
        with self._lock:
            return max(0.0, self._held_until - self._clock())

    def success(self) -> None:
        with self._lock:
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._probing = False

    def abandon(self) -> None:
        """A call was cancelled before it ended: free the probe slot, change nothing else."""
        with self._lock:
            self._probing = False

    def record(self, kind: CallErrorKind | None) -> None:
        """Record how a call ended: None for an answer, else its error kind (see above)."""
        if kind is None or kind in ANSWERED:
            self.success()
        elif kind in OUTAGES:
            self.failure()
        else:
            self.abandon()

    def failure(self) -> None:
        """Record an outage failure (a judge that answers with garbage is not down)."""
        with self._lock:
            self._failures += 1
            if self._state is BreakerState.HALF_OPEN or self._failures >= self.policy.failures:
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()
                self._probing = False
