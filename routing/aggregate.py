"""Turn usable votes into one value: majority, mean, median or weighted.

Votes arrive as (scale value, weight) pairs; unusable votes never reach this module.
Ties are broken towards the worse value on ordinal scales (a compliance service should
not round a split panel up) and to "tie" for pairwise A-vs-B splits.

A rubric's not-applicable value (`n/a`, last on its scale) is a category like any other
for majority and weighted (a tie with an applicable value goes to the applicable one).
For mean and median it is outside the order: n/a wins when it holds more than half the
(weighted) votes; otherwise the applicable votes alone are averaged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from rubrics import Mode, Rubric, ScaleValue, value_key


class Aggregation(StrEnum):
    """How a panel's votes become one value."""

    MAJORITY = "majority"
    """Plurality of votes, every judge weight 1."""
    WEIGHTED = "weighted"
    """Plurality of votes, each judge counting its reliability weight."""
    MEAN = "mean"
    """Weighted mean of numeric scale values, rounded half up to the nearest scale value."""
    MEDIAN = "median"
    """Weighted lower median in scale order."""
    JURY = "jury"
    """The jury model (`routing.jury`): the posterior argmax of a Dawid-Skene model fitted
    per judge and presentation order; the confidence is its posterior probability.
    Aggregated by `routing.outcome.conclude`, not by `aggregate`."""


class Tally(BaseModel):
    """The result of aggregation, before agreement and routing."""

    model_config = ConfigDict(frozen=True)

    value: ScaleValue | None
    """The panel's value, or None when there was no usable vote."""
    distribution: dict[str, float]
    """Share of (weighted) usable votes per scale value, keyed by value text."""
    mean_index: float | None = None
    """Weighted mean scale position (ordinal scales only)."""


CHECKLIST_AGGREGATIONS = (Aggregation.MAJORITY, Aggregation.WEIGHTED)
"""How a checklist counts each question's votes (`routing.checklist`)."""


def allowed(rubric: Rubric, aggregation: Aggregation) -> str | None:
    """Why `aggregation` cannot be used with `rubric`, or None when it can."""
    if rubric.mode is Mode.CHECKLIST and aggregation not in CHECKLIST_AGGREGATIONS:
        return "a checklist aggregates each question by majority or weighted vote"
    if aggregation is Aggregation.MEAN and not rubric.numeric:
        return "mean needs a numeric scale"
    if aggregation in (Aggregation.MEAN, Aggregation.MEDIAN) and not rubric.ordinal:
        return f"{aggregation.value} needs an ordinal scale"
    return None


def aggregate(
    rubric: Rubric,
    votes: Sequence[tuple[ScaleValue, float]],
    aggregation: Aggregation,
) -> Tally:
    """Aggregate usable (value, weight) votes on `rubric`'s scale."""
    if aggregation is Aggregation.JURY:
        raise ValueError("the jury model aggregates through routing.outcome.conclude")
    problem = allowed(rubric, aggregation)
    if problem:
        raise ValueError(problem)
    idx: list[int] = []
    weights: list[float] = []
    for value, weight in votes:
        i = rubric.index(value)
        if i is None:
            raise ValueError(f"vote value {value!r} is not on the scale of {rubric.key}")
        if not weight > 0 or not math.isfinite(weight):
            raise ValueError(f"vote weight must be positive and finite, got {weight!r}")
        idx.append(i)
        weights.append(1.0 if aggregation is Aggregation.MAJORITY else weight)
    if not idx:
        return Tally(value=None, distribution={})
    total = sum(weights)
    mass = [0.0] * len(rubric.scale)
    for i, w in zip(idx, weights, strict=True):
        mass[i] += w
    distribution = {value_key(v): m / total for v, m in zip(rubric.scale, mass, strict=True) if m}
    na = len(rubric.scale) - 1 if rubric.not_applicable is not None else None
    ordered = [(i, w) for i, w in zip(idx, weights, strict=True) if i != na]
    mean_index = None
    if rubric.ordinal and ordered:
        mean_index = sum(i * w for i, w in ordered) / sum(w for _, w in ordered)

    soft = aggregation in (Aggregation.MEAN, Aggregation.MEDIAN)
    if soft and na is not None and (mass[na] > total / 2 or not ordered):
        chosen = na
    elif aggregation is Aggregation.MEAN:
        assert mean_index is not None
        # Round half up on the mean rounded to 9 places: 3.3 * 3 / 6.6 is 1.4999999999999998,
        # and an exact half must not round down through float error.
        chosen = math.floor(round(mean_index, 9) + 0.5)
    elif aggregation is Aggregation.MEDIAN:
        chosen = _lower_median([i for i, _ in ordered], [w for _, w in ordered])
    else:
        chosen = _plurality(rubric, mass)
    return Tally(value=rubric.scale[chosen], distribution=distribution, mean_index=mean_index)


def _lower_median(idx: list[int], weights: list[float]) -> int:
    half = sum(weights) / 2
    running = 0.0
    for i, w in sorted(zip(idx, weights, strict=True)):
        running += w
        if running >= half - 1e-12:
            return i
    return max(idx)


def _plurality(rubric: Rubric, mass: list[float]) -> int:
    top = max(mass)
    leaders = [i for i, m in enumerate(mass) if math.isclose(m, top, rel_tol=1e-12)]
    if len(leaders) == 1:
        return leaders[0]
    if rubric.mode is Mode.PAIRWISE:
        return rubric.scale.index("tie")
    return leaders[0]  # the worse value on an ordinal scale; the first listed otherwise
