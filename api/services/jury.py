"""The jury model in force per panel: fitted, versioned, stored, refreshed.

A panel aggregated by `jury` judges each item with the newest stored model of that panel
(`in_force`); with none yet, with the cold start (priors only: a reliability-aware
plurality). The lifespan task calls `tick` every `jury_check_s`: it loads the newest
versions (other replicas' fits too) and refits a panel's model when it has none, when
`jury_refit_labels` new human verdicts arrived since its fit, or when `jury_refit_s`
passed and new evaluations arrived. A refit reads every human-labelled evaluation and the
newest `jury_max_items` others, groups them into vote patterns (`routing.jury.tabulate`)
while reading (memory: distinct patterns, not items), runs EM in a worker thread (on
scales that are not ordinal, with the error model chosen on held-out labels:
`routing.jury.select`), and stores the model as a new version. Each evaluation records
the version it was judged with (`outcome.jury_version`; 0 = the cold start).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from api.config import PanelConfig, QuorumConfig
from api.schemas import JuryPublic
from api.services import present
from api.store import Engine, IntegrityError, Session, SessionFactory
from api.store.jury import JuryRepository, JuryTrainingReader, VoteCells
from api.store.tables import JuryModelRow, utcnow
from judges import Vote
from routing import Aggregation
from routing.jury import (
    JuryModel,
    Observation,
    Selection,
    Worker,
    default_classes,
    fit_by_policy,
    label_distribution,
    observations,
    tabulate,
)
from routing.outcome import cold_model
from rubrics import Rubric, ScaleValue, value_key

log = logging.getLogger("quorum.jury")


class _Reader:
    """Stored votes to jury observations, with the scale lookups and workers built once
    (a refit reads hundreds of thousands of votes)."""

    def __init__(self, rubric: Rubric) -> None:
        self.scale = rubric.scale
        self.index = {(type(v), v): i for i, v in enumerate(rubric.scale)}
        self.workers: dict[tuple[str, str | None, bool], Worker] = {}

    def worker(self, judge: str, order: str | None, reversed_scale: bool) -> Worker:
        key = (judge, order, reversed_scale)
        found = self.workers.get(key)
        if found is None:
            found = self.workers[key] = Worker(
                judge=judge, order=order, reversed_scale=reversed_scale
            )
        return found

    def observe(self, votes: list[VoteCells]) -> dict[Worker, Observation]:
        """The first usable vote of each worker (as `routing.jury.observations`)."""
        obs: dict[Worker, Observation] = {}
        for judge, order, rev, value, dist in votes:
            w = self.worker(judge, order, rev)
            if w in obs:
                continue
            if dist:
                obs.update(observations(self.scale, [_soft_vote(judge, order, rev, value, dist)]))
                continue
            i = self.index.get((type(value), value))
            if i is not None:
                obs[w] = i
        return obs


def _soft_vote(
    judge: str, order: str | None, rev: bool, value: Any, dist: dict[str, float]
) -> Vote:
    return Vote.model_construct(
        judge=judge,
        model="",
        order=order,  # type: ignore[arg-type]
        reversed_scale=rev,
        value=value,
        unscored=None,
        error=None,
        distribution=dist,
    )


def fit_panel(
    reader: JuryTrainingReader, rubric: Rubric, max_items: int, selection: Selection = "scale"
) -> tuple[JuryModel, float]:
    """Read a panel's training data pattern by pattern and fit its model, its error model
    chosen on held-out labels where `selection` says (`routing.jury.selects`); returns the
    model and the seconds the fit took. Synchronous (runs in a worker thread)."""
    started = time.monotonic()
    # Grouped while reading: memory grows with distinct (pattern, label) pairs, not items.
    rows: dict[tuple[object, ...], int] = {}
    shown: list[Mapping[Worker, Observation]] = []
    raw_labels: list[ScaleValue | None] = []
    counts: list[float] = []
    read = _Reader(rubric)
    for _, label, votes in reader.items(max_items):
        obs = read.observe(votes)
        key = (
            tuple(sorted((w.key, o) for w, o in obs.items())),
            None if label is None else value_key(label),
        )
        r = rows.get(key)
        if r is None:
            rows[key] = len(counts)
            shown.append(obs)
            raw_labels.append(label)
            counts.append(1.0)
        else:
            counts[r] += 1.0
    humans = [h for h in raw_labels if h is not None]
    classes = default_classes(rubric, human_can_tie=not humans or "tie" in humans)
    labels: list[tuple[float, ...] | None] = []
    for h in raw_labels:
        try:
            labels.append(None if h is None else label_distribution(rubric.scale, classes, [h]))
        except ValueError:  # a label off the rubric's current scale: read as unlabelled
            labels.append(None)
    data = tabulate(shown, len(rubric.scale), classes, labels, group=False)
    data = dataclasses.replace(data, count=np.array(counts, dtype=np.float64))
    model, _ = fit_by_policy(
        data, rubric.scale, selection, ordinal=rubric.ordinal, numeric=rubric.numeric
    )
    return model, time.monotonic() - started


class JuryService:
    """The jury models in force on this replica, and their refits."""

    def __init__(
        self,
        config: QuorumConfig,
        sessions: SessionFactory,
        engine: Engine,
        *,
        refit_s: float = 3600.0,
        refit_labels: int = 10,
        max_items: int = 200_000,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.engine = engine
        self.refit_s = refit_s
        self.refit_labels = refit_labels
        self.max_items = max_items
        self._in_force: dict[str, tuple[int, JuryModel, datetime]] = {}
        self._cold: dict[str, JuryModel] = {}

    def panels(self) -> list[PanelConfig]:
        return [p for p in self.config.panels.values() if p.aggregation is Aggregation.JURY]

    def in_force(self, panel: str) -> tuple[int, JuryModel | None]:
        """(version, model) judging `panel` now; version 0: the cold start (priors only),
        built once per panel rather than on every evaluation."""
        found = self._in_force.get(panel)
        if found is not None:
            return found[0], found[1]
        cold = self._cold.get(panel)
        if cold is None and panel in self.config.panels:
            cold = self._cold[panel] = cold_model(self.config.panel_rubric(panel)[1])
        return 0, cold

    async def refresh(self) -> None:
        """Load the newest stored model of every jury panel (other replicas' fits too)."""
        async with self.sessions() as session:
            rows = await JuryRepository(session).newest()
        for row in rows:
            panel = self.config.panels.get(row.panel)
            if panel is None or self.config.rubrics[panel.rubric].id != row.rubric_id:
                continue
            current = self._in_force.get(row.panel)
            if current is None or current[0] < row.version:
                model = JuryModel.model_validate(row.model)
                self._in_force[row.panel] = (row.version, model, row.created_at)

    async def tick(self) -> None:
        """Refresh, then refit every jury panel that is due. A panel whose check or fit
        fails is logged and retried at the next tick; it does not hold up the others."""
        await self.refresh()
        for panel in self.panels():
            try:
                reason = await asyncio.to_thread(self._due, panel)
                if reason is not None:
                    await self.refit(panel.name, reason)
            except Exception:
                log.exception("jury model %s: refit failed; will retry", panel.name)

    def _due(self, panel: PanelConfig) -> str | None:
        rubric = self.config.rubrics[panel.rubric]
        found = self._in_force.get(panel.name)
        with Session(self.engine) as session:
            reader = JuryTrainingReader(session, panel.name, rubric.id)
            if found is None:
                return "first" if reader.concluded_since(datetime.min) else None
            fitted_at = found[2]
            # Labels the model in force has not seen (counted, not timed: a verdict that
            # lands while a fit runs is either in that fit or counted here).
            if reader.labelled() - found[1].n_labelled >= self.refit_labels:
                return "labels"
            age = (utcnow() - fitted_at).total_seconds()
            if age >= self.refit_s and reader.concluded_since(fitted_at):
                return "schedule"
        return None

    async def refit(self, panel_name: str, reason: str = "admin") -> JuryModelRow | None:
        """Fit `panel_name`'s model on its stored votes and human verdicts and store it as
        a new version; None if another replica stored that version first."""
        panel, rubric = self.config.panel_rubric(panel_name)
        row = await asyncio.to_thread(self._fit, panel, rubric, reason)
        try:
            async with self.sessions() as session:
                await JuryRepository(session).add(row)
                await session.commit()
        except IntegrityError:
            log.info("jury model %s v%d was stored by another replica", panel.name, row.version)
            await self.refresh()
            return None
        self._in_force[panel.name] = (
            row.version,
            JuryModel.model_validate(row.model),
            row.created_at,
        )
        log.info(
            "jury model %s v%d fitted (%s): %d items, %d labelled, %d patterns, %d rounds%s",
            panel.name,
            row.version,
            reason,
            row.n_items,
            row.n_labelled,
            row.n_patterns,
            row.iterations,
            "" if row.converged else ", NOT converged",
        )
        return row

    def _fit(self, panel: PanelConfig, rubric: Rubric, reason: str) -> JuryModelRow:
        with Session(self.engine) as session:
            reader = JuryTrainingReader(session, panel.name, rubric.id)
            model, seconds = fit_panel(reader, rubric, self.max_items)
            version = reader.latest_version() + 1
        return JuryModelRow(
            id=uuid.uuid4().hex,
            panel=panel.name,
            version=version,
            rubric_id=rubric.id,
            rubric_version=rubric.version,
            reason=reason,
            n_items=model.n_items,
            n_labelled=model.n_labelled,
            n_patterns=model.n_patterns,
            iterations=model.iterations,
            converged=model.converged,
            log_likelihood=model.log_likelihood,
            fit_seconds=round(seconds, 3),
            model=model.model_dump(mode="json"),
            created_at=utcnow(),
        )

    def public(self, panel: str) -> JuryPublic:
        """The model in force for `panel` as the API shows it (the cold start: version 0)."""
        found = self._in_force.get(panel)
        if found is not None:
            return present.jury(found[0], found[1], found[2])
        version, model = self.in_force(panel)
        assert model is not None  # a configured panel always has its cold start
        return present.jury(version, model, None)

    async def history(self, panel: str) -> list[JuryModelRow]:
        self.config.panel(panel)
        async with self.sessions() as session:
            return await JuryRepository(session).history(panel)
