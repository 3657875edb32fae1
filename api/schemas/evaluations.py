"""Wire models of evaluations and comparisons: requests, answers, batches."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.schemas.common import (
    MAX_METADATA_KEYS,
    MAX_TEXT,
    USE_CASE_PATTERN,
    RubricRef,
    Subject,
    SubjectPublic,
    _check_shape,
    _nul_at,
)
from rubrics import ScaleValue

MAX_MESSAGES = 200


_ABSENT = object()
"""Marks `prompt`/`response` left out of an input without `messages` (field required)."""


class ChatMessage(BaseModel):
    """One turn of a judged conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant", "tool"]
    content: str = Field(max_length=MAX_TEXT)


_CONVERSATION: dict[str, Any] = {
    "required": ["messages"],
    "properties": {"messages": {"type": "array"}},
}
"""In the schema: a request whose `messages` is a conversation (not null)."""


class PointwiseInput(BaseModel):
    """What is judged: `prompt` and `response`, or a conversation (`messages`) whose last
    assistant turn is judged when `response` is absent (and whose last user turn is the
    prompt when `prompt` is absent); `system` is the application's system prompt."""

    model_config = ConfigDict(
        extra="forbid",
        # `messages` stands in for them only as a conversation, not as null.
        json_schema_extra={
            "allOf": [
                {"anyOf": [{"required": ["prompt"]}, _CONVERSATION]},
                {"anyOf": [{"required": ["response"]}, _CONVERSATION]},
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
        default=None, max_length=2048, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/$.?#].[^\s]*$"
    )
    """POSTed the evaluation when it completes, and again if a human verdict changes it;
    signed with the submitting key's webhook secret (see docs/webhooks.md)."""
    subject: Subject | None = None
    """The production model that wrote the judged response; stored, filterable, exported
    and a (capped) metric label."""
    use_case: str | None = Field(default=None, max_length=128, pattern=USE_CASE_PATTERN)
    """The business use this response served (`support-bot`, `hr-faq`): a governance
    label, stored, filterable, exported and a (capped) metric label. Not the judges'
    guidance of a panel or profile (its `use_case:` in the config)."""

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


class EvaluationFilters(BaseModel):
    """What `GET /v1/evaluations` narrows the caller's evaluations to (every one given)."""

    model_config = ConfigDict(frozen=True)

    panel: str | None = None
    status: Literal["pending", "decided", "in_review", "failed"] | None = None
    subject_model: str | None = None
    use_case: str | None = None
    since: datetime | None = None
    until: datetime | None = None
