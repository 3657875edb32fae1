"""Request and response schemas of the REST API (v1). One family per resource."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rubrics import ScaleValue

MAX_TEXT = 200_000
"""Characters per judged text field; longer is 422 (the body limit applies first)."""
MAX_METADATA_KEYS = 32
MAX_METADATA_DEPTH = 8
"""Nesting levels of metadata values (an object or list in an object is level 2)."""
MAX_METADATA_NODES = 2_000
"""Values (objects, lists, scalars and keys) in all of metadata."""

T = TypeVar("T")


def _check_shape(value: dict[str, Any]) -> None:
    """Refuse metadata nested deeper than MAX_METADATA_DEPTH or holding more than
    MAX_METADATA_NODES values (iteratively: a deep value cannot exhaust the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > MAX_METADATA_NODES:
            raise ValueError(f"metadata holds more than {MAX_METADATA_NODES} values")
        if isinstance(node, dict | list):
            if depth > MAX_METADATA_DEPTH:
                raise ValueError(f"metadata nests deeper than {MAX_METADATA_DEPTH} levels")
            children = list(node.values()) if isinstance(node, dict) else node
            nodes += len(node) if isinstance(node, dict) else 0
            stack.extend((child, depth + 1) for child in children)


def _nul_at(value: Any, where: str) -> str | None:
    """The location of the first NUL character in a JSON value, if any."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            found = _nul_at(k, where) or _nul_at(v, f"{where}.{k}")
            if found:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = _nul_at(v, f"{where}.{i}")
            if found:
                return found
    return None


class Page(BaseModel, Generic[T]):
    """A list response."""

    data: list[T]
    count: int


MAX_MESSAGES = 200
_ABSENT = object()
"""Marks `prompt`/`response` left out of an input without `messages` (field required)."""


class ChatMessage(BaseModel):
    """One turn of a judged conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant", "tool"]
    content: str = Field(max_length=MAX_TEXT)


class PointwiseInput(BaseModel):
    """What is judged: `prompt` and `response`, or a conversation (`messages`) whose last
    assistant turn is judged when `response` is absent (and whose last user turn is the
    prompt when `prompt` is absent); `system` is the application's system prompt."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "allOf": [
                {"anyOf": [{"required": ["prompt"]}, {"required": ["messages"]}]},
                {"anyOf": [{"required": ["response"]}, {"required": ["messages"]}]},
            ]
        },
    )

    messages: list[ChatMessage] | None = Field(default=None, min_length=1, max_length=MAX_MESSAGES)
    """A multi-turn conversation, oldest first."""
    system: str | None = Field(default=None, max_length=MAX_TEXT)
    """The application's system prompt, as the judged model received it."""
    prompt: str | None = Field(default=None, max_length=MAX_TEXT)
    response: str | None = Field(default=None, max_length=MAX_TEXT)
    context: str | None = Field(default=None, max_length=MAX_TEXT)
    reference: str | None = Field(default=None, max_length=MAX_TEXT)

    @model_validator(mode="before")
    @classmethod
    def _mark_absent(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("messages"):
            data = dict(data)
            for key in ("prompt", "response"):
                data.setdefault(key, _ABSENT)
        return data

    @field_validator("prompt", "response", mode="before")
    @classmethod
    def _given(cls, value: Any) -> Any:
        """The schema states that `prompt` and `response` are given unless `messages` is;
        which turn of a conversation is judged is checked by the service (422
        invalid-input), a rule the schema cannot state."""
        if value is _ABSENT:
            raise ValueError("Field required (or give 'messages')")
        return value


class PairwiseInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(max_length=MAX_TEXT)
    response_a: str = Field(max_length=MAX_TEXT)
    response_b: str = Field(max_length=MAX_TEXT)
    context: str | None = Field(default=None, max_length=MAX_TEXT)
    reference: str | None = Field(default=None, max_length=MAX_TEXT)


class _Submission(BaseModel):
    """What every judged submission carries beside its panel or profile."""

    model_config = ConfigDict(extra="forbid")

    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free-form, stored with the evaluation; `app` labels metrics."""
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=256)
    """Repeat a request with the same key to get the stored evaluation, not a new one."""
    webhook_url: str | None = Field(
        default=None, max_length=2048, pattern=r"^https?://[^\s/$.?#].[^\s]*$"
    )
    """POSTed the evaluation when it completes, and again if a human verdict changes it;
    signed with the submitting key's webhook secret (see docs/webhooks.md)."""

    @field_validator("metadata")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > MAX_METADATA_KEYS:
            raise ValueError(f"at most {MAX_METADATA_KEYS} metadata keys")
        _check_shape(value)
        app = value.get("app")
        if app is not None and (not isinstance(app, str) or not 0 < len(app) <= 128):
            raise ValueError("metadata.app must be a string of 1 to 128 characters")
        return value

    def nul_at(self) -> str | None:
        """Where the request holds a NUL (U+0000) character, if anywhere. PostgreSQL cannot
        store one in text or JSON, so the service refuses it on every database (a rule the
        JSON schema does not state: 422 invalid-input, not invalid-request)."""
        return _nul_at(self.model_dump(mode="json"), "body")


class _Request(_Submission):
    panel: str = Field(min_length=1, max_length=64)


class EvaluationCreate(_Request):
    """Judge one response on a pointwise panel."""

    input: PointwiseInput


class ComparisonCreate(_Request):
    """Compare two responses on a pairwise panel."""

    input: PairwiseInput


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
    error: str | None = None
    webhook_url: str | None = None
    input: dict[str, Any]
    metadata: dict[str, Any]
    idempotency_key: str | None = None
    created_at: datetime
    completed_at: datetime | None


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
    """The accuracy estimate behind the weight."""
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
    """Votes it was fitted on (soft votes count their share)."""
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
    """Start of the items used: the window's start, or, when `truncated`, the time of the
    oldest of the newest QUORUM_STATS_MAX_ITEMS evaluations the figures use."""
    truncated: bool = False
    """True when the window held more evaluations than QUORUM_STATS_MAX_ITEMS."""
    n_items: int
    n_human: int
    weighting: str
    fleiss_kappa: EstimatePublic | None
    krippendorff_alpha: EstimatePublic | None
    cohen_kappa: dict[str, dict[str, float | None]]
    judges: list[JudgeStatsPublic]
    jury: JuryPublic | None = None
    """Panels aggregated by the jury model: the model in force, per judge and order."""


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

    reviewer: str | None = REVIEWER
    panel: str | None = Field(default=None, max_length=64)


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewer: str | None = REVIEWER


class VerdictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewer: str | None = REVIEWER
    value: ScaleValue | float
    """A value on the rubric's scale (pairwise: "A", "B" or "tie")."""
    comment: str | None = Field(default=None, max_length=10_000)
    shown_order: Literal["AB", "BA"] | None = None
    """Pairwise only: the order the reviewer saw the responses in (the item's `shown_order`),
    recorded so human position bias can be measured. `value` stays canonical: "A" is
    response_a whatever was shown first."""


class BatchItem(BaseModel):
    """One item of a batch: an evaluation (pointwise) or a comparison (pairwise)."""

    model_config = ConfigDict(extra="allow")

    kind: Literal["evaluation", "comparison"] = "evaluation"


class BatchCreate(BaseModel):
    """Many items judged concurrently; each is validated and answered on its own."""

    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(min_length=1)
    """Each like the body of POST /v1/evaluations (or /v1/comparisons with
    `"kind": "comparison"`)."""


class BatchResult(BaseModel):
    """One item's outcome: the evaluation, or the problem that stopped it."""

    index: int
    status: int
    """The HTTP status this item would have had on its own."""
    evaluation: EvaluationPublic | None = None
    problem: dict[str, Any] | None = None


class CalibrationRequest(BaseModel):
    """Calibrate the panel's threshold: a dry run unless `apply`."""

    model_config = ConfigDict(extra="forbid")

    alpha: float = Field(gt=0, lt=1)
    """Tolerated disagreement rate of auto-decided items with humans."""
    delta: float = Field(default=0.1, gt=0, lt=1)
    """Allowed probability that the guarantee fails."""
    apply: bool = False
    """Put the threshold in force for the panel; only a certified threshold is ever put in
    force. False (the default): a dry run, stored for the record."""


class CalibrationReset(BaseModel):
    """Put the panel's configured `routing.min_confidence` back in force (the undo of an
    applied calibration), recorded as a version of its own."""

    model_config = ConfigDict(extra="forbid")

    reset: Literal[True]


class CalibrationPublic(BaseModel):
    """A stored calibration: the threshold, what it guarantees, the data behind it."""

    id: str
    panel: str
    version: int
    alpha: float
    delta: float
    threshold: float | None
    """None: no threshold certified (if applied, every item goes to humans)."""
    certified: bool
    coverage: float
    """Share of the calibration items the threshold would decide automatically."""
    risk: float | None
    risk_upper: float | None
    n_items: int
    n_audit: int
    applied: bool
    """In force (until a newer applied version); never true for an uncertified one."""
    kind: Literal["calibration", "reset"]
    """`reset`: the configured threshold put back (`threshold` shows it; no items)."""
    reviews_needed: int | None
    """Uncertified: at least how many more human reviews, all agreeing with the panel,
    certification needs at this alpha and delta; None when certified or a reset."""
    created_at: datetime
    curve: list[dict[str, Any]]
