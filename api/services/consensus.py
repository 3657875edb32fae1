"""When the humans have spoken: the consensus rule of the review queue. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from rubrics import ScaleValue


class Consensus(BaseModel):
    """What the decisions so far make of a review item."""

    model_config = ConfigDict(frozen=True)

    outcome: Literal["wait", "final", "adjudicate"]
    """`wait` for more reviews, `final` (the humans' verdict is `value`), or `adjudicate`
    (independent reviewers disagree: one adjudicator decides)."""
    value: ScaleValue | None = None


def consensus(stage: str, values: Sequence[ScaleValue], required: int) -> Consensus:
    """`stage`: `review` or `adjudication`; `values`: its decisions, latest last. An adjudicator's
    decision is final; `required` independent reviews are final when they all agree."""
    if not values:
        return Consensus(outcome="wait")
    if stage == "adjudication":
        return Consensus(outcome="final", value=values[-1])
    if len(values) < required:
        return Consensus(outcome="wait")
    # repr: True and 1 are different verdicts on a rubric's scale.
    if len({repr(v) for v in values}) == 1:
        return Consensus(outcome="final", value=values[-1])
    return Consensus(outcome="adjudicate")
