"""When can a panel stop asking judges? Predicates for the `sequential` and `cascade`
strategies, which ask judges in waves (in configuration order).

`settled` is exact: for plurality votes (majority, weighted) it says whether the judges
not yet asked could still change the verdict, even by forcing a tie. A sequential panel
therefore returns the same verdict as asking everyone, with fewer calls whenever the
first waves agree. Its confidence and agreement figures are computed on the votes it
collected. Mean and median are never settled early (any vote moves them).

`confident` is the cascade rule: stop once the votes so far reach the panel's quorum and
a confidence threshold. It saves more calls, but it is not exact: stronger judges are
asked only when the cheaper ones are unsure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from judges import Vote
from routing.aggregate import Aggregation, aggregate
from routing.confidence import confidence
from routing.position import reconcile
from rubrics import Rubric, value_key


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
