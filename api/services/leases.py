"""Leases: the evaluations this process holds, kept ahead of the clock.

Every accepted evaluation is stored `pending` with a lease (its panel's deadline plus a
grace). While this process holds it (queued for a judging slot or being judged),
`renew` moves the lease ahead; a record whose lease ran out belongs to a process that
died, and any replica may take it over (`take`) and judge it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from api.config import PanelConfig
from api.metrics import Metrics
from api.store.engine import SessionFactory
from api.store.evaluations import EvaluationRepository
from api.store.tables import utcnow


class Leases:
    """The evaluations this process holds, by id, with their lease lengths."""

    def __init__(
        self, sessions: SessionFactory, grace_s: float = 30.0, metrics: Metrics | None = None
    ) -> None:
        self.sessions = sessions
        self.grace_s = grace_s
        self.metrics = metrics
        self._held: dict[str, float] = {}

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

    def hold(self, evaluation_id: str, lease_s: float) -> None:
        self._held[evaluation_id] = lease_s
        self._gauge()

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
        by_length: dict[float, list[str]] = {}
        for evaluation_id, lease_s in list(self._held.items()):
            by_length.setdefault(lease_s, []).append(evaluation_id)
        renewed = 0
        async with self.sessions() as session:
            repo = EvaluationRepository(session)
            for lease_s, ids in by_length.items():
                renewed += await repo.renew_leases(ids, utcnow() + timedelta(seconds=lease_s))
            await session.commit()
        return renewed

    async def take(self, evaluation_id: str, seen: datetime | None, panel: PanelConfig) -> bool:
        """Atomically take over a stale evaluation's lease (its worker died); False if
        another replica took it first."""
        async with self.sessions() as session:
            taken = await EvaluationRepository(session).take_lease(
                evaluation_id, seen, self.until(panel)
            )
            await session.commit()
        return taken
