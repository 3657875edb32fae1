"""The panel's confidence in its verdict, in 0..1.

Definition (docs/statistics.md): each usable vote i has a weight w_i (normalised so the
mean weight is 1) and an agreement s_i with the verdict: 1 or 0 for exact-match
aggregations (majority, weighted); 1 - |pos_i - pos_verdict| / (m - 1) for mean and median
on an m-point ordinal scale. With k = sum w_i s_i and n = sum w_i,

    confidence = (k + 1) / (n + 2)

the posterior mean, under a uniform prior, of the probability that one more judge like
these would agree with the verdict (Laplace's rule of succession). It rises with both
agreement and panel size: 3 of 3 gives 0.80, 2 of 3 gives 0.60, 1 of 1 gives 0.67,
5 of 5 gives 0.86. No usable vote gives 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from routing.aggregate import Aggregation
from rubrics import Rubric, ScaleValue


def confidence(
    rubric: Rubric,
    votes: Sequence[tuple[ScaleValue, float]],
    verdict: ScaleValue | None,
    aggregation: Aggregation,
) -> float:
    """Confidence in `verdict` given the usable (value, weight) votes."""
    if verdict is None or not votes:
        return 0.0
    weights = [1.0 if aggregation is Aggregation.MAJORITY else w for _, w in votes]
    mean_w = sum(weights) / len(weights)
    target = rubric.index(verdict)
    if target is None:
        raise ValueError(f"verdict {verdict!r} is not on the scale of {rubric.key}")
    soft = aggregation in (Aggregation.MEAN, Aggregation.MEDIAN) and rubric.ordinal
    span = len(rubric.scale) - 1
    k = 0.0
    for (value, _), w in zip(votes, weights, strict=True):
        pos = rubric.index(value)
        if pos is None:
            raise ValueError(f"vote value {value!r} is not on the scale of {rubric.key}")
        s = 1 - abs(pos - target) / span if soft else float(pos == target)
        k += (w / mean_w) * s
    n = float(len(votes))
    return round((k + 1) / (n + 2), 12)
