"""Window statistics for a panel, computed from stored evaluations off the event loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from api.config import PanelConfig, QuorumConfig
from api.services import window_keys
from api.services.compliance import window_of
from api.store import Engine, Session
from api.store.tables import utcnow
from api.store.window import WindowRepository
from api.store.window_counts import WindowCountsReader
from routing import (
    Aggregation,
    JudgeCalls,
    JudgeVerdict,
    PanelAgreement,
    PositionBias,
    ReliabilityWeights,
    pattern_agreement,
    reliability_weights,
    weighted_position_bias,
)
from routing.governance import format_window
from rubrics import Mode, Rubric

MIN_ITEMS_FOR_WEIGHTS = 30
"""Fewer items in the window and weighted panels keep their configured prior weights."""


def code_matrix(
    rubric: Rubric, judges: Sequence[str], rows: Sequence[tuple[Any, Any, Any]]
) -> tuple[np.ndarray, np.ndarray]:
    """(items x judges codes, human codes) from (outcome, verdict_value, verdict_source) rows.
    Outcome and value may be JSON text (as fetched raw) or already decoded."""
    column = {name: i for i, name in enumerate(judges)}
    position = {(type(v), v): i for i, v in enumerate(rubric.scale)}
    codes = np.full((len(rows), len(judges)), np.nan)
    human = np.full(len(rows), np.nan)
    for r, (outcome, value, source) in enumerate(rows):
        if isinstance(outcome, str):
            outcome = json.loads(outcome)
        for j in (outcome or {}).get("judges", ()):
            c = column.get(j.get("judge"))
            v = j.get("value")
            idx = position.get((type(v), v))
            if c is not None and idx is not None:
                codes[r, c] = idx
        if source == "human" and value is not None:
            if isinstance(value, str):
                value = json.loads(value)
            h = position.get((type(value), value))
            if h is not None:
                human[r] = h
    return codes, human


class WindowStats(BaseModel):
    """Everything `/agreement` reports for one panel and window."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    panel: PanelConfig
    rubric: Rubric
    since: datetime
    """Start of the window: every concluded evaluation since then is counted."""
    window: str = ""
    """The window as asked, written in its largest exact unit ("168h" -> "7d")."""
    truncated: bool = False
    """Always False: the figures are exact over the whole window (kept for the API)."""
    agreement: PanelAgreement
    calls: dict[str, JudgeCalls]
    weights: ReliabilityWeights | None
    position: tuple[PositionBias, ...]
    n_patterns: int = 0
    """Distinct vote patterns the window's items fell into."""
    weights_items: int | None = None
    """Weighted panels: the newest items of the window the reliability weights were
    fitted on (at most `max_items`)."""


def verdicts_of(rows: Sequence[tuple[Any, Any, Any]]) -> list[list[JudgeVerdict]]:
    """Each item's reconciled judge verdicts, as stored in the evaluation outcome."""
    out = []
    for outcome, _, _ in rows:
        decoded = json.loads(outcome) if isinstance(outcome, str) else outcome
        out.append([JudgeVerdict.model_validate(j) for j in (decoded or {}).get("judges", [])])
    return out


def pattern_rows(
    patterns: dict[str, int],
) -> tuple[list[tuple[Any, Any, Any]], list[int]]:
    """(outcome, verdict JSON text, verdict source) rows of `code_matrix`, one per pattern
    key, and each pattern's count."""
    rows: list[tuple[Any, Any, Any]] = []
    counts: list[int] = []
    for key, n in sorted(patterns.items()):
        judges, (human, value), _ = window_keys.decode(key)
        rows.append(({"judges": judges}, json.dumps(value), "human" if human else None))
        counts.append(n)
    return rows, counts


