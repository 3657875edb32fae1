"""Window statistics for a panel, computed from stored evaluations off the event loop."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from api.config import PanelConfig, QuorumConfig
from api.errors import InvalidInput
from api.store import Engine, Session
from api.store.tables import utcnow
from api.store.window import WindowRepository
from routing import (
    Aggregation,
    JudgeCalls,
    JudgeVerdict,
    PanelAgreement,
    PositionBias,
    ReliabilityWeights,
    panel_agreement,
    position_bias,
    reliability_weights,
)
from rubrics import Mode, Rubric

_WINDOW = re.compile(r"^(\d{1,6})([smhd])$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
MAX_WINDOW = timedelta(days=366)
MIN_ITEMS_FOR_WEIGHTS = 30
"""Fewer items in the window and weighted panels keep their configured prior weights."""
MAX_ITEMS_FOR_WEIGHTS = 20_000
"""Reliability weights are fitted on at most this many of the newest items."""


def parse_window(text: str) -> timedelta:
    """`30m`, `24h`, `7d` -> a timedelta; InvalidInput for anything else."""
    m = _WINDOW.match(text.strip())
    if not m:
        raise InvalidInput(f"window {text!r} must look like 30m, 24h or 7d")
    span = timedelta(**{_UNIT[m.group(2)]: int(m.group(1))})
    if not timedelta(0) < span <= MAX_WINDOW:
        raise InvalidInput(f"window must be between 1s and {MAX_WINDOW.days}d")
    return span


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
    """Start of the items used: the window's start, or the oldest of the newest
    `max_items` when the window held more (`truncated`)."""
    truncated: bool
    agreement: PanelAgreement
    calls: dict[str, JudgeCalls]
    weights: ReliabilityWeights | None
    position: tuple[PositionBias, ...]


def verdicts_of(rows: Sequence[tuple[Any, Any, Any]]) -> list[list[JudgeVerdict]]:
    """Each item's reconciled judge verdicts, as stored in the evaluation outcome."""
    out = []
    for outcome, _, _ in rows:
        decoded = json.loads(outcome) if isinstance(outcome, str) else outcome
        out.append([JudgeVerdict.model_validate(j) for j in (decoded or {}).get("judges", [])])
    return out


class StatsService:
    """Agreement figures over a time window of a panel's evaluations. Read-only: the
    reliability weights in force are kept by `api.services.reliability`, refreshed by
    the lifespan task from these figures.

    The window queries and the statistics run in a worker thread on a small synchronous
    engine (built once, in the lifespan): over 100k evaluations, decoding rows and
    fitting models would otherwise stall the event loop that serves requests."""

    def __init__(self, config: QuorumConfig, engine: Engine, max_items: int = 20_000) -> None:
        self.config = config
        self.engine = engine
        self.max_items = max_items
        """Newest evaluations of a window used at most (bounds the cost of a refresh)."""

    async def agreement(self, name: str, window: str) -> WindowStats:
        panel, rubric = self.config.panel_rubric(name)
        since = utcnow() - parse_window(window)
        return await asyncio.to_thread(self._compute, panel, rubric, since)

    def _fetch(
        self, panel: PanelConfig, rubric: Rubric, since: datetime
    ) -> tuple[list[tuple[Any, Any, Any]], dict[str, JudgeCalls], datetime, bool]:
        """The window's newest `max_items` concluded evaluations (oldest first), the vote
        counts over the same span, where that span starts, and whether it was cut."""
        with Session(self.engine) as session:
            repo = WindowRepository(session)
            newest_first = repo.concluded(panel.name, rubric.id, since, self.max_items + 1)
            truncated = len(newest_first) > self.max_items
            if truncated:
                newest_first = newest_first[: self.max_items]
                oldest = newest_first[-1][3]
                since = oldest if oldest.tzinfo else oldest.replace(tzinfo=since.tzinfo)
            rows: list[tuple[Any, Any, Any]] = [(r[0], r[1], r[2]) for r in reversed(newest_first)]
            counted = repo.vote_outcomes(panel.name, since)
        calls: dict[str, dict[str, int]] = {}
        for judge, kind, n in counted:
            c = calls.setdefault(judge, {"calls": 0, "ok": 0, "unscored": 0, "errors": 0})
            c["calls"] += n
            c[{"ok": "ok", "unscored": "unscored"}.get(kind, "errors")] += n
        return rows, {j: JudgeCalls(**c) for j, c in calls.items()}, since, truncated

    def _compute(self, panel: PanelConfig, rubric: Rubric, since: datetime) -> WindowStats:
        rows, calls, since, truncated = self._fetch(panel, rubric, since)
        codes, human = code_matrix(rubric, panel.judges, rows)
        stats = panel_agreement(rubric, panel.judges, codes, human)
        weights = None
        weighted = panel.aggregation is Aggregation.WEIGHTED
        if weighted and len(rows) >= MIN_ITEMS_FOR_WEIGHTS and len(panel.judges) >= 2:
            # The newest items are enough to estimate a handful of accuracies; fitting
            # Dawid-Skene on every item of a large window would cost seconds for nothing.
            recent = slice(-MAX_ITEMS_FOR_WEIGHTS, None)
            weights = reliability_weights(
                codes[recent],
                len(rubric.scale),
                human=human[recent],
                judges=panel.judges,
                priors=[self.config.judges[j].weight for j in panel.judges],
            )
        bias: tuple[PositionBias, ...] = ()
        if rubric.mode is Mode.PAIRWISE and rows:
            bias = tuple(position_bias(verdicts_of(rows)))
        return WindowStats(
            panel=panel,
            rubric=rubric,
            since=since,
            truncated=truncated,
            agreement=stats,
            calls=calls,
            weights=weights,
            position=bias,
        )
