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


# --- catalog ---------------------------------------------------------------------------


class JudgePublic(BaseModel):
    name: str
    type: Literal["llm", "pattern", "embedding"] = "llm"
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


class QuestionPublic(BaseModel):
    id: str
    text: str
    required: bool
    na: bool


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
    questions: list[QuestionPublic] = []
    """Checklist rubrics: the questions, in the rubric's order."""
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


class JuryWorkerPublic(BaseModel):
    """One judge in one presentation (pairwise order, or reversed scale) as the jury
    model reads it."""

    judge: str
    order: str | None
    reversed_scale: bool = False
    votes: float
    """Votes it was fitted on (soft votes count their share); a `labels-only` error model
    learns from the labelled items' votes alone."""
    accuracy: float
    """Probability of answering the true value, averaged over the true values."""
    accuracy_ci: tuple[float, float] | None
    """95% Wilson interval of `accuracy` over `votes` votes."""
    confusion: list[list[float]]
    """P(answer | true value): rows are the latent values (`classes`), columns the scale."""


class JuryPublic(BaseModel):
    """The jury model in force for a panel (`aggregation: jury`)."""

    version: int
    """0: the cold start (no fit yet: priors only)."""
    fitted_at: datetime | None
    n_items: int
    n_labelled: int
    n_patterns: int
    iterations: int
    converged: bool
    log_likelihood: float
    temperature: float = 1.0
    """The posterior's temperature, fitted on the human verdicts (1: the plain
    independent-errors posterior; below 1: the judges' evidence is discounted because
    their errors are correlated)."""
    error_model: str = "shrunk"
    """How each judge's errors are modelled: `shrunk` (its confusion matrix shrunk towards
    one accuracy per judge), `one-coin` (one accuracy per judge) or `ordinal` (a bias and
    a spread per judge), followed by ` labels-only` when it was estimated from the human
    verdicts alone (the unlabelled items read, not learned from). On scales that are not
    ordinal, chosen at each fit on held-out human verdicts (docs/statistics.md)."""
    classes: list[ScaleValue]
    scale: list[ScaleValue]
    class_priors: list[float]
    workers: list[JuryWorkerPublic]


class AgreementReport(BaseModel):
    """Window agreement statistics of one panel."""

    panel: str
    rubric: RubricRef
    window: str
    since: datetime
    truncated: bool = False
    """Always False: the figures are exact over the whole window. Kept for old readers."""
    n_patterns: int | None = None
    """Distinct vote patterns the window's items fell into (what the figures come from)."""
    weights_items: int | None = None
    """Weighted panels: the newest items the reliability weights were fitted on."""
    n_items: int
    n_human: int
    weighting: str
    fleiss_kappa: EstimatePublic | None
    krippendorff_alpha: EstimatePublic | None
    cohen_kappa: dict[str, dict[str, float | None]]
    judges: list[JudgeStatsPublic]
    jury: JuryPublic | None = None
    """Panels aggregated by the jury model: the model in force, per judge and order."""


# --- the review queue ------------------------------------------------------------------


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
    reasons are hidden until this reviewer decides."""
    rubric: RubricPublic | None
    evaluation: EvaluationPublic
    decisions: list[ReviewDecisionPublic]
    """This reviewer's own decisions; every review-stage decision once the item is in
    adjudication (the adjudicator sees the conflict); all of them once decided."""
    shown_order: Literal["AB", "BA"] | None = None
    """Pairwise, for the reviewer named in the request: the order to show the two responses
    in (`BA`: response_b first), drawn per item and reviewer; null otherwise."""


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
    subject: SubjectPublic | None = None
    """The production model that wrote the judged response, if the request named it."""
    use_case: str | None = None
    """The request's governance use-case label, if any (not the profile's `use_case`)."""
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
    QuestionVerdictPublic,
    JudgeVerdictPublic,
    SubjectPublic,
    EvaluationPublic,
    BatchResult,
    JudgePublic,
    PanelPublic,
    QuestionPublic,
    RubricPublic,
    EstimatePublic,
    JudgeStatsPublic,
    JuryWorkerPublic,
    JuryPublic,
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
