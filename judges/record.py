"""The recorded-vote format: one JSON line per judged item, with its votes and its human
labels (docs/backtest.md, "The format").

It is the format of the research sets under `shared/data` and of Quorum's audit export:
`ItemRecord` and `VoteRecord` define it once, so the export (`api.services.audit`) writes what the
backtest loader (`backtest.datasets`) reads. The models check the shape and the JSON
types of each field only; what depends on the rest of the record or on the file (a value
on the scale, an order that fits the mode, one dataset per file) is the loader's to
check, so an export never fails on a record the backtest would refuse.

Values are JSON scalars and typed (`true` is not `1`, `"1"` is not `1`); pairwise values
are in the canonical frame (`"A"` means response_a, whatever order it was shown in).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, StringConstraints

from rubrics import Mode, Order, ScaleValue
from rubrics.question import Question

__all__ = [
    "ActorRecord",
    "AuditRecord",
    "DecisionRecord",
    "ItemRecord",
    "ReviewRecord",
    "RoutingRecord",
    "RubricRef",
    "SubjectRecord",
    "VerdictRecord",
    "VoteRecord",
]

Probability = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
"""A JSON number (an integer or a float, not a string or boolean), finite and >= 0."""
Text = Annotated[str, StringConstraints(min_length=1, pattern=r"\S")]
"""A string with something other than white space in it."""


class VoteRecord(BaseModel):
    """One judge call: `judge`, `order`, `value`, `unscored` (the dataset format), then
    optional fields: the audit export's record of the call, a hanna vote's source `mean`,
    and the judge's probabilities over the scale (`prob` or `distribution`)."""

    model_config = ConfigDict(frozen=True)

    judge: Text
    order: Order | None = None
    """Pairwise: `AB` (response_a shown first) or `BA`; null when not applicable
    (pointwise) or when the vote already averages both orders."""
    value: ScaleValue | None = None
    """The verdict in scale terms (canonical frame); null when the call gave none."""
    unscored: str | None = None
    """Why there is no value: an `Unscored` code, a `CallErrorKind` value, or free text."""
    # The audit export's record of the call (absent from the research sets).
    model: str | None = None
    params: dict[str, Any] | None = None
    reversed_scale: bool | None = None
    shown_value: ScaleValue | None = None
    raw_output: str | None = None
    rationale: str | None = None
    detail: str | None = None
    prompt_sha256: str | None = None
    latency_ms: float | None = None
    attempts: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    distribution: dict[str, Probability] | None = None
    """Probability per scale value, keyed by the value as text (`"1"`, `"true"`, `"A"`),
    canonical frame; the export writes the judge's logprob distribution here."""
    created_at: str | None = None
    """ISO 8601 time of the call."""
    # Probabilities in another shape, and a research set's extra figure.
    prob: tuple[Probability, ...] | None = None
    """Probability per scale value, in scale order (canonical frame): the same as
    `distribution`, as a list. A vote gives one or the other."""
    mean: float | None = None
    """hanna only: the source's exact number (the mean of 3 sampled ratings)."""
    # Checklist items only.
    answers: dict[str, str | None] | None = None
    """Each question's answer (`yes`, `no`, `n/a`), null where it was unscored; `value`
    is the vote's overall fail/pass from its required answers."""
    question_order: tuple[str, ...] | None = None
    """The question ids in the order the call showed them."""


class RubricRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    version: int


class VerdictRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: ScaleValue | None = None
    compliant: bool | None = None
    source: str | None = None
    """panel or human."""


class RoutingRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    decision: str | None = None
    reasons: list[dict[str, Any]] | None = None


class ActorRecord(BaseModel):
    """Who did something: an API key (id and principal name), or a part of Quorum."""

    model_config = ConfigDict(frozen=True)

    key_id: str | None = None
    name: str | None = None


class DecisionRecord(BaseModel):
    """One reviewer's verdict."""

    model_config = ConfigDict(frozen=True)

    reviewer: str
    stage: str
    value: ScaleValue | None = None
    """Canonical frame, like every pairwise value here."""
    comment: str | None = None
    shown_order: Order | None = None
    """Pairwise: the order the reviewer was shown (`AB`: response_a first); absent when
    unknown, so human position bias can be measured like a judge's."""
    created_at: str | None = None
    decided_by: ActorRecord | None = None
    """The key that recorded the decision (from the audit trail's `decided` event)."""


class ReviewRecord(BaseModel):
    """The item's human review, when it was routed to humans."""

    model_config = ConfigDict(frozen=True)

    id: str
    status: str
    stage: str
    final_value: ScaleValue | None = None
    decided_at: str | None = None
    decisions: tuple[DecisionRecord, ...] = ()


class SubjectRecord(BaseModel):
    """The production model that wrote the judged response."""

    model_config = ConfigDict(frozen=True)

    model: str
    version: str | None = None


class AuditRecord(BaseModel):
    """What the audit export adds to an item: the rest of the evaluation's record."""

    model_config = ConfigDict(frozen=True)

    rubric: RubricRef
    status: str
    verdict: VerdictRecord
    panel_verdict: VerdictRecord | None = None
    """The panel's own verdict, kept when a human verdict replaced (or confirmed) it."""
    submitted_by: ActorRecord | None = None
    """The key that submitted the evaluation (null in open mode)."""
    confidence: float | None = None
    agreement: dict[str, Any] | None = None
    routing: RoutingRecord
    metadata: dict[str, Any] | None = None
    subject: SubjectRecord | None = None
    """The production model that wrote the judged response, if the request named it."""
    use_case: str | None = None
    """The request's governance use-case label, if any."""
    assessment_id: str | None = None
    """The assessment this evaluation judged one criterion of, if any."""
    idempotency_key: str | None = None
    error: str | None = None
    created_at: str | None = None
    completed_at: str | None = None
    review: ReviewRecord | None = None


class ItemRecord(BaseModel):
    """One line: an item, every judge call on it, and its human labels.

    `dataset`, `item`, `mode`, `scale`, `votes` and `human` are required (`scale` may be
    null in an export whose rubric is no longer configured; such a line does not load).
    """

    model_config = ConfigDict(frozen=True)

    dataset: Text
    item: Annotated[StrictStr, StringConstraints(min_length=1, pattern=r"\S")] | StrictInt
    """Unique within the dataset, not blank; an integer id is read as its text."""
    mode: Mode
    scale: tuple[ScaleValue, ...] | None
    """Allowed values in order, worst first."""
    questions: tuple[Question, ...] | None = None
    """Checklist items: the rubric's questions (`id`, `text`, `required`, `na`)."""
    input: dict[str, Any] | None = None
    votes: tuple[VoteRecord, ...]
    human: tuple[ScaleValue, ...]
    """One label per annotator, in scale terms; empty for an item nobody reviewed."""
    label_kind: str | None = None
    """`human`, `gold` or `objective` (free text, not restricted); the first line's is
    reported."""
    meta: dict[str, Any] | None = None
    audit: AuditRecord | None = None
    """Present in Quorum's audit export only."""

    def dump(self) -> dict[str, Any]:
        """The line as a JSON-ready dict: the fields that were set, in format order."""
        return self.model_dump(mode="json", exclude_unset=True)
