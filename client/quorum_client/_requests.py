"""The request bodies the client sends to the Quorum REST API (v1), as pydantic models.

Copies of the service's own request schemas (the client may not import the server), with
the same limits, so a bad argument raises pydantic.ValidationError before anything is
sent. The Quorum test suite compares them with the service's OpenAPI schema.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from quorum_client._models import ScaleValue

MAX_TEXT = 200_000
"""Characters per judged text field; longer is refused (422)."""
MAX_METADATA_KEYS = 32


MAX_MESSAGES = 200


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
    """The texts of one pointwise evaluation: `prompt` and `response`, or a conversation
    (`messages`) whose last assistant turn is judged when `response` is absent (and whose
    last user turn is the prompt when `prompt` is absent); `system` is the application's
    system prompt."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "allOf": [
                {"anyOf": [{"required": ["prompt"]}, _CONVERSATION]},
                {"anyOf": [{"required": ["response"]}, _CONVERSATION]},
            ]
        },
    )

    messages: list[ChatMessage] | None = Field(default=None, min_length=1, max_length=MAX_MESSAGES)
    system: str | None = Field(default=None, max_length=MAX_TEXT)
    prompt: str | None = Field(default=None, max_length=MAX_TEXT, validate_default=True)
    response: str | None = Field(default=None, max_length=MAX_TEXT, validate_default=True)
    context: str | None = Field(default=None, max_length=MAX_TEXT)
    reference: str | None = Field(default=None, max_length=MAX_TEXT)

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, value: str | None, info: ValidationInfo) -> str | None:
        turns = info.data.get("messages") or []
        if value is None and not any(t.role == "user" for t in turns):
            raise ValueError("give 'prompt', or 'messages' with a user turn")
        return value

    @field_validator("response")
    @classmethod
    def _response(cls, value: str | None, info: ValidationInfo) -> str | None:
        turns = info.data.get("messages") or []
        if value is None and not turns:
            raise ValueError("Field required (or 'messages' ending with the assistant's turn)")
        if value is None and turns[-1].role != "assistant":
            raise ValueError("without 'response', the last message must be from the assistant")
        return value


class PairwiseInput(BaseModel):
    """The texts of one comparison of two responses."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(max_length=MAX_TEXT)
    response_a: str = Field(max_length=MAX_TEXT)
    response_b: str = Field(max_length=MAX_TEXT)
    context: str | None = Field(default=None, max_length=MAX_TEXT)
    reference: str | None = Field(default=None, max_length=MAX_TEXT)


USE_CASE_PATTERN = r"^[A-Za-z0-9._:/-]{1,128}$"
"""A governance use-case label: 1 to 128 letters, digits or `. _ : / -`."""


class Subject(BaseModel):
    """The production model that wrote the judged response (not a judge)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=256)
    version: str | None = Field(default=None, min_length=1, max_length=128)


class _Submission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free-form, stored with the evaluation; `app` labels the service's metrics."""
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=256)
    """Repeat a request with the same key to get the stored evaluation, not a new one."""
    webhook_url: str | None = Field(
        default=None, max_length=2048, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/$.?#].[^\s]*$"
    )
    """POSTed the evaluation when it completes (see the service's docs/webhooks.md)."""
    subject: Subject | None = None
    """The production model that wrote the judged response."""
    use_case: str | None = Field(default=None, max_length=128, pattern=USE_CASE_PATTERN)
    """The business use this response served (a governance label; not a profile's
    judge-guidance `use_case`)."""

    @field_validator("metadata")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > MAX_METADATA_KEYS:
            raise ValueError(f"at most {MAX_METADATA_KEYS} metadata keys")
        app = value.get("app")
        if app is not None and (not isinstance(app, str) or not 0 < len(app) <= 128):
            raise ValueError("metadata.app must be a string of 1 to 128 characters")
        return value


class _Request(_Submission):
    panel: str = Field(min_length=1, max_length=64)


class EvaluationCreate(_Request):
    """Judge one response on a pointwise panel."""

    input: PointwiseInput


class ComparisonCreate(_Request):
    """Compare two responses on a pairwise panel."""

    input: PairwiseInput


class AssessmentCreate(_Submission):
    """Judge one response on every criterion of a profile."""

    profile: str = Field(min_length=1, max_length=64)
    input: PointwiseInput


REVIEWER = Field(default=None, min_length=1, max_length=128, pattern=r"^[^\s].*$")
"""With an API key: optional (the key's name is the reviewer; if sent it must be that
name). Without keys (open mode): required."""


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


class BatchCreate(BaseModel):
    """Many items judged concurrently; each is validated and answered on its own."""

    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(min_length=1)
    """Each like the body of POST /v1/evaluations (or /v1/comparisons with
    `"kind": "comparison"`)."""


REQUESTS: tuple[type[BaseModel], ...] = (
    Subject,
    ChatMessage,
    PointwiseInput,
    PairwiseInput,
    EvaluationCreate,
    ComparisonCreate,
    ClaimRequest,
    ReleaseRequest,
    VerdictRequest,
    BatchCreate,
    AssessmentCreate,
)
"""The models the client sends (the service validates them as request bodies)."""
