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

Where a judge's vote carries a distribution over scale values (from logprobs), s_i is
its expectation under that distribution: the probability the judge put on the verdict
(exact-match aggregations), or the expected closeness (mean/median). A judge that
answered 5 with only 55% of its probability on 5 counts for less than a certain one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from routing.aggregate import Aggregation
from rubrics import Rubric, ScaleValue, value_key


def confidence(
    rubric: Rubric,
    votes: Sequence[tuple[ScaleValue, float]],
    verdict: ScaleValue | None,
    aggregation: Aggregation,
    distributions: Sequence[Mapping[str, float] | None] | None = None,
) -> float:
    """Confidence in `verdict` given the usable (value, weight) votes and, where known,
    each vote's distribution over scale values (keyed by value text)."""
    if verdict is None or not votes:
        return 0.0
    weights = [1.0 if aggregation is Aggregation.MAJORITY else w for _, w in votes]
    mean_w = sum(weights) / len(weights)
    target = rubric.index(verdict)
    if target is None:
        raise ValueError(f"verdict {verdict!r} is not on the scale of {rubric.key}")
    soft = aggregation in (Aggregation.MEAN, Aggregation.MEDIAN) and rubric.ordinal
    span = len(rubric.applicable) - 1
    na = len(rubric.scale) - 1 if rubric.not_applicable is not None else None
    dists = list(distributions) if distributions is not None else [None] * len(votes)
    if len(dists) != len(votes):
        raise ValueError("distributions must match votes one to one")

    def closeness(pos: int) -> float:
        if not soft or na in (pos, target):  # n/a agrees only with n/a
            return float(pos == target)
        return 1 - abs(pos - target) / span

    k = 0.0
    for (value, _), w, dist in zip(votes, weights, dists, strict=True):
        pos = rubric.index(value)
        if pos is None:
            raise ValueError(f"vote value {value!r} is not on the scale of {rubric.key}")
        if dist:
            total = sum(dist.values())
            s = (
                sum(
                    p * closeness(i)
                    for i, v in enumerate(rubric.scale)
                    if (p := dist.get(value_key(v), 0.0))
                )
                / total
                if total > 0
                else closeness(pos)
            )
        else:
            s = closeness(pos)
        k += (w / mean_w) * s
    n = float(len(votes))
    return round((k + 1) / (n + 2), 12)
