"""Database tables (SQLModel). Schema changes go through Alembic (`api/store/migrations`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), **kw))


class EvaluationRow(SQLModel, table=True):
    """One request judged by one panel; inserted before any judge is called."""

    __tablename__ = "evaluations"

    id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=16)
    """evaluation (pointwise) or comparison (pairwise)."""
    panel: str = Field(index=True, max_length=64)
    rubric_id: str = Field(max_length=64)
    rubric_version: int
    status: str = Field(index=True, max_length=16)
    """pending -> decided | in_review | failed."""
    input: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    request_metadata: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    app: str | None = Field(default=None, index=True, max_length=128)
    idempotency_key: str | None = Field(
        default=None, sa_column=Column(String(256), unique=True, nullable=True)
    )
    request_sha256: str = Field(max_length=64)
    verdict_value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    verdict_compliant: bool | None = None
    verdict_source: str | None = Field(default=None, max_length=16)
    confidence: float | None = None
    agreement: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    outcome: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    """Distribution, per-judge reconciled verdicts and weights."""
    routing_decision: str | None = Field(default=None, max_length=16)
    routing_reasons: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    audit_draw: float
    error: str | None = Field(default=None, sa_column=Column(Text))
    runs: int = 0
    """How many times judging started (more than 1 after a resume)."""
    webhook_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """Where to push the result (and any later human verdict)."""
    api_key_id: str | None = Field(default=None, max_length=32)
    """The key that submitted it (its webhook secret signs deliveries)."""
    assessment_id: str | None = Field(default=None, max_length=32, index=True)
    """The assessment this evaluation judges one criterion of, if any."""
    guidance: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """Use-case guidance the judges were given (from the panel or the profile)."""
    lease_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True)
    )
    """While pending: the worker's claim on judging it; past it, another worker may resume."""
    created_at: datetime = _ts(nullable=False, index=True)
    updated_at: datetime = _ts(nullable=False)
    completed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class VoteRow(SQLModel, table=True):
    """One judge call's outcome, with everything an auditor needs to replay it."""

    __tablename__ = "votes"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    evaluation_id: str = Field(
        sa_column=Column(
            String(32), ForeignKey("evaluations.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    judge: str = Field(max_length=64)
    model: str = Field(max_length=256)
    family: str | None = Field(default=None, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    order: str | None = Field(default=None, max_length=2)
    reversed_scale: bool = False
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    shown_value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    unscored: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, max_length=32)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    rationale: str | None = Field(default=None, sa_column=Column(Text))
    raw_output: str | None = Field(default=None, sa_column=Column(Text))
    prompt_sha256: str = Field(max_length=64)
    latency_ms: float
    attempts: int
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    distribution: dict[str, float] | None = Field(default=None, sa_column=Column(JSON))
    expected: float | None = None
    entropy: float | None = None
    cached: bool = False
    """The answer came from the exact-duplicate cache: no call was made for this vote."""
    created_at: datetime = _ts(nullable=False)


class ReviewItemRow(SQLModel, table=True):
    """An evaluation routed to humans: pending -> claimed -> (pending again while more
    reviews are needed, or for adjudication) -> decided."""

    __tablename__ = "review_items"

    id: str = Field(primary_key=True, max_length=32)
    evaluation_id: str = Field(
        sa_column=Column(
            String(32),
            ForeignKey("evaluations.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        )
    )
    panel: str = Field(index=True, max_length=64)
    status: str = Field(index=True, max_length=16)
    """pending, claimed or decided."""
    stage: str = Field(default="review", max_length=16)
    """review (k independent reviewers) or adjudication (they disagreed)."""
    required_reviews: int = 1
    uncertainty: float
    """1 - confidence: the claim order puts the most uncertain first."""
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    claimed_by: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True)
    )
    final_value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    created_at: datetime = _ts(nullable=False, index=True)
    updated_at: datetime = _ts(nullable=False)


class ReviewDecisionRow(SQLModel, table=True):
    """One reviewer's verdict on one review item, kept for audit and reviewer agreement."""

    __tablename__ = "review_decisions"
    __table_args__ = (
        UniqueConstraint("review_item_id", "reviewer", "stage", name="uq_decision_once"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    review_item_id: str = Field(
        sa_column=Column(
            String(32),
            ForeignKey("review_items.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    evaluation_id: str = Field(max_length=32, index=True)
    reviewer: str = Field(max_length=128)
    stage: str = Field(max_length=16)
    value: Any = Field(sa_column=Column(JSON, nullable=False))
    comment: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _ts(nullable=False)


class ApiKeyRow(SQLModel, table=True):
    """An API key: only its SHA-256 is stored; the key itself is shown once at creation."""

    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=128)
    prefix: str = Field(max_length=16, index=True)
    """The key's public part, for lookup and for telling keys apart in lists."""
    sha256: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    panels: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """Panels the key may use; None: all."""
    rate_limit_per_min: int | None = None
    """Requests per minute; None: the service default."""
    webhook_secret: str | None = Field(default=None, max_length=128)
    """Signs webhook deliveries for evaluations this key submits (shown once, at creation)."""
    created_at: datetime = _ts(nullable=False)
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class WebhookDeliveryRow(SQLModel, table=True):
    """One webhook message: written in the transaction that completes the evaluation (an
    outbox), then delivered with retries, so no result is lost between database and hook."""

    __tablename__ = "webhook_deliveries"

    id: str = Field(primary_key=True, max_length=32)
    evaluation_id: str = Field(max_length=32, index=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    event: str = Field(max_length=48)
    """evaluation.completed or evaluation.verdict_changed."""
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    api_key_id: str | None = Field(default=None, max_length=32)
    status: str = Field(default="pending", max_length=16, index=True)
    """pending, delivered or failed (gave up after the last attempt)."""
    attempts: int = 0
    next_attempt_at: datetime = _ts(nullable=False, index=True)
    last_status: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _ts(nullable=False)
    delivered_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class CalibrationRow(SQLModel, table=True):
    """One calibration of a panel's confidence threshold, with the data it came from.
    The newest applied row of a panel is the threshold in force."""

    __tablename__ = "calibrations"

    id: str = Field(primary_key=True, max_length=32)
    panel: str = Field(max_length=64, index=True)
    version: int
    """1, 2, 3... per panel."""
    alpha: float
    delta: float
    threshold: float | None
    """None when no threshold could be certified (everything goes to humans if applied)."""
    certified: bool
    coverage: float
    risk: float | None
    risk_upper: float | None
    n_items: int
    n_audit: int
    """Items among them that came from the random audit sample (the unbiased part)."""
    evaluation_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    """The human-reviewed evaluations it was computed from."""
    curve: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    applied: bool = False
    created_at: datetime = _ts(nullable=False)


class VoteCacheRow(SQLModel, table=True):
    """A judge's raw answer to one rendered prompt, for exact-duplicate caching."""

    __tablename__ = "vote_cache"

    key: str = Field(primary_key=True, max_length=64)
    result: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts(nullable=False, index=True)


class AssessmentRow(SQLModel, table=True):
    """One input judged on every criterion of a profile; each criterion is an evaluation
    (`evaluations.assessment_id`). The compliance figures are computed when read."""

    __tablename__ = "assessments"

    id: str = Field(primary_key=True, max_length=32)
    profile: str = Field(index=True, max_length=64)
    input: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    request_metadata: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    app: str | None = Field(default=None, max_length=128)
    criteria: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    """The profile's criteria when accepted: panel, rubric, weight, must_pass."""
    min_score: float
    idempotency_key: str | None = Field(
        default=None, sa_column=Column(String(256), unique=True, nullable=True)
    )
    request_sha256: str = Field(max_length=64)
    webhook_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    api_key_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = _ts(nullable=False, index=True)
    completed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    """Set once, when every criterion has concluded (the completion webhook is queued)."""
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    """Set once, when the compliance verdict is first known (it is counted in metrics)."""
