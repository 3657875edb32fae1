"""What a non-LLM juror gives back, and the protocol every juror follows.

A juror is a judge that is not a language model: it reads the item itself (a pattern
scan, an embedding similarity) and never calls litellm. Its `Finding` becomes an
ordinary `judges.Vote` in `judges.call.consult`, so it is stored, counted, weighted and
exported like any judge's vote.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict

from rubrics import Item, Rubric, ScaleValue, Unscored


class Finding(BaseModel):
    """A juror's answer on one item: a scale value, or an unscored reason."""

    model_config = ConfigDict(frozen=True)

    value: ScaleValue | None
    rationale: str | None = None
    """Why, in a line: the (redacted) matches, the similarity and the threshold it met."""
    raw_output: str | None = None
    """The juror's own record, as JSON text (never the matched secrets themselves)."""
    unscored: Unscored | None = None
    detail: str = ""


class Juror(Protocol):
    """Judges one item on one rubric without a language model."""

    async def assess(self, rubric: Rubric, item: Item) -> Finding: ...
