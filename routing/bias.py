"""Per-judge position bias, estimated from pairwise votes in both presentation orders.

A judge that names the same response in both orders is consistent on the item. An
inconsistent judge either picked the same *position* twice (the response shown first
both times, or the response shown second both times) or said "tie" in one order. The
first-position win rate is the share of the former that went to the first position:
0.5 means flips with no direction, 1.0 a judge that always prefers whatever it reads
first. Its interval is Wilson's score interval for a binomial proportion (Wilson 1927),
from statsmodels, which behaves at 0 and 1 where the Wald interval collapses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field
from statsmodels.stats.proportion import proportion_confint

from judges import Vote, canonical
from routing.position import JudgeVerdict, reconcile
from routing.stat_result import check_interval_args

__all__ = ["PositionBias", "position_bias", "weighted_position_bias"]


class PositionBias(BaseModel):
    """One judge's position-consistency figures over a set of pairwise items."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    judge: str
    n_items: int = Field(ge=0)
    """Items on which the judge appears (any vote, usable or not)."""
    n_comparable: int = Field(ge=0)
    """Items with a usable vote in both orders."""
    n_inconsistent: int = Field(ge=0)
    """Comparable items whose two canonical verdicts differ."""
    inconsistency_rate: float | None
    """n_inconsistent / n_comparable (the conflict rate); None with no comparable item."""
    n_first_won: int = Field(ge=0)
    """Inconsistent items where the response shown first won in both orders."""
    n_second_won: int = Field(ge=0)
    """Inconsistent items where the response shown second won in both orders."""
    n_tie_involved: int = Field(ge=0)
    """Inconsistent items where one order was a tie (no position won twice)."""
    first_position_rate: float | None
    """n_first_won / (n_first_won + n_second_won); None when that is 0/0."""
    ci_low: float | None
    """Wilson lower limit of `first_position_rate`."""
    ci_high: float | None
    """Wilson upper limit of `first_position_rate`."""
    confidence: float
    n_unusable_votes: int | None
    """Votes without a usable value (unscored or failed); None when given verdicts."""


def position_bias(
    items: Iterable[Sequence[Vote] | Sequence[JudgeVerdict]],
    *,
    confidence: float = 0.95,
) -> tuple[PositionBias, ...]:
    """Position-bias figures per judge, in first-seen judge order.

    Each element of `items` is one item's raw votes (`judges.Vote`, both orders; they
    are reconciled with `routing.position.reconcile`) or its already reconciled
    `JudgeVerdict`s. An item must not mix the two.
    """
    check_interval_args(confidence)
    counts: dict[str, dict[str, int]] = {}
    saw_votes = saw_verdicts = False
    for n, item in enumerate(items):
        entries = list(item)
        if all(isinstance(e, Vote) for e in entries):
            votes = [_with_shown_value(e, n) for e in entries if isinstance(e, Vote)]
            verdicts = reconcile(votes)
            saw_votes = saw_votes or bool(votes)
            for vote in votes:
                _slot(counts, vote.judge)["unusable"] += not vote.usable
        elif all(isinstance(e, JudgeVerdict) for e in entries):
            verdicts = tuple(e for e in entries if isinstance(e, JudgeVerdict))
            saw_verdicts = True
        else:
            raise ValueError(
                f"item {n}: expected a sequence of Vote or of JudgeVerdict, not a mix or "
                f"other objects ({sorted({type(e).__name__ for e in entries})})"
            )
        judged = [v.judge for v in verdicts]
        if len(set(judged)) != len(judged):
            raise ValueError(f"item {n}: a judge has more than one reconciled verdict")
        _tally(counts, verdicts, 1)
    return tuple(
        _summarise(judge, c, confidence, saw_votes and not saw_verdicts)
        for judge, c in counts.items()
    )


def weighted_position_bias(
    items: Iterable[tuple[Sequence[JudgeVerdict], int]], *, confidence: float = 0.95
) -> tuple[PositionBias, ...]:
    """`position_bias` of reconciled verdicts given as (one item's verdicts, how many items
    had exactly these): the figures are counts, so this is exact however many items."""
    check_interval_args(confidence)
    counts: dict[str, dict[str, int]] = {}
    for n, (verdicts, times) in enumerate(items):
        judged = [v.judge for v in verdicts]
        if len(set(judged)) != len(judged):
            raise ValueError(f"pattern {n}: a judge has more than one reconciled verdict")
        _tally(counts, verdicts, times)
    return tuple(_summarise(judge, c, confidence, False) for judge, c in counts.items())


def _tally(counts: dict[str, dict[str, int]], verdicts: Sequence[JudgeVerdict], times: int) -> None:
    """Add `times` items with these reconciled verdicts to the per-judge counts."""
    for verdict in verdicts:
        slot = _slot(counts, verdict.judge)
        slot["items"] += times
        if verdict.consistent is None:
            continue
        slot["comparable"] += times
        if verdict.consistent:
            continue
        slot["inconsistent"] += times
        if verdict.first_position_won is True:
            slot["first"] += times
        elif verdict.first_position_won is False:
            slot["second"] += times
        else:
            slot["tie"] += times


def _with_shown_value(vote: Vote, n: int) -> Vote:
    """The vote with `shown_value` filled in from its canonical value where it is missing.

    `reconcile` reads the shown values to tell which position won; a missing one would
    read as "the second position won". A shown value that contradicts the canonical one
    is a corrupt record.
    """
    if vote.order is None or not vote.usable:
        return vote
    shown = canonical(vote.value, vote.order)  # mirroring A<->B is its own inverse
    if vote.shown_value is None:
        return vote.model_copy(update={"shown_value": shown})
    if vote.shown_value != shown:
        raise ValueError(
            f"item {n}: judge {vote.judge!r} order {vote.order}: shown value "
            f"{vote.shown_value!r} does not match canonical value {vote.value!r}"
        )
    return vote


def _slot(counts: dict[str, dict[str, int]], judge: str) -> dict[str, int]:
    keys = ("items", "comparable", "inconsistent", "first", "second", "tie", "unusable")
    return counts.setdefault(judge, dict.fromkeys(keys, 0))


def _summarise(judge: str, c: dict[str, int], confidence: float, votes: bool) -> PositionBias:
    directed = c["first"] + c["second"]
    rate = low = high = None
    if directed:
        rate = c["first"] / directed
        lo, hi = proportion_confint(c["first"], directed, alpha=1 - confidence, method="wilson")
        low, high = float(lo), float(hi)
    return PositionBias(
        judge=judge,
        n_items=c["items"],
        n_comparable=c["comparable"],
        n_inconsistent=c["inconsistent"],
        inconsistency_rate=c["inconsistent"] / c["comparable"] if c["comparable"] else None,
        n_first_won=c["first"],
        n_second_won=c["second"],
        n_tie_involved=c["tie"],
        first_position_rate=rate,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        n_unusable_votes=c["unusable"] if votes else None,
    )
