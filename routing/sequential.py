"""When can a panel stop asking judges? Predicates for the `sequential` and `cascade`
strategies, which ask judges in waves (in configuration order).

`settled` is exact: for plurality votes (majority, weighted) it says whether the judges
not yet asked could still change the verdict, even by forcing a tie. A sequential panel
therefore returns the same verdict as asking everyone, with fewer calls whenever the
first waves agree. Its confidence and agreement figures are computed on the votes it
collected. Mean and median are never settled early (any vote moves them).

`confident` is the cascade's own rule: stop once the votes so far reach the panel's
quorum and a confidence threshold. It is not exact: stronger judges are asked only when
the cheaper ones are unsure. A cascade stops when it is confident *or* settled, so it
never asks more judges than a sequential panel (docs/backtest.md, "Calls per verdict").

`waves` cuts a panel's judges into waves and `stop_rule` picks a strategy's predicate, so
the service and the backtest (`backtest.strategies`) ask in the same waves and stop on
the same rule; `default_quorum` and `DEFAULT_CASCADE_CONFIDENCE` are the panel defaults
both use.

`jury_stop_rule` is the cascade's rule for a panel aggregated by the jury model
(`routing.jury`): stop once the posterior probability of the verdict reaches a threshold,
or once the judges not yet asked cannot change the verdict whatever they answer
(`routing.jury.can_change`: the worst case over each pending worker's confusion matrix,
exact, so the second condition alone returns the parallel jury's verdict).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, TypeVar

import numpy as np

from judges import Vote
from routing.aggregate import Aggregation, aggregate
from routing.confidence import confidence
from routing.jury import (
    JuryModel,
    can_change,
    log_posterior,
    observations,
    verdict_index,
    worker_of,
)
from routing.position import reconcile
from rubrics import Mode, Order, Rubric, value_key

T = TypeVar("T")

Strategy = Literal["sequential", "cascade"]
"""The panel strategies that ask judges in waves."""
StopRule = Callable[[Sequence[Vote], Sequence[str]], bool]
"""`stop(votes so far, names of the judges not yet asked)`: True when the panel may stop
asking (the signature `judges.PanelRunner.run_waves` calls)."""
DEFAULT_CASCADE_CONFIDENCE = 0.75
"""A cascade panel's default `cascade_confidence`."""


def default_quorum(n_judges: int) -> int:
    """A panel's quorum when none is configured: a strict majority of its judges."""
    return n_judges // 2 + 1


Presentation = tuple[Order | None, bool]
"""How a judge is asked once: (order shown, scale listed best-first)."""


def settled(
    rubric: Rubric,
    votes: Sequence[Vote],
    pending: Sequence[str],
    aggregation: Aggregation,
    weights: Mapping[str, float],
    quorum: int,
) -> bool:
    """True when no votes from the `pending` judges could change the panel's value."""
    if aggregation not in (Aggregation.MAJORITY, Aggregation.WEIGHTED):
        return not pending
    judged = [j for j in reconcile(votes, rubric) if j.value is not None]
    if len(judged) < quorum:
        return not pending
    weight = (
        (lambda j: 1.0) if aggregation is Aggregation.MAJORITY else (lambda j: weights.get(j, 1.0))
    )
    mass: dict[str, float] = {}
    for j in judged:
        mass[value_key(j.value)] = mass.get(value_key(j.value), 0.0) + weight(j.judge)
    ranked = [*sorted(mass.values(), reverse=True), 0.0]
    remaining = sum(weight(j) for j in pending)
    return ranked[0] - ranked[1] > remaining + 1e-9


def confident(
    rubric: Rubric,
    votes: Sequence[Vote],
    aggregation: Aggregation,
    weights: Mapping[str, float],
    quorum: int,
    threshold: float,
) -> bool:
    """The cascade rule: quorum reached and the panel's confidence at least `threshold`."""
    judged = [j for j in reconcile(votes, rubric) if j.value is not None]
    if len(judged) < quorum:
        return False
    usable = [(j.value, weights.get(j.judge, 1.0)) for j in judged if j.value is not None]
    tally = aggregate(rubric, usable, aggregation)
    conf = confidence(rubric, usable, tally.value, aggregation, [j.distribution for j in judged])
    return conf >= threshold


def waves(judges: Sequence[T], wave_size: int | None, quorum: int) -> list[tuple[T, ...]]:
    """`judges`, in configuration order, cut into waves of `wave_size` (default: the
    panel's quorum, so the first wave alone can reach it)."""
    size = wave_size or quorum
    if size < 1:
        raise ValueError(f"wave size must be at least 1, got {size}")
    return [tuple(judges[i : i + size]) for i in range(0, len(judges), size)]


def stop_rule(
    strategy: Strategy,
    rubric: Rubric,
    aggregation: Aggregation,
    weights: Mapping[str, float],
    quorum: int,
    threshold: float,
) -> StopRule:
    """The stopping rule of a `sequential` (`settled`) or `cascade` panel. A cascade stops
    when `confident` at `threshold` (which the sequential rule ignores) or when `settled`:
    once the remaining judges cannot change the verdict, asking them buys nothing, so a
    cascade never asks more judges than a sequential panel would."""
    if strategy == "sequential":
        return lambda votes, pending: settled(rubric, votes, pending, aggregation, weights, quorum)
    if strategy == "cascade":
        return lambda votes, pending: (
            confident(rubric, votes, aggregation, weights, quorum, threshold)
            or settled(rubric, votes, pending, aggregation, weights, quorum)
        )
    raise ValueError(f"strategy {strategy!r} does not ask in waves")


def presentations(
    rubric: Rubric, *, position_swap: bool, scale_swap: bool
) -> tuple[Presentation, ...]:
    """The presentations each judge of a panel is asked in (`judges.PanelRunner.run`):
    pairwise AB, and BA with `position_swap`; pointwise as listed, and reversed with
    `scale_swap`."""
    if rubric.mode is Mode.PAIRWISE:
        return (("AB", False), ("BA", False)) if position_swap else (("AB", False),)
    return ((None, False), (None, True)) if scale_swap else ((None, False),)


def jury_stop_rule(
    model: JuryModel,
    asked_as: Sequence[Presentation],
    *,
    threshold: float,
    quorum: int = 1,
) -> StopRule:
    """The cascade rule on the jury posterior. Once at least `quorum` judges have a usable
    vote, stop when the posterior probability of the verdict is >= `threshold` (math.inf:
    never on confidence alone) or when no answers of the pending judges, each asked in
    every presentation of `asked_as`, could change the verdict."""
    if not threshold > 0:
        raise ValueError(f"threshold must be positive; got {threshold!r}")
    if quorum < 1:
        raise ValueError(f"quorum must be at least 1; got {quorum}")
    shown = tuple(asked_as)
    if not shown:
        raise ValueError("asked_as must name at least one presentation")

    def stop(votes: Sequence[Vote], pending: Sequence[str]) -> bool:
        obs = observations(model.scale, votes)
        if len({w.judge for w in obs}) < quorum:
            return not pending
        if math.isfinite(threshold):
            log_post, _ = log_posterior(model, obs)
            if float(np.exp(log_post[verdict_index(model, log_post)])) >= threshold:
                return True
        later = [worker_of(j, o, r) for j in pending for o, r in shown]
        return not can_change(model, obs, later)

    return stop
