"""Admission control: how many evaluations one process holds, and refusing beyond that.

A process holds at most `max_concurrent` evaluations being judged plus `max_queued`
waiting for a judging slot. A request beyond that is refused with `Overloaded` (503,
`Retry-After`) before anything is stored, so an overloaded service answers quickly and
the work it did accept finishes within its deadline instead of queueing without bound.
The count includes queued, batch, asynchronous and resumed work: everything `Leases`
holds, plus room reserved for requests admitted but not yet stored.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

from api.errors import Overloaded
from api.metrics import Metrics


class Ticket:
    """Room reserved by `Admission.admit` for evaluations not yet stored. Each stored
    evaluation moves from the reservation to the evaluations held (`use`); closing the
    ticket gives back what was not used (items refused or replayed)."""

    def __init__(self, admission: Admission, n: int) -> None:
        self._admission = admission
        self.left = n

    def use(self) -> None:
        if self.left > 0:
            self.left -= 1
            self._admission.reserved -= 1

    def close(self) -> None:
        self._admission.reserved -= self.left
        self.left = 0

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Admission:
    """The room this process has for evaluations, and the judging slots."""

    def __init__(
        self,
        held: Callable[[], int],
        max_concurrent: int = 64,
        max_queued: int | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._held = held
        """How many stored evaluations this process holds (queued or being judged)."""
        self.max_concurrent = max_concurrent
        self.slots = asyncio.Semaphore(max_concurrent)
        """Evaluations judged at once, across single, batch, async and resumed work."""
        self.capacity = max_concurrent + (max_concurrent if max_queued is None else max_queued)
        """Evaluations this process holds at most (judged or waiting for a slot)."""
        self.metrics = metrics
        self.reserved = 0
        """Admitted requests not yet stored (between admission and the insert)."""
        self._seconds = 1.0
        """Moving average of an evaluation's judging time, for `Retry-After`."""

    @property
    def load(self) -> int:
        """Evaluations held or admitted by this process."""
        return self._held() + self.reserved

    @property
    def room(self) -> int:
        return self.capacity - self.load

    def admit(self, n: int = 1, panel: str = "") -> Ticket:
        """Reserve room for `n` new evaluations, or raise `Overloaded` (nothing is stored).
        The room is held until each evaluation is stored (`Ticket.use`) or the ticket is
        closed; use the ticket as a context manager."""
        if self.load + n <= self.capacity:
            self.reserved += n
            return Ticket(self, n)
        if self.metrics is not None:
            self.metrics.refused.labels(panel).inc(n)
        waiting = max(self.load - self.max_concurrent, 0) + n
        retry = math.ceil(self._seconds * waiting / self.max_concurrent)
        raise Overloaded(
            f"{self.load} evaluations are being judged or queued here (capacity "
            f"{self.capacity}); retry later",
            retry_after_s=min(max(retry, 1), 60),
        )

    def judged(self, seconds: float) -> None:
        """Record how long one evaluation's judging took (for `Retry-After`)."""
        self._seconds += (seconds - self._seconds) / 20
