"""A profile's compliance from its criteria's verdicts: the weighted compliance score.

Each criterion counts 1 when its final verdict is compliant and 0 when it is not. The
score is the weighted mean of those over the criteria that are *decided* (a final
verdict, from the panel or a human) and *applicable* (not `n/a`):

    score = sum(w_i * c_i) / sum(w_i)      over decided, applicable criteria i

Binary on purpose, rather than the normalised position on an ordinal scale: a profile
asks whether each criterion meets its bar (the rubric's `compliant` rule), and a
normalised score would let a near miss on one criterion (a 3 where 4 is required) buy
part of the weight it failed, so that a response failing a criterion could still reach
a 0.9 score. n/a criteria are out of the score and counted apart; a criterion in review,
pending or failed is out of the score until it is decided.

The rule: the assessment is not compliant as soon as a decided must-pass criterion is
not compliant (nothing left to decide can change that); otherwise, once every criterion
is decided, it is compliant when the score reaches `min_score` (or when no criterion
applies: nothing applicable failed). Before that it is undecided (None). An n/a
must-pass criterion does not fail the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

State = Literal["pending", "decided", "in_review", "failed"]


class CriterionState(BaseModel):
    """One criterion of an assessment, as far as compliance is concerned."""

    model_config = ConfigDict(frozen=True)

    name: str
    weight: float = Field(gt=0)
    must_pass: bool = False
    status: State
    compliant: bool | None = None
    """The final verdict's compliance (None while not decided, or when n/a)."""
    not_applicable: bool = False
    """The final verdict is the rubric's not-applicable value."""


class Compliance(BaseModel):
    """The weighted compliance of one assessment."""

    model_config = ConfigDict(frozen=True)

    score: float | None
    compliant: bool | None
    min_score: float
    decided: int
    in_review: int
    not_applicable: int
    pending: int
    failed: int
    failing: tuple[str, ...]
    status: State
    """pending while a criterion is being judged; in_review while one waits for a human;
    failed when one could not be judged; decided when all have a final verdict."""


def compliance(criteria: Sequence[CriterionState], min_score: float) -> Compliance:
    """Score and rule over a profile's criteria (see the module docstring)."""
    if not criteria:
        raise ValueError("an assessment has at least one criterion")
    if not 0 <= min_score <= 1:
        raise ValueError(f"min_score must be in 0..1, got {min_score!r}")
    decided = [c for c in criteria if c.status == "decided"]
    scored = [c for c in decided if not c.not_applicable and c.compliant is not None]
    total = sum(c.weight for c in scored)
    score = sum(c.weight for c in scored if c.compliant) / total if scored else None
    failing = tuple(c.name for c in scored if not c.compliant)
    count = {s: sum(1 for c in criteria if c.status == s) for s in ("in_review", "pending")}
    failed = sum(1 for c in criteria if c.status == "failed")
    status: State = (
        "pending"
        if count["pending"]
        else "in_review"
        if count["in_review"]
        else "failed"
        if failed
        else "decided"
    )
    verdict: bool | None = None
    if any(c.must_pass and not c.compliant for c in scored):
        verdict = False
    elif status == "decided":
        verdict = True if score is None else score >= min_score - 1e-12
    return Compliance(
        score=None if score is None else round(score, 12),
        compliant=verdict,
        min_score=min_score,
        decided=len(decided),
        in_review=count["in_review"],
        not_applicable=sum(1 for c in decided if c.not_applicable),
        pending=count["pending"],
        failed=failed,
        failing=failing,
        status=status,
    )
