"""Evaluations: the verdict, its votes, agreement and routing (REST API v1 answers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, StrictBool, StrictInt, StrictStr

ScaleValue = StrictBool | StrictInt | StrictStr
"""A value on a rubric's scale: an integer (1..5), a string ("pass", pairwise "A"), a bool."""


class RubricRef(BaseModel):
    id: str
    version: int


class VerdictPublic(BaseModel):
    value: ScaleValue | None
    """Pointwise: the scale value. Pairwise: "A" (response_a), "B" or "tie"."""
    compliant: bool | None
    source: Literal["panel", "human"]


class AgreementPublic(BaseModel):
    fleiss_p_i: float | None
    """Share of agreeing pairs among usable votes (Fleiss' P_i); None under two votes."""
    margin: float | None
    spread: int | None = None
    usable_votes: int
    total_votes: int
    position_consistency: float | None = None


class ReasonPublic(BaseModel):
    code: str
    detail: str


class RoutingPublic(BaseModel):
    decision: Literal["auto", "human"]
    reasons: list[ReasonPublic]


class VotePublic(BaseModel):
    judge: str
    model: str
    order: str | None
    reversed_scale: bool = False
    value: ScaleValue | None
    """Canonical frame; pairwise "A" means response_a whatever the order shown."""
    distribution: dict[str, float] | None = None
    """Probability per scale value from logprobs, where the provider returned them."""
    expected: float | None = None
    """Expected scale position (0 = worst) under `distribution`."""
    entropy: float | None = None
    """Normalised entropy of `distribution`: 0 certain, 1 uniform."""
    unscored: str | None
    error: str | None
    detail: str
    rationale: str | None
    latency_ms: float
    attempts: int
    cached: bool = False
    """Answered from the exact-duplicate cache (no call made)."""
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    question_order: list[str] | None = None
    """Checklist: the question ids in the order this call showed them."""
    answers: dict[str, str | None] | None = None
    """Checklist: each question's answer (yes, no, n/a); null where unscored."""


class QuestionVerdictPublic(BaseModel):
    """A checklist question's verdict across the panel, aggregated like a yes/no item."""

    id: str
    text: str
    required: bool
    value: str | None
    """yes, no or n/a; null without a usable answer."""
    passed: bool | None
    confidence: float
    agreement: AgreementPublic
    distribution: dict[str, float]
    answers: dict[str, str | None]
    """Each judge's answer; null where it was unscored."""


class JudgeVerdictPublic(BaseModel):
    judge: str
    value: ScaleValue | None
    consistent: bool | None = None
    weight: float


class SubjectPublic(BaseModel):
    """The production model that wrote the judged response, as stored."""

    model: str
    version: str | None = None


class EvaluationPublic(BaseModel):
    """An evaluation as stored: input, votes, verdict, agreement, routing."""

    id: str
    kind: Literal["evaluation", "comparison"]
    panel: str
    rubric: RubricRef
    status: Literal["pending", "decided", "in_review", "failed"]
    verdict: VerdictPublic | None
    winner: Literal["a", "b", "tie"] | None = None
    """Comparisons only: the winning response."""
    confidence: float | None
    agreement: AgreementPublic | None
    routing: RoutingPublic | None
    votes: list[VotePublic]
    judges: list[JudgeVerdictPublic]
    questions: list[QuestionVerdictPublic] = []
    """Checklist rubrics: each question's verdict, agreement and confidence."""
    review_id: str | None = None
    jury_version: int | None = None
    """`jury` panels: the version of the jury model the verdict came from (0: cold start)."""
    assessment_id: str | None = None
    """The assessment this evaluation judges one criterion of, if any."""
    subject: SubjectPublic | None = None
    """The production model that wrote the judged response, if the request named it."""
    use_case: str | None = None
    """The request's governance use-case label, if any."""
    error: str | None = None
    webhook_url: str | None = None
    input: dict[str, Any]
    metadata: dict[str, Any]
    idempotency_key: str | None = None
    created_at: datetime
    completed_at: datetime | None


class BatchResult(BaseModel):
    """One item's outcome: the evaluation, or the problem that stopped it."""

    index: int
    status: int
    """The HTTP status this item would have had on its own."""
    evaluation: EvaluationPublic | None = None
    problem: dict[str, Any] | None = None
    """RFC 9457 problem details, for an item that failed."""
