"""The drift sweep: final verdicts with a subject, in the order they became final, feed
one Bernoulli CUSUM per (tenant, subject model, use case, criterion)
(`routing.governance.drift`), whose state is stored; an alarm is stored as a drift event.

A verdict is final once its evaluation is `decided` (by the panel, or by the humans it
was routed to: their verdict is the one counted), and is read once it is
`governance.settle_s` old, oldest first; the sweep marks each verdict it reads on its row
(`drift_read`), in the transaction that stores the charts. A position in the stream would
not do: a verdict is stamped before its transaction commits, so one stamped earlier can
commit after a later one was read, and a cursor past it would never count it.

Each outcome is 1 when not compliant, 0 when compliant; n/a verdicts and rubrics without
a compliance rule are not part of any stream. Sweeps of several replicas are serialised
by a lock on the cursor row, so each verdict is counted once. After an alarm the chart
restarts (the state keeps its baseline and counts the alarms).
"""

from __future__ import annotations

import collections
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from api.config import QuorumConfig
from api.store import SessionFactory
from api.store.drift import DriftRepository, StreamKey
from api.store.governance import GovernanceReads
from api.store.tables import DriftEventRow, DriftMonitorRow, GovernanceCursorRow, utcnow
from routing.governance import CusumState, start, update

log = logging.getLogger("quorum.drift")

CURSOR = "drift"
BATCH = 1000

Observer = Callable[[DriftMonitorRow, CusumState, int], None]
"""Told of each stream's state after a batch, and how many times it alarmed in it (a
chart restarts after an alarm, so one batch can hold several): the gauges."""


def _items(state: CusumState, s: int) -> float:
    """A grid statistic in Reynolds & Stoumbos's units (net non-compliant items)."""
    chart = state.chart
    return 0.0 if chart is None else s * (1.0 - chart.gamma) / chart.up


class DriftSweep:
    """Reads new final verdicts, advances the charts, stores alarms."""

    def __init__(
        self, config: QuorumConfig, sessions: SessionFactory, observe: Observer | None = None
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.observe = observe

    async def sweep(self) -> list[DriftEventRow]:
        """Consume every settled verdict since the cursor; the drift events raised."""
        raised: list[DriftEventRow] = []
        settle = timedelta(seconds=self.config.governance.settle_s)
        while True:
            batch, more = await self._batch(utcnow() - settle)
            raised += batch
            if not more:
                return raised

    async def _batch(self, until: datetime) -> tuple[list[DriftEventRow], bool]:
        spec = self.config.governance.cusum
        async with self.sessions() as session:
            reads, repo = GovernanceReads(session), DriftRepository(session)
            await reads.lock_cursor(CURSOR)
            cursor = await repo.cursor(CURSOR, lock=True)
            verdicts = await reads.stream(until, BATCH)
            if not verdicts:
                return [], False
            keys: list[StreamKey] = [
                (v.tenant or "", v.model, v.use_case or "", v.criterion) for v in verdicts
            ]
            monitors = await repo.monitors(sorted(set(keys)))
            states: dict[StreamKey, CusumState] = {
                k: CusumState.model_validate(m.state) for k, m in monitors.items()
            }
            alarmed: collections.Counter[StreamKey] = collections.Counter()
            events: list[DriftEventRow] = []
            for key, v in zip(keys, verdicts, strict=True):
                before = states.get(key) or start(spec)
                state, alarm = update(before, not v.compliant)
                states[key] = state
                if alarm and state.chart is not None:
                    alarmed[key] += 1
                    events.append(
                        DriftEventRow(
                            id=uuid.uuid4().hex,
                            scope=key[0],
                            model=v.model,
                            use_case=v.use_case,
                            criterion=v.criterion,
                            statistic=_items(state, before.s + state.chart.up),
                            threshold=state.chart.h_items,
                            p0=state.chart.p0,
                            n_items=state.items,
                            evaluation_id=v.id,
                            created_at=utcnow(),
                        )
                    )
            now = utcnow()
            touched: list[tuple[DriftMonitorRow, CusumState]] = []
            for key, state in states.items():
                row = monitors.get(key) or DriftMonitorRow(
                    scope=key[0], model=key[1], use_case=key[2], criterion=key[3], state={}
                )
                row.state, row.updated_at = state.model_dump(mode="json"), now
                repo.add(row)
                touched.append((row, state))
            for event in events:
                repo.add(event)
            await reads.mark_read([v.id for v in verdicts])
            last = verdicts[-1]  # the cursor row records the last read (and is the lock)
            if cursor is None:
                cursor = GovernanceCursorRow(
                    name=CURSOR, updated_at=last.updated_at, evaluation_id=last.id
                )
            else:
                cursor.updated_at, cursor.evaluation_id = last.updated_at, last.id
            repo.add(cursor)
            await session.commit()
        for event in events:
            log.warning(
                "drift: %s on %s (use case %s): non-compliance rose above p0=%.3f",
                event.model,
                event.criterion,
                event.use_case,
                event.p0,
            )
        if self.observe is not None:
            for row, state in touched:
                key = (row.scope, row.model, row.use_case, row.criterion)
                self.observe(row, state, alarmed[key])
        return events, len(verdicts) == BATCH
