"""Presentation-order bias correction: both orders for pairwise, both scale directions
for pointwise panels with `scale_swap`.

Each judge is shown the item twice. Its two canonical verdicts are reconciled into one:
the same answer both times is a consistent vote; different answers make the judge
inconsistent. An inconsistent pairwise vote becomes a tie, unless both calls returned
logprobs: then the two orders' distributions are averaged and the larger probability
wins (balanced position calibration, Wang et al. 2023, "Large Language Models are not
Fair Evaluators"). An inconsistent pointwise vote becomes the midpoint of its two values
(rounded towards the worse), or the argmax of the averaged distributions. A judge with
only one usable call keeps that vote, its consistency unknown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from judges import Vote
from rubrics import Mode, Rubric, ScaleValue, value_key


class JudgeVerdict(BaseModel):
    """One judge's verdict on an item after reconciling presentation orders."""

    model_config = ConfigDict(frozen=True)

    judge: str
    value: ScaleValue | None
    """Canonical value; None when no call of this judge gave a usable vote."""
    consistent: bool | None = None
    """Both presentations agreed (True), disagreed (False), or could not be compared."""
    first_position_won: bool | None = None
    """Pairwise, inconsistent judges only: True when both orders picked the response shown
    first, False when both picked the second; None when a tie was involved."""
    distribution: dict[str, float] | None = None
    """The judge's probabilities over scale values (averaged over presentations)."""


def _average(dists: Sequence[dict[str, float]]) -> dict[str, float]:
    keys = {k for d in dists for k in d}
    return {k: sum(d.get(k, 0.0) for d in dists) / len(dists) for k in keys}


def _argmax(rubric: Rubric, probs: dict[str, float], fallback: ScaleValue) -> ScaleValue:
    top = max(probs.values())
    leaders = [v for v in rubric.scale if math.isclose(probs.get(value_key(v), -1), top)]
    if len(leaders) == 1:
        return leaders[0]
    return "tie" if rubric.mode is Mode.PAIRWISE else fallback


def _inconsistent(rubric: Rubric | None, a: Vote, b: Vote) -> ScaleValue:
    if a.order is not None or (rubric is not None and rubric.mode is Mode.PAIRWISE):
        return "tie"
    if rubric is None:
        raise ValueError("reconciling pointwise votes needs the rubric")
    ia, ib = rubric.index(a.value), rubric.index(b.value)
    if ia is None or ib is None:
        raise ValueError(f"votes {a.value!r}, {b.value!r} are not on the scale of {rubric.key}")
    if rubric.is_not_applicable(a.value) or rubric.is_not_applicable(b.value):
        return rubric.scale[min(ia, ib)]  # n/a is unordered: keep the applicable answer
    return rubric.scale[(ia + ib) // 2]


def reconcile(votes: Sequence[Vote], rubric: Rubric | None = None) -> tuple[JudgeVerdict, ...]:
    """One verdict per judge, in first-seen judge order. Without the rubric, pairwise
    inconsistency is always a tie (no distribution averaging)."""
    by_judge: dict[str, list[Vote]] = {}
    for vote in votes:
        by_judge.setdefault(vote.judge, []).append(vote)
    out = []
    for judge, own in by_judge.items():
        # One usable vote per presentation (order, scale direction): a duplicate call in the
        # same presentation is not a second opinion.
        seen: dict[tuple[str | None, bool], Vote] = {}
        for v in own:
            if v.usable:
                seen.setdefault((v.order, v.reversed_scale), v)
        usable = list(seen.values())
        if not usable:
            out.append(JudgeVerdict(judge=judge, value=None))
            continue
        if len(usable) == 1:
            v = usable[0]
            out.append(JudgeVerdict(judge=judge, value=v.value, distribution=v.distribution))
            continue
        a, b = usable[0], usable[1]
        dists = [v.distribution for v in (a, b) if v.distribution]
        averaged = _average(dists) if len(dists) == 2 else None
        if a.value == b.value and type(a.value) is type(b.value):
            out.append(
                JudgeVerdict(judge=judge, value=a.value, consistent=True, distribution=averaged)
            )
            continue
        fallback = _inconsistent(rubric, a, b)
        value = _argmax(rubric, averaged, fallback) if averaged and rubric else fallback
        first = None
        shown = {a.shown_value, b.shown_value}
        if a.order is not None and len(shown) == 1 and shown <= {"A", "B"}:
            first = shown == {"A"}  # the same shown position both times: position bias
        out.append(
            JudgeVerdict(
                judge=judge,
                value=value,
                consistent=False,
                first_position_won=first,
                distribution=averaged,
            )
        )
    return tuple(out)


def consistency_rate(verdicts: Sequence[JudgeVerdict]) -> float | None:
    """Share of comparable judges that were position-consistent; None if none comparable."""
    known = [v.consistent for v in verdicts if v.consistent is not None]
    if not known:
        return None
    return sum(known) / len(known)
