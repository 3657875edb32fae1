"""Window statistics for a panel, computed from stored evaluations off the event loop."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict
from sqlalchemy import case, func
from sqlmodel import col, select

from api.config import PanelConfig, QuorumConfig
from api.db import SessionFactory
from api.errors import InvalidInput, NotFound
from api.tables import EvaluationRow, VoteRow, utcnow
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
    """(items x judges codes, human codes) from (outcome, verdict_value, verdict_source) rows."""
    column = {name: i for i, name in enumerate(judges)}
    codes = np.full((len(rows), len(judges)), np.nan)
    human = np.full(len(rows), np.nan)
    for r, (outcome, value, source) in enumerate(rows):
        for j in (outcome or {}).get("judges", []):
            c = column.get(j.get("judge"))
            idx = rubric.index(j.get("value")) if j.get("value") is not None else None
            if c is not None and idx is not None:
                codes[r, c] = idx
        if source == "human" and value is not None:
            h = rubric.index(value)
            if h is not None:
                human[r] = h
    return codes, human


class WindowStats(BaseModel):
    """Everything `/agreement` reports for one panel and window."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    panel: PanelConfig
    rubric: Rubric
    since: datetime
    agreement: PanelAgreement
    calls: dict[str, JudgeCalls]
    weights: ReliabilityWeights | None
    position: tuple[PositionBias, ...]


def verdicts_of(rows: Sequence[tuple[Any, Any, Any]]) -> list[list[JudgeVerdict]]:
    """Each item's reconciled judge verdicts, as stored in the evaluation outcome."""
    return [
        [JudgeVerdict.model_validate(j) for j in (outcome or {}).get("judges", [])]
        for outcome, _, _ in rows
    ]


class StatsService:
    """Agreement figures over a time window of a panel's evaluations. Also keeps the
    reliability weights in force for `weighted` panels (refreshed with the gauges)."""

    def __init__(self, config: QuorumConfig, sessions: SessionFactory) -> None:
        self.config = config
        self.sessions = sessions
        self._weights: dict[str, ReliabilityWeights] = {}

    def weights_for(self, panel: str) -> dict[str, float] | None:
        """The estimated weights in force for `panel`, or None (use the configured priors)."""
        found = self._weights.get(panel)
        return dict(zip(found.judges, found.weights, strict=True)) if found else None

    def _panel(self, name: str) -> tuple[PanelConfig, Rubric]:
        panel = self.config.panels.get(name)
        if panel is None:
            raise NotFound(f"no panel named {name!r}")
        return panel, self.config.rubrics[panel.rubric]

    async def agreement(self, name: str, window: str) -> WindowStats:
        panel, rubric = self._panel(name)
        since = utcnow() - parse_window(window)
        async with self.sessions() as session:
            result = await session.exec(
                select(
                    EvaluationRow.outcome,
                    EvaluationRow.verdict_value,
                    EvaluationRow.verdict_source,
                ).where(
                    EvaluationRow.panel == name,
                    EvaluationRow.rubric_id == rubric.id,
                    col(EvaluationRow.created_at) >= since,
                    col(EvaluationRow.status).in_(("decided", "in_review")),
                )
            )
            rows = [tuple(r) for r in result.all()]
            outcome = case(
                (col(VoteRow.error).is_not(None), "error"),
                (col(VoteRow.unscored).is_not(None), "unscored"),
                else_="ok",
            )
            counted = await session.exec(
                select(VoteRow.judge, outcome, func.count())
                .join(EvaluationRow, col(EvaluationRow.id) == col(VoteRow.evaluation_id))
                .where(EvaluationRow.panel == name, col(EvaluationRow.created_at) >= since)
                .group_by(VoteRow.judge, outcome)
            )
            calls: dict[str, dict[str, int]] = {}
            for judge, kind, n in counted.all():
                c = calls.setdefault(judge, {"calls": 0, "ok": 0, "unscored": 0, "errors": 0})
                c["calls"] += n
                c[{"ok": "ok", "unscored": "unscored"}.get(kind, "errors")] += n

        priors = [self.config.judges[j].weight for j in panel.judges]

        def compute() -> tuple[PanelAgreement, ReliabilityWeights | None, tuple[PositionBias, ...]]:
            codes, human = code_matrix(rubric, panel.judges, rows)
            stats = panel_agreement(rubric, panel.judges, codes, human)
            weights = None
            if len(rows) >= MIN_ITEMS_FOR_WEIGHTS and len(panel.judges) >= 2:
                weights = reliability_weights(
                    codes, len(rubric.scale), human=human, judges=panel.judges, priors=priors
                )
            bias: tuple[PositionBias, ...] = ()
            if rubric.mode is Mode.PAIRWISE and rows:
                bias = tuple(position_bias(verdicts_of(rows)))
            return stats, weights, bias

        stats, weights, bias = await asyncio.to_thread(compute)
        if weights is not None and panel.aggregation is Aggregation.WEIGHTED:
            self._weights[name] = weights
        return WindowStats(
            panel=panel,
            rubric=rubric,
            since=since,
            agreement=stats,
            calls={j: JudgeCalls(**c) for j, c in calls.items()},
            weights=weights,
            position=bias,
        )
