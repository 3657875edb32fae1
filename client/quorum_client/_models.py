"""The answers of the Quorum REST API (v1) as pydantic models: evaluations with their
votes, verdict, agreement and routing; panels and rubrics; agreement reports; review items.

They copy the service's own schemas (`api/schemas.py` in the Quorum repository) because
the client may not import the server. The Quorum test suite compares every model here and
in `_requests` with the service's OpenAPI schema, field by field (names, required-ness,
types, enums, limits), and fails on any difference. Answers ignore fields they do not
know, so an older client keeps reading a newer service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, StrictBool, StrictInt, StrictStr

ScaleValue = StrictBool | StrictInt | StrictStr
"""A value on a rubric's scale: an integer (1..5), a string ("pass", pairwise "A"), a bool."""


# --- evaluations -----------------------------------------------------------------------


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


class JudgeVerdictPublic(BaseModel):
    judge: str
    value: ScaleValue | None
    consistent: bool | None = None
    weight: float


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
    review_id: str | None = None
    assessment_id: str | None = None
    """The assessment this evaluation judges one criterion of, if any."""
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


# --- catalog ---------------------------------------------------------------------------


class JudgePublic(BaseModel):
    name: str
    model: str
    family: str | None
    weight: float


class PanelPublic(BaseModel):
    name: str
    description: str
    rubric: RubricRef
    mode: str
    judges: list[JudgePublic]
    aggregation: str
    quorum: int
    position_swap: bool
    deadline_s: float
    routing: dict[str, Any]


class RubricPublic(BaseModel):
    id: str
    version: int
    description: str
    mode: str
    scale: list[ScaleValue]
    criteria: str
    anchors: dict[str, str]
    compliant: dict[str, Any] | None
    requires: list[str]
    standards: list[dict[str, str]]
    not_applicable: ScaleValue | None = None
    """The value meaning "does not apply": a real answer, never compliant or not."""


# --- agreement statistics --------------------------------------------------------------


class EstimatePublic(BaseModel):
    """An agreement coefficient with its 95% confidence interval."""

    value: float
    ci_low: float | None
    ci_high: float | None
    n_items: int
    method: str


class JudgeStatsPublic(BaseModel):
    judge: str
    calls: int
    unscored_rate: float | None
    error_rate: float | None
    human_kappa: EstimatePublic | None
    """Cohen's kappa against human verdicts (quadratic-weighted on ordinal scales)."""
    weight: float
    """The weight this judge carries in `weighted` aggregation."""
    weight_source: Literal["human", "dawid_skene", "prior"]
    """Where the weight came from: agreement with humans, the Dawid-Skene model, or config."""
    accuracy: float | None = None
    position_inconsistency: float | None = None
    """Pairwise: share of comparable items on which the judge flipped with the order."""
    first_position_rate: float | None = None
    """Pairwise: among flips where one position won twice, the share won by the first."""
    first_position_ci: tuple[float, float] | None = None
    """Wilson 95% interval of `first_position_rate`."""


class AgreementReport(BaseModel):
    """Window agreement statistics of one panel."""

    panel: str
    rubric: RubricRef
    window: str
    since: datetime
    truncated: bool = False
    """True when the window held more evaluations than the service's item cap."""
    n_items: int
    n_human: int
    weighting: str
    fleiss_kappa: EstimatePublic | None
    krippendorff_alpha: EstimatePublic | None
    cohen_kappa: dict[str, dict[str, float | None]]
    judges: list[JudgeStatsPublic]


# --- the review queue ------------------------------------------------------------------


class ReviewDecisionPublic(BaseModel):
    reviewer: str
    stage: Literal["review", "adjudication"]
    value: ScaleValue
    comment: str | None
    created_at: datetime


class ReviewItemPublic(BaseModel):
    """An evaluation routed to humans, with what a reviewer needs to decide it."""

    id: str
    evaluation_id: str
    panel: str
    status: Literal["pending", "claimed", "decided"]
    stage: Literal["review", "adjudication"]
    uncertainty: float
    reasons: list[str]
    required_reviews: int
    reviews_done: int
    claimed_by: str | None
    lease_until: datetime | None
    final_value: ScaleValue | None
    decided_at: datetime | None
    created_at: datetime
    blind: bool
    """True when votes and the panel verdict are hidden until this reviewer decides."""
    rubric: RubricPublic | None
    evaluation: EvaluationPublic
    decisions: list[ReviewDecisionPublic]


# --- assessments and profiles ---------------------------------------------------------


class CompliancePublic(BaseModel):
    """A profile's verdict on the input, from its criteria's final verdicts."""

    score: float | None
    """Weighted share of compliant criteria among the decided, applicable ones (0..1)."""
    compliant: bool | None
    """False once a must-pass criterion fails; else, once all are decided, whether
    `score` reaches `min_score`; None while not known."""
    min_score: float
    decided: int
    in_review: int
    not_applicable: int
    pending: int
    failed: int
    failing: list[str]


class CriterionPublic(BaseModel):
    panel: str
    rubric: str
    weight: float
    must_pass: bool
    evaluation: EvaluationPublic | None


class AssessmentPublic(BaseModel):
    """An assessment: the profile's compliance and every criterion's evaluation."""

    id: str
    profile: str
    status: Literal["pending", "decided", "in_review", "failed"]
    compliance: CompliancePublic
    criteria: list[CriterionPublic]
    metadata: dict[str, Any]
    idempotency_key: str | None = None
    webhook_url: str | None = None
    created_at: datetime
    completed_at: datetime | None


class ProfileCriterionPublic(BaseModel):
    panel: str
    rubric: str
    weight: float
    must_pass: bool
    standards: list[dict[str, str]]


class ProfilePublic(BaseModel):
    name: str
    description: str
    use: str | None
    min_score: float
    use_case: str | None
    criteria: list[ProfileCriterionPublic]
    standards: list[dict[str, str]]


ANSWERS: tuple[type[BaseModel], ...] = (
    RubricRef,
    VerdictPublic,
    AgreementPublic,
    ReasonPublic,
    RoutingPublic,
    VotePublic,
    JudgeVerdictPublic,
    EvaluationPublic,
    BatchResult,
    JudgePublic,
    PanelPublic,
    RubricPublic,
    EstimatePublic,
    JudgeStatsPublic,
    AgreementReport,
    ReviewDecisionPublic,
    ReviewItemPublic,
    CompliancePublic,
    CriterionPublic,
    AssessmentPublic,
    ProfileCriterionPublic,
    ProfilePublic,
)
"""The models the client reads answers into (the service serves them)."""
