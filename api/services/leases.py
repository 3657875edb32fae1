"""Leases: the evaluations this process holds, kept ahead of the clock.

Every accepted evaluation is stored `pending` with a lease (its panel's deadline plus a
grace). While this process holds it (queued for a judging slot or being judged),
`renew` moves the lease ahead; a record whose lease ran out belongs to a process that
died, and any replica may take it over (`take`) and judge it again.

Each take-over counts a run (`runs`), and a worker writes only in the run it holds: its
renewals here, and its conclusion (`api.services.outcomes`), match nothing once another
replica has taken the evaluation over, so a worker that stalled past its lease (a pause,
a partition) cannot overwrite the taker's result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.config import PanelConfig
from api.metrics import Metrics
from api.store.engine import SessionFactory
from api.store.evaluations import EvaluationRepository
from api.store.tables import EvaluationRow, utcnow


@dataclass
class _Held:
    lease_s: float
    run: int
    """The run this process holds the evaluation in (1 when it accepted it)."""
    expires: float
    """`time.monotonic()` when the lease this process last wrote runs out."""


class Leases:
    """The evaluations this process holds, by id, with their lease lengths and runs."""

    def __init__(
        self, sessions: SessionFactory, grace_s: float = 30.0, metrics: Metrics | None = None
    ) -> None:
        self.sessions = sessions
        self.grace_s = grace_s
        self.metrics = metrics
        self._held: dict[str, _Held] = {}

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, evaluation_id: object) -> bool:
        return evaluation_id in self._held

    def length_s(self, panel: PanelConfig) -> float:
        """How long a worker's claim on judging one of `panel`'s evaluations lasts."""
        return panel.deadline_s + self.grace_s

    def until(self, panel: PanelConfig) -> datetime:
        """When a lease taken now on one of `panel`'s evaluations runs out."""
        return utcnow() + timedelta(seconds=self.length_s(panel))

    def hold(self, evaluation_id: str, lease_s: float, run: int = 1) -> None:
        """Hold an evaluation whose lease (of `lease_s`, in `run`) was just written."""
        self._held[evaluation_id] = _Held(lease_s, run, time.monotonic() + lease_s)
        self._gauge()

    def left_s(self, evaluation_id: str) -> float:
        """Seconds before the lease this process last wrote runs out (0: not held)."""
        held = self._held.get(evaluation_id)
        return max(0.0, held.expires - time.monotonic()) if held else 0.0

    def release(self, evaluation_id: str) -> None:
        self._held.pop(evaluation_id, None)
        self._gauge()

    def _gauge(self) -> None:
        if self.metrics is not None:
            self.metrics.held.set(len(self._held))

    async def renew(self) -> int:
        """Move the lease of every evaluation this process holds ahead of the clock, so
        no replica mistakes a queued one for abandoned. Call it more often than the
        shortest lease (the grace is a lower bound). Returns how many were renewed."""
        groups: dict[tuple[float, int], list[str]] = {}
        for evaluation_id, held in list(self._held.items()):
            groups.setdefault((held.lease_s, held.run), []).append(evaluation_id)
        started = time.monotonic()
        renewed = 0
        async with self.sessions() as session:
            repo = EvaluationRepository(session)
            for (lease_s, run), ids in groups.items():
                until = utcnow() + timedelta(seconds=lease_s)
                renewed += await repo.renew_leases(ids, until, run=run)
            await session.commit()
        for (lease_s, _), ids in groups.items():
            for evaluation_id in ids:
                if (still := self._held.get(evaluation_id)) is not None:
                    still.expires = started + lease_s
        return renewed

    async def take(self, row: EvaluationRow, panel: PanelConfig) -> int | None:
        """Atomically take over a stale evaluation's lease (its worker died), as read in
        `row`: the run this process now holds it in, or None if another replica took it
        first."""
        async with self.sessions() as session:
            taken = await EvaluationRepository(session).take_lease(
                row.id, row.lease_until, row.runs, self.until(panel)
            )
            await session.commit()
        return row.runs + 1 if taken else None
