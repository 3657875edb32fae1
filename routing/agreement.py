"""Per-item agreement among a panel's usable votes.

`fleiss_p_i` is Fleiss' (1971) P_i for one item: the share of ordered pairs of votes that
agree, sum_j n_j (n_j - 1) / (n (n - 1)). It is undefined for fewer than two votes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from rubrics import Rubric, ScaleValue, value_key


class ItemAgreement(BaseModel):
    """How much one item's usable votes agree."""

    model_config = ConfigDict(frozen=True)

    usable_votes: int
    """Votes that count (unscored and failed calls excluded)."""
    total_votes: int
    """Judges asked (pairwise: judges, after reconciling both orders)."""
    fleiss_p_i: float | None
    """Share of agreeing vote pairs, 0..1; None with fewer than two usable votes."""
    margin: float | None
    """(top weight - runner-up weight) / total weight, 0..1; None with no usable vote."""
    spread: int | None = None
    """Ordinal scales: max - min scale position among usable votes."""
    position_consistency: float | None = None
    """Pairwise: share of judges whose verdict survived the order swap."""


def fleiss_p_i(values: Sequence[ScaleValue]) -> float | None:
    """Fleiss' P_i over one item's votes (unweighted), or None for fewer than two."""
    n = len(values)
    if n < 2:
        return None
    counts = Counter(value_key(v) for v in values)
    return sum(c * (c - 1) for c in counts.values()) / (n * (n - 1))


def item_agreement(
    rubric: Rubric,
    votes: Sequence[tuple[ScaleValue, float]],
    total_votes: int,
    position_consistency: float | None = None,
) -> ItemAgreement:
    """Agreement figures for one item's usable (value, weight) votes."""
    values = [v for v, _ in votes]
    margin = None
    if votes:
        mass: dict[str, float] = {}
        for v, w in votes:
            mass[value_key(v)] = mass.get(value_key(v), 0.0) + w
        ranked = [*sorted(mass.values(), reverse=True), 0.0]
        margin = (ranked[0] - ranked[1]) / sum(mass.values())
    spread = None
    ordered = [v for v in values if not rubric.is_not_applicable(v)]
    if rubric.ordinal and ordered:
        positions = [rubric.index(v) or 0 for v in ordered]
        spread = max(positions) - min(positions)  # n/a votes are not on the order
    return ItemAgreement(
        usable_votes=len(votes),
        total_votes=total_votes,
        fleiss_p_i=fleiss_p_i(values),
        margin=margin,
        spread=spread,
        position_consistency=position_consistency,
    )