class StatsService:
    """Agreement figures over a time window of a panel's evaluations. Read-only: the
    reliability weights in force are kept by `api.services.reliability`, refreshed by
    the lifespan task from these figures.

    Every figure is exact over the whole window, whatever its size: the store keeps per
    hour how many concluded evaluations had each vote pattern (`api.store.window_counts`),
    and the statistics are computed from the window's patterns and their counts
    (`routing.pattern_stats`), in time and memory that grow with the number of
    distinct patterns, not of items. Only the reliability weights of `weighted` panels
    (a Dawid-Skene fit) are fitted on a bounded sample: the newest `max_items` items.

    The queries and the statistics run in a worker thread on a small synchronous engine
    (built once, in the lifespan), off the event loop that serves requests."""

    def __init__(self, config: QuorumConfig, engine: Engine, max_items: int = 20_000) -> None:
        self.config = config
        self.engine = engine
        self.max_items = max_items
        """Newest evaluations of a window the reliability weights are fitted on at most."""

    async def agreement(self, name: str, window: str) -> WindowStats:
        panel, rubric = self.config.panel_rubric(name)
        span = window_of(window)  # the window rule of every endpoint, or a 422
        found = await asyncio.to_thread(self._compute, panel, rubric, utcnow() - span)
        return found.model_copy(update={"window": format_window(span)})

    async def backfill(self, batch: int = 2000) -> int:
        """Count every concluded evaluation that is not counted yet (rows from before the
        window counts existed); returns how many. Safe to run beside live traffic and on
        several replicas at once: each row is claimed by a conditional UPDATE."""
        return await asyncio.to_thread(self._backfill, batch)

    def _backfill(self, batch: int) -> int:
        done, after = 0, ""
        while True:
            with Session(self.engine) as session:
                reader = WindowCountsReader(session)
                rows = reader.uncounted(window_keys.COUNTED, after, batch)
                if not rows:
                    return done
                votes = reader.calls([r[0] for r in rows])
                keyed = []
                for eid, panel, rubric_id, created_at, status, outcome, value, source in rows:
                    calls: window_keys.Calls = {}
                    for judge, unscored, error, n in votes.get(eid, ()):
                        calls.setdefault(judge, [0, 0, 0])[
                            window_keys.call_kind(unscored, error)
                        ] += n
                    key = window_keys.raw_window_key(status, outcome, value, source, calls)
                    if key is not None:
                        keyed.append((eid, (panel, rubric_id, created_at), key))
                done += reader.count(keyed)
                session.commit()
                after = rows[-1][0]

    def _fetch(
        self, panel: PanelConfig, rubric: Rubric, since: datetime
    ) -> tuple[dict[str, int], dict[str, JudgeCalls], list[tuple[Any, Any, Any]]]:
        """The window's pattern counts, its judges' call outcomes (summed from the same
        patterns), and, for a weighted panel, its newest `max_items` concluded evaluations
        (oldest first)."""
        recent: list[tuple[Any, Any, Any]] = []
        with Session(self.engine) as session:
            patterns = WindowCountsReader(session).patterns(panel.name, rubric.id, since)
            if panel.aggregation is Aggregation.WEIGHTED and len(panel.judges) >= 2:
                newest = WindowRepository(session).concluded(
                    panel.name, rubric.id, since, self.max_items
                )
                recent = [(r[0], r[1], r[2]) for r in reversed(newest)]
        calls: dict[str, list[int]] = {}
        for key, n in patterns.items():
            for judge, (ok, unscored, errors) in window_keys.decode(key)[2].items():
                c = calls.setdefault(judge, [0, 0, 0])
                c[0], c[1], c[2] = c[0] + n * ok, c[1] + n * unscored, c[2] + n * errors
        judge_calls = {
            j: JudgeCalls(calls=sum(c), ok=c[0], unscored=c[1], errors=c[2])
            for j, c in calls.items()
        }
        return patterns, judge_calls, recent

    def _compute(self, panel: PanelConfig, rubric: Rubric, since: datetime) -> WindowStats:
        patterns, calls, recent = self._fetch(panel, rubric, since)
        rows, counts = pattern_rows(patterns)
        codes, human = code_matrix(rubric, panel.judges, rows)
        stats = pattern_agreement(rubric, panel.judges, codes, human, counts)
        weights = None
        if len(recent) >= MIN_ITEMS_FOR_WEIGHTS:
            # A Dawid-Skene fit over the newest items: enough to estimate a handful of
            # accuracies, and bounded (a fit over every item of a large window would cost
            # seconds for nothing).
            recent_codes, recent_human = code_matrix(rubric, panel.judges, recent)
            weights = reliability_weights(
                recent_codes,
                len(rubric.scale),
                human=recent_human,
                judges=panel.judges,
                priors=[self.config.judges[j].weight for j in panel.judges],
            )
        bias: tuple[PositionBias, ...] = ()
        if rubric.mode is Mode.PAIRWISE and rows:
            bias = weighted_position_bias(
                (verdicts, n) for verdicts, n in zip(verdicts_of(rows), counts, strict=True)
            )
        return WindowStats(
            panel=panel,
            rubric=rubric,
            since=since,
            agreement=stats,
            calls=calls,
            weights=weights,
            position=bias,
            n_patterns=len(rows),
            weights_items=len(recent) if weights is not None else None,
        )
