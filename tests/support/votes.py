"""Builders of judges.Vote for the statistics and routing tests: scored, failed and unscored
votes, pairwise votes given as the judge saw the pair, and weighted values for aggregate()."""

from __future__ import annotations

from typing import Any

from backtest.replay import PERMISSIVE
from judges import CallErrorKind, Vote, canonical
from routing import Aggregation, PanelVerdict, conclude
from rubrics import Order, Rubric, ScaleValue, Unscored

MODEL = "openai/test"


def scored(judge: str, value: Any) -> Vote:
    """A usable pointwise vote of `value`."""
    return Vote(judge=judge, model=MODEL, value=value, shown_value=value)


def failed(judge: str, kind: CallErrorKind = CallErrorKind.TIMEOUT) -> Vote:
    """A call that got no answer."""
    return Vote(judge=judge, model=MODEL, error=kind, detail="failed")


def unscored(judge: str, why: Unscored = Unscored.OFF_SCALE) -> Vote:
    """An answer that came back but could not be used."""
    return Vote(judge=judge, model=MODEL, unscored=why, raw_output='{"score": 99}')


def shown(
    judge: str, order: Order | None, value: ScaleValue | None, *, model: str = MODEL, **extra: Any
) -> Vote:
    """A pairwise vote as the runner makes it: `value` as shown in the judge's frame, the
    vote's `value` canonical. No value and no reason given: the call timed out."""
    if value is None and "error" not in extra and "unscored" not in extra:
        extra["error"] = CallErrorKind.TIMEOUT
    return Vote(
        judge=judge,
        model=model,
        order=order,
        shown_value=value,
        value=canonical(value, order),
        **extra,
    )


def pair(
    judge: str, ab: ScaleValue | None, ba: ScaleValue | None, *, model: str = MODEL
) -> list[Vote]:
    """One item's two votes by `judge`, given as shown: AB order first, then BA."""
    return [shown(judge, "AB", ab, model=model), shown(judge, "BA", ba, model=model)]


def recorded_vote(judge: str, value: ScaleValue | None, order: Order | None = None) -> Vote:
    """A vote of `value`, or (None) one whose call failed, as a replay reads them back."""
    if value is None:
        return Vote(judge=judge, model="m", order=order, detail="failed")
    return Vote(judge=judge, model="m", order=order, value=value)


def votes_of(values: list[Any]) -> list[Vote]:
    """Judges j0, j1, ... voting `values` in turn (None: that call failed)."""
    return [recorded_vote(f"j{i}", v) for i, v in enumerate(values)]


def unit(*values: object) -> list[tuple[object, float]]:
    """(value, weight 1) pairs, the input of routing.aggregate()."""
    return [(v, 1.0) for v in values]


def concluded(rubric: Rubric, votes: list[Vote] | tuple[Vote, ...]) -> PanelVerdict:
    """What a majority panel of quorum 1 concludes from `votes` under the backtest's
    permissive policy (nothing routed to humans, no audit draw)."""
    return conclude(
        rubric,
        votes,
        aggregation=Aggregation.MAJORITY,
        quorum=1,
        policy=PERMISSIVE,
        weights={},
        audit_draw=1.0,
    )
