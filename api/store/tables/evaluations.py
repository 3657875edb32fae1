"""Evaluations, their votes, the per-hour vote-pattern counts and the vote cache."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Text, false, text
from sqlmodel import Field, SQLModel

from api.store.tables._columns import UTCDateTime, _ts

DRIFT_UNREAD = text(
    "status = 'decided' AND NOT drift_read AND subject_model IS NOT NULL"
    " AND verdict_compliant IS NOT NULL"
)
"""The final verdicts the drift sweep has still to read: its partial index keeps only them."""


class EvaluationRow(SQLModel, table=True):
    """One request judged by one panel; inserted before any judge is called."""

    __tablename__ = "evaluations"
    __table_args__ = (
        Index(
            "uq_evaluations_tenant_idempotency_key",
            "idempotency_tenant",
            "idempotency_key",
            unique=True,
        ),
        Index("ix_evaluations_subject_use_case", "subject_model", "use_case", "created_at"),
        Index(
            "ix_evaluations_drift_unread",
            "updated_at",
            "id",
            sqlite_where=DRIFT_UNREAD,
            postgresql_where=DRIFT_UNREAD,
        ),
    )

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
    idempotency_key: str | None = Field(default=None, sa_column=Column(String(256), nullable=True))
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
    tenant: str | None = Field(default=None, max_length=64, index=True)
    """The submitting key's tenant; None: no tenant (rows from before tenants existed,
    open mode, keys of every tenant), visible to admin keys of every tenant only."""
    idempotency_tenant: str = Field(default="", max_length=64)
    """`tenant`, or "" for no tenant: idempotency keys are unique per tenant, and rows of
    no tenant share one namespace (a unique index treats NULLs as all different, and an
    expression index would not survive SQLite's table rebuilds in later migrations)."""
    assessment_id: str | None = Field(default=None, max_length=32, index=True)
    """The assessment this evaluation judges one criterion of, if any."""
    guidance: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """Use-case guidance the judges were given (from the panel or the profile)."""
    subject_model: str | None = Field(default=None, max_length=256)
    """The production model that wrote the judged response (`subject.model`), if named."""
    subject_version: str | None = Field(default=None, max_length=128)
    use_case: str | None = Field(default=None, max_length=128)
    """The request's governance use-case label (not the judges' `guidance`)."""
    lease_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True)
    )
    """While pending: the worker's claim on judging it; past it, another worker may resume."""
    created_at: datetime = _ts(nullable=False, index=True)
    updated_at: datetime = _ts(nullable=False)
    completed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    window_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The vote pattern this evaluation is counted under in `window_counts` (None: not
    counted: not concluded, failed, or not yet backfilled). See `api.services.window_keys`."""
    drift_read: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    """Whether the drift sweep has consumed this final verdict (`api.services.drift`): set
    by the sweep, never reset, so each verdict enters its chart once, whenever it commits."""


class WindowCountRow(SQLModel, table=True):
    """How many concluded evaluations of a panel and rubric, created in one hour, had one
    vote pattern: the window statistics sum these instead of reading every evaluation."""

    __tablename__ = "window_counts"

    panel: str = Field(primary_key=True, max_length=64)
    rubric_id: str = Field(primary_key=True, max_length=64)
    bucket: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    """Hours since 1970-01-01 UTC of the evaluations' `created_at`."""
    key: str = Field(sa_column=Column(Text, primary_key=True))
    """The pattern (`EvaluationRow.window_key`)."""
    n: int = 0


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
    question_order: list[str] | None = Field(default=None, sa_column=Column(JSON))
    """Checklist: the question ids in the order the call showed them."""
    answers: dict[str, str | None] | None = Field(default=None, sa_column=Column(JSON))
    """Checklist: each question's answer (yes, no, n/a; null where unscored)."""
    created_at: datetime = _ts(nullable=False)


class VoteCacheRow(SQLModel, table=True):
    """A judge's raw answer to one rendered prompt, for exact-duplicate caching."""

    __tablename__ = "vote_cache"

    key: str = Field(primary_key=True, max_length=64)
    result: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts(nullable=False, index=True)
