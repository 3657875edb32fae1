"""A circuit breaker per judge: stop calling a judge that keeps failing, probe it later.

closed --(`failures` consecutive retryable failures)--> open --(`cooldown_s`)--> half-open
half-open: one probe call at a time; success closes the circuit, failure reopens it.

While open, calls fail at once with `circuit_open` instead of spending the panel deadline
on a judge that is down. State is per process: each replica learns on its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerPolicy(BaseModel):
    """When a judge's circuit opens and how long it stays open."""

    model_config = ConfigDict(frozen=True)

    failures: int = Field(default=5, ge=1)
    """Consecutive retryable failures (timeouts, 429, 5xx, connection) that open it."""
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

    def success(self) -> None:
        with self._lock:
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._probing = False

    def abandon(self) -> None:
        """A call was cancelled before it ended: free the probe slot, change nothing else."""
        with self._lock:
            self._probing = False

    def failure(self) -> None:
        """Record a retryable failure (a judge that answers with garbage is not down)."""
        with self._lock:
            self._failures += 1
            if self._state is BreakerState.HALF_OPEN or self._failures >= self.policy.failures:
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()
                self._probing = False
