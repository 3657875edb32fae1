"""Asking a panel: all its judges at once, or in waves that stop on the panel's rule.

Pure orchestration over `judges.PanelRunner`; the evaluator passes what is in force for
the panel (its reliability weights, its jury model, its calibrated threshold)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from api.config import PanelConfig, QuorumConfig
from judges import PanelRunner, Vote
from routing import Aggregation, RoutingPolicy
from routing.jury import JuryModel
from routing.outcome import cold_model
from routing.sequential import StopRule, jury_stop_rule, presentations, stop_rule, waves
from rubrics import Item, Rubric


def cascade_threshold(panel: PanelConfig, in_force: RoutingPolicy | None) -> float:
    """A jury cascade stops on confidence only at the calibrated threshold in force
    (a certified one: the posterior alone overstates what a few cheap judges know);
    without one, only when the judges not yet asked cannot change the verdict. A
    `sequential` jury panel always stops on that exact rule alone."""
    if panel.strategy != "cascade" or in_force is None:
        return math.inf
    calibrated = in_force.min_confidence
    if calibrated is None or calibrated == panel.routing.min_confidence or calibrated > 1:
        return math.inf
    return calibrated


def _stop(
    panel: PanelConfig,
    rubric: Rubric,
    weights: Mapping[str, float],
    jury: JuryModel | None,
    in_force: RoutingPolicy | None,
) -> StopRule:
    quorum = panel.effective_quorum
    if panel.aggregation is Aggregation.JURY:
        return jury_stop_rule(
            jury or cold_model(rubric),
            presentations(rubric, position_swap=panel.position_swap, scale_swap=panel.scale_swap),
            threshold=cascade_threshold(panel, in_force),
            quorum=quorum,
        )
    if panel.strategy == "parallel":
        raise ValueError("a parallel panel asks every judge at once: it has no stop rule")
    return stop_rule(
        panel.strategy, rubric, panel.aggregation, weights, quorum, panel.cascade_confidence
    )


async def ask(
    runner: PanelRunner,
    config: QuorumConfig,
    panel: PanelConfig,
    rubric: Rubric,
    item: Item,
    seed: str,
    *,
    weights: Mapping[str, float],
    jury: JuryModel | None = None,
    in_force: RoutingPolicy | None = None,
) -> tuple[Vote, ...]:
    """The panel's votes; `seed` (the evaluation id) fixes checklist question orders."""
    judges = config.panel_judges(panel)
    if panel.strategy == "parallel":
        return await runner.run(
            judges,
            rubric,
            item,
            deadline_s=panel.deadline_s,
            position_swap=panel.position_swap,
            scale_swap=panel.scale_swap,
            quorum=panel.effective_quorum,
            straggler_grace_s=panel.straggler_grace_s,
            seed=seed,
        )
    return await runner.run_waves(
        waves(judges, panel.wave_size, panel.effective_quorum),
        rubric,
        item,
        deadline_s=panel.deadline_s,
        stop=_stop(panel, rubric, weights, jury, in_force),
        position_swap=panel.position_swap,
        scale_swap=panel.scale_swap,
        seed=seed,
    )
