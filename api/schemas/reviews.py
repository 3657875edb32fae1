"""Wire models of the human review queue: items, decisions, requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from api.schemas.catalog import RubricPublic
from api.schemas.common import NoNul
from api.schemas.evaluations import EvaluationPublic
from rubrics import ScaleValue


class ReviewDecisionPublic(BaseModel):
    reviewer: str
    """The deciding reviewer; to a reviewer, another's decision shows "reviewer N"."""
    stage: Literal["review", "adjudication"]
    value: ScaleValue
    """Canonical frame: pairwise "A" is response_a, whatever order it was shown in."""
    comment: str | None
    as_admin: bool = False
    """An admin decided it, consuming another reviewer's claim."""
    shown_order: Literal["AB", "BA"] | None = None
    """Pairwise: the order the reviewer was shown (`BA`: response_b first); null if not told."""
    created_at: datetime


class ReviewItemPublic(BaseModel):
    """An evaluation routed to humans, with what a reviewer needs to decide it."""

    id: str
    evaluation_id: str
    panel: str
    status: Literal["pending", "claimed", "decided"]
    stage: Literal["review", "adjudication"]
    uncertainty: float | None
    """1 - the panel's confidence; None in a blind view."""
    reasons: list[str]
    """Why the panel routed it to humans; empty in a blind view."""
    required_reviews: int
    reviews_done: int
    claimed_by: str | None
    """The claimant: to a reviewer, their own name or "another reviewer"."""
    lease_until: datetime | None
    final_value: ScaleValue | None
    decided_at: datetime | None
    created_at: datetime
    blind: bool
    """True when votes, the panel verdict, confidence, agreement, routing, uncertainty and
    reasons are hidden until this reviewer decides (docs/reviewer.md)."""
    rubric: RubricPublic | None
    evaluation: EvaluationPublic
    decisions: list[ReviewDecisionPublic]
    """This reviewer's own decisions; every review-stage decision once the item is in
    adjudication (the adjudicator sees the conflict); all of them once decided."""
    shown_order: Literal["AB", "BA"] | None = None
    """Pairwise, for the reviewer named in the request: the order to show the two responses
    in (`BA`: response_b first), drawn per item and reviewer; null otherwise."""


REVIEWER = Field(default=None, min_length=1, max_length=128, pattern=r"^[^\s].*$")
"""With a key: optional, and if sent it must be the key's name (403 otherwise); the
reviewer recorded is always the key's. Open mode: required, and used as sent."""


class ClaimRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewer: Annotated[str | None, NoNul] = REVIEWER
    panel: Annotated[str | None, NoNul] = Field(default=None, max_length=64)


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewer: Annotated[str | None, NoNul] = REVIEWER


ANY_SCALAR = [{"type": t} for t in ("boolean", "integer", "string", "number")]
"""What a verdict's value may be, as the schema documents it (a scale value)."""


class VerdictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewer: Annotated[str | None, NoNul] = REVIEWER
    value: Annotated[Any, WithJsonSchema({"anyOf": ANY_SCALAR})]
    """A value on the rubric's scale (pairwise: "A", "B" or "tie"). Any JSON is taken here
    and checked against the item's scale when deciding, so every wrong value (null, a list,
    "5" for 5) gets the one message that names the scale, at `body.value`."""
    comment: Annotated[str | None, NoNul] = Field(default=None, max_length=10_000)
    shown_order: Literal["AB", "BA"] | None = None
    """Pairwise only: the order the reviewer saw the responses in (the item's `shown_order`),
    recorded so human position bias can be measured. `value` stays canonical: "A" is
    response_a whatever was shown first."""
